//! The model with the account claim: the selected account in both tokens, per sign-in.

use super::*;

#[test]
fn the_selected_account_reaches_both_tokens() {
    for account in ["acct-1", "acct-2"] {
        let mut cognito = Cognito::new(with_claim("email-otp,select-account"));
        let end = block_on(cognito.sign_in(None, |p| {
            if p.public[public::CHALLENGE] == "SELECT_ACCOUNT" {
                Value::String(account.into())
            } else {
                right(p)
            }
        }));
        assert_eq!(end, End::Tokens, "{account}");
        assert_eq!(cognito.id_claims["selected_account"], account);
        assert_eq!(cognito.access_claims["selected_account"], account);
    }
    // A flow without account selection gets no such claim.
    let mut cognito = Cognito::new(with_claim("email-otp"));
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Tokens);
    assert!(cognito.id_claims.is_empty() && cognito.access_claims.is_empty());
}

#[test]
fn a_choice_that_cannot_be_tied_to_the_sign_in_gets_no_tokens() {
    // A client that names no sign-in: its account answers cannot be recorded, so they fail.
    let mut cognito = Cognito::new(with_claim("select-account"));
    cognito.sends_sign_in_id = false;
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Failed);
    // The store failing at token time: no tokens.
    let mut cognito = Cognito::new(with_claim("select-account"));
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Tokens);
    cognito.store.fail = Some(crate::ports::DependencyError::Timeout);
    assert_ne!(block_on(cognito.sign_in(None, right)), End::Tokens);
}

#[test]
fn two_sign_ins_of_one_user_each_get_their_own_choice() {
    // Two devices, interleaved: both choose before either gets tokens.
    let config = with_claim("select-account");
    let store = MemoryStore::default();
    let keys = TokenKeys::new(&config, crate::ports::NoJwks);
    let captcha = fakes::Captcha::default();
    let choose = |id: &str, account: &str| {
        let mut v: VerifyAuthChallengeEvent = fixture("verify/select-account-correct.json");
        v.request.challenge_answer = Some(Value::String(account.into()));
        v.request.client_metadata = HashMap::from([("signInId".into(), id.into())]);
        block_on(verify(&config, &mut v, &captcha, &keys, &store, T0)).is_ok()
    };
    let mint = |id: &str, now: u64| {
        let mut p: crate::events::PreTokenGenerationEvent =
            fixture("pre-token/authentication.json");
        p.request.client_metadata = HashMap::from([("signInId".into(), id.into())]);
        let minted = block_on(crate::triggers::pre_token::pre_token_generation(
            &config, &mut p, &store, now,
        ));
        minted.ok()?;
        let details = p.response.claims_and_scope_override_details?;
        let claims = details.id_token_generation?.claims_to_add_or_override;
        claims.get("selected_account").cloned()
    };
    let (phone, laptop) = ("phone-sign-in-000000001", "laptop-sign-in-00000002");
    assert!(choose(phone, "acct-1001"));
    assert!(choose(laptop, "acct-2002"));
    assert!(!choose(phone, "acct-2002"), "one choice per sign-in");
    assert_eq!(mint(laptop, T0), Some(Value::String("acct-2002".into())));
    assert_eq!(mint(phone, T0), Some(Value::String("acct-1001".into())));
    let later = T0 + crate::store::TAKE_GRACE_SECONDS + 1;
    assert_eq!(
        mint(phone, later),
        None,
        "each choice mints once (after a short grace)"
    );
}
