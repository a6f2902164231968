//! Helpers shared by the unit tests.

use std::collections::HashMap;
use std::path::Path;

use crate::config::Config;
use crate::events::ChallengeResult;
use crate::flow::CUSTOM_CHALLENGE;

/// A config for `flow` with test settings for every step.
pub fn config(flow: &str) -> Config {
    config_with(flow, &[])
}

/// Like [`config`], with extra or overriding variables.
pub fn config_with(flow: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("AUTH_FLOW", flow),
        ("OTP_EMAIL_FROM", "no-reply@example.com"),
        ("CAPTCHA_SITE_KEY", "test-site-key"),
        ("CAPTCHA_SECRET", "test-captcha-secret"),
        ("CAPTCHA_VERIFY_URL", "http://127.0.0.1:9/siteverify"),
        (
            "MAGIC_LINK_URLS",
            "https://app.example.com/signin,http://127.0.0.1:4600/",
        ),
        (
            "MAGIC_LINK_SECRET",
            "magic-link-test-secret-0123456789abcdef",
        ),
        (
            "SIGNED_TOKEN_SECRET",
            std::str::from_utf8(keys::HS_SECRET).unwrap(),
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        if v.is_empty() {
            vars.remove(*k);
        } else {
            vars.insert(k.to_string(), v.to_string());
        }
    }
    Config::from_lookup(|k| vars.get(k).cloned()).unwrap()
}

/// A session round.
pub fn entry(name: &str, result: bool, metadata: Option<&str>) -> Option<ChallengeResult> {
    let mut e = ChallengeResult::default();
    e.challenge_name = Some(name.to_owned());
    e.challenge_result = result;
    e.challenge_metadata = metadata.map(str::to_owned);
    Some(e)
}

/// A `CUSTOM_CHALLENGE` round with `metadata`.
pub fn custom(metadata: &str, result: bool) -> Option<ChallengeResult> {
    entry(CUSTOM_CHALLENGE, result, Some(metadata))
}

/// A null round, as a buggy emulator might send.
pub fn null() -> Option<ChallengeResult> {
    None
}

/// Loads a JSON event from the workspace's `events/` folder.
pub fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Test-only keys from `testdata/` (they sign nothing real).
pub mod keys {
    pub const HS_SECRET: &[u8] = b"test-hs256-secret-of-32-bytes-or-more!";
    pub const EC_PRIVATE: &[u8] = include_bytes!("../testdata/ec-private.pem");
    pub const EC_PUBLIC: &[u8] = include_bytes!("../testdata/ec-public.pem");
    pub const RSA_PRIVATE: &[u8] = include_bytes!("../testdata/rsa-private.pem");
    pub const RSA_PUBLIC: &[u8] = include_bytes!("../testdata/rsa-public.pem");
    pub const ED_PRIVATE: &[u8] = include_bytes!("../testdata/ed-private.pem");
    pub const ED_PUBLIC: &[u8] = include_bytes!("../testdata/ed-public.pem");
    const EC_JWK: &str = include_str!("../testdata/ec-public.jwk.json");

    /// A JWKS document holding the EC test key once under each `kid`.
    pub fn jwks(kids: &[&str]) -> String {
        let keys: Vec<serde_json::Value> = kids
            .iter()
            .map(|kid| {
                let mut k: serde_json::Value = serde_json::from_str(EC_JWK).unwrap();
                k["kid"] = serde_json::Value::String(kid.to_string());
                k
            })
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }
}

/// Fakes for the I/O traits.
pub mod fakes {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::ports::{
        CaptchaVerifier, Channel, CodeMessage, CodeSender, DependencyError, JwksFetcher,
    };

    /// Records what it sends; fails when told to.
    #[derive(Default)]
    pub struct Sender {
        pub sent: Mutex<Vec<(Channel, String, String)>>,
        pub imitations: AtomicUsize,
        pub fail: Option<DependencyError>,
        /// Fetches of the magic links' public key.
        pub link_fetches: AtomicUsize,
    }

    impl Sender {
        /// The code in the last message sent.
        pub fn last_code(&self) -> Option<String> {
            let sent = self.sent.lock().unwrap();
            let body = &sent.last()?.2;
            let code: String = body
                .split_whitespace()
                .find(|w| w.trim_end_matches('.').bytes().all(|b| b.is_ascii_digit()))?
                .trim_end_matches('.')
                .to_owned();
            Some(code)
        }

        pub fn count(&self) -> usize {
            self.sent.lock().unwrap().len()
        }
    }

    impl CodeSender for Sender {
        async fn send(&self, m: &CodeMessage) -> Result<(), DependencyError> {
            if let Some(e) = self.fail {
                return Err(e);
            }
            self.sent
                .lock()
                .unwrap()
                .push((m.channel, m.destination.clone(), m.body.clone()));
            Ok(())
        }

        async fn imitate_send(&self) {
            self.imitations.fetch_add(1, Ordering::SeqCst);
        }

        /// Signs as the fake KMS key ([`kms_key`]) would.
        async fn sign_link(&self, message: &[u8]) -> Result<Vec<u8>, DependencyError> {
            use p256::ecdsa::signature::Signer;
            let sig: p256::ecdsa::Signature = kms_key().sign(message);
            Ok(sig.to_bytes().to_vec())
        }

        /// The fake KMS key's public half, as KMS's GetPublicKey gives it (DER).
        async fn link_public_key(&self) -> Result<Vec<u8>, DependencyError> {
            use p256::pkcs8::EncodePublicKey;
            self.link_fetches.fetch_add(1, Ordering::SeqCst);
            Ok(kms_key()
                .verifying_key()
                .to_public_key_der()
                .unwrap()
                .into_vec())
        }
    }

    /// The pool's word on every token: what `status` says; counts calls and keeps the tokens.
    pub struct Pool {
        pub status: Mutex<Result<crate::ports::TokenStatus, DependencyError>>,
        pub tokens: Mutex<Vec<String>>,
    }

    impl Default for Pool {
        fn default() -> Self {
            Pool {
                status: Mutex::new(Ok(crate::ports::TokenStatus::Live {
                    email: Some("jane@example.com".into()),
                })),
                tokens: Mutex::new(Vec::new()),
            }
        }
    }

    impl crate::ports::TokenCheck for Pool {
        async fn check(&self, token: &str) -> Result<crate::ports::TokenStatus, DependencyError> {
            self.tokens.lock().unwrap().push(token.to_owned());
            self.status.lock().unwrap().clone()
        }
    }

    /// Keeps every notice (address, subject, body); fails when told to.
    #[derive(Default)]
    pub struct Mail {
        pub sent: Mutex<Vec<(String, String, String)>>,
        pub fail: Option<DependencyError>,
    }

    impl crate::ports::Mailer for Mail {
        async fn mail(&self, m: &CodeMessage) -> Result<(), DependencyError> {
            if let Some(e) = self.fail {
                return Err(e);
            }
            self.sent.lock().unwrap().push((
                m.destination.clone(),
                m.subject.clone(),
                m.body.clone(),
            ));
            Ok(())
        }
    }

    /// The fake KMS key of magic links: a fixed P-256 key.
    pub fn kms_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    /// Accepts exactly one token.
    pub struct Captcha {
        pub accept: &'static str,
        pub fail: Option<DependencyError>,
        pub calls: AtomicUsize,
    }

    impl Default for Captcha {
        fn default() -> Self {
            Captcha {
                accept: "XXXX.DUMMY.TOKEN.XXXX",
                fail: None,
                calls: AtomicUsize::new(0),
            }
        }
    }

    impl CaptchaVerifier for Captcha {
        async fn siteverify(&self, token: &str) -> Result<bool, DependencyError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match self.fail {
                Some(e) => Err(e),
                None => Ok(token == self.accept),
            }
        }
    }

    /// Serves a JWKS document, or fails; counts fetches.
    #[derive(Default)]
    pub struct Jwks {
        pub document: Mutex<Option<String>>,
        pub fetches: AtomicUsize,
    }

    impl JwksFetcher for Jwks {
        async fn fetch(&self) -> Result<Vec<u8>, DependencyError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            self.document
                .lock()
                .unwrap()
                .clone()
                .map(String::into_bytes)
                .ok_or(DependencyError::Timeout)
        }
    }
}

/// A writer that keeps every log line, to look for secrets or levels in them.
#[derive(Clone, Default)]
pub struct Capture(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
