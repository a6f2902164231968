//! Base64 as the APIs and WebAuthn write binary: one place, so the passkeys, the devices and
//! the stores agree.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Base64url without padding, as WebAuthn's JSON writes binary.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Standard base64 (with padding), as API Gateway encodes bodies; `None` for anything else.
pub fn unb64_standard(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// The inverse of [`b64`]; `None` for anything else.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}
