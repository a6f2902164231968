//! The support actions on the in-memory store: each changes exactly what it says, shows the
//! state after it without secrets, and makes its audit event.

use super::*;
use crate::store::devices::StoredDevice;
use crate::store::passkeys::{Holder, StoredPasskey};
use crate::store::{Admission, MemoryStore, SendGate, StateStore};

const LIMITS: Limits = Limits {
    send_limit: 3,
    send_window: 100,
    lockout_after: 4,
    lockout_window: 200,
};
const NOW: u64 = 1_800_000_000;
const PUBLIC_KEY: &[u8] = b"public-key-bytes-never-shown-0001";

fn key() -> Secret {
    Secret::new("state-key-for-tests-0123456789abcdef")
}

const JANE: Person<'static> = Person {
    pool: "us-east-1_Ex4mPl3Aa",
    user: "jane",
    sub: "a1b2c3d4-5e6f-4a0b-9c8d-7e6f5a4b3c2d",
};

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// Jane locked (4 wrong answers), at her send limit, with one passkey and one device.
fn locked_jane() -> MemoryStore {
    let store = MemoryStore::default();
    let user = user_key(&key(), JANE.pool, JANE.user);
    block_on(async {
        // Sends first: a locked user is sent nothing, so none would count.
        for k in 0..3 {
            store.record_send(&user, NOW + k, &LIMITS).await.unwrap();
        }
        for k in 0..4 {
            store.record_failure(&user, NOW + k, &LIMITS).await.unwrap();
        }
        let passkey = StoredPasskey {
            id: vec![7; 16],
            public_key: PUBLIC_KEY.to_vec(),
            dynamic: Vec::new(),
            sign_count: 0,
            transports: Vec::new(),
            name: "Work laptop".into(),
            created_at: NOW - 86_400,
            last_used_at: None,
        };
        let holder = Holder {
            user: JANE.user.into(),
            handle: vec![1; 32],
        };
        let owner = owner_key(&key(), JANE.pool, JANE.sub);
        store
            .add_passkey(&owner, &passkey, &holder, 10)
            .await
            .unwrap();
        let device = StoredDevice {
            id: vec![9; 16],
            public_key: PUBLIC_KEY.to_vec(),
            name: "Home desktop".into(),
            created_at: NOW - 3600,
            expires_at: NOW + 86_400,
        };
        let devices = devices_key(&key(), JANE.pool, JANE.sub);
        store.remember(&devices, &device, 10).await.unwrap();
    });
    store
}

fn run(store: &MemoryStore, action: Action, now: u64) -> Result<Done, SupportError> {
    block_on(act(&key(), &LIMITS, store, JANE, &action, now))
}

#[test]
fn show_tells_the_state_without_secrets_and_changes_nothing() {
    let store = locked_jane();
    let done = run(&store, Action::Show, NOW + 10).unwrap();
    assert_eq!(done.audit, None);
    let s = &done.state;
    assert_eq!(s["sub"], JANE.sub);
    assert_eq!(s["lockedUntil"], rfc3339(NOW + 200));
    assert_eq!(s["wrongAnswersInWindow"], 4);
    assert_eq!(s["sendsInWindow"], 3);
    assert_eq!(s["sendWindowEnds"], rfc3339(NOW + 100));
    assert_eq!(s["passkeys"][0]["id"], b64(&[7; 16]));
    assert_eq!(s["passkeys"][0]["name"], "Work laptop");
    assert_eq!(s["devices"][0]["name"], "Home desktop");
    let text = s.to_string();
    assert!(!text.contains(&b64(PUBLIC_KEY)), "{text}");
    assert!(!text.contains("state-key-for-tests"), "{text}");
    // Later, the windows have ended: nothing is shown as running.
    let later = run(&store, Action::Show, NOW + 500).unwrap().state;
    assert_eq!(later["lockedUntil"], Value::Null);
    assert_eq!(later["sendsInWindow"], 0);
}

#[test]
fn unlock_ends_the_lockout_and_is_audited() {
    let store = locked_jane();
    let user = user_key(&key(), JANE.pool, JANE.user);
    let admit = || block_on(store.admit(&user, &[], NOW + 20, &LIMITS));
    assert_eq!(admit(), Ok(Admission::Locked));
    let done = run(&store, Action::Unlock, NOW + 20).unwrap();
    assert_eq!(admit(), Ok(Admission::Admitted));
    assert_eq!(done.state["lockedUntil"], Value::Null);
    // Only the lockout: the send window still runs.
    assert_eq!(done.state["sendsInWindow"], 3);
    let audit = done.audit.expect("an audit event");
    assert_eq!(audit.event, AuditEvent::LockoutEnded);
    let line: Value = serde_json::from_str(&audit.line(NOW + 20)).unwrap();
    assert_eq!(line["event"], "lockout_ended");
    assert_eq!(line["sub"], JANE.sub);
    assert_eq!(line["by"], "support");
    assert_eq!(line["pool"], JANE.pool);
}

#[test]
fn reset_sends_ends_the_send_window_only() {
    let store = locked_jane();
    let user = user_key(&key(), JANE.pool, JANE.user);
    block_on(store.unlock(&user)).unwrap();
    let send = || block_on(store.record_send(&user, NOW + 30, &LIMITS));
    assert_eq!(send(), Ok(SendGate::OverLimit));
    let done = run(&store, Action::ResetSends, NOW + 30).unwrap();
    assert_eq!(done.audit.map(|a| a.event), Some(AuditEvent::SendsReset));
    assert_eq!(send(), Ok(SendGate::Allowed));
    let locked = locked_jane();
    let done = run(&locked, Action::ResetSends, NOW + 30).unwrap();
    assert_eq!(
        done.state["lockedUntil"],
        rfc3339(NOW + 200),
        "still locked"
    );
}

#[test]
fn a_passkey_is_removed_by_its_listed_id_only() {
    let store = locked_jane();
    for bad in ["not base64!", &b64(&[8; 16])] {
        assert_eq!(
            run(&store, Action::RemovePasskey(bad.into()), NOW),
            Err(SupportError::NoSuchPasskey),
            "{bad}"
        );
    }
    let done = run(&store, Action::RemovePasskey(b64(&[7; 16])), NOW).unwrap();
    assert_eq!(done.state["passkeys"], serde_json::json!([]));
    assert_eq!(
        done.audit.map(|a| a.event),
        Some(AuditEvent::PasskeyRemoved)
    );
    assert_eq!(
        run(&store, Action::RemovePasskey(b64(&[7; 16])), NOW),
        Err(SupportError::NoSuchPasskey),
        "once"
    );
}

#[test]
fn forget_devices_forgets_them_all() {
    let store = locked_jane();
    let done = run(&store, Action::ForgetDevices, NOW).unwrap();
    assert_eq!(done.state["devices"], serde_json::json!([]));
    let audit = done.audit.expect("audited");
    assert_eq!(audit.event, AuditEvent::DeviceForgotten);
    assert!(audit.detail.contains(&("which", "all".to_owned())));
}

#[test]
fn a_store_that_fails_changes_nothing_and_says_so() {
    let mut store = locked_jane();
    store.fail = Some(DependencyError::Timeout);
    for action in [
        Action::Show,
        Action::Unlock,
        Action::ResetSends,
        Action::ForgetDevices,
    ] {
        assert_eq!(
            run(&store, action.clone(), NOW),
            Err(SupportError::Store(DependencyError::Timeout)),
            "{action:?}"
        );
    }
    store.fail = None;
    assert_eq!(
        run(&store, Action::Show, NOW + 10).unwrap().state["lockedUntil"],
        rfc3339(NOW + 200)
    );
}
