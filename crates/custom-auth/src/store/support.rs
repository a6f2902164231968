//! The support desk's port ([`crate::support`]): a user's record, and the lockout or the send
//! window cleared. Beside the other ports, below the code that uses it.

use std::future::Future;

use crate::ports::DependencyError;
use crate::store::UserRecord;

/// The state store's support side: read a user's record, and clear parts of it. Each write
/// is one request.
pub trait SupportStore: Sync {
    /// The record of `user` (a store key, [`crate::keys::user_key`]); the default when there is none.
    fn user_record(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<UserRecord, DependencyError>> + Send;

    /// Ends `user`'s lockout window: the wrong answers counted so far are forgotten.
    fn unlock(&self, user: &str) -> impl Future<Output = Result<(), DependencyError>> + Send;

    /// Ends `user`'s send window: the codes sent so far no longer count.
    fn reset_sends(&self, user: &str) -> impl Future<Output = Result<(), DependencyError>> + Send;
}
