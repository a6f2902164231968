"""Writes the hostile event corpus under events/hostile/ and its manifest.

Run with the project's .venv python (it needs `cryptography` to sign the test tokens):
    .venv/bin/python tools/hostile_events.py
The output is committed; this script is how it was made, and how to change it. Keys come from
crates/custom-auth/testdata (test keys; they sign nothing real). Deterministic: RSA PKCS#1 v1.5
and HMAC are; the ES256 signatures are not, so re-running changes those two files only.
"""

import base64
import copy
import hashlib
import hmac
import json
import shutil
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "events" / "hostile"
KEYS = ROOT / "crates" / "custom-auth" / "testdata"

POOL = "us-east-1_Ex4mPl3Aa"
SUB = "a1b2c3d4-5e6f-4a0b-9c8d-7e6f5a4b3c2d"
ISSUED = 1767225600  # 2026-01-01: long expired by the time anyone runs this
FAR = 4102444800  # 2100-01-01
CODE = "482913"
ACCOUNTS = '{"acct-1001":"Personal","acct-2002":"Acme Corp"}'

ATTRS = {
    "sub": SUB,
    "email_verified": "true",
    "cognito:user_status": "CONFIRMED",
    "cognito:email_alias": "jane@example.com",
    "email": "jane@example.com",
    "phone_number_verified": "true",
    "phone_number": "+15555550123",
    "custom:accounts": ACCOUNTS,
}

# The configuration every function runs with; {deps} is the loopback fake dependency server.
ENV = {
    "AUTH_FLOW": "password,captcha,email-otp,select-account,signed-token",
    "AUTH_MAX_ATTEMPTS": "3",
    "OTP_EMAIL_FROM": "no-reply@example.com",
    "CAPTCHA_SITE_KEY": "hostile-site-key",
    "CAPTCHA_SECRET": "hostile-captcha-secret-value",
    "CAPTCHA_VERIFY_URL": "{deps}/siteverify",
    "SIGNED_TOKEN_JWKS_URL": "{deps}/jwks",
    "AWS_ENDPOINT_URL": "{deps}",
    # The passkey API asks the pool (GetUser) whether a token is live: the fake says it is.
    "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": "{deps}/cognito",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIDHOSTILETEST",
    "AWS_SECRET_ACCESS_KEY": "hostile-aws-secret-value",
    # The state store on; DynamoDB is the same loopback fake, which admits everything: what
    # the store's own rules do is tested against the in-memory store and the local DynamoDB.
    "AUTH_STATE_TABLE": "hostile-state",
    "AUTH_STATE_KEY": "hostile-state-key-secret-0123456789",
    # The selected account goes into the tokens: account answers need a sign-in id.
    "SELECTED_ACCOUNT_CLAIM": "selected_account",
    # And how the sign-in passed (issue 29): only from a record Verify wrote, never the event.
    "SIGN_IN_METHODS_CLAIM": "signin_amr",
    # One more app client, whose flow is a choice (issue 12); every other client runs AUTH_FLOW.
    "AUTH_FLOWS": json.dumps({"hostilechoiceclient": "email-otp|sms-otp", "hostilelinkclient": "magic-link",
                              "hostilepasskeyclient": "passkey|email-otp",
                              "hostiledeviceclient": "device|email-otp"}),
    # Magic links (issue 14), on their own client.
    "MAGIC_LINK_URLS": "https://app.example.com/signin",
    "MAGIC_LINK_SECRET": "hostile-magic-link-secret-0123456789abcdef",
    # Passkeys (issue 15), on their own client; the origin of the captured fixtures.
    "PASSKEY_RP_ID": "localhost",
    "PASSKEY_ORIGINS": "http://localhost:4700",
    # Remembered devices (issue 29), on their own client; the API serves their routes.
    "DEVICE_TTL_DAYS": "30",
}
CHOICE_CLIENT = "hostilechoiceclient"
PASSKEY_CLIENT = "hostilepasskeyclient"
LINK_CLIENT = "hostilelinkclient"
DEVICE_CLIENT = "hostiledeviceclient"

TRIGGERS = {
    "define": "DefineAuthChallenge_Authentication",
    "create": "CreateAuthChallenge_Authentication",
    "verify": "VerifyAuthChallengeResponse_Authentication",
    "pre-token": "TokenGeneration_Authentication",
}
SIGN_IN_ID = "0f3c9a7e5b1d4e2a8c6f0b9d7e5a3c1f"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def owner_binding(user, sub, tag, issued, code, pool=POOL):
    h = hashlib.sha256(b"custom-auth otp owner v1\0")
    for part in [pool, user, sub, tag, str(issued), code]:
        h.update(part.encode())
        h.update(b"\0")
    return h.digest()[:8].hex()


def otp_metadata(code=CODE, issued=ISSUED, user="jane", sub=SUB):
    return f"EMAIL_OTP:{issued}:{code}:{owner_binding(user, sub, 'EMAIL_OTP', issued, code)}"


def rnd(name, result, metadata=None):
    return {"challengeName": name, "challengeResult": result, "challengeMetadata": metadata}


SRP = rnd("SRP_A", True)
PV = rnd("PASSWORD_VERIFIER", True)


def cap(ok):
    return rnd("CUSTOM_CHALLENGE", ok, "CAPTCHA")


def otp(ok, metadata=None):
    return rnd("CUSTOM_CHALLENGE", ok, metadata or otp_metadata())


def sel(ok):
    return rnd("CUSTOM_CHALLENGE", ok, "SELECT_ACCOUNT")


def tok(ok):
    return rnd("CUSTOM_CHALLENGE", ok, "SIGNED_TOKEN")


COMPLETE = [SRP, PV, cap(True), otp(True), sel(True), tok(True)]
MID = [SRP, PV, cap(True)]


def header(trigger):
    return {
        "version": "1",
        "region": "us-east-1",
        "userPoolId": POOL,
        "userName": "jane",
        "callerContext": {
            "awsSdkVersion": "aws-sdk-unknown-unknown",
            "clientId": "4k1s7exampleclientid0123",
        },
        "triggerSource": TRIGGERS[trigger],
    }


def define_event(session, **request):
    e = header("define")
    e["request"] = {"userAttributes": copy.deepcopy(ATTRS), "session": copy.deepcopy(session),
                    "userNotFound": False, **request}
    e["response"] = {"challengeName": None, "issueTokens": None, "failAuthentication": None}
    return e


def create_event(session, **request):
    e = header("create")
    e["request"] = {"userAttributes": copy.deepcopy(ATTRS), "challengeName": "CUSTOM_CHALLENGE",
                    "session": copy.deepcopy(session), "userNotFound": False, **request}
    e["response"] = {"publicChallengeParameters": None, "privateChallengeParameters": None,
                     "challengeMetadata": None}
    return e


def verify_event(private, answer, **request):
    e = header("verify")
    e["request"] = {"userAttributes": copy.deepcopy(ATTRS),
                    "privateChallengeParameters": private, "challengeAnswer": answer,
                    "clientMetadata": {"signInId": SIGN_IN_ID},
                    "userNotFound": False, **request}
    e["response"] = {"answerCorrect": None}
    return e


OTP_PRIVATE = {"step": "EMAIL_OTP", "attempt": "1", "code": CODE, "issuedAt": str(ISSUED)}
SEL_PRIVATE = {"step": "SELECT_ACCOUNT", "attempt": "1", "accounts": ACCOUNTS}
TOK_PRIVATE = {"step": "SIGNED_TOKEN", "attempt": "1"}

# Keys and tokens.
rsa_private = serialization.load_pem_private_key((KEYS / "rsa-private.pem").read_bytes(), None)
rsa_public_pem = (KEYS / "rsa-public.pem").read_bytes()
ec_private = serialization.load_pem_private_key((KEYS / "ec-private.pem").read_bytes(), None)


def jwt(header_, claims, alg, key=None):
    signing_input = f"{b64(json.dumps(header_, separators=(',', ':')).encode())}." \
                    f"{b64(json.dumps(claims, separators=(',', ':')).encode())}"
    data = signing_input.encode()
    if alg == "none":
        sig = b""
    elif alg == "HS256":
        sig = hmac.new(key, data, hashlib.sha256).digest()
    elif alg == "RS256":
        sig = rsa_private.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(ec_private.sign(data, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input}.{b64(sig)}"


GOOD_CLAIMS = {"sub": SUB, "iat": ISSUED, "exp": FAR, "jti": "hostile-hand-off-1"}


def rs(claims=None, kid="rsa-1"):
    return jwt({"alg": "RS256", "typ": "JWT", "kid": kid}, claims or GOOD_CLAIMS, "RS256")


def jwks():
    nums = rsa_private.public_key().public_numbers()
    n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
    e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
    ec_jwk = json.loads((KEYS / "ec-public.jwk.json").read_text())
    ec_jwk["kid"] = "ec-1"
    return {"keys": [
        {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": b64(n), "e": b64(e)},
        ec_jwk,
    ]}


def without(d, *path):
    d = copy.deepcopy(d)
    target = d
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return d


def with_(d, value, *path):
    d = copy.deepcopy(d)
    target = d
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return d


CASES = []


def case(trigger, name, event, expect, why, **extra):
    CASES.append((trigger, name, event, {"expect": expect, "why": why, **extra}))


# ---------------------------------------------------------------------------------- Define
D_MID = define_event(MID)
D_DONE = define_event(COMPLETE)
case("define", "null-event", None, "error", "the payload is JSON null")
case("define", "number-event", 42, "error", "the payload is a number")
case("define", "array-event", [D_DONE], "error", "the payload is an array holding a valid event")
case("define", "null-request", with_(D_DONE, None, "request"), "error", "request: null")
case("define", "missing-request", without(D_DONE, "request"), "error", "no request")
case("define", "null-session", with_(D_DONE, None, "request", "session"), "error",
     "session: null (Cognito always sends a list; the event type requires one)")
case("define", "missing-session", without(D_DONE, "request", "session"), "error",
     "no session (Cognito always sends a list; the event type requires one)")
case("define", "session-is-string", with_(D_DONE, "SRP_A", "request", "session"), "error",
     "session: a string")
case("define", "session-entry-null", define_event([SRP, PV, None, otp(True), sel(True), tok(True)]),
     "fail", "a null round in the middle of a passing session")
case("define", "session-entry-number", define_event([SRP, PV, 42]), "error",
     "a round that is a number")
case("define", "challenge-result-null", with_(D_DONE, None, "request", "session", 5, "challengeResult"),
     "error", "the last round's challengeResult is null")
case("define", "challenge-result-missing", without(D_DONE, "request", "session", 5, "challengeResult"),
     "error", "the last round has no challengeResult")
case("define", "challenge-result-string", with_(D_DONE, "true", "request", "session", 5, "challengeResult"),
     "error", "challengeResult: \"true\" (a string)")
case("define", "null-response", with_(D_MID, None, "response"), "error",
     "response: null (the event type requires the object Cognito always sends)")
case("define", "missing-response", without(D_MID, "response"), "error",
     "no response (the event type requires the object Cognito always sends)")
case("define", "response-claims-tokens",
     with_(D_MID, {"challengeName": None, "issueTokens": True, "failAuthentication": False}, "response"),
     "challenge:CUSTOM_CHALLENGE", "the incoming response already says issueTokens: true")
case("define", "null-user-attributes", with_(D_MID, None, "request", "userAttributes"),
     "challenge:CUSTOM_CHALLENGE", "userAttributes: null; Define needs none")
case("define", "user-attributes-is-list", with_(D_MID, ["email"], "request", "userAttributes"),
     "error", "userAttributes: a list")
case("define", "missing-user-not-found", without(D_MID, "request", "userNotFound"),
     "challenge:CUSTOM_CHALLENGE", "no userNotFound reads as a known user")
case("define", "user-not-found-string", with_(D_DONE, "false", "request", "userNotFound"), "error",
     "userNotFound: \"false\" (a string)")
case("define", "unknown-user-complete-session", with_(D_DONE, True, "request", "userNotFound"), "fail",
     "every round passed, but the user does not exist")
case("define", "wrong-trigger-source", with_(D_DONE, "PreSignUp_SignUp", "triggerSource"), "error",
     "a passing session under another trigger's triggerSource")
case("define", "unknown-trigger-source", with_(D_DONE, "DefineAuthChallenge_Admin", "triggerSource"),
     "error", "an invented triggerSource")
case("define", "missing-trigger-source", without(D_DONE, "triggerSource"), "fail",
     "a passing session with no triggerSource")
case("define", "trigger-source-number", with_(D_DONE, 7, "triggerSource"), "error",
     "triggerSource: a number")
case("define", "session-10000-wrong", define_event(MID + [otp(False)] * 9997), "fail",
     "10,000 rounds, 9,997 of them wrong codes")
case("define", "session-10000-passed", define_event(COMPLETE + [tok(True)] * 9994), "fail",
     "10,000 rounds: a passing session followed by 9,994 more passed rounds")
case("define", "password-verifier-without-srp", define_event([PV, cap(True), otp(True), sel(True), tok(True)]),
     "fail", "PASSWORD_VERIFIER (true) with no SRP_A before it")
case("define", "srp-false-then-custom", define_event([rnd("SRP_A", False), cap(True), otp(True), sel(True), tok(True)]),
     "fail", "SRP_A false, then every custom round passed")
case("define", "srp-twice", define_event([SRP, SRP, PV, cap(True), otp(True), sel(True), tok(True)]),
     "fail", "SRP_A twice before PASSWORD_VERIFIER")
case("define", "custom-without-password", define_event([cap(True), otp(True), sel(True), tok(True)]),
     "fail", "every custom step passed, the password step never ran")
case("define", "more-rounds-than-attempts",
     define_event([SRP, PV, cap(True), otp(False), otp(False), otp(False), otp(True), sel(True), tok(True)]),
     "fail", "three wrong codes (AUTH_MAX_ATTEMPTS=3), then a right one")
case("define", "metadata-claims-later-step", define_event([SRP, PV, cap(True), sel(True), tok(True)]),
     "fail", "the e-mail step is skipped: the round after CAPTCHA claims SELECT_ACCOUNT")
case("define", "metadata-claims-other-step",
     define_event([SRP, PV, cap(True), rnd("CUSTOM_CHALLENGE", True, "SMS_OTP:1767225600:482913"), sel(True), tok(True)]),
     "fail", "the e-mail step's round claims SMS_OTP, a step not in the flow")
case("define", "metadata-lowercase", define_event([SRP, PV, rnd("CUSTOM_CHALLENGE", True, "captcha"), otp(True), sel(True), tok(True)]),
     "fail", "metadata \"captcha\" instead of \"CAPTCHA\"")
case("define", "metadata-null", define_event([SRP, PV, rnd("CUSTOM_CHALLENGE", True, None), otp(True), sel(True), tok(True)]),
     "fail", "a passed custom round with no metadata")
case("define", "custom-round-named-password-verifier",
     define_event([SRP, PV, rnd("PASSWORD_VERIFIER", True, "CAPTCHA"), otp(True), sel(True), tok(True)]),
     "fail", "a round named PASSWORD_VERIFIER where a custom challenge belongs")

# ---------------------------------------------------------------------------------- Create
C_OTP = create_event(MID)
case("create", "null-event", None, "error", "the payload is JSON null")
case("create", "null-request", with_(C_OTP, None, "request"), "error", "request: null")
case("create", "missing-session", without(C_OTP, "request", "session"), "error",
     "no session: the password step has not run, nothing to create")
case("create", "wrong-challenge-name", with_(C_OTP, "PASSWORD_VERIFIER", "request", "challengeName"),
     "error", "challengeName PASSWORD_VERIFIER")
case("create", "null-challenge-name", with_(C_OTP, None, "request", "challengeName"), "error",
     "challengeName: null")
case("create", "other-users-code", create_event(MID + [otp(False, otp_metadata("000000", user="john", sub="john-sub"))]),
     "error", "the retry's stored code is bound to another user (john)")
case("create", "unbound-code", create_event(MID + [otp(False, "EMAIL_OTP:1767225600:000000")]),
     "error", "the retry's stored code carries no owner binding")
case("create", "tampered-code", create_event(MID + [otp(False, otp_metadata().replace(":482913:", ":000000:"))]),
     "error", "the retry's stored code was changed after binding")
case("create", "metadata-claims-later-step", create_event(MID + [sel(False)]), "error",
     "the round after CAPTCHA claims SELECT_ACCOUNT")
case("create", "after-final-step", create_event(COMPLETE), "error",
     "every step passed: there is nothing to create")
case("create", "session-10000", create_event(MID + [otp(False)] * 9997), "error",
     "10,000 rounds")
case("create", "wrong-trigger-source", with_(C_OTP, "DefineAuthChallenge_Authentication", "triggerSource"),
     "error", "Define's triggerSource on a Create event")
case("create", "missing-trigger-source", without(C_OTP, "triggerSource"), "error",
     "no triggerSource")
case("create", "email-is-number", with_(C_OTP, 42, "request", "userAttributes", "email"), "error",
     "userAttributes.email: a number")
case("create", "null-user-attributes", with_(C_OTP, None, "request", "userAttributes"),
     "created:EMAIL_OTP", "no attributes: a decoy round, nothing sent", sent=False)
case("create", "email-header-injection",
     with_(C_OTP, "jane@example.com\r\nBcc: mallory@example.net", "request", "userAttributes", "email"),
     "created:EMAIL_OTP", "an e-mail attribute carrying a header: not a usable address, nothing sent",
     sent=False)
# Codes go only to a destination Cognito marks verified, by the exact string "true".
for name, value, why in [
    ("email-unverified", "false", 'email_verified: "false"'),
    ("email-verified-upper", "TRUE", 'email_verified: "TRUE" (Cognito writes "true")'),
    ("email-verified-empty", "", 'email_verified: ""'),
]:
    case("create", name, with_(C_OTP, value, "request", "userAttributes", "email_verified"),
         "created:EMAIL_OTP", f"{why}: a decoy round, nothing sent", sent=False)
case("create", "email-verified-missing", without(C_OTP, "request", "userAttributes", "email_verified"),
     "created:EMAIL_OTP", "no email_verified: a decoy round, nothing sent", sent=False)
case("create", "email-verified-boolean", with_(C_OTP, False, "request", "userAttributes", "email_verified"),
     "error", "email_verified: false as a JSON boolean (attributes are strings): refused, nothing sent",
     sent=False)
case("create", "email-verified-boolean-true", with_(C_OTP, True, "request", "userAttributes", "email_verified"),
     "error", "email_verified: true as a JSON boolean (attributes are strings): refused, nothing sent",
     sent=False)
case("create", "response-prefilled",
     with_(C_OTP, {"publicChallengeParameters": {"code": "000000"},
                   "privateChallengeParameters": {"step": "EMAIL_OTP", "code": "000000", "issuedAt": str(FAR)},
                   "challengeMetadata": otp_metadata("000000")}, "response"),
     "created:EMAIL_OTP", "the incoming response already holds a code: replaced, a fresh code is sent",
     sent=True, code_not="000000")

# ---------------------------------------------------------------------------------- Verify
V_OTP = verify_event(OTP_PRIVATE, CODE)
V_SEL = verify_event(SEL_PRIVATE, "acct-2002")
case("verify", "null-event", None, "error", "the payload is JSON null")
case("verify", "string-event", "acct-2002", "error", "the payload is a string")
case("verify", "null-request", with_(V_SEL, None, "request"), "error", "request: null")
case("verify", "null-answer", with_(V_SEL, None, "request", "challengeAnswer"), "wrong", "challengeAnswer: null")
case("verify", "missing-answer", without(V_SEL, "request", "challengeAnswer"), "wrong", "no challengeAnswer")
case("verify", "object-answer", with_(V_SEL, {"answer": "acct-2002"}, "request", "challengeAnswer"),
     "wrong", "the answer is a JSON object holding the right account")
case("verify", "number-answer", with_(V_OTP, int(CODE), "request", "challengeAnswer"), "wrong",
     "the right code as a JSON number")
case("verify", "array-answer", with_(V_SEL, ["acct-2002"], "request", "challengeAnswer"), "wrong",
     "the answer is a list holding the right account")
case("verify", "empty-answer", with_(V_SEL, "", "request", "challengeAnswer"), "wrong", "an empty answer")
case("verify", "answer-1mib", with_(V_SEL, "acct-2002" + "x" * (1 << 20), "request", "challengeAnswer"),
     "wrong", "a 1 MiB answer")
case("verify", "missing-private-parameters", without(V_SEL, "request", "privateChallengeParameters"),
     "wrong", "no private parameters")
case("verify", "null-private-parameters", with_(V_SEL, None, "request", "privateChallengeParameters"),
     "wrong", "privateChallengeParameters: null")
case("verify", "private-code-is-number", with_(V_OTP, int(CODE), "request", "privateChallengeParameters", "code"),
     "error", "the private code is a number (the event is malformed)", secret=CODE)
case("verify", "unknown-step", with_(V_OTP, "ADMIN", "request", "privateChallengeParameters", "step"),
     "wrong", "private step ADMIN")
case("verify", "step-password", with_(V_OTP, "PASSWORD", "request", "privateChallengeParameters", "step"),
     "wrong", "private step PASSWORD")
case("verify", "step-not-in-flow", verify_event({**OTP_PRIVATE, "step": "SMS_OTP", "issuedAt": str(FAR - 30)}, CODE),
     "wrong", "the right code for an SMS step, which is not in the flow")
case("verify", "expired-code", V_OTP, "wrong", "the right code, issued long ago")
case("verify", "code-from-the-future", verify_event({**OTP_PRIVATE, "issuedAt": str(FAR)}, CODE), "wrong",
     "the right code, 'issued' in 2100")
case("verify", "missing-issued-at", verify_event(without(OTP_PRIVATE, "issuedAt"), CODE), "wrong",
     "the right code with no issue time")
case("verify", "unknown-user-right-code", with_(V_OTP, True, "request", "userNotFound"), "wrong",
     "the decoy of an unknown user, answered with its code")
case("verify", "lookalike-cyrillic", with_(V_SEL, "\u0430cct-2002", "request", "challengeAnswer"), "wrong",
     "account id with a Cyrillic a")
case("verify", "lookalike-fullwidth", with_(V_SEL, "\uff41\uff43\uff43\uff54-2002", "request", "challengeAnswer"),
     "wrong", "account id in full-width letters")
case("verify", "lookalike-zero-width", with_(V_SEL, "acct-2002\u200b", "request", "challengeAnswer"), "wrong",
     "account id with a zero-width space")
case("verify", "lookalike-digit", with_(V_SEL, "acct-2OO2", "request", "challengeAnswer"), "wrong",
     "account id with letter O for zero")
case("verify", "account-not-offered", verify_event({**SEL_PRIVATE, "accounts": '{"acct-1001":"Personal"}'}, "acct-2002"),
     "wrong", "an account of the user that this round did not offer")
case("verify", "accounts-malformed", verify_event({**SEL_PRIVATE, "accounts": "acct-2002"}, "acct-2002"),
     "wrong", "private accounts that are not JSON")
case("verify", "response-claims-correct", with_(with_(V_SEL, "acct-9999", "request", "challengeAnswer"),
                                                {"answerCorrect": True}, "response"),
     "wrong", "a wrong account, with answerCorrect: true already in the response")
case("verify", "captcha-rejected", verify_event({"step": "CAPTCHA", "attempt": "1"}, "widget-token"), "wrong",
     "a CAPTCHA token the provider refuses")
case("verify", "wrong-trigger-source", with_(V_SEL, "CreateAuthChallenge_Authentication", "triggerSource"),
     "error", "Create's triggerSource on a Verify event")
case("verify", "missing-trigger-source", without(V_SEL, "triggerSource"), "wrong",
     "the right account with no triggerSource")
case("verify", "user-not-found-string", with_(V_SEL, "no", "request", "userNotFound"), "error",
     "userNotFound: \"no\"")
case("verify", "jwt-alg-none", verify_event(TOK_PRIVATE, jwt({"alg": "none", "kid": "rsa-1"}, GOOD_CLAIMS, "none")),
     "wrong", "alg: none, no signature")
case("verify", "jwt-hs256-with-rsa-public-key",
     verify_event(TOK_PRIVATE, jwt({"alg": "HS256", "kid": "rsa-1"}, GOOD_CLAIMS, "HS256", rsa_public_pem)),
     "wrong", "HS256 signed with the RSA public key (PEM bytes) under the RSA key's kid")
case("verify", "jwt-es256-under-rsa-kid",
     verify_event(TOK_PRIVATE, jwt({"alg": "ES256", "kid": "rsa-1"}, GOOD_CLAIMS, "ES256")),
     "wrong", "ES256 signed by the EC key but naming the RSA key's kid")
case("verify", "jwt-wrong-sub", verify_event(TOK_PRIVATE, rs({**GOOD_CLAIMS, "sub": "someone-else"})),
     "wrong", "a genuine token for another subject")
case("verify", "jwt-missing-exp", verify_event(TOK_PRIVATE, rs({"sub": SUB, "iat": ISSUED})), "wrong",
     "a genuine token with no exp")
case("verify", "jwt-expired", verify_event(TOK_PRIVATE, rs({"sub": SUB, "iat": ISSUED, "exp": ISSUED + 300})),
     "wrong", "a genuine token that expired in 2026-01")
case("verify", "jwt-future-nbf", verify_event(TOK_PRIVATE, rs({**GOOD_CLAIMS, "nbf": FAR - 1})), "wrong",
     "a genuine token not valid before 2099")
case("verify", "jwt-unknown-kid", verify_event(TOK_PRIVATE, rs(kid="rsa-2")), "wrong",
     "a genuine signature under a kid the JWKS does not hold")
case("verify", "jwt-100kb", verify_event(TOK_PRIVATE, rs({**GOOD_CLAIMS, "pad": "x" * 100_000})), "wrong",
     "a genuine 100 KB token")
case("verify", "jwt-unknown-user", with_(verify_event(TOK_PRIVATE, rs()), True, "request", "userNotFound"),
     "wrong", "a genuine token, but the user does not exist")
case("verify", "jwt-not-a-token", verify_event(TOK_PRIVATE, "a.b.c"), "wrong", "three dots of nothing")
NO_JTI = {k: v for k, v in GOOD_CLAIMS.items() if k != "jti"}
case("verify", "jwt-no-jti", verify_event(TOK_PRIVATE, rs(NO_JTI)), "wrong",
     "a genuine token without jti: with the state store, a token must name itself to be used once")
case("verify", "jwt-empty-jti", verify_event(TOK_PRIVATE, rs({**GOOD_CLAIMS, "jti": ""})), "wrong",
     "a genuine token whose jti is empty")
case("verify", "jwt-numeric-jti", verify_event(TOK_PRIVATE, rs({**GOOD_CLAIMS, "jti": 7})), "wrong",
     "a genuine token whose jti is a number")
case("verify", "jwt-control", verify_event(TOK_PRIVATE, rs()), "correct",
     "control: a genuine RS256 token from the JWKS, so the refusals above are meaningful")

# ----------------------------------------------------------------------- Pre Token Generation
def pre_token_event(source="TokenGeneration_Authentication", **request):
    e = header("pre-token")
    e["version"] = "2"
    e["triggerSource"] = source
    e["request"] = {"userAttributes": copy.deepcopy(ATTRS),
                    "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [],
                                           "preferredRole": None},
                    "clientMetadata": {"signInId": SIGN_IN_ID},
                    "scopes": ["aws.cognito.signin.user.admin"], **request}
    e["response"] = {"claimsAndScopeOverrideDetails": None}
    return e


P_AUTH = pre_token_event()
P_REFRESH = pre_token_event("TokenGeneration_RefreshTokens")
case("pre-token", "null-event", None, "error", "the payload is JSON null")
case("pre-token", "missing-trigger-source", without(P_AUTH, "triggerSource"), "error", "no triggerSource")
case("pre-token", "wrong-trigger-source", with_(P_AUTH, "DefineAuthChallenge_Authentication", "triggerSource"),
     "error", "Define's triggerSource on a Pre Token Generation event")
case("pre-token", "missing-request", without(P_AUTH, "request"), "error", "no request")
case("pre-token", "missing-scopes", without(P_AUTH, "request", "scopes"), "error", "no scopes (a version 1 event)")
case("pre-token", "no-client-metadata", without(P_AUTH, "request", "clientMetadata"), "error",
     "no sign-in id: the choice cannot be proven, no tokens")
case("pre-token", "short-sign-in-id", with_(P_AUTH, "short", "request", "clientMetadata", "signInId"), "error",
     "a sign-in id that is not one")
case("pre-token", "sign-in-id-number", with_(P_AUTH, 42, "request", "clientMetadata", "signInId"), "error",
     "clientMetadata values are strings")
case("pre-token", "smuggled-account",
     with_(P_AUTH, {"signInId": SIGN_IN_ID, "selected_account": "acct-2002", "selected-account": "acct-2002"},
           "request", "clientMetadata"),
     "error", "the client names an account; the store holds no choice for the id (the fake finds none)")
case("pre-token", "refresh", P_REFRESH, "minted:none", "a refresh: no sign-in, no account claim")
case("pre-token", "refresh-smuggled-methods",
     with_(P_REFRESH, {"signInId": SIGN_IN_ID, "signin_amr": '["pwd","hwk","mfa"]', "amr": "mfa"},
           "request", "clientMetadata"),
     "minted:none", "a refresh whose client names methods: none minted")
case("pre-token", "refresh-null-groups", with_(P_REFRESH, None, "request", "groupConfiguration"),
     "minted:none", "groupConfiguration: null")
case("pre-token", "response-malformed",
     with_(P_REFRESH, {"claimsAndScopeOverrideDetails": {"idTokenGeneration": {
         "claimsToAddOrOverride": {"selected_account": "acct-2002"}, "claimsToSuppress": []}}}, "response"),
     "error", "an incoming response that is not Cognito's shape (no groupOverrideDetails)")
case("pre-token", "response-prefilled",
     with_(P_REFRESH, {"claimsAndScopeOverrideDetails": {
         "groupOverrideDetails": {"groupsToOverride": ["admins"], "iamRolesToOverride": [], "preferredRole": None},
         "idTokenGeneration": {"claimsToAddOrOverride": {"selected_account": "acct-2002"}, "claimsToSuppress": []},
         "accessTokenGeneration": None}}, "response"),
     "minted:none", "the incoming response already claims an account and a group: replaced")

# The valid event each function must answer right after every hostile one.

# ------------------------------------------------------------------ Choices, per app client
def on_choice_client(event):
    event["callerContext"]["clientId"] = CHOICE_CLIENT
    return event


def custom_round(metadata, result):
    return {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": result,
            "challengeMetadata": metadata}


def choice_define(session):
    return on_choice_client(define_event(session))


def choice_create(session, metadata=None):
    event = on_choice_client(create_event(session))
    if metadata is not None:
        event["request"]["clientMetadata"] = metadata
    return event


def choice_verify(answer, metadata, options='["email-otp","sms-otp"]'):
    private = {"step": "CHOOSE", "attempt": "1"}
    if options is not None:
        private["options"] = options
    event = on_choice_client(verify_event(private, answer))
    event["request"]["clientMetadata"] = metadata
    return event


BOTH = "CHOOSE:email-otp,sms-otp"
case("define", "choice-first", choice_define([]), "challenge:CUSTOM_CHALLENGE",
     "a choice flow starts with its CHOOSE round")
case("define", "choice-branch-not-offered",
     choice_define([custom_round("CHOOSE:email-otp", True), custom_round("SMS_OTP:1:123456:0", True)]),
     "fail", "the CHOOSE round offered e-mail only; the next round is SMS")
case("define", "choice-twice", choice_define([custom_round(BOTH, True), custom_round(BOTH, True)]),
     "fail", "two passed CHOOSE rounds in one stage")
case("define", "choice-switched-branch",
     choice_define([custom_round(BOTH, True), custom_round("EMAIL_OTP:1:123456:0", False),
                    custom_round("SMS_OTP:1:123456:0", True)]),
     "fail", "the branch changes after its first round")
case("define", "choice-offer-outside-stage",
     choice_define([custom_round("CHOOSE:email-otp,signed-token", True), custom_round("SIGNED_TOKEN", True)]),
     "fail", "a CHOOSE offer naming a step outside the stage")
case("define", "choice-skipped", choice_define([custom_round("EMAIL_OTP:1:123456:0", True)]),
     "fail", "a branch round with no CHOOSE round before it")
case("create", "choice-first", choice_create([]), "created:CHOOSE",
     "the CHOOSE round: options, nothing sent", sent=False)
case("create", "choice-branch-not-offered",
     choice_create([custom_round("CHOOSE:email-otp", True)], {"choice": "sms-otp"}), "error",
     "the client names SMS after a CHOOSE round that offered e-mail only")
case("create", "choice-without-metadata", choice_create([custom_round(BOTH, True)]), "error",
     "the round after a pick, with no choice in the client metadata")
case("create", "choice-password", choice_create([custom_round(BOTH, True)], {"choice": "password"}),
     "error", "the client names password as its pick")
case("create", "choice-email", choice_create([custom_round(BOTH, True)], {"choice": "email-otp"}),
     "created:EMAIL_OTP", "the pick the CHOOSE round offered: its code is sent", sent=True)
case("verify", "choice-correct", choice_verify("email-otp", {"choice": "email-otp"}), "correct",
     "an offered pick, repeated in the client metadata")
case("verify", "choice-metadata-differs", choice_verify("email-otp", {"choice": "sms-otp"}), "wrong",
     "the answer picks e-mail, the metadata SMS")
case("verify", "choice-metadata-missing", choice_verify("email-otp", {}), "wrong",
     "a pick without the client metadata Create needs")
case("verify", "choice-not-offered", choice_verify("sms-otp", {"choice": "sms-otp"}, '["email-otp"]'),
     "wrong", "a pick the round did not offer")
case("verify", "choice-options-missing", choice_verify("email-otp", {"choice": "email-otp"}, None),
     "wrong", "a CHOOSE round without its offered list")
case("verify", "choice-options-malformed",
     choice_verify("email-otp", {"choice": "email-otp"}, "email-otp,sms-otp"), "wrong",
     "an offered list that is not a JSON array of steps")
NOT_IN_FLOW = choice_verify("email-otp", {"choice": "email-otp"})
NOT_IN_FLOW["callerContext"]["clientId"] = "4k1s7exampleclientid0123"
case("verify", "choice-not-in-flow", NOT_IN_FLOW, "wrong",
     "a CHOOSE round for a client whose flow has no choice")

# ------------------------------------------------------------------------------ Magic links
LINK_PAGE = "https://app.example.com/signin"


def on_link_client(event):
    event["callerContext"]["clientId"] = LINK_CLIENT
    return event


def proof(claims, secret=None):
    """A magic link's proof as Create signs it (HMAC-SHA256 over `ml1.<payload>`)."""
    key = (secret or ENV["MAGIC_LINK_SECRET"]).encode()
    signing_input = f"ml1.{b64(json.dumps(claims, separators=(',', ':')).encode())}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def link_claims(**changes):
    claims = {"p": POOL, "u": "jane", "l": LINK_PAGE, "i": "00112233445566778899aabbccddeeff",
              "t": ISSUED, "e": ISSUED + 900}
    claims.update(changes)
    return claims


def link_verify(answer, metadata=None):
    event = on_link_client(verify_event({"step": "MAGIC_LINK", "attempt": "1"}, answer))
    event["request"]["clientMetadata"] = metadata if metadata is not None else \
        {"signInId": SIGN_IN_ID, "redirectUri": LINK_PAGE}
    return event


def link_create(metadata):
    event = on_link_client(create_event([]))
    event["request"]["clientMetadata"] = metadata
    return event


case("create", "link-first", link_create({}), "created:MAGIC_LINK",
     "the first MAGIC_LINK round: nothing asked, nothing sent", sent=False)
case("create", "link-request-other-page",
     link_create({"magicLink": "request", "redirectUri": "https://evil.example.com/signin"}),
     "created:MAGIC_LINK", "a link asked for a page not in MAGIC_LINK_URLS: nothing sent", sent=False)
case("create", "link-request-no-page", link_create({"magicLink": "request"}), "created:MAGIC_LINK",
     "a link asked for without a page: nothing sent", sent=False)
case("create", "link-request", link_create({"magicLink": "request", "redirectUri": LINK_PAGE}),
     "created:MAGIC_LINK", "a link asked for an allowed page: signed and e-mailed", sent=True)
case("verify", "link-request-answer", link_verify("request", {"magicLink": "request", "redirectUri": LINK_PAGE}),
     "wrong", "asking for a link is never a right answer")
case("verify", "link-forged", link_verify(proof(link_claims(), "another-secret-of-at-least-32-bytes!!")),
     "wrong", "a proof signed with another key")
case("verify", "link-other-user", link_verify(proof(link_claims(u="john"))), "wrong",
     "a well-signed proof for another user")
case("verify", "link-other-pool", link_verify(proof(link_claims(p="us-east-1_Other0000"))), "wrong",
     "a well-signed proof for another pool")
case("verify", "link-other-page", link_verify(proof(link_claims(l="https://evil.example.com/signin")),
                                              {"redirectUri": "https://evil.example.com/signin"}),
     "wrong", "a well-signed proof for a page that is not allowed, redeemed from it")
case("verify", "link-page-differs", link_verify(proof(link_claims()), {"redirectUri": "https://app.example.com/other"}),
     "wrong", "a proof redeemed from another page than its own")
case("verify", "link-expired", link_verify(proof(link_claims(t=1_000_000_000, e=1_000_000_900))), "wrong",
     "a well-signed proof long expired")
case("verify", "link-too-long-lived", link_verify(proof(link_claims(e=ISSUED + 10 ** 9))), "wrong",
     "a well-signed proof valid for far longer than MAGIC_LINK_TTL_SECONDS")
case("verify", "link-malformed", link_verify("ml1.%%%.***"), "wrong", "not a proof")
case("verify", "link-oversized", link_verify("ml1." + "A" * 3000 + ".x"), "wrong", "a 3 KB proof")
case("verify", "link-extra-claim", link_verify(proof({**link_claims(), "admin": True})), "wrong",
     "a well-signed proof with a claim the format does not have")


# ------------------------------------------------------------------------------ Passkeys
# Real authenticator outputs (events/passkey/, captured from Chromium's virtual authenticator),
# sent to rounds they do not fit. Their ceremonies expired minutes after the capture, and this
# corpus's AUTH_STATE_KEY makes other user handles: even the untouched answer is wrong here.
PASSKEY = json.loads((ROOT / "events" / "passkey" / "es256.json").read_text())
PASSKEY_OTHER = json.loads((ROOT / "events" / "passkey" / "es256-other-user.json").read_text())
# A sign-in without a name: an assertion of a discoverable ceremony and the state the service
# sealed for it (under the fixtures' key, not this corpus's, and long expired).
DISCOVERABLE = json.loads((ROOT / "events" / "passkey" / "es256-discoverable.json").read_text())
NO_NAME = {"credential": DISCOVERABLE["discoverable"]["answer"], "state": DISCOVERABLE["discoverable"]["state"]}


def on_passkey_client(event):
    event["callerContext"]["clientId"] = PASSKEY_CLIENT
    return event


def passkey_verify(answer, private=None, **request):
    private = copy.deepcopy(PASSKEY["signIn"]["private"]) if private is None else private
    if not isinstance(answer, str):
        answer = json.dumps(answer, separators=(",", ":"))
    return on_passkey_client(verify_event(private, answer, **request))


def client_data(change):
    answer = copy.deepcopy(PASSKEY["signIn"]["answer"])
    data = json.loads(base64.urlsafe_b64decode(answer["response"]["clientDataJSON"] + "=="))
    change(data)
    answer["response"]["clientDataJSON"] = b64(json.dumps(data).encode())
    return answer


def flipped_signature():
    answer = copy.deepcopy(PASSKEY["signIn"]["answer"])
    sig = bytearray(base64.urlsafe_b64decode(answer["response"]["signature"] + "=="))
    sig[-1] ^= 1
    answer["response"]["signature"] = b64(bytes(sig))
    return answer


def private_with(**changes):
    private = copy.deepcopy(PASSKEY["signIn"]["private"])
    for key, value in changes.items():
        if value is None:
            private.pop(key, None)
        else:
            private[key] = value
    return private


ANSWER = PASSKEY["signIn"]["answer"]
case("create", "passkey-first", on_passkey_client(create_event([custom_round("CHOOSE:passkey,email-otp", True)],
                                                               clientMetadata={"choice": "passkey"})),
     "created:PASSKEY", "the passkey round: no passkeys stored, so a decoy credential", sent=False)
case("verify", "passkey-captured", passkey_verify(ANSWER), "wrong",
     "a genuine assertion, its ceremony expired and its user handle another key's")
case("verify", "passkey-not-json", passkey_verify("hello passkey"), "wrong", "not an assertion")
case("verify", "passkey-empty-object", passkey_verify({}), "wrong", "an empty object")
case("verify", "passkey-signature", passkey_verify(flipped_signature()), "wrong", "one bit of the signature flipped")
case("verify", "passkey-type-create", passkey_verify(client_data(lambda d: d.update(type="webauthn.create"))),
     "wrong", "a registration's client data")
case("verify", "passkey-origin", passkey_verify(client_data(lambda d: d.update(origin="https://evil.example"))),
     "wrong", "signed for another origin")
case("verify", "passkey-challenge", passkey_verify(ANSWER, private_with(passkeyChallenge="AAAAAAAAAAAAAAAAAAAAAA")),
     "wrong", "an assertion of another round's challenge")
case("verify", "passkey-state-garbage", passkey_verify(ANSWER, private_with(passkeyState="AAAA")), "wrong",
     "private parameters Create never wrote")
case("verify", "passkey-no-state", passkey_verify(ANSWER, private_with(passkeyState=None)), "wrong",
     "no ceremony state")
case("verify", "passkey-keys-garbage", passkey_verify(ANSWER, private_with(passkeys="{not json")), "wrong",
     "unreadable offered passkeys")
case("verify", "passkey-not-offered", passkey_verify(ANSWER, private_with(passkeys="[]")), "wrong",
     "a credential the round did not offer")
case("verify", "passkey-other-user", passkey_verify(PASSKEY_OTHER["signIn"]["answer"]), "wrong",
     "another user's authenticator answering")
case("verify", "passkey-unknown-user", passkey_verify(ANSWER, userNotFound=True), "wrong",
     "an unknown user's decoy round")
case("verify", "passkey-no-name-captured", passkey_verify(NO_NAME), "wrong",
     "a genuine assertion without a name, its state sealed under another key (and expired)")
case("verify", "passkey-no-name-forged-state", passkey_verify({**NO_NAME, "state": "AAAA.AAAA"}), "wrong",
     "a state with a MAC the service never made")
case("verify", "passkey-no-name-no-state", passkey_verify({"credential": NO_NAME["credential"]}), "wrong",
     "an assertion without a name and no state: read as a named round's, whose challenge it is not")
case("verify", "passkey-no-name-state-garbage", passkey_verify({**NO_NAME, "state": "%" * 600}), "wrong",
     "a state that is not base64url, and too long")
case("verify", "passkey-wrong-client", verify_event(copy.deepcopy(PASSKEY["signIn"]["private"]),
                                                    json.dumps(ANSWER)),
     "wrong", "a PASSKEY round on a client whose flow has no passkey")

# ----------------------------------------------------------------- The passkey registration API
API_ISS = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"


# ------------------------------------------------------------------ Remembered devices (issue 29)
def device_key(n):
    """A P-256 device key from a fixed scalar, and its public half as SubjectPublicKeyInfo."""
    key = ec.derive_private_key(0x1D0000 + n, ec.SECP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, b64(spki)


def device_sign(key, nonce):
    """What a device answers: its ECDSA P-256 signature of the round's challenge, r || s."""
    der = key.sign(f"cognito custom-auth device v1:{nonce}".encode(), ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s_ = decode_dss_signature(der)
    return b64(r.to_bytes(32, "big") + s_.to_bytes(32, "big"))


DEVICE_KEY, DEVICE_SPKI = device_key(1)
OTHER_DEVICE_KEY, _ = device_key(2)
DEVICE_ID = b64(hashlib.sha256(base64.urlsafe_b64decode(DEVICE_SPKI + "==")).digest()[:16])
NONCE = b64(b"hostile device challenge 32 byte")


def device_private(expires=4_000_000_000, **changes):
    private = {"step": "DEVICE", "attempt": "1", "deviceChallenge": NONCE,
               "devices": json.dumps([[DEVICE_ID, DEVICE_SPKI, expires]])}
    for key, value in changes.items():
        if value is None:
            private.pop(key, None)
        else:
            private[key] = value
    return private


def device_verify(answer, private=None, **request):
    if not isinstance(answer, str):
        answer = json.dumps(answer, separators=(",", ":"))
    event = verify_event(device_private() if private is None else private, answer, **request)
    event["callerContext"]["clientId"] = DEVICE_CLIENT
    return event


def signed_by(key=DEVICE_KEY, nonce=NONCE, device=DEVICE_ID):
    return {"device": device, "signature": device_sign(key, nonce)}


device_create = create_event([custom_round("CHOOSE:device,email-otp", True)], clientMetadata={"choice": "device"})
device_create["callerContext"]["clientId"] = DEVICE_CLIENT
case("create", "device-first", device_create, "created:DEVICE",
     "the device round: a challenge, and no device in the (fake) store", sent=False)
case("verify", "device-right", device_verify(signed_by()), "correct",
     "the offered device's signature of this round's challenge (the fake store says it is still remembered)")
case("verify", "device-not-json", device_verify("hello device"), "wrong", "not an answer")
case("verify", "device-empty-object", device_verify({}), "wrong", "an empty object")
case("verify", "device-extra-field", device_verify({**signed_by(), "admin": True}), "wrong", "an unknown field")
case("verify", "device-other-challenge", device_verify(signed_by(nonce="an-earlier-challenge")), "wrong",
     "a signature over another round's challenge (a replay)")
case("verify", "device-other-key", device_verify(signed_by(key=OTHER_DEVICE_KEY)), "wrong",
     "another key's signature under the device's id")
case("verify", "device-not-offered", device_verify(signed_by(device=b64(b"another device id"))), "wrong",
     "a device id the round did not offer (another person's, or forgotten)")
case("verify", "device-expired", device_verify(signed_by(), device_private(expires=ISSUED)), "wrong",
     "a device past its days")
case("verify", "device-devices-garbage", device_verify(signed_by(), device_private(devices="{not json")), "wrong",
     "private parameters Create did not write")
case("verify", "device-no-challenge", device_verify(signed_by(), device_private(deviceChallenge=None)), "wrong",
     "a round without its challenge")
case("verify", "device-unknown-user", device_verify(signed_by(), userNotFound=True), "wrong",
     "an unknown user never passes, even with a good signature")
case("verify", "device-huge-signature", device_verify({"device": DEVICE_ID, "signature": "A" * 3900}), "wrong",
     "a signature of 3900 characters")
case("verify", "device-signature-not-base64", device_verify({"device": DEVICE_ID, "signature": "%%%"}), "wrong",
     "a signature that is not base64url")

# A sign-in that is fresh when the event is sent: the test writes the time of sending here.
FRESH = "{auth_time}"


def api_event(method, path, body=None, claims=None, base64_body=False, token="hostile-access-token"):
    """An HTTP API (payload 2.0) event as API Gateway sends it after the JWT authorizer."""
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "hostile1", "domainName": "hostile1.execute-api.local",
            "domainPrefix": "hostile1", "requestId": "hostile-request", "routeKey": f"{method} {path}",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": ISSUED * 1000,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "hostile"},
        },
        "isBase64Encoded": base64_body,
    }
    if claims is not False:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims or {
            "token_use": "access", "username": "jane", "iss": API_ISS, "client_id": "4k1s7exampleclientid0123",
            "sub": SUB, "auth_time": FRESH}, "scopes": None}}
    if body is not None:
        event["body"] = body
    return event


API_CASES = []


def api_case(name, event, expect, why):
    API_CASES.append((name, event, {"expect": expect, "why": why}))


api_case("no-authorizer", api_event("GET", "/passkeys", claims=False), "status:401",
         "no claims: the authorizer was bypassed or the route misconfigured")
api_case("id-token", api_event("GET", "/passkeys", claims={"token_use": "id", "cognito:username": "jane",
                                                           "iss": API_ISS}), "status:401", "an ID token")
api_case("no-username", api_event("GET", "/passkeys", claims={"token_use": "access", "iss": API_ISS}),
         "status:401", "an access token without a user name")
api_case("other-issuer", api_event("GET", "/passkeys", claims={"token_use": "access", "username": "jane",
                                                               "iss": "https://evil.example/"}),
         "status:401", "an issuer that names no pool")
api_case("unknown-route", api_event("GET", "/admin"), "status:404", "a route the API does not have")
api_case("put", api_event("PUT", "/passkeys", "{}"), "status:404", "a method the API does not have")
api_case("finish-not-json", api_event("POST", "/passkeys", "not json"), "status:400", "a body that is not JSON")
api_case("finish-base64-garbage", api_event("POST", "/passkeys", "%%%", base64_body=True), "status:400",
         "a base64 body that is not base64")
api_case("finish-oversized", api_event("POST", "/passkeys", json.dumps({"credential": "A" * 20000})),
         "status:400", "a 20 KB body")
api_case("finish-control-name", api_event("POST", "/passkeys", json.dumps({"credential": {}, "name": "a\u0000b"})),
         "status:400", "a passkey name with a control character")
api_case("finish-nothing-pending", api_event("POST", "/passkeys", json.dumps(
    {"credential": PASSKEY["registration"]["credential"], "name": "Replayed"})),
         "status:409", "a genuine registration with no ceremony pending (the fake store holds none)")
STALE_CLAIMS = {"token_use": "access", "username": "jane", "iss": API_ISS, "sub": SUB,
                "auth_time": str(ISSUED)}
api_case("start-stale-sign-in", api_event("POST", "/passkeys/registration", claims=STALE_CLAIMS), "status:403",
         "a token whose sign-in is older than PASSKEY_REGISTRATION_MAX_AGE_SECONDS (a stolen one, most likely)")
api_case("finish-stale-sign-in", api_event("POST", "/passkeys", json.dumps(
    {"credential": PASSKEY["registration"]["credential"]}), claims=STALE_CLAIMS), "status:403",
         "completing a registration needs a fresh sign-in too")
api_case("delete-stale-sign-in", api_event("DELETE", "/passkeys/AAAA", claims=STALE_CLAIMS), "status:403",
         "so does deleting")
api_case("start-no-auth-time", api_event("POST", "/passkeys/registration", claims={
    "token_use": "access", "username": "jane", "iss": API_ISS, "sub": SUB}), "status:403",
         "a token without auth_time: its sign-in's age is unknown")
api_case("start-auth-time-garbage", api_event("POST", "/passkeys/registration", claims={
    "token_use": "access", "username": "jane", "iss": API_ISS, "sub": SUB, "auth_time": "-1e9"}), "status:403",
         "an auth_time that is not a time")
api_case("start-no-token", api_event("POST", "/passkeys/registration", token=None), "status:401",
         "claims but no Authorization header: the pool cannot be asked, so no change")
api_case("no-sub", api_event("GET", "/passkeys", claims={"token_use": "access", "username": "jane", "iss": API_ISS}),
         "status:401", "an access token without sub: passkeys belong to a sub")
api_case("delete-not-base64", api_event("DELETE", "/passkeys/%%%"), "status:404", "an id that is not base64url")
api_case("delete-traversal", api_event("DELETE", "/passkeys/../../etc"), "status:404", "a path with dots")
api_case("delete-huge-id", api_event("DELETE", "/passkeys/" + "A" * 3000), "status:404", "a 3000-character id")
# Signing in without a name: two public routes, no authorizer, no claims.
api_case("sign-in-options-public", api_event("POST", "/passkeys/sign-in/options", claims=False, token=None),
         "status:200", "the options of a sign-in without a name need no token (and store nothing)")
api_case("sign-in-options-get", api_event("GET", "/passkeys/sign-in/options", claims=False, token=None),
         "status:401", "only POST is public: GET on the path is a token route")
api_case("sign-in-name-captured", api_event("POST", "/passkeys/sign-in/name", json.dumps(NO_NAME), claims=False,
                                            token=None), "status:400",
         "a genuine assertion with a state sealed under another key: no name")
api_case("sign-in-name-forged-state", api_event("POST", "/passkeys/sign-in/name",
                                                json.dumps({**NO_NAME, "state": "AAAA.AAAA"}), claims=False,
                                                token=None), "status:400", "a state the service did not seal")
api_case("sign-in-name-not-json", api_event("POST", "/passkeys/sign-in/name", "jane", claims=False, token=None),
         "status:400", "a body that is not JSON (a name, say)")
api_case("sign-in-name-oversized", api_event("POST", "/passkeys/sign-in/name",
                                             json.dumps({"credential": "A" * 20000, "state": "A"}), claims=False,
                                             token=None), "status:400", "a 20 KB body")
api_case("sign-in-name-bare-assertion", api_event("POST", "/passkeys/sign-in/name",
                                                  json.dumps(NO_NAME["credential"]), claims=False, token=None),
         "status:400", "an assertion without its state")
# Remembered devices: every change needs a fresh, live sign-in; remembering, one without a device.
DEVICE_CLAIMS = {"token_use": "access", "username": "jane", "iss": API_ISS, "sub": SUB, "auth_time": FRESH,
                 "signin_amr": "[pwd otp mfa]"}
REMEMBER = json.dumps({"publicKey": DEVICE_SPKI, "name": "Hostile laptop"})
api_case("devices-no-authorizer", api_event("GET", "/devices", claims=False), "status:401", "no claims")
api_case("devices-remember", api_event("POST", "/devices", REMEMBER, claims=DEVICE_CLAIMS), "status:201",
         "a fresh sign-in without a device remembers one (the fake store takes it)")
api_case("devices-remember-after-device", api_event("POST", "/devices", REMEMBER, claims={
    **DEVICE_CLAIMS, "signin_amr": "[pwd swk mfa]"}), "status:403",
         "a sign-in by a remembered device may not remember another (a key renewing itself)")
api_case("devices-remember-no-methods", api_event("POST", "/devices", REMEMBER, claims={
    k: v for k, v in DEVICE_CLAIMS.items() if k != "signin_amr"}), "status:403",
         "a token that does not say how it signed in")
api_case("devices-remember-stale", api_event("POST", "/devices", REMEMBER, claims={
    **DEVICE_CLAIMS, "auth_time": str(ISSUED)}), "status:403", "a stale sign-in (a stolen token, most likely)")
api_case("devices-remember-not-a-key", api_event("POST", "/devices", json.dumps(
    {"publicKey": b64(b"not a key"), "name": "x"}), claims=DEVICE_CLAIMS), "status:400", "a public key that is none")
api_case("devices-remember-chosen-id", api_event("POST", "/devices", json.dumps(
    {"publicKey": DEVICE_SPKI, "name": "x", "id": "AAAA"}), claims=DEVICE_CLAIMS), "status:400",
         "a client that names the device's id (the service derives it)")
api_case("devices-forget-all-stale", api_event("DELETE", "/devices", claims={
    **DEVICE_CLAIMS, "auth_time": str(ISSUED)}), "status:403", "forgetting needs a fresh sign-in too")
api_case("devices-rename-traversal", api_event("PATCH", "/devices/../passkeys", "{}", claims=DEVICE_CLAIMS),
         "status:404", "a path with dots")
api_case("cognito-event", verify_event(OTP_PRIVATE, CODE), "error",
         "a Cognito trigger event sent to the API: not an HTTP API event (refused without quoting it)")
api_case("null-event", None, "error", "the payload is JSON null")
api_case("claims-not-strings", with_(api_event("GET", "/passkeys"), {"token_use": ["access"], "username": 7},
                                     "requestContext", "authorizer", "jwt", "claims"),
         "error", "claims of the wrong types: not an event API Gateway sends")

VALID = {
    "define": (define_event(MID), "challenge:CUSTOM_CHALLENGE", {}),
    "create": (create_event(MID), "created:EMAIL_OTP", {"sent": True}),
    "verify": (verify_event(SEL_PRIVATE, "acct-2002"), "correct", {}),
    "pre-token": (P_REFRESH, "minted:none", {}),
    "passkey-api": (api_event("GET", "/passkeys"), "status:200", {}),
}

FUNCTIONS = {t: f"{t}-auth-challenge" for t in TRIGGERS}
FUNCTIONS["pre-token"] = "pre-token-generation"
FUNCTIONS["passkey-api"] = "passkey-api"


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    entries = []
    for trigger, name, event, meta in CASES + [("passkey-api", n, e, m) for n, e, m in API_CASES]:
        path = OUT / trigger / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(event, indent=2, ensure_ascii=False) if name not in LARGE else json.dumps(event)
        path.write_text(text + "\n")
        entries.append({"event": f"{trigger}/{name}.json", "function": FUNCTIONS[trigger], **meta})
    valid = {}
    for trigger, (event, expect, extra) in VALID.items():
        path = OUT / "valid" / f"{trigger}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event, indent=2) + "\n")
        valid[FUNCTIONS[trigger]] = {"event": f"valid/{trigger}.json", "expect": expect, **extra}
    (OUT / "jwks.json").write_text(json.dumps(jwks(), indent=2) + "\n")
    manifest = {
        "about": "Hostile events for the three triggers; run by tests/local_aws/hostile.rs "
                 "with `cargo lambda invoke`. expect: error = the invocation fails; fail = Define "
                 "ends the sign-in; challenge:X = Define asks for X; created:TAG = Create "
                 "builds TAG's challenge; wrong/correct = Verify's answerCorrect. No case may "
                 "yield issueTokens: true.",
        "env": ENV,
        "valid": valid,
        "cases": entries,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    print(f"{len(entries)} hostile events written under {OUT.relative_to(ROOT)}")


LARGE = {"session-10000-wrong", "session-10000-passed", "session-10000", "answer-1mib", "jwt-100kb"}

if __name__ == "__main__":
    main()
