//! The model with the methods' claim: each sign-in's tokens say how it passed, for every flow
//! shape, bound to the sign-in and taken once.

use super::*;

const CLAIM: &str = "signin_amr";

/// `with_claim` (the state store and the account claim) with the methods' claim on too.
fn with_methods(flow: &str) -> Cognito {
    let mut config = with_claim(flow);
    config.methods_claim = Some(CLAIM.into());
    Cognito::new(config)
}

/// The methods both tokens carry (they must agree), or `None`.
fn methods(cognito: &Cognito) -> Option<Vec<String>> {
    let id = cognito.id_claims.get(CLAIM).cloned();
    assert_eq!(id, cognito.access_claims.get(CLAIM).cloned());
    id.map(|v| serde_json::from_value(v).unwrap())
}

/// Answers right, picking `pick` in a choice.
fn picking(pick: &'static str) -> impl FnMut(&Prompt<'_>) -> Value {
    move |p| {
        if p.public[public::CHALLENGE] == "CHOOSE" {
            Value::String(pick.into())
        } else {
            right(p)
        }
    }
}

#[test]
fn every_flow_shape_puts_its_methods_in_both_tokens() {
    let table: &[(&str, Option<bool>, &str, &[&str])] = &[
        ("email-otp", None, "", &["otp"]),
        ("sms-otp", None, "", &["sms"]),
        ("password,email-otp", Some(true), "", &["pwd", "otp", "mfa"]),
        ("password,sms-otp", Some(true), "", &["pwd", "sms", "mfa"]),
        (
            "password,captcha,email-otp",
            Some(true),
            "",
            &["pwd", "otp", "mfa"],
        ),
        (
            "password,email-otp|sms-otp",
            Some(true),
            "sms-otp",
            &["pwd", "sms", "mfa"],
        ),
        (
            "password,email-otp|sms-otp",
            Some(true),
            "email-otp",
            &["pwd", "otp", "mfa"],
        ),
        ("email-otp|sms-otp", None, "sms-otp", &["sms"]),
        // The account is chosen after the code: the last round is the account's.
        ("email-otp,select-account", None, "", &["otp"]),
        ("select-account,email-otp", None, "", &["otp"]),
        ("email-otp,sms-otp", None, "", &["otp", "sms"]),
    ];
    for (flow, password, pick, want) in table {
        let mut cognito = with_methods(flow);
        let end = block_on(cognito.sign_in(*password, picking(pick)));
        assert_eq!(end, End::Tokens, "{flow} {pick}");
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(methods(&cognito), Some(want), "{flow} {pick}");
    }
}

#[test]
fn a_wrong_answer_first_changes_nothing_but_a_password_alone_is_only_pwd() {
    // The last step answered wrong once, then right: the same methods.
    let mut cognito = with_methods("password,email-otp");
    let mut tries = 0;
    let end = block_on(cognito.sign_in(Some(true), |p| {
        tries += 1;
        if tries == 1 { wrong(p) } else { right(p) }
    }));
    assert_eq!(end, End::Tokens);
    assert_eq!(
        methods(&cognito),
        Some(vec!["pwd".into(), "otp".into(), "mfa".into()])
    );
    // A flow whose last step proves nothing (a CAPTCHA after a code) still names the code.
    let mut cognito = with_methods("email-otp,captcha");
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Tokens);
    assert_eq!(methods(&cognito), Some(vec!["otp".into()]));
}

#[test]
fn a_magic_link_and_a_passkey_name_their_methods() {
    // A link: requested in one sign-in, redeemed in the next.
    let mut cognito = with_methods("magic-link");
    assert_eq!(
        block_on(cognito.sign_in(None, |_| Value::String(magic::REQUEST.into()))),
        End::Failed
    );
    let proof = super::links::newest_proof(&cognito);
    cognito.now += 30;
    let end = block_on(cognito.sign_in(None, move |_| Value::String(proof.clone())));
    assert_eq!(end, End::Tokens);
    assert_eq!(methods(&cognito), Some(vec!["link".into()]));

    // A passkey whose authenticator verified the user: two factors in one.
    let f = fixture::<Value>("passkey/es256-discoverable.json");
    let mut cognito = super::passkeys::cognito_for(&f);
    cognito.config.methods_claim = Some(CLAIM.into());
    cognito.user_name = "jane".into();
    let answer = super::passkeys::no_name_answer(&f);
    let reply = |p: &Prompt<'_>| match p.public[public::CHALLENGE].as_str() {
        "CHOOSE" => Value::String("passkey".into()),
        _ => Value::String(answer.clone()),
    };
    assert_eq!(block_on(cognito.sign_in(None, reply)), End::Tokens);
    assert_eq!(
        methods(&cognito),
        Some(vec!["hwk".into(), "user".into(), "mfa".into()])
    );
}

#[test]
fn methods_are_bound_to_the_sign_in_and_never_guessed() {
    // A client that names no sign-in gets its tokens, without methods (none can be tied to it).
    let mut cognito = with_methods("password,email-otp");
    cognito.sends_sign_in_id = false;
    assert_eq!(block_on(cognito.sign_in(Some(true), right)), End::Tokens);
    assert_eq!(methods(&cognito), None);

    // Failed sign-ins record nothing: a later sign-in's tokens carry only its own methods.
    let mut cognito = with_methods("password,email-otp|sms-otp");
    assert_eq!(block_on(cognito.sign_in(Some(false), right)), End::Failed);
    assert_eq!(
        block_on(cognito.sign_in(Some(true), picking("sms-otp"))),
        End::Tokens
    );
    assert_eq!(
        methods(&cognito),
        Some(vec!["pwd".into(), "sms".into(), "mfa".into()])
    );

    // Without the claim, nothing is recorded or added.
    let mut cognito = Cognito::new(with_claim("password,email-otp"));
    assert_eq!(block_on(cognito.sign_in(Some(true), right)), End::Tokens);
    assert_eq!(methods(&cognito), None);
}

#[test]
fn only_a_known_users_last_round_carries_methods() {
    let config = with_methods("password,email-otp").config;
    let round = |user_not_found: bool, session: Vec<Option<ChallengeResult>>| {
        let mut c: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
        c.request.session = session;
        c.request.user_not_found = user_not_found;
        let sender = fakes::Sender::default();
        let mut rng = StdRng::seed_from_u64(7);
        let store = MemoryStore::default();
        block_on(create(&config, &mut c, &sender, &store, &mut rng, T0)).unwrap();
        c.response
            .private_challenge_parameters
            .get(private::METHODS)
            .cloned()
    };
    let password = || {
        vec![
            entry(SRP_A, true, None),
            entry(PASSWORD_VERIFIER, true, None),
        ]
    };
    assert_eq!(
        round(false, password()),
        Some(r#"["pwd","otp","mfa"]"#.into())
    );
    // An unknown user's decoy round never has methods to record.
    assert_eq!(round(true, password()), None);
    // Nor has a round that does not end the flow.
    let config = with_methods("email-otp,select-account").config;
    let mut c: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
    let sender = fakes::Sender::default();
    let mut rng = StdRng::seed_from_u64(7);
    let store = MemoryStore::default();
    block_on(create(&config, &mut c, &sender, &store, &mut rng, T0)).unwrap();
    assert_eq!(
        c.response
            .private_challenge_parameters
            .get(private::METHODS),
        None
    );
}
