"""Passkeys in the load driver (tools/load.py): registration through the account API, as the
page does it, with the software authenticator (tools/soft_authenticator.py), and the checks
that each user's passkeys are its own under concurrency."""

import concurrent.futures
import json
import secrets
import urllib.error
import urllib.request

import local_aws
import soft_authenticator
from load_signin import one_user_at_once, sign_in


class AccountApi:
    """The stack's account API (passkeys), called as the page calls it: a bearer access token."""

    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, token, body=None):
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # loopback only
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        return status, json.loads(raw) if raw else {}


def tokens_by_code(idp, mailbox, stack, user):
    """A sign-in by e-mailed code through the flow's choice, as the page makes it (the pick as the
    answer and in ClientMetadata `choice`): its tokens, for the account API."""
    metadata = {"signInId": secrets.token_urlsafe(16)}
    step = idp.initiate_auth(ClientId=stack["clientId"], AuthFlow="CUSTOM_AUTH",
                             AuthParameters={"USERNAME": user}, ClientMetadata=metadata)
    for _ in range(6):
        if "AuthenticationResult" in step:
            return step["AuthenticationResult"]
        kind = step.get("ChallengeParameters", {}).get("challenge")
        if kind == "CHOOSE":
            answer, extra = "email-otp", {"choice": "email-otp"}
        elif kind == "EMAIL_OTP":
            answer, extra = mailbox.wait_for_code(f"{user}@load.example.com"), {}
        else:
            raise RuntimeError(f"a code sign-in of {user} met round {kind}")
        step = idp.respond_to_auth_challenge(
            ClientId=stack["clientId"], ChallengeName="CUSTOM_CHALLENGE", Session=step["Session"],
            ChallengeResponses={"USERNAME": user, "ANSWER": answer}, ClientMetadata={**metadata, **extra})
    raise RuntimeError(f"a code sign-in of {user} did not end")


def register_passkey(idp, mailbox, stack, user, origin):
    """`user` signs in by code and adds a passkey made by the software authenticator, through the
    account API, within the stack's freshness bound: the credential and the access token."""
    api = AccountApi(stack["passkeyApi"])
    token = tokens_by_code(idp, mailbox, stack, user)["AccessToken"]
    status, options = api.call("POST", "/passkeys/registration", token)
    if status != 200:
        raise RuntimeError(f"{user}: the registration did not start: {status} {options.get('code')}")
    credential, answer = soft_authenticator.create(options, origin)
    status, added = api.call("POST", "/passkeys", token, {"credential": answer, "name": "load"})
    if status != 201 or added.get("id") != soft_authenticator.b64(credential.id):
        raise RuntimeError(f"{user}: the passkey was not added: {status} {added.get('code')}")
    return credential, token


def register_passkeys(args, mailbox, stack, users):
    """Every user in `users` registers a passkey, at most --in-flight at once: {user: (credential,
    access token)}, and the misses."""
    idp = local_aws.boto(args.port, "cognito-idp")  # (a client is safe to share between threads)
    registered, misses = {}, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.in_flight or len(users)) as pool:
        futures = {pool.submit(register_passkey, idp, mailbox, stack, u, args.passkey_origin): u for u in users}
        for future in concurrent.futures.as_completed(futures):
            try:
                registered[futures[future]] = future.result()
            except Exception as e:  # noqa: BLE001 (reported as a miss, with what failed)
                misses.append(f"passkey registration: {e}")
    return registered, misses


def passkey_checks(args, mailbox, stack, registered, clone_user, plan_users):
    """Each user's passkeys are its own, under concurrency: a passkey user's list holds exactly
    the passkey it added; a round of one user answered with another's passkey is refused (and
    never offered it); one passkey cloned into concurrent sessions, each saying the same counter
    value, signs in exactly once (the counter is written in one conditional write). The misses."""
    misses = []
    api = AccountApi(stack["passkeyApi"])
    for user in plan_users:
        if user not in registered:
            continue
        credential, token = registered[user]
        status, listed = api.call("GET", "/passkeys", token)
        ids = [p.get("id") for p in listed.get("passkeys", [])]
        if status != 200 or ids != [soft_authenticator.b64(credential.id)]:
            misses.append(f"{user}: lists passkeys {ids} ({status}); expected exactly its own")
    if clone_user not in registered or not plan_users or plan_users[0] not in registered:
        return misses + ["passkey checks: no registered passkey to check with"]
    clone, _ = registered[clone_user]
    victim = plan_users[0]
    offers = []

    def foreign(options):
        offers.append((soft_authenticator.offered(options, clone),
                       soft_authenticator.offered(options, registered[victim][0])))
        return soft_authenticator.get(options, args.passkey_origin, clone)

    crossed = sign_in(args.cli, args.port, mailbox, stack, victim, False, False, 0.0, passkey=foreign)
    # (No round offered at all would prove nothing: a miss too.)
    if crossed[1] != "refused" or not offers or any(o[0] or not o[1] for o in offers):
        misses.append(f"{victim}'s round answered with {clone_user}'s passkey: {crossed[1]}, offers "
                      f"(other's, own) {offers}; expected refused, and only its own offered")
    counter = clone.counter + 1

    def cloned(options):
        return soft_authenticator.get(options, args.passkey_origin, clone, counter=counter)

    sessions = 3
    runs = one_user_at_once(args.cli, args.port, mailbox, stack, clone_user, sessions, False, cloned)
    outcomes = sorted(r[1] for r in runs)
    if outcomes.count("signed-in") != 1 or any(o not in ("signed-in", "refused", "limited") for o in outcomes):
        misses.append(f"one passkey cloned into {sessions} sessions at once, one counter value: {outcomes}; "
                      "expected exactly one signed in")
    return misses
