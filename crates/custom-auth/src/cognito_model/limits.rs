//! The model with the state store: send limits and the lockout across sign-ins, single-use
//! signed tokens, a failing store, unknown users under the same limits.

use super::*;

#[test]
fn code_sends_are_limited_across_sign_ins() {
    let mut cognito = Cognito::new(stateful("email-otp"));
    // Each restarted sign-in would send a fresh code; three per window are allowed. Answers
    // are right, so the lockout plays no part.
    for i in 0..3 {
        cognito.now = T0 + i * 10;
        assert_eq!(block_on(cognito.sign_in(None, right)), End::Tokens, "{i}");
    }
    assert_eq!(cognito.sender.count(), 3);
    cognito.now = T0 + 99;
    assert_eq!(block_on(cognito.sign_in(None, right)), End::TriggerError);
    assert_eq!(cognito.errors, [crate::AuthError::TooManyCodes]);
    assert_eq!(
        cognito.errors[0].to_string(),
        "too many codes requested; try again later"
    );
    assert_eq!(cognito.sender.count(), 3, "nothing sent over the limit");
    // A retry within a sign-in reuses its code: it is not a send and is not limited.
    cognito.now = T0 + 100;
    let mut tries = 0;
    let end = block_on(cognito.sign_in(None, |p| {
        tries += 1;
        if tries < 3 { wrong(p) } else { right(p) }
    }));
    assert_eq!(end, End::Tokens, "a new window");
    assert_eq!(cognito.sender.count(), 4);
    // Without a state store, nothing limits restarts (today's stateless behaviour).
    let mut stateless = Cognito::new(config("email-otp"));
    for _ in 0..10 {
        assert_eq!(block_on(stateless.sign_in(None, right)), End::Tokens);
    }
}

#[test]
fn wrong_answers_lock_the_user_across_sign_ins() {
    let mut cognito = Cognito::new(stateful("email-otp"));
    // Sign-in 1: three wrong codes (the step's attempts). Sign-in 2: one more wrong code (the
    // fourth in the window: locked), then the right code is refused.
    assert_eq!(block_on(cognito.sign_in(None, wrong)), End::Failed);
    let mut answered = 0;
    let end = block_on(cognito.sign_in(None, |p| {
        answered += 1;
        if answered == 1 { wrong(p) } else { right(p) }
    }));
    assert_eq!(end, End::Failed, "the right code is refused while locked");
    assert_eq!(answered, 3, "every attempt was tried, the right code twice");
    assert_eq!(cognito.store.user(&state_key("jane")).fail_count, 4);
    assert_eq!(cognito.sender.count(), 2);
    // Sign-in 3, at the end of the window: no code is sent while locked.
    cognito.now = T0 + 199;
    assert_eq!(block_on(cognito.sign_in(None, right)), End::TriggerError);
    assert_eq!(cognito.errors, [crate::AuthError::Locked]);
    assert_eq!(
        cognito.errors[0].to_string(),
        "too many failed attempts; try again later"
    );
    assert_eq!(cognito.sender.count(), 2, "nothing sent while locked");
    // The lock ends with its window.
    cognito.now = T0 + 200;
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Tokens);
    // A step that sends nothing is locked the same way: its right answers fail.
    let mut cognito = Cognito::new(stateful("select-account"));
    assert_eq!(block_on(cognito.sign_in(None, wrong)), End::Failed);
    let mut answered = 0;
    let end = block_on(cognito.sign_in(None, |p| {
        answered += 1;
        if answered == 1 { wrong(p) } else { right(p) }
    }));
    assert_eq!(
        end,
        End::Failed,
        "the right account is refused while locked"
    );
}

#[test]
fn a_correct_sign_in_does_not_wipe_earlier_failures() {
    let mut cognito = Cognito::new(stateful("select-account"));
    assert_eq!(block_on(cognito.sign_in(None, wrong)), End::Failed);
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Tokens);
    // One more wrong answer is the fourth of the window: the next right one is refused.
    let mut answered = 0;
    let end = block_on(cognito.sign_in(None, |p| {
        answered += 1;
        if answered == 1 { wrong(p) } else { right(p) }
    }));
    assert_eq!(end, End::Failed);
}

#[test]
fn signed_tokens_are_single_use() {
    let token = |jti: Option<&str>| {
        let mut claims = json!({"sub": SUB, "exp": T0 + 300, "iat": T0, "iss": "backend"});
        if let Some(jti) = jti {
            claims["jti"] = jti.into();
        }
        Value::String(hs_token(claims))
    };
    let mut cognito = Cognito::new(stateful("signed-token"));
    let once = token(Some("hand-off-1"));
    assert_eq!(
        block_on(cognito.sign_in(None, |_| once.clone())),
        End::Tokens
    );
    assert_eq!(
        block_on(cognito.sign_in(None, |_| once.clone())),
        End::Failed,
        "replayed"
    );
    let other = token(Some("hand-off-2"));
    assert_eq!(
        block_on(cognito.sign_in(None, |_| other.clone())),
        End::Tokens
    );
    let anonymous = token(None);
    assert_eq!(
        block_on(cognito.sign_in(None, |_| anonymous.clone())),
        End::Failed,
        "no jti with the store on"
    );
    // Without the store a token is good until it expires, jti or not.
    let mut stateless = Cognito::new(config("signed-token"));
    for _ in 0..2 {
        assert_eq!(
            block_on(stateless.sign_in(None, |_| anonymous.clone())),
            End::Tokens
        );
    }
}

#[test]
fn a_failing_store_fails_closed() {
    for flow in ["email-otp", "captcha", "signed-token", "select-account"] {
        let mut cognito = Cognito::new(stateful(flow));
        cognito.store.fail = Some(crate::ports::DependencyError::Timeout);
        let end = block_on(cognito.sign_in(None, |p| {
            if p.public[public::CHALLENGE] == "SIGNED_TOKEN" {
                let claims = json!({"sub": SUB, "exp": T0 + 300, "jti": "j-1"});
                Value::String(hs_token(claims))
            } else {
                right(p)
            }
        }));
        assert_ne!(end, End::Tokens, "{flow}");
        assert_eq!(cognito.sender.count(), 0, "{flow}: nothing sent");
    }
}

#[test]
fn unknown_users_meet_the_same_limits_as_wrong_real_ones() {
    // The same restarts by a real user who always answers wrong and by an unknown name: the
    // same outcomes, the same errors, the same counts, in the same order.
    for (flow, sends) in [
        ("email-otp", true),
        ("sms-otp", true),
        ("captcha,email-otp", false),
        ("select-account", false),
    ] {
        let run = |mut cognito: Cognito| {
            let mut ends = Vec::new();
            for i in 0..6 {
                cognito.now = T0 + i * 5;
                ends.push(block_on(cognito.sign_in(None, wrong)));
            }
            let name = cognito.user_name.clone();
            (ends, cognito.errors, cognito.store.user(&state_key(&name)))
        };
        let real = run(Cognito::new(stateful(flow)));
        let ghost = run(Cognito::new(stateful(flow)).unknown_user());
        assert_eq!(real, ghost, "{flow}");
        assert!(
            real.2.locked(
                T0 + 25,
                &Limits {
                    lockout_after: 4,
                    ..Limits::default()
                }
            ),
            "{flow}: {real:?}"
        );
        // Where the flow sends a code, the lock shows as Create's error, for both alike.
        assert_eq!(
            real.0.contains(&End::TriggerError),
            sends,
            "{flow}: {real:?}"
        );
    }
}
