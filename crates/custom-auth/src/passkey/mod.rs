//! Passkeys (WebAuthn): registration after sign-in ([`register`]), and the `passkey` sign-in
//! step ([`sign_in`]).
//!
//! The WebAuthn parsing and checks (CBOR, COSE keys, attestation `none` and `packed`
//! self-attestation, the client data, the authenticator data's flags, signatures in ES256,
//! EdDSA and RS256, the signature counter) are the `webauthn_rp` crate's: pure Rust, no
//! OpenSSL. This module decides what goes into a ceremony and where its state lives: a
//! registration's in the state store for `PASSKEY_TIMEOUT_SECONDS`, a sign-in's in Cognito's
//! private challenge parameters (the client never sees them). Credentials live in the state
//! store behind [`PasskeyStore`]; a sign-in reads them once in Create and writes their new
//! signature counter once in Verify, in the same atomic request that admits the answer.

pub mod api;
pub mod discover;
pub mod notice;
pub mod register;

use webauthn_rp::request::auth::AuthenticationVerificationOptions;
use webauthn_rp::request::register::{CoseAlgorithmIdentifier, CoseAlgorithmIdentifiers};

use crate::config::env::Secret;
use crate::keys::hmac_sha256;

pub use crate::config::passkey::{PasskeySettings, Verification};
pub use crate::encoding::{b64, unb64, unb64_standard};
pub use crate::store::passkeys::{
    Added, Discovered, Holder, PasskeyStore, PasskeyUse, StoredPasskey,
};

/// Length of the user handle the authenticator keeps (bytes).
pub const USER_HANDLE_BYTES: usize = 32;

/// The most passkeys one user may hold.
pub const MAX_PASSKEYS: usize = 10;

/// The most bytes of a browser's registration or assertion JSON accepted.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024;

/// The algorithms a new passkey may use: ES256, EdDSA and RS256 (what platform authenticators
/// and security keys make); ES384 is not asked for.
fn algorithms() -> CoseAlgorithmIdentifiers {
    CoseAlgorithmIdentifiers::ALL.remove(CoseAlgorithmIdentifier::Es384)
}

/// The WebAuthn user handle of a person: 32 bytes of a keyed hash of pool and `sub` (see
/// [`crate::keys::owner_key`] for why not the name). The authenticator keeps it and returns it on sign-in;
/// it is neither the name, nor the `sub`, nor the e-mail address, and tells nothing without
/// the key.
pub fn user_handle(key: &Secret, pool: &str, sub: &str) -> [u8; USER_HANDLE_BYTES] {
    hmac_sha256(
        key.expose().as_bytes(),
        &[
            b"passkey user handle\0",
            pool.as_bytes(),
            b"\0",
            sub.as_bytes(),
        ],
    )
}

/// Runs `verify` with the checks of every sign-in assertion, named or not: an origin of
/// `PASSKEY_ORIGINS`, and the user-verified flag kept up to date. Extension outputs the RP did
/// not ask for are ignored (browsers add some).
pub(crate) fn with_sign_in_checks<T>(
    settings: &PasskeySettings,
    verify: impl FnOnce(&AuthenticationVerificationOptions<'_, '_, &str, &str>) -> T,
) -> T {
    let origins: Vec<&str> = settings.origins.iter().map(String::as_str).collect();
    let options = AuthenticationVerificationOptions::<&str, &str> {
        allowed_origins: &origins,
        error_on_unsolicited_extensions: false,
        update_uv: true,
        ..AuthenticationVerificationOptions::default()
    };
    verify(&options)
}

#[cfg(test)]
mod tests;
