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
use crate::steps::choice;
use crate::steps::magic;
use crate::steps::round::{private, public};
use crate::store::{Limits, MemoryStore, NoStore};
use crate::testing::{Capture, config, config_with, entry, fakes, fixture, keys};
use crate::triggers::create::create;
use crate::triggers::verify::{TokenKeys, verify};

mod choices;
mod claims;
mod decoys;
mod devices;
mod faults;
mod flows;
mod limits;
mod links;
mod manifest;
mod methods;
mod passkeys;

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
    /// The user pool the events name (`None`: the fixtures' own).
    pool: Option<String>,
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
            pool: None,
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
            if let Some(pool) = &self.pool {
                c.cognito_event_user_pools_header.user_pool_id = Some(pool.clone());
            }
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
            if let Some(pool) = &self.pool {
                v.cognito_event_user_pools_header.user_pool_id = Some(pool.clone());
            }
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
    /// Cognito's last step before tokens: Pre Token Generation, when a claim is configured
    /// (the template wires the trigger then). Its error means no tokens.
    async fn mint(&mut self, metadata: &HashMap<String, String>) -> End {
        self.id_claims.clear();
        self.access_claims.clear();
        if self.config.account_claim.is_none() && self.config.methods_claim.is_none() {
            return End::Tokens;
        }
        let mut p: crate::events::PreTokenGenerationEvent =
            fixture("pre-token/authentication.json");
        p.cognito_event_user_pools_header.user_name = Some(self.user_name.clone());
        if let Some(pool) = &self.pool {
            p.cognito_event_user_pools_header.user_pool_id = Some(pool.clone());
        }
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

fn state_key(user: &str) -> String {
    let config = stateful("email-otp");
    let state = config.state.as_ref().unwrap();
    crate::keys::user_key(&state.key, "us-east-1_Ex4mPl3Aa", user)
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
