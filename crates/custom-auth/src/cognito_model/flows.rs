//! The model over whole flows: every step kind, retries, attempts running out, a wrong
//! password, an expired code.

use super::*;

#[test]
fn every_step_kind_signs_in() {
    for flow in [
        "email-otp",
        "sms-otp",
        "captcha",
        "select-account",
        "signed-token",
        "password",
    ] {
        let mut cognito = Cognito::new(config(flow));
        let srp = (flow == "password").then_some(true);
        assert_eq!(block_on(cognito.sign_in(srp, right)), End::Tokens, "{flow}");
    }
}

#[test]
fn long_flow_with_retries() {
    let flow = "password,captcha,email-otp,select-account";
    let mut cognito = Cognito::new(config(flow));
    // Answer each step wrong once, then right.
    let mut wrong_done: Vec<String> = Vec::new();
    let end = block_on(cognito.sign_in(Some(true), |p| {
        let tag = p.public[public::CHALLENGE].clone();
        if wrong_done.contains(&tag) {
            right(p)
        } else {
            wrong_done.push(tag);
            Value::String("wrong".into())
        }
    }));
    assert_eq!(end, End::Tokens);
    assert_eq!(cognito.sender.count(), 1, "one e-mail, reused on the retry");
    let seen: Vec<(&str, &str, &str)> = cognito
        .shown
        .iter()
        .map(|p| {
            (
                p["challenge"].as_str(),
                p["attempt"].as_str(),
                p["attemptsLeft"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("CAPTCHA", "1", "3"),
            ("CAPTCHA", "2", "2"),
            ("EMAIL_OTP", "1", "3"),
            ("EMAIL_OTP", "2", "2"),
            ("SELECT_ACCOUNT", "1", "3"),
            ("SELECT_ACCOUNT", "2", "2"),
        ]
    );
    assert_eq!(cognito.shown[2]["email"], "j***@example.com");
}

#[test]
fn wrong_answers_exhaust_attempts() {
    for flow in [
        "email-otp",
        "captcha",
        "select-account",
        "signed-token",
        "captcha,sms-otp",
    ] {
        let mut cognito = Cognito::new(config_with(flow, &[("AUTH_MAX_ATTEMPTS", "4")]));
        let end = block_on(cognito.sign_in(None, |_| Value::String("000000".into())));
        assert_eq!(end, End::Failed, "{flow}");
        assert_eq!(cognito.shown.len(), 4, "{flow}: four answers allowed");
        assert!(cognito.sender.count() <= 1);
    }
}

#[test]
fn wrong_password_fails_before_any_challenge() {
    let mut cognito = Cognito::new(config("password,email-otp"));
    assert_eq!(block_on(cognito.sign_in(Some(false), right)), End::Failed);
    let mut cognito = Cognito::new(config("password,email-otp"));
    assert_eq!(
        block_on(cognito.sign_in(None, right)),
        End::Failed,
        "no SRP at all"
    );
    assert!(cognito.shown.is_empty() && cognito.sender.count() == 0);
}

#[test]
fn expired_code_is_refused_even_if_right() {
    let mut cognito = Cognito::new(config_with("email-otp", &[("OTP_TTL_SECONDS", "60")]));
    // Create at T0, then the right code at T0 + 60 (in time) and T0 + 61 (too late).
    let mut c: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
    block_on(create(
        &cognito.config,
        &mut c,
        &cognito.sender,
        &NoStore,
        &mut cognito.rng,
        T0,
    ))
    .unwrap();
    let code = cognito.sender.last_code().unwrap();
    let mut v: VerifyAuthChallengeEvent = fixture("verify/email-otp-correct.json");
    v.request.private_challenge_parameters = c.response.private_challenge_parameters.clone();
    v.request.challenge_answer = Some(Value::String(code.clone()));
    let late = block_on(verify(
        &cognito.config,
        &mut v,
        &cognito.captcha,
        &cognito.keys,
        &NoStore,
        T0 + 61,
    ));
    assert_eq!(late, Err(crate::steps::answer::Wrong::Expired));
    let in_time = block_on(verify(
        &cognito.config,
        &mut v,
        &cognito.captcha,
        &cognito.keys,
        &NoStore,
        T0 + 60,
    ));
    assert!(in_time.is_ok());
    // A code "issued" more than a minute after now is not one of ours.
    for (now, want) in [(T0 - 60, true), (T0 - 61, false)] {
        let got = block_on(verify(
            &cognito.config,
            &mut v,
            &cognito.captcha,
            &cognito.keys,
            &NoStore,
            now,
        ));
        assert_eq!(got.is_ok(), want, "now = T0 {}", now as i64 - T0 as i64);
    }

    // A retry 61 s later reuses the first code and its first-send time: still expired.
    let mut retry: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
    retry.request.session = vec![entry(
        CUSTOM_CHALLENGE,
        false,
        c.response.challenge_metadata.as_deref(),
    )];
    block_on(create(
        &cognito.config,
        &mut retry,
        &cognito.sender,
        &NoStore,
        &mut cognito.rng,
        T0 + 61,
    ))
    .unwrap();
    assert_eq!(cognito.sender.count(), 1, "nothing re-sent");
    assert_eq!(
        retry.response.private_challenge_parameters[private::CODE],
        code
    );
    v.request.private_challenge_parameters = retry.response.private_challenge_parameters.clone();
    let late = block_on(verify(
        &cognito.config,
        &mut v,
        &cognito.captcha,
        &cognito.keys,
        &NoStore,
        T0 + 61,
    ));
    assert_eq!(late, Err(crate::steps::answer::Wrong::Expired));
}
