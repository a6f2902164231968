//! The model with the `magic-link` step: a link is requested in one sign-in and redeemed in
//! another (another device), once, only while it is the user's newest.

use super::*;

/// The proof in the link of the newest message sent.
pub(super) fn newest_proof(cognito: &Cognito) -> String {
    proofs(cognito).pop().expect("a message")
}

/// The proofs in the links of every message sent, oldest first.
pub(super) fn proofs(cognito: &Cognito) -> Vec<String> {
    let sent = cognito.sender.sent.lock().unwrap();
    sent.iter()
        .map(|(_, _, body)| {
            let link = body
                .split_whitespace()
                .find(|w| w.contains("#magic-link="))
                .expect("a link in the message");
            link.split_once("#magic-link=").unwrap().1.to_owned()
        })
        .collect()
}

/// Asks for a link in every round (a person pressing "send me a link" until the sign-in's
/// attempts run out; none of it counts as a failure).
fn requesting(_: &Prompt<'_>) -> Value {
    Value::String(magic::REQUEST.into())
}

fn redeeming(proof: String) -> impl FnMut(&Prompt<'_>) -> Value {
    move |_| Value::String(proof.clone())
}

fn sent_flags(cognito: &Cognito) -> Vec<String> {
    cognito
        .shown
        .iter()
        .map(|p| p.get(public::SENT).cloned().unwrap_or_default())
        .collect()
}

#[test]
fn a_link_requested_in_one_sign_in_signs_in_another_once() {
    let mut cognito = Cognito::new(stateful("magic-link"));
    // Ask: the first round sends nothing, the second says the link went.
    assert_eq!(block_on(cognito.sign_in(None, requesting)), End::Failed);
    assert_eq!(sent_flags(&cognito), ["false", "true", "too-soon"]);
    assert_eq!(cognito.shown[1][public::EMAIL], "j***@example.com");
    assert_eq!(cognito.sender.count(), 1);
    let proof = newest_proof(&cognito);
    // The request guessed nothing: no failure counted towards the lockout.
    let counted = cognito.store.user(&state_key("jane"));
    assert_eq!(counted.fail_count, 0, "{counted:?}");
    assert_eq!(counted.send_count, 1, "{counted:?}");
    assert_eq!(counted.link_at, T0);
    // Open it on another device (a fresh sign-in): tokens, first round.
    cognito.now += 30;
    cognito.shown.clear();
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(proof.clone()))),
        End::Tokens
    );
    assert_eq!(cognito.shown.len(), 1);
    // A second use: refused, every time.
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(proof))),
        End::Failed
    );
}

#[test]
fn older_links_other_pages_and_tampered_links_are_refused() {
    let mut cognito = Cognito::new(stateful("magic-link"));
    // Each refused sign-in below answers three times: keep the lockout out of the way.
    cognito.config.state.as_mut().unwrap().limits.lockout_after = 100;
    block_on(cognito.sign_in(None, requesting));
    let older = newest_proof(&cognito);
    // A second request within the interval sends nothing; the first link still works...
    cognito.now += 59;
    block_on(cognito.sign_in(None, requesting));
    assert_eq!(cognito.sender.count(), 1);
    assert_eq!(sent_flags(&cognito)[4], "too-soon");
    // ...until a newer link replaces it.
    cognito.now += 1;
    block_on(cognito.sign_in(None, requesting));
    assert_eq!(cognito.sender.count(), 2);
    let newer = newest_proof(&cognito);
    assert_ne!(older, newer);
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(older))),
        End::Failed
    );
    // Redeemed from another page than the link's: refused (the page says where it runs).
    cognito.link_page = "http://127.0.0.1:4600/".into();
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(newer.clone()))),
        End::Failed
    );
    cognito.link_page = "https://app.example.com/signin".into();
    // Tampered: one character of the payload changed.
    let mut bytes = newer.clone().into_bytes();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(tampered))),
        End::Failed
    );
    // Expired: past the TTL (900 s).
    let mut late = Cognito::new(stateful("magic-link"));
    block_on(late.sign_in(None, requesting));
    let proof = newest_proof(&late);
    late.now += 900;
    assert_eq!(block_on(late.sign_in(None, redeeming(proof))), End::Failed);
    // Another user's link: refused for jane's sign-in though well signed.
    let mut john = Cognito::new(stateful("magic-link"));
    john.user_name = "john".into();
    block_on(john.sign_in(None, requesting));
    let johns = newest_proof(&john);
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(johns))),
        End::Failed
    );
    // The newer link, from its own page, still works: the refusals spent nothing.
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(newer))),
        End::Tokens
    );
}

#[test]
fn a_page_not_allowed_gets_no_link() {
    let mut cognito = Cognito::new(stateful("magic-link"));
    cognito.link_page = "https://evil.example.com/".into();
    block_on(cognito.sign_in(None, requesting));
    assert_eq!(sent_flags(&cognito)[1], "bad-url");
    assert_eq!(cognito.sender.count(), 0);
}

#[test]
fn unknown_users_get_the_same_rounds_and_counts_and_no_mail() {
    let mut jane = Cognito::new(stateful("magic-link"));
    let mut ghost = Cognito::new(stateful("magic-link")).unknown_user();
    for c in [&mut jane, &mut ghost] {
        // A link in every round: the limit (3 per window) comes in the second sign-in.
        c.config.magic_link.as_mut().unwrap().min_interval_seconds = 0;
        assert_eq!(block_on(c.sign_in(None, requesting)), End::Failed);
        assert_eq!(block_on(c.sign_in(None, requesting)), End::TriggerError);
    }
    let keys = |c: &Cognito| -> Vec<Vec<String>> {
        c.shown
            .iter()
            .map(|p| {
                let mut k: Vec<String> = p
                    .iter()
                    .filter(|(k, _)| k.as_str() != public::EMAIL)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                k.sort();
                k
            })
            .collect()
    };
    assert_eq!(keys(&jane), keys(&ghost));
    assert!(ghost.shown[1][public::EMAIL].starts_with("g***@"));
    assert_eq!(jane.sender.count(), 3);
    assert_eq!(ghost.sender.count(), 0);
    assert_eq!(ghost.sender.imitations.load(Ordering::Relaxed), 3);
    assert_eq!(jane.errors, ghost.errors);
    assert_eq!(
        jane.errors[0].to_string(),
        "too many codes requested; try again later"
    );
}

#[test]
fn a_link_after_the_password_and_as_an_alternative() {
    let mut cognito = Cognito::new(stateful("password,magic-link"));
    assert_eq!(
        block_on(cognito.sign_in(Some(true), requesting)),
        End::Failed
    );
    let proof = newest_proof(&cognito);
    // The redeeming sign-in runs the password first; a wrong password gives nothing.
    assert_eq!(
        block_on(cognito.sign_in(Some(false), redeeming(proof.clone()))),
        End::Failed
    );
    assert_eq!(
        block_on(cognito.sign_in(Some(true), redeeming(proof))),
        End::Tokens
    );

    let mut cognito = Cognito::new(stateful("email-otp|magic-link"));
    let pick_then_request = |p: &Prompt<'_>| match p.public[public::CHALLENGE].as_str() {
        "CHOOSE" => Value::String("magic-link".into()),
        _ => requesting(p),
    };
    block_on(cognito.sign_in(None, pick_then_request));
    assert_eq!(
        cognito.shown[0][public::OPTIONS],
        r#"["email-otp","magic-link"]"#
    );
    let proof = newest_proof(&cognito);
    let pick_then_redeem = move |p: &Prompt<'_>| match p.public[public::CHALLENGE].as_str() {
        "CHOOSE" => Value::String("magic-link".into()),
        _ => Value::String(proof.clone()),
    };
    assert_eq!(
        block_on(cognito.sign_in(None, pick_then_redeem)),
        End::Tokens
    );
}

/// Links signed by a KMS key (the fake one of `testing::fakes`).
fn kms_config() -> Config {
    config_with(
        "magic-link",
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", "state-key-for-tests-0123456789abcdef"),
            ("MAGIC_LINK_SECRET", ""),
            ("MAGIC_LINK_KMS_KEY_ID", "alias/magic-links"),
        ],
    )
}

#[test]
fn links_signed_by_kms_are_checked_with_the_public_key_create_hands_on() {
    let kms = kms_config();
    let mut cognito = Cognito::new(kms);
    block_on(cognito.sign_in(None, requesting));
    let proof = newest_proof(&cognito);
    assert!(proof.starts_with("mk1."), "{proof}");
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(proof.clone()))),
        End::Tokens
    );
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(proof))),
        End::Failed
    );
    // An HMAC proof (even one signed with a key the deployment once had) is not a KMS proof.
    let hmac = magic::issue_hmac(
        &crate::config::env::Secret::new("magic-link-test-secret-0123456789abcdef"),
        &magic::LinkClaims {
            pool: "us-east-1_Ex4mPl3Aa".into(),
            user: "jane".into(),
            url: "https://app.example.com/signin".into(),
            id: "00112233445566778899aabbccddeeff".into(),
            issued_at: T0,
            expires_at: T0 + 900,
        },
    );
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(hmac))),
        End::Failed
    );
    assert!(cognito.sender.link_fetches.load(Ordering::Relaxed) > 0);
}

/// Verify checks a KMS proof with the key in the round's private parameters, never another:
/// without it, with garbage or with another P-256 key there, the right proof is refused.
#[test]
fn a_kms_proof_without_the_rounds_own_key_is_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use p256::pkcs8::EncodePublicKey;
    let kms = kms_config();
    let tampers: [fn(&mut HashMap<String, String>); 3] = [
        |p| {
            p.remove(private::LINK_KEY);
        },
        |p| {
            p.insert(private::LINK_KEY.into(), "bm90IGEga2V5".into());
        },
        |p| {
            let other = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
            let der = other.verifying_key().to_public_key_der().unwrap();
            p.insert(
                private::LINK_KEY.into(),
                URL_SAFE_NO_PAD.encode(der.as_bytes()),
            );
        },
    ];
    for (i, tamper) in tampers.into_iter().enumerate() {
        let mut cognito = Cognito::new(kms.clone());
        block_on(cognito.sign_in(None, requesting));
        let proof = newest_proof(&cognito);
        cognito.tamper = tamper;
        assert_eq!(
            block_on(cognito.sign_in(None, redeeming(proof.clone()))),
            End::Failed,
            "tamper {i}"
        );
        // The same proof, in a session as Create made it, still passes: it was not spent.
        cognito.tamper = |_| {};
        assert_eq!(
            block_on(cognito.sign_in(None, redeeming(proof))),
            End::Tokens,
            "tamper {i}"
        );
    }
}

#[test]
fn of_two_links_issued_in_one_second_only_the_newer_signs_in() {
    // MAGIC_LINK_MIN_INTERVAL_SECONDS=0 is allowed: two requests in one second send two links
    // with one issue time. The store names the newest link by its id, not its second.
    let config = config_with(
        "magic-link",
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", "model-state-key-0123456789abcdef0123"),
            ("MAGIC_LINK_MIN_INTERVAL_SECONDS", "0"),
        ],
    );
    let mut cognito = Cognito::new(config);
    cognito.config.state.as_mut().unwrap().limits.lockout_after = 100;
    block_on(cognito.sign_in(None, requesting));
    assert!(
        cognito.sender.count() >= 2,
        "every request in the second sent a link"
    );
    let sent = proofs(&cognito);
    let (older, newer) = (sent[sent.len() - 2].clone(), sent[sent.len() - 1].clone());
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(older))),
        End::Failed
    );
    assert_eq!(
        block_on(cognito.sign_in(None, redeeming(newer))),
        End::Tokens
    );
}
