//! Unit tests of the state store's rules and the in-memory adapter.

use super::*;
use crate::ports::DependencyError;

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

const LIMITS: Limits = Limits {
    send_limit: 3,
    send_window: 100,
    lockout_after: 4,
    lockout_window: 200,
};

#[test]
fn settings_are_read_and_checked() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    assert!(StateSettings::from_lookup(&env(&[])).unwrap().is_none());
    let key = "0123456789abcdef0123456789abcdef";
    let s = StateSettings::from_lookup(&env(&[
        ("AUTH_STATE_TABLE", "auth-state"),
        ("AUTH_STATE_KEY", "0123456789abcdef0123456789abcdef"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(s.limits, Limits::default());
    assert_eq!(s.key.expose(), key);
    let table: &[(&[(&str, &str)], &str)] = &[
        (&[("AUTH_STATE_TABLE", "t")], "AUTH_STATE_TABLE"),
        (&[("AUTH_STATE_TABLE", "auth state")], "AUTH_STATE_TABLE"),
        (
            &[("AUTH_STATE_TABLE", "auth-state")],
            "AUTH_STATE_KEY is required",
        ),
        (
            &[
                ("AUTH_STATE_TABLE", "auth-state"),
                ("AUTH_STATE_KEY", "short"),
            ],
            "AUTH_STATE_KEY is invalid",
        ),
    ];
    for (pairs, want) in table {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let err = StateSettings::from_lookup(&get).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
        assert!(!err.contains("short"), "a secret in {err}");
    }
    for (var, bad) in [
        ("OTP_SEND_LIMIT", "0"),
        ("OTP_SEND_WINDOW_SECONDS", "5"),
        ("LOCKOUT_AFTER_FAILURES", "x"),
        ("LOCKOUT_WINDOW_SECONDS", "-1"),
    ] {
        let get = |name: &str| match name {
            "AUTH_STATE_TABLE" => Some("auth-state".to_owned()),
            "AUTH_STATE_KEY" => Some(key.to_owned()),
            n if n == var => Some(bad.to_owned()),
            _ => None,
        };
        let err = StateSettings::from_lookup(&get).unwrap_err().to_string();
        assert!(err.starts_with(var), "{err}");
    }
}

#[test]
fn sends_are_limited_per_window() {
    let store = MemoryStore::default();
    let send = |now| block_on(store.record_send("u", now, &LIMITS)).unwrap();
    // (time, gate): three in the window that starts at 1000, refused until it ends at
    // 1100, then a new window.
    let table = [
        (1000, SendGate::Allowed),
        (1001, SendGate::Allowed),
        (1099, SendGate::Allowed),
        (1099, SendGate::OverLimit),
        (1099, SendGate::OverLimit),
        (1100, SendGate::Allowed),
        (1150, SendGate::Allowed),
        (1150, SendGate::Allowed),
        (1199, SendGate::OverLimit),
        (1200, SendGate::Allowed),
    ];
    for (now, want) in table {
        assert_eq!(send(now), want, "at {now}");
    }
    assert_eq!(store.user("u").send_count, 1);
    assert_eq!(store.user("u").send_window_end, 1300);
    assert_eq!(send(1200), SendGate::Allowed);
    assert_eq!(
        block_on(store.record_send("other", 1200, &LIMITS)).unwrap(),
        SendGate::Allowed,
        "limits are per user"
    );
}

#[test]
fn failures_lock_until_their_window_ends() {
    let store = MemoryStore::default();
    let fail = |now| block_on(store.record_failure("u", now, &LIMITS)).unwrap();
    let admit = |now| block_on(store.admit("u", &[], now, &LIMITS)).unwrap();
    for now in [1000, 1010, 1020] {
        fail(now);
        assert_eq!(admit(now), Admission::Admitted, "{now}");
    }
    fail(1030);
    assert_eq!(admit(1030), Admission::Locked, "four wrong answers lock");
    assert_eq!(admit(1199), Admission::Locked);
    assert_eq!(
        block_on(store.record_send("u", 1100, &LIMITS)).unwrap(),
        SendGate::Locked,
        "no code while locked"
    );
    // A correct answer does not reset the count: still locked.
    assert_eq!(admit(1150), Admission::Locked);
    assert_eq!(admit(1200), Admission::Admitted, "the window ended at 1200");
    fail(1200);
    assert_eq!(store.user("u").fail_count, 1, "a new window");
    assert_eq!(admit(1200), Admission::Admitted);
}

#[test]
fn tokens_are_used_once_until_they_expire() {
    let store = MemoryStore::default();
    let t = OneTime {
        key: "t#1".into(),
        expires_at: 2000,
        kind: OneTimeKind::Spent,
    };
    let admit = |tok: &OneTime, now| {
        block_on(store.admit("u", std::slice::from_ref(tok), now, &LIMITS)).unwrap()
    };
    assert_eq!(admit(&t, 1000), Admission::Admitted);
    assert_eq!(admit(&t, 1001), Admission::Replayed);
    assert_eq!(admit(&t, 1999), Admission::Replayed);
    let other = OneTime {
        key: "t#2".into(),
        expires_at: 2000,
        kind: OneTimeKind::Spent,
    };
    assert_eq!(admit(&other, 1001), Admission::Admitted);
    // Locked wins over a fresh token, and the token is not spent by the refusal.
    for now in 0..4 {
        block_on(store.record_failure("u", 1500 + now, &LIMITS)).unwrap();
    }
    let fresh = OneTime {
        key: "t#3".into(),
        expires_at: 3000,
        kind: OneTimeKind::Spent,
    };
    assert_eq!(admit(&fresh, 1600), Admission::Locked);
    assert_eq!(admit(&fresh, 1800), Admission::Admitted);
}

#[test]
fn the_memory_store_conforms() {
    block_on(conformance::check(&MemoryStore::default(), "mem"));
    block_on(crate::store::devices::conformance::check(
        &MemoryStore::default(),
        "mem",
    ));
    block_on(conformance::check_concurrent_sends(
        &MemoryStore::default(),
        "mem",
        8,
    ));
}

#[test]
fn a_failing_store_fails() {
    let store = MemoryStore::failing(DependencyError::Timeout);
    assert!(block_on(store.record_send("u", 1, &LIMITS)).is_err());
    assert!(block_on(store.record_failure("u", 1, &LIMITS)).is_err());
    assert!(block_on(store.admit("u", &[], 1, &LIMITS)).is_err());
}
