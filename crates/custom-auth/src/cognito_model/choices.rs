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
fn alternatives_the_user_cannot_use_are_left_out_except_for_unknown_users() {
    let mut cognito = Cognito::new(config("email-otp|sms-otp"));
    cognito
        .attributes
        .insert("phone_number_verified".into(), "false".into());
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Tokens);
    assert_eq!(cognito.shown[0][public::OPTIONS], r#"["email-otp"]"#);

    // Picking the one left out is a wrong answer, every time.
    let mut cognito = Cognito::new(config("email-otp|sms-otp"));
    cognito
        .attributes
        .insert("phone_number_verified".into(), "false".into());
    assert_eq!(
        block_on(cognito.sign_in(None, picking("sms-otp"))),
        End::Failed
    );
    assert_eq!(challenges(&cognito), ["CHOOSE"; 3]);

    // Unknown users: the whole list, the same every time; the branch runs as a decoy.
    let mut ghost = Cognito::new(config("email-otp|sms-otp")).unknown_user();
    assert_eq!(block_on(ghost.sign_in(None, right)), End::Failed);
    assert_eq!(block_on(ghost.sign_in(None, right)), End::Failed);
    let one = ["CHOOSE", "SMS_OTP", "SMS_OTP", "SMS_OTP"];
    assert_eq!(challenges(&ghost), [one, one].concat());
    assert_eq!(
        ghost.shown[0][public::OPTIONS],
        r#"["email-otp","sms-otp"]"#
    );
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
