//! Logic cost of each trigger on events from `events/`: parse, decide or build or check, and
//! serialize, beside the floor of the same event (serde_json parse + serialize alone). JWT
//! checks are also shown beside `jsonwebtoken`'s own verify. Magic links: Create asking for a
//! link (signed by HMAC, or by a local P-256 key where KMS signs in production: the KMS call
//! itself is a network round trip, not logic) and Verify checking one, the store's write
//! answered at once
//! (`NoStore`).

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use custom_auth::events::{
    CreateAuthChallengeEvent, DefineAuthChallengeEvent, VerifyAuthChallengeEvent,
};
use custom_auth::ports::{CaptchaVerifier, CodeMessage, CodeSender, DependencyError, NoJwks};
use custom_auth::store::NoStore;
use custom_auth::{Config, TokenKeys};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `now` of the fixtures (`events/manifest.json`), so codes are in date.
const NOW: u64 = 1_767_225_630;
const SUB: &str = "a1b2c3d4-5e6f-4a0b-9c8d-7e6f5a4b3c2d";
const HS_SECRET: &str = "test-hs256-secret-of-32-bytes-or-more!";

struct NoSend;

impl CodeSender for NoSend {
    async fn send(&self, _: &CodeMessage) -> Result<(), DependencyError> {
        Ok(())
    }
    async fn imitate_send(&self) {}
    /// Signs as the KMS key would (ECDSA P-256 over SHA-256).
    async fn sign_link(&self, message: &[u8]) -> Result<Vec<u8>, DependencyError> {
        use p256::ecdsa::signature::Signer;
        let sig: p256::ecdsa::Signature = link_key().sign(message);
        Ok(sig.to_bytes().to_vec())
    }
    /// The key's public half, as GetPublicKey gives it.
    async fn link_public_key(&self) -> Result<Vec<u8>, DependencyError> {
        use p256::pkcs8::EncodePublicKey;
        Ok(link_key()
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .into_vec())
    }
}

fn link_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
}

const LINK_PAGE: &str = "https://app.example.com/signin";

fn link_config(key: (&str, &str)) -> Config {
    config(&[
        ("AUTH_FLOW", "magic-link"),
        FROM,
        ("AUTH_STATE_TABLE", "state"),
        ("AUTH_STATE_KEY", "bench-state-key-0123456789abcdef"),
        ("MAGIC_LINK_URLS", LINK_PAGE),
        key,
    ])
}

const LINK_KEYS: [(&str, (&str, &str)); 2] = [
    ("kms", ("MAGIC_LINK_KMS_KEY_ID", "alias/magic-links")),
    (
        "hmac",
        (
            "MAGIC_LINK_SECRET",
            "bench-magic-link-secret-0123456789abcdef",
        ),
    ),
];

fn links(c: &mut Criterion) {
    for (name, key) in LINK_KEYS {
        let cfg = link_config(key);
        // Create, asked for a link: count (store), sign, mail.
        let mut e: serde_json::Value =
            serde_json::from_slice(&event("create/email-otp-first.json")).unwrap();
        e["request"]["clientMetadata"] =
            serde_json::json!({"magicLink": "request", "redirectUri": LINK_PAGE});
        let bytes = serde_json::to_vec(&e).unwrap();
        // The round's private parameters, which Verify gets (with a KMS key, its public half).
        let private = {
            let mut e: CreateAuthChallengeEvent = serde_json::from_slice(&bytes).unwrap();
            let mut rng = StdRng::try_from_os_rng().unwrap();
            ready(custom_auth::create(
                &cfg, &mut e, &NoSend, &NoStore, &mut rng, NOW,
            ))
            .unwrap();
            e.response.private_challenge_parameters
        };
        c.bench_function(&format!("create-link-{name}/logic"), |b| {
            b.iter(|| {
                let mut e: CreateAuthChallengeEvent =
                    serde_json::from_slice(black_box(&bytes)).unwrap();
                let mut rng = StdRng::try_from_os_rng().unwrap();
                let created = ready(custom_auth::create(
                    &cfg, &mut e, &NoSend, &NoStore, &mut rng, NOW,
                ))
                .unwrap();
                assert!(created.sent);
                serde_json::to_vec(&e).unwrap()
            })
        });
        // Verify, given the link's proof: check it (with the round's key), spend it (store).
        let claims = custom_auth::steps::magic::LinkClaims {
            pool: "us-east-1_Ex4mPl3Aa".into(),
            user: "jane".into(),
            url: LINK_PAGE.into(),
            id: "00112233445566778899aabbccddeeff".into(),
            issued_at: NOW,
            expires_at: NOW + 900,
        };
        let settings = cfg.magic_link.as_ref().unwrap();
        let proof = ready(custom_auth::steps::magic::issue(settings, &claims, &NoSend)).unwrap();
        let mut e: serde_json::Value =
            serde_json::from_slice(&event("verify/email-otp-correct.json")).unwrap();
        e["request"]["privateChallengeParameters"] = serde_json::json!(private);
        e["request"]["challengeAnswer"] = serde_json::Value::String(proof);
        e["request"]["clientMetadata"] = serde_json::json!({"redirectUri": LINK_PAGE});
        let bytes = serde_json::to_vec(&e).unwrap();
        let keys = TokenKeys::new(&cfg, custom_auth::ports::NoJwks);
        c.bench_function(&format!("verify-link-{name}/logic"), |b| {
            b.iter(|| {
                let mut e: VerifyAuthChallengeEvent =
                    serde_json::from_slice(black_box(&bytes)).unwrap();
                let verdict = ready(custom_auth::verify(
                    &cfg, &mut e, &NoCaptcha, &keys, &NoStore, NOW,
                ));
                assert!(verdict.is_ok(), "{name}: the link is good");
                serde_json::to_vec(&e).unwrap()
            })
        });
    }
}

struct NoCaptcha;

impl CaptchaVerifier for NoCaptcha {
    async fn siteverify(&self, _: &str) -> Result<bool, DependencyError> {
        Ok(false)
    }
}

/// Runs a future whose I/O fakes never wait.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn event(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn config(vars: &[(&str, &str)]) -> Config {
    let map: HashMap<&str, &str> = vars.iter().copied().collect();
    Config::from_lookup(|k| map.get(k).map(|v| v.to_string())).expect("bench config")
}

fn floor<T: DeserializeOwned + Serialize>(c: &mut Criterion, group: &str, bytes: &[u8]) {
    c.bench_function(&format!("{group}/serde-floor"), |b| {
        b.iter(|| {
            let e: T = serde_json::from_slice(black_box(bytes)).unwrap();
            serde_json::to_vec(&e).unwrap()
        })
    });
}

const FLOW: (&str, &str) = ("AUTH_FLOW", "password,captcha,email-otp,select-account");
const FROM: (&str, &str) = ("OTP_EMAIL_FROM", "no-reply@example.com");
const CAPTCHA: [(&str, &str); 2] = [("CAPTCHA_SITE_KEY", "site"), ("CAPTCHA_SECRET", "secret")];

fn define(c: &mut Criterion) {
    let cfg = config(&[FLOW, FROM, CAPTCHA[0], CAPTCHA[1]]);
    let bytes = event("define/multi-step-mid.json");
    c.bench_function("define/logic", |b| {
        b.iter(|| {
            let mut e: DefineAuthChallengeEvent =
                serde_json::from_slice(black_box(&bytes)).unwrap();
            custom_auth::define(&cfg, &mut e);
            serde_json::to_vec(&e).unwrap()
        })
    });
    floor::<DefineAuthChallengeEvent>(c, "define", &bytes);
}

fn create(c: &mut Criterion) {
    let cases = [
        (
            "create-select-account",
            "create/multi-step-select-account.json",
            config(&[FLOW, FROM, CAPTCHA[0], CAPTCHA[1]]),
        ),
        (
            "create-otp-retry",
            "create/email-otp-retry.json",
            config(&[("AUTH_FLOW", "email-otp"), FROM]),
        ),
    ];
    for (group, file, cfg) in cases {
        let bytes = event(file);
        c.bench_function(&format!("{group}/logic"), |b| {
            b.iter(|| {
                let mut e: CreateAuthChallengeEvent =
                    serde_json::from_slice(black_box(&bytes)).unwrap();
                // As the binary does: a CSPRNG seeded from the OS for each challenge.
                let mut rng = StdRng::try_from_os_rng().unwrap();
                ready(custom_auth::create(
                    &cfg, &mut e, &NoSend, &NoStore, &mut rng, NOW,
                ))
                .unwrap();
                serde_json::to_vec(&e).unwrap()
            })
        });
        floor::<CreateAuthChallengeEvent>(c, group, &bytes);
    }
}

fn es256_event() -> Vec<u8> {
    let key = jsonwebtoken::EncodingKey::from_ec_pem(include_bytes!(
        "../../custom-auth/testdata/ec-private.pem"
    ))
    .unwrap();
    let claims = serde_json::json!({"sub": SUB, "iat": NOW, "exp": 4_102_444_800u64});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &claims,
        &key,
    )
    .unwrap();
    let mut e: serde_json::Value =
        serde_json::from_slice(&event("verify/signed-token-correct.json")).unwrap();
    e["request"]["challengeAnswer"] = serde_json::Value::String(token);
    serde_json::to_vec(&e).unwrap()
}

fn verify(c: &mut Criterion) {
    let es_public =
        std::str::from_utf8(include_bytes!("../../custom-auth/testdata/ec-public.pem")).unwrap();
    let cases = [
        (
            "verify-otp",
            event("verify/email-otp-correct.json"),
            config(&[("AUTH_FLOW", "email-otp"), FROM]),
        ),
        (
            "verify-select-account",
            event("verify/select-account-correct.json"),
            config(&[("AUTH_FLOW", "select-account")]),
        ),
        (
            "verify-jwt-hs256",
            event("verify/signed-token-correct.json"),
            config(&[
                ("AUTH_FLOW", "signed-token"),
                ("SIGNED_TOKEN_SECRET", HS_SECRET),
            ]),
        ),
        (
            "verify-jwt-es256",
            es256_event(),
            config(&[
                ("AUTH_FLOW", "signed-token"),
                ("SIGNED_TOKEN_PUBLIC_KEY", es_public),
            ]),
        ),
        // A real ES256 assertion: every WebAuthn check and one P-256 signature (the store's
        // transaction is the runtime table's).
        (
            "verify-passkey-es256",
            bench::passkey_verify_event(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
                .expect("passkey event"),
            config(&bench::PASSKEY_CONFIG),
        ),
    ];
    for (group, bytes, cfg) in cases {
        let keys = TokenKeys::new(&cfg, NoJwks);
        c.bench_function(&format!("{group}/logic"), |b| {
            b.iter(|| {
                let mut e: VerifyAuthChallengeEvent =
                    serde_json::from_slice(black_box(&bytes)).unwrap();
                let verdict = ready(custom_auth::verify(
                    &cfg, &mut e, &NoCaptcha, &keys, &NoStore, NOW,
                ));
                assert!(verdict.is_ok(), "{group}: the fixture's answer is right");
                serde_json::to_vec(&e).unwrap()
            })
        });
        floor::<VerifyAuthChallengeEvent>(c, group, &bytes);
        if group.starts_with("verify-jwt") {
            let e: VerifyAuthChallengeEvent = serde_json::from_slice(&bytes).unwrap();
            let token = e
                .request
                .challenge_answer
                .as_ref()
                .and_then(|a| a.as_str())
                .unwrap()
                .to_owned();
            let (key, alg) = if group.ends_with("hs256") {
                (
                    jsonwebtoken::DecodingKey::from_secret(HS_SECRET.as_bytes()),
                    jsonwebtoken::Algorithm::HS256,
                )
            } else {
                (
                    jsonwebtoken::DecodingKey::from_ec_pem(es_public.as_bytes()).unwrap(),
                    jsonwebtoken::Algorithm::ES256,
                )
            };
            let validation = jsonwebtoken::Validation::new(alg);
            c.bench_function(&format!("{group}/jsonwebtoken-decode"), |b| {
                b.iter(|| {
                    jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &key, &validation)
                        .unwrap()
                })
            });
        }
    }
}

criterion_group!(benches, define, create, verify, links);
criterion_main!(benches);
