"""A software WebAuthn authenticator for the load driver (tools/load.py): what headless
Chromium's virtual authenticator does in the browser tests, without a browser per sign-in.

It answers `navigator.credentials.create` and `.get` as a platform authenticator would, in the
JSON of `PublicKeyCredential.toJSON()`: ES256 (P-256) keys, attestation `none`, user present
and verified, a signature counter per credential, and client data naming the origin it is
given. Test keys only: they live in this process's memory.

The shapes follow WebAuthn Level 3 (authenticator data §6.1, attested credential data §6.5.1,
`none` attestation §8.7, client data §5.8.1) and match, field for field, what Chromium's
virtual authenticator returns (events/passkey/es256.json).
"""

import base64
import hashlib
import json
import os
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ES256 = -7
UP, UV, AT = 0x01, 0x04, 0x40


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cbor(value):
    """The CBOR of ints, bytes, text, lists and maps (map keys in the order given: callers give
    CTAP2's canonical order, as authenticators do)."""

    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
        raise ValueError("too large")

    if isinstance(value, bool):
        return bytes([0xF5 if value else 0xF4])
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        data = value.encode()
        return head(3, len(data)) + data
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


def client_data(kind, challenge, origin):
    # The serialisation browsers use (WebAuthn §5.8.1.1): type, challenge, origin, crossOrigin.
    return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False},
                      separators=(",", ":")).encode()


class Credential:
    """One passkey: its id, key pair, relying party, user handle and counter."""

    def __init__(self, rp_id, user_handle):
        self.id = os.urandom(32)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.rp_id = rp_id
        self.user_handle = user_handle
        self.counter = 0
        self.lock = threading.Lock()

    def next_counter(self):
        with self.lock:
            self.counter += 1
            return self.counter

    def cose_key(self):
        numbers = self.key.public_key().public_numbers()
        return cbor({1: 2, 3: ES256, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def spki(self):
        return self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def authenticator_data(rp_id, flags, counter, attested=b""):
    return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + counter.to_bytes(4, "big") + attested


def create(options, origin):
    """A new credential for `options` (PublicKeyCredentialCreationOptionsJSON): the credential
    to keep, and the browser's answer (`PublicKeyCredential.toJSON()`)."""
    if not any(p.get("alg") == ES256 for p in options.get("pubKeyCredParams", [])):
        raise ValueError("the relying party does not take ES256")
    rp_id = options["rp"]["id"]
    credential = Credential(rp_id, unb64(options["user"]["id"]))
    attested = bytes(16) + len(credential.id).to_bytes(2, "big") + credential.id + credential.cose_key()
    auth_data = authenticator_data(rp_id, UP | UV | AT, credential.next_counter(), attested)
    data = client_data("webauthn.create", options["challenge"], origin)
    attestation = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
    return credential, as_json(credential, {
        "clientDataJSON": b64(data),
        "attestationObject": b64(attestation),
        "authenticatorData": b64(auth_data),
        "publicKey": b64(credential.spki()),
        "publicKeyAlgorithm": ES256,
        "transports": ["internal"],
    })


def get(options, origin, credential, counter=None):
    """The browser's answer to `options` (PublicKeyCredentialRequestOptionsJSON) by `credential`,
    with the counter's next value (or `counter`, as a cloned authenticator would say it).
    The credential is used whether or not the request offers it: a test may answer a round
    with a passkey that is not the round's."""
    flags = UP | UV
    auth_data = authenticator_data(options.get("rpId") or credential.rp_id, flags,
                                   credential.next_counter() if counter is None else counter)
    data = client_data("webauthn.get", options["challenge"], origin)
    signature = credential.key.sign(auth_data + hashlib.sha256(data).digest(), ec.ECDSA(hashes.SHA256()))
    return as_json(credential, {
        "clientDataJSON": b64(data),
        "authenticatorData": b64(auth_data),
        "signature": b64(signature),
        "userHandle": b64(credential.user_handle),
    })


def as_json(credential, response):
    """`PublicKeyCredential.toJSON()` of a platform authenticator's `response` by `credential`."""
    return {
        "id": b64(credential.id),
        "rawId": b64(credential.id),
        "type": "public-key",
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {},
        "response": response,
    }


def offered(options, credential):
    """Whether the request `options` offer `credential` (its allowCredentials name it)."""
    return any(c.get("id") == b64(credential.id) for c in options.get("allowCredentials", []))
