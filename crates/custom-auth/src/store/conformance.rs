use super::*;

/// Limits of the run: 3 sends per 100 s; locked after 4 wrong answers for 200 s.
pub const LIMITS: Limits = Limits {
    send_limit: 3,
    send_window: 100,
    lockout_after: 4,
    lockout_window: 200,
};

/// Runs the script against `store`.
pub async fn check(store: &impl StateStore, prefix: &str) {
    let user = format!("u#{prefix}-sends");
    let t0 = 1_800_000_000;
    // Sends: three per window, the window anchored at its first send.
    let sends = [
        (t0, SendGate::Allowed),
        (t0 + 1, SendGate::Allowed),
        (t0 + 99, SendGate::Allowed),
        (t0 + 99, SendGate::OverLimit),
        (t0 + 100, SendGate::Allowed),
        (t0 + 150, SendGate::Allowed),
        (t0 + 150, SendGate::Allowed),
        (t0 + 199, SendGate::OverLimit),
    ];
    for (i, (now, want)) in sends.into_iter().enumerate() {
        let got = store.record_send(&user, now, &LIMITS).await;
        assert_eq!(got, Ok(want), "send {i} at t0+{}", now - t0);
    }
    // Failures: four in a window lock; a lock blocks sends and right answers until the
    // window ends; a right answer does not reset the count.
    let user = format!("u#{prefix}-fails");
    let admit = |now| store.admit(&user, &[], now, &LIMITS);
    for k in 0..3 {
        let counted = store
            .record_failure(&user, t0 + k, &LIMITS)
            .await
            .expect("failure");
        // The window runs from the first failure; the count says where it stands.
        assert_eq!(
            counted,
            Failures {
                count: u32::try_from(k + 1).unwrap_or(u32::MAX),
                window_end: t0 + LIMITS.lockout_window
            },
            "failure {k}"
        );
        assert_eq!(counted.lockout_began(&LIMITS), None, "failure {k}");
        assert_eq!(
            admit(t0 + k).await,
            Ok(Admission::Admitted),
            "after {k} failures"
        );
    }
    let fourth = store
        .record_failure(&user, t0 + 3, &LIMITS)
        .await
        .expect("failure");
    assert_eq!(
        fourth.lockout_began(&LIMITS),
        Some(t0 + LIMITS.lockout_window),
        "the fourth failure begins the lockout, once"
    );
    assert_eq!(
        admit(t0 + 3).await,
        Ok(Admission::Locked),
        "four failures lock"
    );
    assert_eq!(
        admit(t0 + 199).await,
        Ok(Admission::Locked),
        "until the window ends"
    );
    assert_eq!(
        store.record_send(&user, t0 + 10, &LIMITS).await,
        Ok(SendGate::Locked),
        "no send while locked"
    );
    assert_eq!(
        admit(t0 + 200).await,
        Ok(Admission::Admitted),
        "the window ended"
    );
    store
        .record_failure(&user, t0 + 200, &LIMITS)
        .await
        .expect("failure");
    assert_eq!(
        admit(t0 + 200).await,
        Ok(Admission::Admitted),
        "a new window"
    );
    assert_eq!(
        store.record_send(&user, t0 + 200, &LIMITS).await,
        Ok(SendGate::Allowed),
        "the send earlier was refused, not counted"
    );
    // Tokens: once each, and never while locked (without spending the token).
    let user = format!("u#{prefix}-tokens");
    let token = |n: u32| OneTime {
        key: format!("t#{prefix}-{n}"),
        expires_at: t0 + 1000,
        kind: OneTimeKind::Spent,
    };
    let user = user.as_str();
    let spend = |t: OneTime, now| async move {
        store
            .admit(user, std::slice::from_ref(&t), now, &LIMITS)
            .await
    };
    assert_eq!(spend(token(1), t0).await, Ok(Admission::Admitted));
    assert_eq!(spend(token(1), t0 + 1).await, Ok(Admission::Replayed));
    assert_eq!(spend(token(2), t0 + 1).await, Ok(Admission::Admitted));
    for k in 0..4 {
        store
            .record_failure(user, t0 + 2 + k, &LIMITS)
            .await
            .expect("failure");
    }
    assert_eq!(spend(token(3), t0 + 10).await, Ok(Admission::Locked));
    assert_eq!(spend(token(3), t0 + 300).await, Ok(Admission::Admitted));
    assert_eq!(spend(token(1), t0 + 300).await, Ok(Admission::Replayed));
    // Choices: written once with the admission, taken once, never after they expire.
    let user = format!("u#{prefix}-chooser");
    let choice = |n: u32, account: &str| OneTime {
        key: format!("c#{prefix}-{n}"),
        expires_at: t0 + 100,
        kind: OneTimeKind::Value(account.to_owned()),
    };
    let admit = |c: OneTime| {
        let user = user.clone();
        async move {
            store
                .admit(&user, std::slice::from_ref(&c), t0, &LIMITS)
                .await
        }
    };
    assert_eq!(admit(choice(1, "acct-1")).await, Ok(Admission::Admitted));
    assert_eq!(
        admit(choice(1, "acct-2")).await,
        Ok(Admission::Replayed),
        "one choice per sign-in"
    );
    assert_eq!(admit(choice(2, "acct-2")).await, Ok(Admission::Admitted));
    let key = |n: u32| format!("c#{prefix}-{n}");
    assert_eq!(store.take(&key(1), t0 + 1).await, Ok(Some("acct-1".into())));
    assert_eq!(
        store.take(&key(1), t0 + 1 + TAKE_GRACE_SECONDS).await,
        Ok(Some("acct-1".into())),
        "taken again within the grace"
    );
    assert_eq!(
        store.take(&key(1), t0 + 2 + TAKE_GRACE_SECONDS).await,
        Ok(None),
        "not after it"
    );
    assert_eq!(store.take(&key(2), t0 + 100).await, Ok(None), "expired");
    assert_eq!(store.take(&key(3), t0).await, Ok(None), "never written");
    assert_eq!(
        store.take(&format!("t#{prefix}-1"), t0).await,
        Ok(None),
        "no value"
    );
    // Two records in one admission (a step's own and the sign-in's methods): both written,
    // or, when either key exists, neither.
    let methods = |n: u32| OneTime {
        key: format!("m#{prefix}-{n}"),
        expires_at: t0 + 100,
        kind: OneTimeKind::Value(format!("[\"m{n}\"]")),
    };
    let both = |records: Vec<OneTime>| {
        let user = user.clone();
        async move { store.admit(&user, &records, t0, &LIMITS).await }
    };
    assert_eq!(
        both(vec![choice(4, "acct-4"), methods(4)]).await,
        Ok(Admission::Admitted)
    );
    assert_eq!(store.take(&key(4), t0).await, Ok(Some("acct-4".into())));
    assert_eq!(
        store.take(&format!("m#{prefix}-4"), t0).await,
        Ok(Some("[\"m4\"]".into()))
    );
    assert_eq!(
        both(vec![choice(5, "acct-5"), methods(4)]).await,
        Ok(Admission::Replayed),
        "one of the keys exists"
    );
    assert_eq!(
        store.take(&key(5), t0).await,
        Ok(None),
        "and the other was not written"
    );
    check_links(store, prefix, t0).await;
}

/// Magic links: counted as sends, at most one per interval, each redeemed once and only
/// while it is the user's newest, never while locked.
async fn check_links(store: &impl StateStore, prefix: &str, t0: u64) {
    let user = format!("u#{prefix}-links");
    let user = user.as_str();
    // Link `n` is issued at `at`; its number is `n`.
    let link = |at: u64, n: u64| async move { store.record_link(user, at, &LIMITS, 60, n).await };
    let spend = |key: u32, n: u64, issued: u64, now: u64| async move {
        let record = OneTime {
            key: format!("l#{prefix}-{key}"),
            expires_at: issued + 900,
            kind: OneTimeKind::NewestLink(n),
        };
        store
            .admit(user, std::slice::from_ref(&record), now, &LIMITS)
            .await
    };
    assert_eq!(
        spend(0, 1, t0, t0).await,
        Ok(Admission::Replayed),
        "no link yet"
    );
    assert_eq!(link(t0, 1).await, Ok(SendGate::Allowed));
    assert_eq!(
        link(t0 + 59, 2).await,
        Ok(SendGate::TooSoon),
        "within the interval"
    );
    assert_eq!(
        spend(2, 2, t0 + 59, t0 + 59).await,
        Ok(Admission::Replayed),
        "a link refused as too soon never becomes the newest"
    );
    assert_eq!(spend(1, 1, t0, t0 + 1).await, Ok(Admission::Admitted));
    assert_eq!(
        spend(1, 1, t0, t0 + 2).await,
        Ok(Admission::Replayed),
        "used once"
    );
    assert_eq!(
        link(t0 + 60, 3).await,
        Ok(SendGate::Allowed),
        "the interval passed"
    );
    assert_eq!(
        spend(4, 1, t0, t0 + 61).await,
        Ok(Admission::Replayed),
        "an older link, never used, after a newer one"
    );
    assert_eq!(
        store.record_send(user, t0 + 62, &LIMITS).await,
        Ok(SendGate::Allowed),
        "a code after two links is the third send"
    );
    assert_eq!(
        link(t0 + 99, 5).await,
        Ok(SendGate::OverLimit),
        "links count as sends: a fourth is over the limit"
    );
    for k in 0..4 {
        store
            .record_failure(user, t0 + 121 + k, &LIMITS)
            .await
            .expect("failure");
    }
    assert_eq!(
        spend(3, 3, t0 + 60, t0 + 130).await,
        Ok(Admission::Locked),
        "locked"
    );
    assert_eq!(
        link(t0 + 200, 6).await,
        Ok(SendGate::Locked),
        "no link while locked"
    );
    assert_eq!(
        spend(3, 3, t0 + 60, t0 + 330).await,
        Ok(Admission::Admitted),
        "the newest link, once the lock ended"
    );

    // Without a least interval, two links in one second: only the second signs in.
    let other = format!("u#{prefix}-same-second");
    let other = other.as_str();
    let quick = |n: u64| async move { store.record_link(other, t0, &LIMITS, 0, n).await };
    let spend_quick = |n: u64| async move {
        let record = OneTime {
            key: format!("l#{prefix}-quick-{n}"),
            expires_at: t0 + 900,
            kind: OneTimeKind::NewestLink(n),
        };
        store
            .admit(other, std::slice::from_ref(&record), t0 + 1, &LIMITS)
            .await
    };
    assert_eq!(quick(11).await, Ok(SendGate::Allowed));
    assert_eq!(quick(12).await, Ok(SendGate::Allowed));
    assert_eq!(
        spend_quick(11).await,
        Ok(Admission::Replayed),
        "the first of two links issued in one second"
    );
    assert_eq!(spend_quick(12).await, Ok(Admission::Admitted));
}

/// `attempts` sends for one user at one instant, all at once: exactly `LIMITS.send_limit`
/// may be allowed, whatever the interleaving.
pub async fn check_concurrent_sends(store: &impl StateStore, prefix: &str, attempts: usize) {
    let user = format!("u#{prefix}-burst");
    let now = 1_800_000_000;
    let all = (0..attempts).map(|_| store.record_send(&user, now, &LIMITS));
    let gates: Vec<_> = join_all(all).await;
    let allowed = gates
        .iter()
        .filter(|g| **g == Ok(SendGate::Allowed))
        .count();
    let refused = gates
        .iter()
        .filter(|g| **g == Ok(SendGate::OverLimit))
        .count();
    assert_eq!(
        (allowed, refused),
        (
            LIMITS.send_limit as usize,
            attempts - LIMITS.send_limit as usize
        ),
        "{gates:?}"
    );
}

/// Polls every future in turn until all are done (no executor of its own, so it works
/// inside any runtime and keeps them in flight together).
async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.map(|f| Some(Box::pin(f))).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, out) in pending.iter_mut().zip(done.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    done.into_iter().flatten().collect()
}
