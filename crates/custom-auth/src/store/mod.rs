//! The ports of what is kept across sign-ins. [`passkeys`] is the passkey store's; the state
//! store's port and rules are in [`crate::state`].

pub mod passkeys;
