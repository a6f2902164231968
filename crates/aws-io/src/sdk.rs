//! The AWS SDK as the triggers use it: settings from the environment Lambda provides, one
//! lean HTTPS client ([`Http1Client`]) trusting the Amazon Trust Services roots, 1 s to
//! connect, 2 s per operation, at most two attempts. Create (SES, SNS, DynamoDB) and Verify
//! (DynamoDB) build their clients from [`sdk_config`], so every AWS call has the same bounds.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{SharedAsyncSleep, SharedCredentialsProvider, SharedHttpClient};

use crate::http1::Http1Client;

/// The most one AWS operation may take, retries included, so a trigger answers well inside
/// Cognito's 5 seconds.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// How a trigger reaches AWS, read once at start: the region and the execution role's
/// credentials that Lambda puts in every function's environment, and the variables the AWS SDKs
/// document for endpoints, FIPS and dual-stack. Deliberately not the SDK's whole default chain
/// (profile files, SSO, web identity through STS, container and instance metadata): none of it
/// exists on Lambda, and linking it made Create's binary 1 MB larger, paid in cold start and
/// memory on every sandbox (BENCHMARKS.md).
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `AWS_ENDPOINT_URL`: every service's endpoint, unless its own variable is set.
    pub endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_SESV2`.
    pub ses_endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_SNS`.
    pub sns_endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_DYNAMODB`.
    pub dynamodb_endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`.
    pub cognito_endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
    pub secrets_endpoint_url: Option<String>,
    /// `AWS_USE_FIPS_ENDPOINT`.
    pub use_fips: bool,
    /// `AWS_USE_DUALSTACK_ENDPOINT`.
    pub use_dual_stack: bool,
    /// `SSL_CERT_FILE`: a PEM bundle to trust instead of the Amazon Trust Services roots.
    pub ssl_cert_file: Option<PathBuf>,
    /// The SDK configuration [`AwsSettings::sdk`] built, shared by every clone.
    shared: Arc<OnceLock<SdkConfig>>,
}

impl AwsSettings {
    /// Reads the settings through `lookup` (the process environment in production). A flag
    /// that is neither `true` nor `false` is an error that names it.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<AwsSettings, SettingError> {
        let text = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let flag = |name: &'static str| match text(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(false),
            Some(v) if v == "false" => Ok(false),
            Some(v) if v == "true" => Ok(true),
            Some(_) => Err(SettingError(name)),
        };
        Ok(AwsSettings {
            region: text("AWS_REGION").or_else(|| text("AWS_DEFAULT_REGION")),
            endpoint_url: text("AWS_ENDPOINT_URL"),
            ses_endpoint_url: text("AWS_ENDPOINT_URL_SESV2"),
            sns_endpoint_url: text("AWS_ENDPOINT_URL_SNS"),
            dynamodb_endpoint_url: text("AWS_ENDPOINT_URL_DYNAMODB"),
            cognito_endpoint_url: text("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"),
            secrets_endpoint_url: text("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
            use_fips: flag("AWS_USE_FIPS_ENDPOINT")?,
            use_dual_stack: flag("AWS_USE_DUALSTACK_ENDPOINT")?,
            ssl_cert_file: text("SSL_CERT_FILE").map(PathBuf::from),
            shared: Arc::default(),
        })
    }

    /// The SDK configuration of these settings ([`sdk_config`]), built on the first call and
    /// shared by every clone of the settings: a function's service clients (Secrets Manager at
    /// start, then DynamoDB, SES, ...) share one HTTPS client, its TLS configuration and its
    /// idle connections, instead of building one each (BENCHMARKS.md). Change no field after
    /// the first call: the configuration already built would not follow.
    pub fn sdk(&self) -> SdkConfig {
        self.shared.get_or_init(|| sdk_config(self)).clone()
    }
}

/// A setting read at start is malformed, or one the configuration needs is missing. Raised at
/// start only, so it names the variable; it never holds a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} is missing or not valid")]
pub struct SettingError(pub &'static str);

/// The SDK configuration for `settings`: credentials from the environment (the SDK caches them
/// and reads them again when they near expiry), one HTTPS client trusting the roots
/// [`trusted_roots`] picks, 1 s to connect, 2 s per operation, at most two attempts.
pub fn sdk_config(settings: &AwsSettings) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let credentials = EnvironmentVariableCredentialsProvider::new();
    let sleep = aws_smithy_async::rt::sleep::TokioSleep::new();
    let mut sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(settings.region.clone().map(Region::new))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https_client(trusted_roots(settings.ssl_cert_file.clone())))
        .sleep_impl(SharedAsyncSleep::new(sleep))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .use_fips(settings.use_fips)
        .use_dual_stack(settings.use_dual_stack);
    if let Some(url) = &settings.endpoint_url {
        sdk = sdk.endpoint_url(url);
    }
    sdk.build()
}

/// The production settings and SDK configuration pointed at `endpoint` with fixed test
/// credentials: for tests and benchmarks against a loopback emulator or fake, never for AWS.
pub fn for_endpoint(endpoint: &str) -> (AwsSettings, SdkConfig) {
    let settings = AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.into()),
        ..AwsSettings::default()
    };
    let credentials =
        aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "loopback");
    let sdk = sdk_config(&settings)
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build();
    (settings, sdk)
}

/// The roots of Amazon Trust Services, which sign the certificate of every AWS service
/// endpoint (SES, SNS, their VPC endpoints).
pub const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("amazon-trust-services.pem");

/// The SDK's HTTP client ([`Http1Client`]), its HTTPS trusting exactly `roots`.
pub fn https_client(roots: rustls::RootCertStore) -> SharedHttpClient {
    SharedHttpClient::new(Http1Client::new(roots))
}

/// The roots to trust: Amazon Trust Services', or the bundle `SSL_CERT_FILE` names (for a
/// partition or proxy whose certificates chain elsewhere). Codes travel in these requests, so a
/// certificate mis-issued by any of the other ~140 roots of a system bundle must not be able to
/// read them; and decoding five roots instead of a 220 KB bundle takes most of the cost out of
/// Create's first send (BENCHMARKS.md). A bundle that cannot be read, or holds anything but
/// parsable certificates, falls back to the narrower set, never to a wider one.
pub fn trusted_roots(ssl_cert_file: Option<PathBuf>) -> rustls::RootCertStore {
    // The embedded set always parses (checked by a test); were it not to, no root at all:
    // HTTPS sends would fail (closed) rather than trust anything wider.
    let amazon = || root_store(AMAZON_TRUST_SERVICES).unwrap_or_else(rustls::RootCertStore::empty);
    let Some(path) = ssl_cert_file else {
        return amazon();
    };
    match std::fs::read(path).ok().as_deref().and_then(root_store) {
        Some(roots) => roots,
        None => {
            tracing::warn!("SSL_CERT_FILE is not a usable bundle; trusting Amazon Trust Services");
            amazon()
        }
    }
}

/// The trust anchors in `pem`, if it holds at least one certificate and each parses as one.
pub fn root_store(pem: &[u8]) -> Option<rustls::RootCertStore> {
    use rustls_pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(pem) {
        roots.add(der.ok()?).ok()?;
    }
    (!roots.is_empty()).then_some(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every client of a function builds from one SDK configuration: the first `sdk()` builds it,
    /// every clone of the settings gets that one, and settings read apart share nothing.
    #[test]
    fn clones_share_one_sdk_configuration() {
        let lookup = |name: &str| (name == "AWS_REGION").then(|| "eu-west-1".to_owned());
        let settings = AwsSettings::from_lookup(lookup).expect("settings");
        let clone = settings.clone();
        let apart = AwsSettings::from_lookup(lookup).expect("settings");
        assert!(settings.shared.get().is_none(), "built only when asked");
        let sdk = clone.sdk();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert!(
            settings.shared.get().is_some(),
            "the clone's build is the original's"
        );
        assert!(
            apart.shared.get().is_none(),
            "separate settings, separate configuration"
        );
    }
}
