//! The HTTP calls of Verify: CAPTCHA siteverify and the JWKS document. One client, built once;
//! every call bounded to 2 seconds and every body to a size limit.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use custom_auth::config::{Config, TokenKeySource};
use custom_auth::ports::{CaptchaVerifier, DependencyError, JwksFetcher};

/// The most one call may take, so the trigger answers well inside Cognito's 5 seconds.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest siteverify answer read.
const MAX_SITEVERIFY_BYTES: usize = 16 * 1024;
/// The largest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The HTTP client, built once on first use: building it loads the system's root
/// certificates (about 150 files), which would otherwise add milliseconds to every cold start,
/// also for flows that never call out.
#[derive(Clone, Default)]
pub struct LazyClient(Arc<OnceLock<Option<reqwest::Client>>>);

impl LazyClient {
    fn get(&self) -> Result<&reqwest::Client, DependencyError> {
        self.0
            .get_or_init(|| {
                reqwest::Client::builder()
                    .timeout(CALL_TIMEOUT)
                    .connect_timeout(Duration::from_secs(1))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .ok()
            })
            .as_ref()
            .ok_or(DependencyError::Failed)
    }
}

/// Reads at most `limit` bytes of a successful answer.
async fn body(response: reqwest::Response, limit: usize) -> Result<Vec<u8>, DependencyError> {
    if !response.status().is_success() {
        return Err(DependencyError::Failed);
    }
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(DependencyError::Failed);
    }
    let mut response = response;
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        out.extend_from_slice(&chunk);
        if out.len() > limit {
            return Err(DependencyError::Failed);
        }
    }
    Ok(out)
}

fn classify(e: reqwest::Error) -> DependencyError {
    if e.is_timeout() {
        DependencyError::Timeout
    } else {
        DependencyError::Failed
    }
}

/// Bounds a whole call (connect, send, read) by [`CALL_TIMEOUT`].
async fn bounded<T>(
    call: impl Future<Output = Result<T, DependencyError>>,
) -> Result<T, DependencyError> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or(Err(DependencyError::Timeout))
}

/// Checks CAPTCHA tokens with the provider's siteverify (Turnstile, reCAPTCHA, hCaptcha).
pub struct HttpCaptcha {
    client: LazyClient,
    settings: Option<(String, custom_auth::config::Secret)>,
}

impl HttpCaptcha {
    /// Uses `CAPTCHA_VERIFY_URL` and `CAPTCHA_SECRET`, when the flow has a CAPTCHA step.
    pub fn new(config: &Config, client: LazyClient) -> HttpCaptcha {
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
        bounded(async {
            let response = self
                .client
                .get()?
                .post(url)
                .form(&[("secret", secret.expose()), ("response", token)])
                .send()
                .await
                .map_err(classify)?;
            let bytes = body(response, MAX_SITEVERIFY_BYTES).await?;
            let answer: SiteVerify =
                serde_json::from_slice(&bytes).map_err(|_| DependencyError::Failed)?;
            Ok(answer.success)
        })
        .await
    }
}

/// Fetches the JWKS document of `SIGNED_TOKEN_JWKS_URL`.
pub struct HttpJwks {
    client: LazyClient,
    url: Option<String>,
}

impl HttpJwks {
    /// Uses `SIGNED_TOKEN_JWKS_URL`, when configured.
    pub fn new(config: &Config, client: LazyClient) -> HttpJwks {
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
        bounded(async {
            let response = self.client.get()?.get(url).send().await.map_err(classify)?;
            body(response, MAX_JWKS_BYTES).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

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
            let captcha = HttpCaptcha::new(&config(&server.url), LazyClient::default());
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
        let refused = HttpCaptcha::new(&config(&refused_url().await), LazyClient::default());
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
            let jwks = HttpJwks::new(&config(&server.url), LazyClient::default());
            let started = Instant::now();
            assert_eq!(jwks.fetch().await, want, "{behaviour:?}");
            assert!(
                started.elapsed() < Duration::from_millis(2500),
                "{behaviour:?}"
            );
        }
    }
}
