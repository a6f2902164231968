//! The model with choice stages (`email-otp|sms-otp`) and flows per app client.

use super::*;
use crate::config::Step;

/// Picks `name` at a `CHOOSE` round; answers everything else rightly.
fn picking(name: &'static str) -> impl FnMut(&Prompt<'_>) -> Value {
    move |p| match p.public[public::CHALLENGE].as_str() {
        "CHOOSE" => Value::String(name.into()),
        _ => right(p),
    }
}

fn challenges(cognito: &Cognito) -> Vec<String> {
    cognito
        .shown
        .iter()
        .map(|p| p[public::CHALLENGE].clone())
        .collect()
}

#[test]
fn the_picked_branch_runs_and_nothing_is_sent_before_the_pick() {
    for (pick, tag, channel) in [
        ("email-otp", "EMAIL_OTP", crate::ports::Channel::Email),
        ("sms-otp", "SMS_OTP", crate::ports::Channel::Sms),
    ] {
        let mut cognito = Cognito::new(config("email-otp|sms-otp"));
        assert_eq!(block_on(cognito.sign_in(None, picking(pick))), End::Tokens);
        assert_eq!(challenges(&cognito), ["CHOOSE", tag]);
        let shown = &cognito.shown[0];
        assert_eq!(shown[public::OPTIONS], r#"["email-otp","sms-otp"]"#);
        assert_eq!(shown[public::ATTEMPT], "1");
        let sent = cognito.sender.sent.lock().unwrap();
        assert_eq!(sent.len(), 1, "{pick}: one code, sent after the pick");
        assert_eq!(sent[0].0, channel);
    }
}

#[test]
fn a_choice_inside_a_longer_flow() {
    let mut cognito = Cognito::new(config("password,captcha|email-otp,select-account"));
    assert_eq!(
        block_on(cognito.sign_in(Some(true), picking("captcha"))),
        End::Tokens
    );
    assert_eq!(
        challenges(&cognito),
        ["CHOOSE", "CAPTCHA", "SELECT_ACCOUNT"]
    );
    assert_eq!(cognito.sender.count(), 0);
}

#[test]
fn every_name_is_offered_every_alternative_and_an_unusable_pick_runs_a_decoy() {
    // Jane has no verified phone number, and no passkey: she is offered everything all the
    // same, exactly as an unknown name is, so the list says nothing about who exists or what
    // they have.
    let flow = "email-otp|sms-otp|passkey";
    let settings = [
        ("AUTH_STATE_TABLE", "auth-state"),
        ("AUTH_STATE_KEY", "model-state-key-0123456789abcdef0123"),
        ("PASSKEY_RP_ID", "example.com"),
        ("PASSKEY_ORIGINS", "https://example.com"),
    ];
    let all = r#"["email-otp","sms-otp","passkey"]"#;
    let mut jane = Cognito::new(config_with(flow, &settings));
    jane.attributes
        .insert("phone_number_verified".into(), "false".into());
    assert_eq!(
        block_on(jane.sign_in(None, picking("email-otp"))),
        End::Tokens
    );
    assert_eq!(jane.shown[0][public::OPTIONS], all);

    // Picking the phone she cannot use: the SMS round runs as a decoy, with the masked number
    // shown and no message sent, and no answer passes.
    for pick in ["sms-otp", "passkey"] {
        let mut jane = Cognito::new(config_with(flow, &settings));
        jane.attributes
            .insert("phone_number_verified".into(), "false".into());
        let mut pick_then_try = picking(pick);
        let answer = move |p: &Prompt<'_>| match p.public[public::CHALLENGE].as_str() {
            // She holds no passkey: whatever she answers is not an assertion of one.
            "PASSKEY" => Value::String("{}".into()),
            _ => pick_then_try(p),
        };
        assert_eq!(block_on(jane.sign_in(None, answer)), End::Failed);
        assert_eq!(jane.shown[0][public::OPTIONS], all, "{pick}");
        assert_eq!(jane.sender.count(), 0, "{pick}");
        assert_eq!(
            jane.shown.len(),
            4,
            "{pick}: CHOOSE, then every attempt of the branch"
        );
    }

    // Unknown users: the same list, the same every time; the branch runs as a decoy.
    let mut ghost = Cognito::new(config_with(flow, &settings)).unknown_user();
    assert_eq!(
        block_on(ghost.sign_in(None, picking("sms-otp"))),
        End::Failed
    );
    assert_eq!(
        block_on(ghost.sign_in(None, picking("sms-otp"))),
        End::Failed
    );
    let one = ["CHOOSE", "SMS_OTP", "SMS_OTP", "SMS_OTP"];
    assert_eq!(challenges(&ghost), [one, one].concat());
    assert_eq!(ghost.shown[0][public::OPTIONS], all);
    assert_eq!(ghost.sender.count(), 0);
}

#[test]
fn the_pick_must_be_offered_and_repeated_in_the_metadata() {
    let cases: Vec<(ChoiceMetadata, &'static str)> = vec![
        (ChoiceMetadata::Omit, "sms-otp"),
        (ChoiceMetadata::Other("email-otp"), "sms-otp"),
        (ChoiceMetadata::Same, "captcha"),
        (ChoiceMetadata::Same, "password"),
        (ChoiceMetadata::Same, "choose"),
        (ChoiceMetadata::Same, "SMS-OTP"),
    ];
    for (metadata, pick) in cases {
        let mut cognito = Cognito::new(config("email-otp|sms-otp"));
        cognito.choice_metadata = metadata.clone();
        assert_eq!(
            block_on(cognito.sign_in(None, picking(pick))),
            End::Failed,
            "{metadata:?} {pick}"
        );
        assert_eq!(challenges(&cognito), ["CHOOSE"; 3], "{metadata:?} {pick}");
        assert_eq!(cognito.sender.count(), 0);
    }
}

#[test]
fn create_takes_only_an_offered_branch_from_the_metadata() {
    // Verify checked the answer; Create of the next round reads the same request's metadata.
    // A client that answers rightly and then names another branch to Create (which Cognito
    // would not let it do in one request) gets no round at all.
    let cfg = config("email-otp|sms-otp");
    let mut c: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
    c.request.challenge_name = Some(CUSTOM_CHALLENGE.into());
    c.request.session = vec![entry(CUSTOM_CHALLENGE, true, Some("CHOOSE:email-otp"))];
    let sender = fakes::Sender::default();
    let mut rng = StdRng::seed_from_u64(1);
    for (metadata, want) in [
        (Some("sms-otp"), Err(crate::AuthError::NoChosenStep)),
        (None, Err(crate::AuthError::NoChosenStep)),
        (Some("email-otp"), Ok(Step::EmailOtp)),
    ] {
        c.request.client_metadata = metadata
            .map(|m| HashMap::from([(choice::CHOICE_KEY.to_owned(), m.to_owned())]))
            .unwrap_or_default();
        let got = block_on(create(&cfg, &mut c, &sender, &NoStore, &mut rng, T0));
        assert_eq!(got.map(|c| c.step), want, "{metadata:?}");
    }
    assert_eq!(sender.count(), 1);
}

#[test]
fn each_app_client_signs_in_with_its_own_flow() {
    let client = "4k1s7exampleclientid0123";
    let flows = format!(r#"{{"{client}": "email-otp|sms-otp", "backendclient": "signed-token"}}"#);
    let mut web = Cognito::new(config_with("", &[("AUTH_FLOWS", &flows)]));
    assert_eq!(block_on(web.sign_in(None, right)), End::Tokens);
    assert_eq!(challenges(&web), ["CHOOSE", "SMS_OTP"]);

    // The fixtures' client is not listed: no flow, no tokens, no challenge built.
    let other = r#"{"backendclient": "signed-token"}"#;
    let mut unlisted = Cognito::new(config_with("", &[("AUTH_FLOWS", other)]));
    assert_eq!(block_on(unlisted.sign_in(None, right)), End::Failed);
    assert!(unlisted.shown.is_empty());

    // ...unless AUTH_FLOW covers every other client.
    let mut fallback = Cognito::new(config_with("captcha", &[("AUTH_FLOWS", other)]));
    assert_eq!(block_on(fallback.sign_in(None, right)), End::Tokens);
    assert_eq!(challenges(&fallback), ["CAPTCHA"]);
}
