//! The one rule for a user name as the pool compares it.
//!
//! The template's pool compares names without case (`UsernameConfiguration.CaseSensitive:
//! false`): `jane` and `JANE` sign in as one user and get one round. Everything derived from a
//! name as typed (the store keys of per-name counters, and every decoy an unknown name sees)
//! must therefore be derived from the name in this form. Otherwise two requests that differ
//! only in case would show two different decoys for an unknown name and one real round for a
//! known one, which tells which names exist.
//!
//! Per-person state (passkeys, the WebAuthn user handle) is keyed by the user's `sub`, not by
//! any name: see [`crate::keys::owner_key`].

/// `user` as the pool compares it: lower-cased (Unicode lower case, as Rust's `to_lowercase`,
/// so it is the same for every trigger and adapter).
pub fn compared(user: &str) -> String {
    user.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_differ_only_in_case_compare_equal() {
        for (a, b) in [
            ("jane", "JANE"),
            ("Jane@Example.com", "jane@example.COM"),
            ("ÉLODIE", "élodie"),
        ] {
            assert_eq!(compared(a), compared(b), "{a} {b}");
        }
        assert_ne!(compared("jane"), compared("jane "));
    }
}
