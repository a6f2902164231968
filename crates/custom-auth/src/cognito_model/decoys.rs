//! The model with unknown users (decoys that look like real users and never get tokens) and
//! codes that go only to verified destinations.

use super::*;

#[test]
fn unknown_users_look_like_real_ones_and_never_get_tokens() {
    for flow in [
        "email-otp",
        "sms-otp",
        "captcha",
        "select-account",
        "signed-token",
        "captcha,email-otp",
    ] {
        let mut real = Cognito::new(config(flow));
        block_on(real.sign_in(None, |_| Value::String("wrong".into())));
        let mut ghost = Cognito::new(config(flow)).unknown_user();
        // Even answering "right" (a correct captcha, a listed account, a well-signed token).
        let end = block_on(ghost.sign_in(None, right));
        assert_eq!(end, End::Failed, "{flow}");
        assert_eq!(ghost.sender.count(), 0, "{flow}: nothing sent");
        let keys = |c: &Cognito| -> Vec<Vec<String>> {
            c.shown
                .iter()
                .map(|p| {
                    let mut k: Vec<String> = p.keys().cloned().collect();
                    k.sort();
                    k
                })
                .collect()
        };
        assert_eq!(keys(&ghost)[0], keys(&real)[0], "{flow}: same public shape");
        // The masked destination stays the same across tries.
        let dest = |p: &HashMap<String, String>| p.get("email").or(p.get("phone")).cloned();
        for shown in &ghost.shown {
            let same_step = ghost
                .shown
                .iter()
                .filter(|p| p["challenge"] == shown["challenge"]);
            assert!(
                same_step.into_iter().all(|p| dest(p) == dest(shown)),
                "{flow}"
            );
        }
    }
    let mut ghost = Cognito::new(config("email-otp")).unknown_user();
    block_on(ghost.sign_in(None, right));
    assert_eq!(
        ghost.sender.imitations.load(Ordering::SeqCst),
        1,
        "decoy imitates one send"
    );
}

#[test]
fn codes_go_only_to_verified_destinations() {
    // (flow, attribute, value): each unverified case is a decoy round: same shape as a real
    // one, nothing sent, the right code unknowable, so no tokens.
    let unverified: &[(&str, &str, Option<&str>)] = &[
        ("email-otp", "email_verified", None),
        ("email-otp", "email_verified", Some("false")),
        ("email-otp", "email_verified", Some("TRUE")),
        ("password,email-otp", "email_verified", Some("false")),
        ("sms-otp", "phone_number_verified", None),
        ("sms-otp", "phone_number_verified", Some("false")),
        ("captcha,sms-otp", "phone_number_verified", Some("False")),
    ];
    for (flow, attribute, value) in unverified {
        let mut verified = Cognito::new(config(flow));
        let srp = flow.starts_with("password").then_some(true);
        assert_eq!(
            block_on(verified.sign_in(srp, right)),
            End::Tokens,
            "{flow}"
        );
        let mut cognito = Cognito::new(config(flow));
        match value {
            Some(v) => cognito.attributes.insert((*attribute).into(), (*v).into()),
            None => cognito.attributes.remove(*attribute),
        };
        let end = block_on(cognito.sign_in(srp, right));
        assert_eq!(end, End::Failed, "{flow} {attribute}={value:?}");
        assert_eq!(
            cognito.sender.count(),
            0,
            "{flow} {attribute}={value:?}: sent"
        );
        assert_eq!(
            cognito.sender.imitations.load(Ordering::SeqCst),
            1,
            "{flow}: the decoy takes a send's time once"
        );
        let shape = |c: &Cognito| -> Vec<Vec<String>> {
            c.shown
                .iter()
                .map(|p| {
                    let mut k: Vec<String> = p.keys().cloned().collect();
                    k.sort();
                    k
                })
                .collect()
        };
        assert_eq!(
            shape(&cognito)[0],
            shape(&verified)[0],
            "{flow}: same shape"
        );
        // The real masked destination is shown, as for a verified one: the user sees where
        // the code would have gone (it is their own attribute), and nothing tells the decoy
        // apart.
        let otp = |c: &Cognito| {
            c.shown
                .iter()
                .find(|p| p.contains_key("email") || p.contains_key("phone"))
                .cloned()
        };
        assert_eq!(otp(&cognito), otp(&verified), "{flow}: same challenge");
    }

    // An address changed to an attacker's is unverified until its owner confirms it: no code
    // goes there. Once verified (the user proved they own it), codes flow to it.
    let mut cognito = Cognito::new(config("email-otp"));
    cognito
        .attributes
        .insert("email".into(), "mallory@example.net".into());
    cognito
        .attributes
        .insert("email_verified".into(), "false".into());
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Failed);
    assert_eq!(cognito.sender.count(), 0);
    cognito
        .attributes
        .insert("email_verified".into(), "true".into());
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Tokens);
    assert_eq!(cognito.sender.count(), 1);
    assert_eq!(
        cognito.sender.sent.lock().unwrap()[0].1,
        "mallory@example.net"
    );
}
