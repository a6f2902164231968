//! What the support desk may do for one user, with the operator's own AWS credentials: see the
//! user's state (locked until, codes sent in the window, passkeys, remembered devices), end a
//! lockout, reset the send window, remove a passkey, forget every remembered device.
//!
//! The command (`cognito-signin support`) finds the user in the pool first (a name that is no
//! user is refused, not created), then acts here through [`SupportStore`] and the passkeys' and
//! devices' ports. Every change makes an audit event ([`crate::telemetry::audit`]). What is
//! shown holds no secret: no key, no public key, no code; passkeys and devices by id, name and
//! dates.

use serde_json::{Value, json};

use crate::config::env::Secret;
use crate::config::state::Limits;
use crate::encoding::{b64, rfc3339, unb64};
use crate::keys::{devices_key, owner_key, user_key};
use crate::ports::DependencyError;
use crate::store::devices::DeviceStore;
use crate::store::passkeys::PasskeyStore;
use crate::telemetry::{Audit, AuditEvent, Subject};

pub use crate::store::support::SupportStore;

/// What the operator asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Show the state.
    Show,
    /// End the lockout.
    Unlock,
    /// Reset the send window.
    ResetSends,
    /// Remove the passkey with this id (base64url, as `show` lists it).
    RemovePasskey(String),
    /// Forget every remembered device.
    ForgetDevices,
}

/// The user acted on: found in the pool by the command.
#[derive(Clone, Copy, Debug)]
pub struct Person<'a> {
    /// The user pool id.
    pub pool: &'a str,
    /// The user name, as the pool knows it.
    pub user: &'a str,
    /// The user's `sub`.
    pub sub: &'a str,
}

/// Why an action could not be done.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SupportError {
    /// The store did not answer, or answered nonsense.
    #[error("the state store did not answer; nothing was changed")]
    Store(#[from] DependencyError),
    /// No passkey of the user has that id.
    #[error("the user has no passkey with that id (see `show`)")]
    NoSuchPasskey,
}

/// What an action did: the user's state after it, and the audit event of a change.
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    /// The state, as `show` prints it.
    pub state: Value,
    /// The change's audit event (none for `show`).
    pub audit: Option<Audit>,
}

/// Does `action` for `person` at `now` and says the state after it.
pub async fn act(
    key: &Secret,
    limits: &Limits,
    store: &(impl SupportStore + PasskeyStore + DeviceStore),
    person: Person<'_>,
    action: &Action,
    now: u64,
) -> Result<Done, SupportError> {
    let user = user_key(key, person.pool, person.user);
    let owner = owner_key(key, person.pool, person.sub);
    let (event, detail) = match action {
        Action::Show => (None, None),
        Action::Unlock => {
            store.unlock(&user).await?;
            (Some(AuditEvent::LockoutEnded), None)
        }
        Action::ResetSends => {
            store.reset_sends(&user).await?;
            (Some(AuditEvent::SendsReset), None)
        }
        Action::RemovePasskey(id) => {
            let id = unb64(id).ok_or(SupportError::NoSuchPasskey)?;
            if !store.remove_passkey(&owner, &id).await? {
                return Err(SupportError::NoSuchPasskey);
            }
            (Some(AuditEvent::PasskeyRemoved), None)
        }
        Action::ForgetDevices => {
            store
                .forget_devices(&devices_key(key, person.pool, person.sub))
                .await?;
            (Some(AuditEvent::DeviceForgotten), Some(("which", "all")))
        }
    };
    let state = state(key, limits, store, person, now).await?;
    let audit = event.map(|event| Audit {
        event,
        outcome: "done",
        pool: person.pool.to_owned(),
        client: None,
        subject: Subject::Sub(person.sub.to_owned()),
        detail: std::iter::once(("by", "support".to_owned()))
            .chain(detail.map(|(k, v)| (k, v.to_owned())))
            .collect(),
    });
    Ok(Done { state, audit })
}

/// The user's state at `now`, as the operator reads it.
async fn state(
    key: &Secret,
    limits: &Limits,
    store: &(impl SupportStore + PasskeyStore + DeviceStore),
    person: Person<'_>,
    now: u64,
) -> Result<Value, SupportError> {
    let record = store
        .user_record(&user_key(key, person.pool, person.user))
        .await?;
    let passkeys = store
        .passkeys(&owner_key(key, person.pool, person.sub))
        .await?;
    let devices = store
        .devices(&devices_key(key, person.pool, person.sub))
        .await?;
    let when = |at: u64| (at > now).then(|| rfc3339(at));
    Ok(json!({
        "user": person.user,
        "sub": person.sub,
        "lockedUntil": record.locked(now, limits).then(|| rfc3339(record.fail_window_end)),
        "wrongAnswersInWindow": if record.fail_window_end > now { record.fail_count } else { 0 },
        "lockoutWindowEnds": when(record.fail_window_end),
        "sendsInWindow": if record.sending(now) { record.send_count } else { 0 },
        "sendLimit": limits.send_limit,
        "sendWindowEnds": when(record.send_window_end),
        "passkeys": passkeys.iter().map(|p| json!({
            "id": b64(&p.id),
            "name": p.name,
            "createdAt": rfc3339(p.created_at),
            "lastUsedAt": p.last_used_at.map(rfc3339),
        })).collect::<Vec<_>>(),
        "devices": devices.iter().filter(|d| d.expires_at > now).map(|d| json!({
            "id": b64(&d.id),
            "name": d.name,
            "createdAt": rfc3339(d.created_at),
            "expiresAt": rfc3339(d.expires_at),
        })).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests;
