//! Calls outside AWS: Verify's CAPTCHA siteverify and its JWKS document, on the same HTTP/1.1
//! client as the SDK's ([`Http1Client`]). Verify used reqwest for these before; with the state
//! store it also links the SDK, and two HTTP stacks (reqwest, hyper-rustls, tower and a
//! platform verifier beside this one) kept its memory over budget (BENCHMARKS.md).
//!
//! Every call is bounded to [`CALL_TIMEOUT`] as a whole, follows no redirect, and reads at
//! most a given number of bytes of a successful (2xx) answer; anything else is an error.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use custom_auth::ports::DependencyError;
use http_body_util::BodyExt;

use crate::http1::Http1Client;

/// The most one call may take, connecting included, so the trigger answers well inside
/// Cognito's 5 seconds.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// The most connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Where Linux distributions keep their CA bundle: Amazon Linux 2023 (Lambda's `provided.al2023`)
/// first, then Debian and Ubuntu, then Alpine.
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
];

/// An HTTP client for public web endpoints (CAPTCHA providers, an identity provider's JWKS),
/// so its HTTPS trusts the system's CA bundle (or `SSL_CERT_FILE`), not only Amazon's roots.
/// Built on first use: reading the bundle costs milliseconds that a cold start of a flow that
/// never calls out should not pay.
#[derive(Debug, Default)]
pub struct WebClient {
    ssl_cert_file: Option<PathBuf>,
    client: OnceLock<Http1Client>,
}

impl WebClient {
    /// A client that trusts the bundle `ssl_cert_file` names, else the system's.
    pub fn new(ssl_cert_file: Option<PathBuf>) -> WebClient {
        WebClient {
            ssl_cert_file,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> &Http1Client {
        self.client
            .get_or_init(|| Http1Client::new(system_roots(self.ssl_cert_file.as_deref())))
    }

    /// `GET url`: the body of a 2xx answer, at most `limit` bytes.
    pub async fn get(&self, url: &str, limit: usize) -> Result<Vec<u8>, DependencyError> {
        let request = http::Request::get(url)
            .body(SdkBody::empty())
            .map_err(|_| DependencyError::Failed)?;
        self.call(request, limit).await
    }

    /// `POST url` with `form` as `application/x-www-form-urlencoded`: the body of a 2xx
    /// answer, at most `limit` bytes.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        limit: usize,
    ) -> Result<Vec<u8>, DependencyError> {
        let body = form_encode(form);
        let request = http::Request::post(url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(SdkBody::from(body))
            .map_err(|_| DependencyError::Failed)?;
        self.call(request, limit).await
    }

    /// `POST url` with the JSON `body` and `bearer` as the `Authorization` token: the status and
    /// the body (at most `limit` bytes), whatever the status (an API's refusal is its answer).
    pub async fn post_json(
        &self,
        url: &str,
        bearer: &str,
        body: &str,
        limit: usize,
    ) -> Result<(u16, Vec<u8>), DependencyError> {
        let request = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(SdkBody::from(body.to_owned()))
            .map_err(|_| DependencyError::Failed)?;
        self.exchange(request, limit).await
    }

    async fn call(
        &self,
        request: http::Request<SdkBody>,
        limit: usize,
    ) -> Result<Vec<u8>, DependencyError> {
        match self.exchange(request, limit).await? {
            (status, body) if (200..300).contains(&status) => Ok(body),
            _ => Err(DependencyError::Failed),
        }
    }

    /// Sends `request`: the status and the body (at most `limit` bytes), within
    /// `CALL_TIMEOUT`.
    async fn exchange(
        &self,
        request: http::Request<SdkBody>,
        limit: usize,
    ) -> Result<(u16, Vec<u8>), DependencyError> {
        let call = async {
            let request = HttpRequest::try_from(request).map_err(|_| DependencyError::Failed)?;
            let response = self
                .client()
                .send(request, CONNECT_TIMEOUT)
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        DependencyError::Timeout
                    } else {
                        DependencyError::Failed
                    }
                })?;
            let status = response.status().as_u16();
            let declared = response
                .headers()
                .get("content-length")
                .and_then(|n| n.parse::<u64>().ok());
            if declared.is_some_and(|n| n > limit as u64) {
                return Err(DependencyError::Failed);
            }
            let mut body = response.into_body();
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| DependencyError::Failed)?;
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                    if out.len() > limit {
                        return Err(DependencyError::Failed);
                    }
                }
            }
            Ok((status, out))
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .unwrap_or(Err(DependencyError::Timeout))
    }
}

/// The roots for public endpoints: the bundle `ssl_cert_file` names, else the first system
/// bundle found. Certificates a bundle holds that rustls cannot use are skipped (system
/// bundles carry a few old ones). No bundle at all: no roots, and HTTPS fails closed.
fn system_roots(ssl_cert_file: Option<&Path>) -> rustls::RootCertStore {
    use rustls_pki_types::{CertificateDer, pem::PemObject};
    let candidates: Vec<&Path> = match ssl_cert_file {
        Some(path) => vec![path],
        None => SYSTEM_BUNDLES.iter().map(Path::new).collect(),
    };
    let mut roots = rustls::RootCertStore::empty();
    for path in candidates {
        if let Ok(pem) = std::fs::read(path) {
            let ders = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok);
            roots.add_parsable_certificates(ders);
            if !roots.is_empty() {
                break;
            }
        }
    }
    if roots.is_empty() {
        tracing::warn!("no CA bundle found; HTTPS calls to CAPTCHA and JWKS endpoints will fail");
    }
    roots
}

/// `application/x-www-form-urlencoded`, as browsers and siteverify endpoints read it.
fn form_encode(form: &[(&str, &str)]) -> String {
    fn encode(out: &mut String, text: &str) {
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    out.push(char::from(byte))
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{byte:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (name, value)) in form.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(&mut out, name);
        out.push('=');
        encode(&mut out, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        let table = [
            (
                vec![("secret", "s"), ("response", "t")],
                "secret=s&response=t",
            ),
            (vec![("a", "x y+z&=é")], "a=x+y%2Bz%26%3D%C3%A9"),
            (vec![("k", "-._*~/")], "k=-._*%7E%2F"),
            (vec![], ""),
        ];
        for (form, want) in table {
            assert_eq!(form_encode(&form), want, "{form:?}");
        }
    }

    #[test]
    fn roots_come_from_the_named_bundle_or_none() {
        let dir = std::env::temp_dir().join(format!("web-roots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.pem");
        std::fs::write(&good, crate::sdk::AMAZON_TRUST_SERVICES).unwrap();
        assert_eq!(system_roots(Some(&good)).len(), 5);
        let mut mixed = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec();
        mixed.extend_from_slice(crate::sdk::AMAZON_TRUST_SERVICES);
        let mixed_path = dir.join("mixed.pem");
        std::fs::write(&mixed_path, mixed).unwrap();
        assert_eq!(system_roots(Some(&mixed_path)).len(), 5);
        assert!(system_roots(Some(&dir.join("missing.pem"))).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn https_trusts_the_named_bundle_only() {
        let (url, cert) = test_support::https_server(r#"{"keys":[]}"#).await;
        let dir = std::env::temp_dir().join(format!("web-https-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let own = dir.join("own.pem");
        std::fs::write(&own, cert).unwrap();
        let amazon = dir.join("amazon.pem");
        std::fs::write(&amazon, crate::sdk::AMAZON_TRUST_SERVICES).unwrap();
        let trusting = WebClient::new(Some(own));
        assert_eq!(
            trusting.get(&url, 1024).await,
            Ok(br#"{"keys":[]}"#.to_vec())
        );
        assert_eq!(
            trusting.get(&url, 4).await,
            Err(DependencyError::Failed),
            "over the size limit"
        );
        let other = WebClient::new(Some(amazon));
        assert_eq!(other.get(&url, 1024).await, Err(DependencyError::Failed));
        let form = trusting.post_form(&url, &[("a", "b")], 1024).await;
        assert_eq!(form, Ok(br#"{"keys":[]}"#.to_vec()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
