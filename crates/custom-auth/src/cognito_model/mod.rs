//! An in-process model of Cognito's `CUSTOM_AUTH` loop (Define -> Create -> answer -> Verify ->
//! Define ...) over the real trigger functions and fake I/O, plus the `events/` manifest test.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::config::Config;
use crate::events::{
    ChallengeResult, CreateAuthChallengeEvent, DefineAuthChallengeEvent, VerifyAuthChallengeEvent,
};
use crate::flow::{CUSTOM_CHALLENGE, Decision, PASSWORD_VERIFIER, SRP_A, define};
use crate::state::{Limits, MemoryStore, NoStore};
use crate::steps::choice;
use crate::steps::magic;
use crate::steps::round::{private, public};
use crate::testing::{Capture, config, config_with, entry, fakes, fixture, keys};
use crate::triggers::create::create;
use crate::triggers::verify::{TokenKeys, verify};

mod choices;
mod links;

const T0: u64 = 1_800_000_000;
const SUB: &str = "7d3f0c1e-0000-4000-8000-000000000001";
const ROUND_LIMIT: usize = 64;

/// What the person (or attacker) sees for one challenge.
struct Prompt<'a> {
    public: &'a HashMap<String, String>,
    sender: &'a fakes::Sender,
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    Tokens,
    Failed,
    TriggerError,
}

struct Cognito {
    config: Config,
    sender: fakes::Sender,
    captcha: fakes::Captcha,
    keys: TokenKeys<Arc<fakes::Jwks>>,
    jwks: Arc<fakes::Jwks>,
    rng: StdRng,
    now: u64,
    attributes: HashMap<String, String>,
    user_not_found: bool,
    /// The state across sign-ins (used when the configuration names a table).
    store: MemoryStore,
    /// The name the person types.
    user_name: String,
    /// Every public map shown, in order.
    shown: Vec<HashMap<String, String>>,
    /// Changes the private parameters between Create and Verify: Cognito never does, so this
    /// stands for a session that is not what Create made.
    tamper: fn(&mut HashMap<String, String>),
    /// Every Create (or Pre Token Generation) error, in order.
    errors: Vec<crate::AuthError>,
    /// Sign-ins started so far: each gets its own `signInId`.
    sign_ins: u32,
    /// Whether the client sends its `signInId` in `ClientMetadata`.
    sends_sign_in_id: bool,
    /// The claims Pre Token Generation added to the last ID token.
    id_claims: HashMap<String, Value>,
    /// The claims it added to the last access token.
    access_claims: HashMap<String, Value>,
    /// What the client puts in `ClientMetadata` `choice` when it answers a `CHOOSE` round.
    choice_metadata: ChoiceMetadata,
    /// The page the client names in `ClientMetadata` `redirectUri` at a `MAGIC_LINK` round.
    link_page: String,
}

/// How the client repeats its pick in `ClientMetadata`.
#[derive(Clone, Debug)]
enum ChoiceMetadata {
    /// As the answer (what the sign-in page and the CLI do).
    Same,
    /// Not at all.
    Omit,
    /// Another name than the answer.
    Other(&'static str),
}

impl crate::ports::JwksFetcher for Arc<fakes::Jwks> {
    async fn fetch(&self) -> Result<Vec<u8>, crate::ports::DependencyError> {
        self.as_ref().fetch().await
    }
}

impl Cognito {
    fn new(config: Config) -> Cognito {
        let jwks = Arc::new(fakes::Jwks::default());
        Cognito {
            keys: TokenKeys::new(&config, jwks.clone()),
            jwks,
            config,
            sender: fakes::Sender::default(),
            captcha: fakes::Captcha::default(),
            tamper: |_| {},
            rng: StdRng::seed_from_u64(42),
            now: T0,
            attributes: HashMap::from([
                ("sub".into(), SUB.into()),
                ("email".into(), "jane@example.com".into()),
                ("email_verified".into(), "true".into()),
                ("phone_number".into(), "+15555550123".into()),
                ("phone_number_verified".into(), "true".into()),
                (
                    "custom:accounts".into(),
                    r#"{"acct-1":"Personal","acct-2":"Work"}"#.into(),
                ),
            ]),
            user_not_found: false,
            store: MemoryStore::default(),
            user_name: "jane".into(),
            shown: Vec::new(),
            errors: Vec::new(),
            sign_ins: 0,
            sends_sign_in_id: true,
            id_claims: HashMap::new(),
            access_claims: HashMap::new(),
            choice_metadata: ChoiceMetadata::Same,
            link_page: "https://app.example.com/signin".into(),
        }
    }

    fn unknown_user(mut self) -> Cognito {
        self.user_not_found = true;
        self.user_name = "ghost".into();
        self.attributes.clear();
        self
    }

    /// Runs a whole sign-in. `password_ok` is the SRP outcome (`None`: the client skips SRP).
    async fn sign_in(
        &mut self,
        password_ok: Option<bool>,
        mut answer: impl FnMut(&Prompt<'_>) -> Value,
    ) -> End {
        let mut session: Vec<Option<ChallengeResult>> = Vec::new();
        self.sign_ins += 1;
        let metadata: HashMap<String, String> = if self.sends_sign_in_id {
            HashMap::from([(
                crate::steps::account::SIGN_IN_ID.to_owned(),
                format!("model-sign-in-{:016}", self.sign_ins),
            )])
        } else {
            HashMap::new()
        };
        if password_ok.is_some() {
            session.push(entry(SRP_A, true, None));
        }
        // Cognito hands the triggers the `ClientMetadata` of `RespondToAuthChallenge` (none
        // from `InitiateAuth`): the answer's Verify, then the next round's Define and Create.
        let mut responded: HashMap<String, String> = HashMap::new();
        for _ in 0..ROUND_LIMIT {
            let mut d: DefineAuthChallengeEvent = fixture("define/email-otp-first.json");
            d.request.session = session.clone();
            d.request.user_not_found = self.user_not_found;
            d.request.user_attributes = self.attributes.clone();
            let decision = define(&self.config, &mut d);
            assert!(!(d.response.issue_tokens && d.response.fail_authentication));
            match decision {
                Decision::IssueTokens => return self.mint(&metadata).await,
                Decision::Fail(_) => return End::Failed,
                Decision::Challenge { name, .. } if name == PASSWORD_VERIFIER => {
                    session.push(entry(PASSWORD_VERIFIER, password_ok == Some(true), None));
                    continue;
                }
                Decision::Challenge { .. } => {}
            }

            let mut c: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
            c.request.session = session.clone();
            c.request.user_not_found = self.user_not_found;
            c.request.user_attributes = self.attributes.clone();
            c.request.challenge_name = Some(CUSTOM_CHALLENGE.into());
            c.cognito_event_user_pools_header.user_name = Some(self.user_name.clone());
            c.request.client_metadata = responded.clone();
            if let Err(e) = create(
                &self.config,
                &mut c,
                &self.sender,
                &self.store,
                &mut self.rng,
                self.now,
            )
            .await
            {
                self.errors.push(e);
                return End::TriggerError;
            }
            let public = c.response.public_challenge_parameters.clone();
            self.shown.push(public.clone());
            let reply = answer(&Prompt {
                public: &public,
                sender: &self.sender,
            });

            let mut v: VerifyAuthChallengeEvent = fixture("verify/email-otp-correct.json");
            v.request.private_challenge_parameters =
                c.response.private_challenge_parameters.clone();
            (self.tamper)(&mut v.request.private_challenge_parameters);
            v.request.challenge_answer = Some(reply.clone());
            v.request.user_not_found = self.user_not_found;
            v.request.user_attributes = self.attributes.clone();
            v.cognito_event_user_pools_header.user_name = Some(self.user_name.clone());
            responded = metadata.clone();
            if public[public::CHALLENGE] == "CHOOSE" {
                let pick = reply.as_str().unwrap_or_default().to_owned();
                match self.choice_metadata {
                    ChoiceMetadata::Same => responded.insert(choice::CHOICE_KEY.into(), pick),
                    ChoiceMetadata::Omit => None,
                    ChoiceMetadata::Other(name) => {
                        responded.insert(choice::CHOICE_KEY.into(), name.into())
                    }
                };
            }
            if public[public::CHALLENGE] == "MAGIC_LINK" {
                // What the page sends: its own address, and the intent when it asks for a link.
                responded.insert(magic::metadata::URL.into(), self.link_page.clone());
                if reply == magic::REQUEST {
                    responded.insert(magic::metadata::INTENT.into(), magic::REQUEST.into());
                }
            }
            v.request.client_metadata = responded.clone();
            let ok = verify(
                &self.config,
                &mut v,
                &self.captcha,
                &self.keys,
                &self.store,
                self.now,
            )
            .await
            .is_ok();
            assert_eq!(ok, v.response.answer_correct);
            session.push(entry(
                CUSTOM_CHALLENGE,
                ok,
                c.response.challenge_metadata.as_deref(),
            ));
        }
        panic!("sign-in did not end within {ROUND_LIMIT} rounds");
    }
}

impl Cognito {
    /// Cognito's last step before tokens: Pre Token Generation, when the claim is configured
    /// (the template wires the trigger then). Its error means no tokens.
    async fn mint(&mut self, metadata: &HashMap<String, String>) -> End {
        self.id_claims.clear();
        self.access_claims.clear();
        if self.config.account_claim.is_none() {
            return End::Tokens;
        }
        let mut p: crate::events::PreTokenGenerationEvent =
            fixture("pre-token/authentication.json");
        p.cognito_event_user_pools_header.user_name = Some(self.user_name.clone());
        p.request.user_attributes = self.attributes.clone();
        p.request.client_metadata = metadata.clone();
        match crate::triggers::pre_token::pre_token_generation(
            &self.config,
            &mut p,
            &self.store,
            self.now,
        )
        .await
        {
            Ok(_) => {
                let details = p
                    .response
                    .claims_and_scope_override_details
                    .unwrap_or_default();
                let id = details.id_token_generation.unwrap_or_default();
                let access = details.access_token_generation.unwrap_or_default();
                self.id_claims = id.claims_to_add_or_override;
                self.access_claims = access.claims_to_add_or_override;
                End::Tokens
            }
            Err(e) => {
                self.errors.push(e);
                End::TriggerError
            }
        }
    }
}

fn hs_token(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(keys::HS_SECRET),
    )
    .unwrap()
}

/// The right answer to any challenge, as a person who holds every factor would give it.
fn right(p: &Prompt<'_>) -> Value {
    let answer = match p.public[public::CHALLENGE].as_str() {
        "EMAIL_OTP" | "SMS_OTP" => p.sender.last_code().unwrap_or_default(),
        "CAPTCHA" => "XXXX.DUMMY.TOKEN.XXXX".into(),
        "SELECT_ACCOUNT" => {
            let accounts: serde_json::Map<String, Value> =
                serde_json::from_str(&p.public[public::ACCOUNTS]).unwrap();
            accounts.keys().next_back().cloned().unwrap_or_default()
        }
        "SIGNED_TOKEN" => hs_token(json!({"sub": SUB, "exp": T0 + 300, "iat": T0})),
        // The last option offered.
        "CHOOSE" => options(p).pop().unwrap_or_default(),
        other => panic!("unexpected challenge {other}"),
    };
    Value::String(answer)
}

/// The options of a `CHOOSE` round.
fn options(p: &Prompt<'_>) -> Vec<String> {
    serde_json::from_str(&p.public[public::OPTIONS]).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

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

#[test]
fn failing_delivery_is_a_trigger_error_not_tokens() {
    let mut cognito = Cognito::new(config("email-otp"));
    cognito.sender.fail = Some(crate::ports::DependencyError::Timeout);
    assert_eq!(block_on(cognito.sign_in(None, right)), End::TriggerError);
}

#[test]
fn failing_captcha_provider_fails_closed() {
    let mut cognito = Cognito::new(config("captcha"));
    cognito.captcha.fail = Some(crate::ports::DependencyError::Timeout);
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Failed);
    assert_eq!(cognito.captcha.calls.load(Ordering::SeqCst), 3);
}

#[test]
fn jwks_keys_by_kid_with_bounded_refetch_and_stale_fallback() {
    let cfg = config_with(
        "signed-token",
        &[
            ("SIGNED_TOKEN_SECRET", ""),
            (
                "SIGNED_TOKEN_JWKS_URL",
                "https://issuer.example.com/jwks.json",
            ),
        ],
    );
    let es = EncodingKey::from_ec_pem(keys::EC_PRIVATE).unwrap();
    let token = |kid: &str| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.into());
        Value::String(jsonwebtoken::encode(&h, &json!({"sub": SUB, "exp": T0 + 300}), &es).unwrap())
    };
    let mut cognito = Cognito::new(cfg);
    *cognito.jwks.document.lock().unwrap() = Some(keys::jwks(&["k1"]));
    assert_eq!(
        block_on(cognito.sign_in(None, |_| token("k1"))),
        End::Tokens
    );
    assert_eq!(
        block_on(cognito.sign_in(None, |_| token("k1"))),
        End::Tokens
    );
    assert_eq!(
        cognito.jwks.fetches.load(Ordering::SeqCst),
        1,
        "cached across sign-ins"
    );

    // Unknown kid: one refetch, then rate-limited, so three tries cost one fetch.
    cognito.now += crate::jwt::JWKS_MIN_REFETCH_SECONDS;
    assert_eq!(
        block_on(cognito.sign_in(None, |_| token("k9"))),
        End::Failed
    );
    assert_eq!(cognito.jwks.fetches.load(Ordering::SeqCst), 2);

    // Rotation: after the rate limit, an unknown kid is fetched and accepted.
    *cognito.jwks.document.lock().unwrap() = Some(keys::jwks(&["k1", "k2"]));
    cognito.now += crate::jwt::JWKS_MIN_REFETCH_SECONDS;
    assert_eq!(
        block_on(cognito.sign_in(None, |_| token("k2"))),
        End::Tokens
    );

    // Endpoint down and the set past its age: the cached key keeps working.
    *cognito.jwks.document.lock().unwrap() = None;
    cognito.now += crate::jwt::JWKS_MAX_AGE_SECONDS + 1;
    let fresh = |kid: &str, now: u64| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.into());
        Value::String(
            jsonwebtoken::encode(&h, &json!({"sub": SUB, "exp": now + 300}), &es).unwrap(),
        )
    };
    let now = cognito.now;
    assert_eq!(
        block_on(cognito.sign_in(None, |_| fresh("k1", now))),
        End::Tokens
    );
}

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
                    Ok(minted) => format!("minted:{minted:?}"),
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

/// A configuration with the state store on and small limits: 3 codes per 100 s, locked after 4
/// wrong answers for 200 s.
fn stateful(flow: &str) -> Config {
    config_with(
        flow,
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", "state-key-for-tests-0123456789abcdef"),
            ("OTP_SEND_LIMIT", "3"),
            ("OTP_SEND_WINDOW_SECONDS", "100"),
            ("LOCKOUT_AFTER_FAILURES", "4"),
            ("LOCKOUT_WINDOW_SECONDS", "200"),
        ],
    )
}

fn wrong(_: &Prompt<'_>) -> Value {
    Value::String("wrong".into())
}

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

fn state_key(user: &str) -> String {
    let config = stateful("email-otp");
    let state = config.state.as_ref().unwrap();
    crate::keys::user_key(&state.key, "us-east-1_Ex4mPl3Aa", user)
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

/// `stateful` with the selected-account claim on.
fn with_claim(flow: &str) -> Config {
    config_with(
        flow,
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", "state-key-for-tests-0123456789abcdef"),
            ("SELECTED_ACCOUNT_CLAIM", "selected_account"),
        ],
    )
}

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
    let later = T0 + crate::state::TAKE_GRACE_SECONDS + 1;
    assert_eq!(
        mint(phone, later),
        None,
        "each choice mints once (after a short grace)"
    );
}
