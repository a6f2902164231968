//! Keyed hashes, and the store key of every record kept across sign-ins.
//!
//! The store never holds what a record is about (a user name, a `sub`, a token id, a link):
//! each key is an HMAC-SHA256 under `AUTH_STATE_KEY` of it, with a domain string per kind so no
//! two kinds collide, behind a prefix per kind: `u#` a user's limits, `t#` a spent signed token,
//! `c#` an account chosen in one sign-in, `m#` the methods one sign-in passed, `d#` a person's
//! remembered devices, `p#` a person's passkeys, `l#` a spent magic link.
//! The prefixes are also what the template scopes each function's table access to
//! (`dynamodb:LeadingKeys`). Without the key, a key tells nothing.

use sha2::{Digest, Sha256};

use crate::config::env::Secret;

/// HMAC-SHA256 (RFC 2104) of the concatenated `chunks`.
pub(crate) fn hmac_sha256(key: &[u8], chunks: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new().chain_update(block.map(|b| b ^ 0x36));
    for chunk in chunks {
        inner.update(chunk);
    }
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner.finalize())
        .finalize()
        .into()
}

/// [`hmac_sha256`] of `domain` and `parts`, each followed by a zero byte (so no two lists of
/// parts collide), as lower-case hex.
pub(crate) fn keyed_hash(key: &[u8], domain: &str, parts: &[&str]) -> String {
    let mut chunks: Vec<&[u8]> = vec![domain.as_bytes(), &[0]];
    for part in parts {
        chunks.push(part.as_bytes());
        chunks.push(&[0]);
    }
    hmac_sha256(key, &chunks)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The store key of a user: a keyed hash of the pool and the user name as tried (so unknown
/// names are counted like real ones), prefixed `u#`. The user name is lower-cased first, as
/// the template's pool compares names without case: `Jane` and `jane` are one user.
pub fn user_key(key: &Secret, pool: &str, user: &str) -> String {
    let user = crate::names::compared(user);
    format!(
        "u#{}",
        keyed_hash(key.expose().as_bytes(), "user", &[pool, &user])
    )
}

/// The store key of a signed token: a keyed hash of its issuer (empty when it has none) and
/// its `jti`, prefixed `t#`.
pub fn token_key(key: &Secret, issuer: &str, jti: &str) -> String {
    format!(
        "t#{}",
        keyed_hash(key.expose().as_bytes(), "token", &[issuer, jti])
    )
}

/// The store key of the methods one sign-in passed ([`crate::methods`]): a keyed hash of the
/// pool, the user name (lower-cased) and the sign-in id the client sent, prefixed `m#`.
pub fn methods_key(key: &Secret, pool: &str, user: &str, sign_in_id: &str) -> String {
    let user = crate::names::compared(user);
    format!(
        "m#{}",
        keyed_hash(
            key.expose().as_bytes(),
            "methods",
            &[pool, &user, sign_in_id]
        )
    )
}

/// The store key of the account chosen in one sign-in: a keyed hash of the pool, the user
/// name (lower-cased) and the sign-in id the client sent, prefixed `c#`.
pub fn choice_key(key: &Secret, pool: &str, user: &str, sign_in_id: &str) -> String {
    let user = crate::names::compared(user);
    format!(
        "c#{}",
        keyed_hash(
            key.expose().as_bytes(),
            "choice",
            &[pool, &user, sign_in_id]
        )
    )
}

/// The store key of a person's passkeys: a keyed hash of pool and the user's `sub`, prefixed
/// `p#`. By `sub`, not by name: a name can be deleted and later given to someone else, who
/// must not inherit the passkeys of the one before (`sub` is never reused). Apart from the
/// user's limits record (`u#`), whose items expire, so credentials never do.
pub fn owner_key(key: &Secret, pool: &str, sub: &str) -> String {
    format!(
        "p#{}",
        keyed_hash(key.expose().as_bytes(), "passkeys", &[pool, sub])
    )
}

/// The store key of a person's remembered devices: a keyed hash of pool and the user's `sub`,
/// prefixed `d#`. By `sub`, as passkeys are: a name given to someone else later brings no
/// device with it.
pub fn devices_key(key: &Secret, pool: &str, sub: &str) -> String {
    format!(
        "d#{}",
        keyed_hash(key.expose().as_bytes(), "devices", &[pool, sub])
    )
}

/// The store key of a spent link.
pub(crate) fn spent_key(state_key: &Secret, id: &str) -> String {
    format!(
        "l#{}",
        keyed_hash(state_key.expose().as_bytes(), "link", &[id])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        // Test case 2 (short key), and 6 (a key longer than the block, hashed first).
        assert_eq!(
            hex(hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(hmac_sha256(
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn keys_hide_names_and_separate_what_they_should() {
        let key = Secret::new("k".repeat(32));
        let jane = user_key(&key, "pool-1", "jane");
        assert!(jane.starts_with("u#") && jane.len() == 66);
        assert!(!jane.contains("jane"));
        assert_eq!(jane, user_key(&key, "pool-1", "Jane"), "names without case");
        assert_ne!(jane, user_key(&key, "pool-2", "jane"));
        assert_ne!(jane, user_key(&key, "pool-1", "jane2"));
        assert_ne!(
            jane,
            user_key(&Secret::new("x".repeat(32)), "pool-1", "jane")
        );
        // The zero byte between parts: ("ab", "c") is not ("a", "bc").
        assert_ne!(user_key(&key, "ab", "c"), user_key(&key, "a", "bc"));
        let token = token_key(&key, "issuer", "jti-1");
        assert!(token.starts_with("t#"));
        assert_ne!(token, token_key(&key, "other", "jti-1"));
        assert_ne!(token, token_key(&key, "issuer", "jti-2"));
    }
}
