//! The HTTP calls of Verify: CAPTCHA siteverify and the JWKS document, through aws-io's
//! [`WebClient`] (the SDK's HTTP/1.1 stack, so Verify links one): every call bounded to
//! 2 seconds, no redirect followed, every body read to a size limit.

use std::sync::Arc;

use aws_io::WebClient;
use custom_auth::config::{Config, TokenKeySource};
use custom_auth::ports::{CaptchaVerifier, DependencyError, JwksFetcher};

/// The largest siteverify answer read.
const MAX_SITEVERIFY_BYTES: usize = 16 * 1024;
/// The largest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The client both calls share (its connections and its trust roots).
pub type SharedClient = Arc<WebClient>;

/// Checks CAPTCHA tokens with the provider's siteverify (Turnstile, reCAPTCHA, hCaptcha).
pub struct HttpCaptcha {
    client: SharedClient,
    settings: Option<(String, custom_auth::config::Secret)>,
}

impl HttpCaptcha {
    /// Uses `CAPTCHA_VERIFY_URL` and `CAPTCHA_SECRET`, when the flow has a CAPTCHA step.
    pub fn new(config: &Config, client: SharedClient) -> HttpCaptcha {
        let settings = config
            .captcha
            .as_ref()
            .map(|c| (c.verify_url.clone(), c.secret.clone()));
        HttpCaptcha { client, settings }
    }
}

#[derive(serde::Deserialize)]
struct SiteVerify {
    success: bool,
}

impl CaptchaVerifier for HttpCaptcha {
    async fn siteverify(&self, token: &str) -> Result<bool, DependencyError> {
        let (url, secret) = self.settings.as_ref().ok_or(DependencyError::Failed)?;
        let form = [("secret", secret.expose()), ("response", token)];
        let bytes = self
            .client
            .post_form(url, &form, MAX_SITEVERIFY_BYTES)
            .await?;
        let answer: SiteVerify =
            serde_json::from_slice(&bytes).map_err(|_| DependencyError::Failed)?;
        Ok(answer.success)
    }
}

/// Fetches the JWKS document of `SIGNED_TOKEN_JWKS_URL`.
pub struct HttpJwks {
    client: SharedClient,
    url: Option<String>,
}

impl HttpJwks {
    /// Uses `SIGNED_TOKEN_JWKS_URL`, when configured.
    pub fn new(config: &Config, client: SharedClient) -> HttpJwks {
        let url = match config.signed_token.as_ref().map(|s| &s.keys) {
            Some(TokenKeySource::Jwks(url)) => Some(url.clone()),
            _ => None,
        };
        HttpJwks { client, url }
    }
}

impl JwksFetcher for HttpJwks {
    async fn fetch(&self) -> Result<Vec<u8>, DependencyError> {
        let url = self.url.as_ref().ok_or(DependencyError::Failed)?;
        self.client.get(url, MAX_JWKS_BYTES).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use test_support::{Behaviour, FakeServer, refused_url};

    use super::*;

    fn config(url: &str) -> Config {
        Config::from_lookup(|k| {
            match k {
                "AUTH_FLOW" => Some("captcha,signed-token"),
                "CAPTCHA_SITE_KEY" => Some("site"),
                "CAPTCHA_SECRET" => Some("captcha-secret-value"),
                "CAPTCHA_VERIFY_URL" | "SIGNED_TOKEN_JWKS_URL" => Some(url),
                _ => None,
            }
            .map(str::to_owned)
        })
        .unwrap()
    }

    fn json(status: u16, body: &str) -> Behaviour {
        Behaviour::Respond(status, "application/json", body.to_owned())
    }

    #[tokio::test]
    async fn siteverify_outcomes() {
        let table: Vec<(Behaviour, Result<bool, DependencyError>)> = vec![
            (json(200, r#"{"success":true,"hostname":"x"}"#), Ok(true)),
            (
                json(
                    200,
                    r#"{"success":false,"error-codes":["invalid-input-response"]}"#,
                ),
                Ok(false),
            ),
            (
                json(500, r#"{"success":true}"#),
                Err(DependencyError::Failed),
            ),
            (json(200, "<html>not json"), Err(DependencyError::Failed)),
            (
                json(200, r#"{"success":"yes"}"#),
                Err(DependencyError::Failed),
            ),
            (
                json(200, &" ".repeat(MAX_SITEVERIFY_BYTES + 1)),
                Err(DependencyError::Failed),
            ),
            (Behaviour::Hang, Err(DependencyError::Timeout)),
        ];
        for (behaviour, want) in table {
            let server = FakeServer::start(behaviour.clone()).await;
            let captcha = HttpCaptcha::new(&config(&server.url), SharedClient::default());
            let started = Instant::now();
            let got = captcha.siteverify("widget-token").await;
            assert_eq!(got, want, "{behaviour:?}");
            assert!(
                started.elapsed() < Duration::from_millis(2500),
                "{behaviour:?}"
            );
            let request = server.requests().concat();
            assert!(request.starts_with("POST "), "{request}");
            assert!(request.contains("secret=captcha-secret-value&response=widget-token"));
        }
        let refused = HttpCaptcha::new(&config(&refused_url().await), SharedClient::default());
        assert_eq!(refused.siteverify("t").await, Err(DependencyError::Failed));
    }

    #[tokio::test]
    async fn jwks_outcomes() {
        let doc = r#"{"keys":[]}"#;
        let table: Vec<(Behaviour, Result<Vec<u8>, DependencyError>)> = vec![
            (json(200, doc), Ok(doc.as_bytes().to_vec())),
            (json(404, doc), Err(DependencyError::Failed)),
            (
                json(200, &" ".repeat(MAX_JWKS_BYTES + 1)),
                Err(DependencyError::Failed),
            ),
            (Behaviour::Hang, Err(DependencyError::Timeout)),
        ];
        for (behaviour, want) in table {
            let server = FakeServer::start(behaviour.clone()).await;
            let jwks = HttpJwks::new(&config(&server.url), SharedClient::default());
            let started = Instant::now();
            assert_eq!(jwks.fetch().await, want, "{behaviour:?}");
            assert!(
                started.elapsed() < Duration::from_millis(2500),
                "{behaviour:?}"
            );
        }
    }
}
