//! The model against the `events/` fixtures and their manifest, events without a trigger
//! source, and the logs (no secret reaches them).

use super::*;

#[test]
fn no_secret_reaches_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Callsites that another test thread met first, with no subscriber, cached "never"; ask
    // them again now that this thread has one, or their lines would be missing at random.
    tracing::callsite::rebuild_interest_cache();

    let flow = "password,captcha,email-otp,sms-otp,select-account,signed-token";
    let mut cognito = Cognito::new(config(flow));
    let mut answers: Vec<String> = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    let end = block_on(cognito.sign_in(Some(true), |p| {
        // Again between rounds: a test thread that meets a callsite for the first time while
        // this one sets its subscriber up can still cache "never" after the rebuild above.
        tracing::callsite::rebuild_interest_cache();
        let a = right(p);
        let s = a.as_str().unwrap().to_owned();
        if p.public["challenge"].ends_with("OTP") {
            codes.push(s.clone());
        }
        answers.push(s);
        a
    }));
    assert_eq!(end, End::Tokens);
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("challenge created") && logs.contains("answer checked"),
        "{logs}"
    );
    let mut secrets: Vec<String> = answers.into_iter().filter(|a| a.len() >= 6).collect();
    secrets.extend(codes);
    secrets.push(std::str::from_utf8(keys::HS_SECRET).unwrap().into());
    secrets.push("test-captcha-secret".into());
    for secret in secrets {
        assert!(!logs.contains(&secret), "a secret reached the logs");
    }
}

/// Every event under `events/` gives the outcome `events/manifest.json` writes down for it.
#[test]
fn event_fixtures_match_the_manifest() {
    let manifest: Value = fixture("manifest.json");
    let now = manifest["now"].as_u64().unwrap();
    let items = manifest["events"].as_array().unwrap();
    assert!(items.len() >= 40);
    for item in items {
        let file = item["event"].as_str().unwrap();
        let flow = item["flow"].as_str().unwrap();
        let expect = item["expect"].as_str().unwrap();
        let cfg = config(flow);
        let sender = fakes::Sender::default();
        let captcha = fakes::Captcha::default();
        let keys = TokenKeys::new(&cfg, crate::ports::NoJwks);
        let mut rng = StdRng::seed_from_u64(1);
        let got = match file.split('/').next().unwrap() {
            "define" => {
                let mut e: DefineAuthChallengeEvent = fixture(file);
                match define(&cfg, &mut e) {
                    Decision::Challenge { name, .. } => format!("challenge:{name}"),
                    Decision::IssueTokens => "tokens".into(),
                    Decision::Fail(_) => "fail".into(),
                }
            }
            "create" => {
                let mut e: CreateAuthChallengeEvent = fixture(file);
                match block_on(create(&cfg, &mut e, &sender, &NoStore, &mut rng, now)) {
                    Err(_) => "error".into(),
                    Ok(created) => {
                        assert_eq!(Some(created.sent), item["sent"].as_bool(), "{file}");
                        assert_eq!(sender.count(), usize::from(created.sent), "{file}");
                        let private = &e.response.private_challenge_parameters;
                        if let Some(code) = item["code"].as_str() {
                            assert_eq!(private[private::CODE], code, "{file}");
                        }
                        assert!(!private.is_empty());
                        format!(
                            "challenge:{}",
                            e.response.public_challenge_parameters["challenge"]
                        )
                    }
                }
            }
            "verify" => {
                let mut e: VerifyAuthChallengeEvent = fixture(file);
                match block_on(verify(&cfg, &mut e, &captcha, &keys, &NoStore, now)) {
                    Ok(_) => "correct".into(),
                    Err(_) => "wrong".into(),
                }
            }
            "pre-token" => {
                // With the claim on and an empty store: only a refresh mints (no choice to
                // prove); a sign-in has no choice on record here, so it gets no tokens.
                let cfg = with_claim(flow);
                let mut e: crate::events::PreTokenGenerationEvent = fixture(file);
                match block_on(crate::triggers::pre_token::pre_token_generation(
                    &cfg, &mut e, &NoStore, now,
                )) {
                    Ok(minted) if !minted.methods => format!("minted:{:?}", minted.account),
                    Ok(minted) => format!("minted:{:?}+methods", minted.account),
                    Err(_) => "error".into(),
                }
            }
            other => panic!("unknown trigger folder {other}"),
        };
        assert_eq!(got, expect, "{file} with AUTH_FLOW={flow}");
    }
}

#[test]
fn events_without_a_trigger_source_fail_closed() {
    // Each fixture passes as it is; without `triggerSource` each must fail.
    let now = fixture::<Value>("manifest.json")["now"].as_u64().unwrap();
    let cfg = config("email-otp");
    let mut d: DefineAuthChallengeEvent = fixture("define/email-otp-final.json");
    let mut c: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
    let mut v: VerifyAuthChallengeEvent = fixture("verify/email-otp-correct.json");
    let sender = fakes::Sender::default();
    let keys = TokenKeys::new(&cfg, crate::ports::NoJwks);
    let mut rng = StdRng::seed_from_u64(1);
    for strip in [false, true] {
        if strip {
            d.cognito_event_user_pools_header.trigger_source = None;
            c.cognito_event_user_pools_header.trigger_source = None;
            v.cognito_event_user_pools_header.trigger_source = None;
        }
        let decision = define(&cfg, &mut d);
        let created = block_on(create(&cfg, &mut c, &sender, &NoStore, &mut rng, now));
        let verdict = block_on(verify(
            &cfg,
            &mut v,
            &fakes::Captcha::default(),
            &keys,
            &NoStore,
            now,
        ));
        if strip {
            assert_eq!(decision, Decision::Fail(crate::FailReason::NotFromCognito));
            assert!(!d.response.issue_tokens && d.response.fail_authentication);
            assert_eq!(created.err(), Some(crate::AuthError::NotFromCognito));
            assert_eq!(verdict, Err(crate::Wrong::NotFromCognito));
            assert!(!v.response.answer_correct);
        } else {
            assert_eq!(decision, Decision::IssueTokens);
            assert!(created.is_ok() && verdict.is_ok());
        }
    }
    assert_eq!(sender.count(), 1, "nothing sent without a trigger source");
}
