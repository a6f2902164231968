//! Sends one-time codes with Amazon SES v2 and Amazon SNS, each call bounded to 2 seconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sns::types::MessageAttributeValue;
use custom_auth::config::{Config, Step};
use custom_auth::ports::{Channel, CodeMessage, CodeSender, DependencyError};
use tokio::sync::OnceCell;

/// The most a send may take, so the trigger answers well inside Cognito's 5 seconds.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// What a decoy waits before the first real send has been timed.
const INITIAL_SEND_MICROS: u64 = 150_000;

/// SES and SNS clients, built once, on the first send, and only for the channels the flow
/// uses. Building them loads the AWS configuration and the system's root certificates (about
/// 150 files), which would otherwise add milliseconds to every cold start, also for rounds and
/// flows that send nothing.
pub struct AwsSender {
    clients: OnceCell<Clients>,
    email: bool,
    sms: bool,
    from: String,
    /// A moving average of real send times, which decoys imitate.
    typical_micros: AtomicU64,
}

struct Clients {
    ses: Option<aws_sdk_sesv2::Client>,
    sns: Option<aws_sdk_sns::Client>,
}

impl Clients {
    fn new(sdk: &SdkConfig, email: bool, sms: bool) -> Clients {
        Clients {
            ses: email.then(|| aws_sdk_sesv2::Client::new(sdk)),
            sns: sms.then(|| aws_sdk_sns::Client::new(sdk)),
        }
    }
}

impl AwsSender {
    /// A sender for the flow's channels; the standard AWS configuration (region, credentials,
    /// `AWS_ENDPOINT_URL`) is loaded on the first send.
    pub fn from_config(config: &Config) -> AwsSender {
        AwsSender {
            clients: OnceCell::new(),
            email: config.flow.contains(Step::EmailOtp),
            sms: config.flow.contains(Step::SmsOtp),
            from: config
                .email
                .as_ref()
                .map(|e| e.from.clone())
                .unwrap_or_default(),
            typical_micros: AtomicU64::new(INITIAL_SEND_MICROS),
        }
    }

    /// A sender whose clients come from `sdk` (tests point it at a fake endpoint).
    #[cfg(test)]
    pub fn with_sdk(config: &Config, sdk: &SdkConfig) -> AwsSender {
        let sender = AwsSender::from_config(config);
        let clients = Clients::new(sdk, sender.email, sender.sms);
        AwsSender {
            clients: OnceCell::new_with(Some(clients)),
            ..sender
        }
    }

    async fn clients(&self) -> &Clients {
        self.clients
            .get_or_init(|| async {
                Clients::new(&sdk_loader().load().await, self.email, self.sms)
            })
            .await
    }

    async fn send_email(&self, m: &CodeMessage) -> Result<(), DependencyError> {
        let ses = self
            .clients()
            .await
            .ses
            .as_ref()
            .ok_or(DependencyError::Failed)?;
        let text = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        let (Ok(subject), Ok(body)) = (text(&m.subject), text(&m.body)) else {
            return Err(DependencyError::Failed);
        };
        let message = Message::builder()
            .subject(subject)
            .body(Body::builder().text(body).build())
            .build();
        ses.send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&m.destination).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                // The error code only: service messages may echo the address.
                tracing::warn!(code = e.code(), "SES SendEmail failed");
                DependencyError::Failed
            })
    }

    async fn send_sms(&self, m: &CodeMessage) -> Result<(), DependencyError> {
        let sns = self
            .clients()
            .await
            .sns
            .as_ref()
            .ok_or(DependencyError::Failed)?;
        let transactional = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|_| DependencyError::Failed)?;
        sns.publish()
            .phone_number(&m.destination)
            .message(&m.body)
            .message_attributes("AWS.SNS.SMS.SMSType", transactional)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                tracing::warn!(code = e.code(), "SNS Publish failed");
                DependencyError::Failed
            })
    }
}

/// The roots of Amazon Trust Services, which sign the certificate of every AWS service
/// endpoint (SES, SNS, their VPC endpoints).
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("amazon-trust-services.pem");

/// The standard AWS configuration (region, credentials, `AWS_ENDPOINT_URL`) with our settings:
/// one HTTPS client trusting the roots [`trusted_roots`] picks, 1 s to connect, 2 s per
/// operation, at most two attempts.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(SEND_TIMEOUT)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(trusted_roots(
            std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from),
        )))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
}

/// The SDK's HTTPS client (rustls on aws-lc), trusting exactly the roots in `roots_pem`.
fn https_client(roots_pem: Vec<u8>) -> aws_sdk_sesv2::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let trust = TrustStore::empty().with_pem_certificate(roots_pem);
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(_) => builder.build_https(),
    }
}

/// The PEM roots to trust: Amazon Trust Services', or the bundle `SSL_CERT_FILE` names (for a
/// partition or proxy whose certificates chain elsewhere). Codes travel in these requests, so a
/// certificate mis-issued by any of the other ~140 roots of a system bundle must not be able to
/// read them; and decoding five roots instead of a 220 KB bundle takes most of the cost out of
/// Create's first send (BENCHMARKS.md). A bundle that cannot be read, or holds anything but
/// parsable certificates, falls back to the narrower set, never to a wider one, and never
/// reaches the SDK, which panics on a certificate it cannot parse.
fn trusted_roots(ssl_cert_file: Option<std::path::PathBuf>) -> Vec<u8> {
    let Some(path) = ssl_cert_file else {
        return AMAZON_TRUST_SERVICES.to_vec();
    };
    match std::fs::read(path) {
        Ok(pem) if usable_roots(&pem) => pem,
        _ => {
            tracing::warn!("SSL_CERT_FILE is not a usable bundle; trusting Amazon Trust Services");
            AMAZON_TRUST_SERVICES.to_vec()
        }
    }
}

/// Whether `pem` holds at least one certificate and each parses as a trust anchor.
fn usable_roots(pem: &[u8]) -> bool {
    use rustls_pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(pem) {
        match der.map(|der| roots.add(der)) {
            Ok(Ok(())) => {}
            _ => return false,
        }
    }
    !roots.is_empty()
}

impl CodeSender for AwsSender {
    async fn send(&self, m: &CodeMessage) -> Result<(), DependencyError> {
        let started = Instant::now();
        let send = async {
            match m.channel {
                Channel::Email => self.send_email(m).await,
                Channel::Sms => self.send_sms(m).await,
            }
        };
        let result = tokio::time::timeout(SEND_TIMEOUT, send)
            .await
            .unwrap_or(Err(DependencyError::Timeout));
        if result.is_ok() {
            let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let old = self.typical_micros.load(Ordering::Relaxed);
            self.typical_micros
                .store((old * 7 + took.min(1_500_000)) / 8, Ordering::Relaxed);
        }
        result
    }

    async fn imitate_send(&self) {
        let micros = self.typical_micros.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_micros(micros)).await;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use aws_config::Region;
    use aws_sdk_sesv2::config::{Credentials, SharedCredentialsProvider};
    use test_support::{Behaviour, FakeServer, refused_url};

    use super::*;

    /// A configuration with `flow` and a sender address.
    pub(crate) fn config(flow: &str) -> Config {
        Config::from_lookup(|k| {
            match k {
                "AUTH_FLOW" => Some(flow),
                "OTP_EMAIL_FROM" => Some("no-reply@example.com"),
                _ => None,
            }
            .map(str::to_owned)
        })
        .unwrap()
    }

    /// The production SDK settings, pointed at `endpoint` with test credentials.
    pub(crate) async fn sender(flow: &str, endpoint: &str) -> AwsSender {
        sender_trusting(flow, endpoint, AMAZON_TRUST_SERVICES.to_vec()).await
    }

    /// [`sender`], trusting the roots in `roots_pem` for HTTPS.
    async fn sender_trusting(flow: &str, endpoint: &str, roots_pem: Vec<u8>) -> AwsSender {
        let config = config(flow);
        let credentials = Credentials::new("AKIDTEST", "test-secret", None, None, "test");
        let sdk = sdk_loader()
            .http_client(https_client(roots_pem))
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .endpoint_url(endpoint)
            .load()
            .await;
        AwsSender::with_sdk(&config, &sdk)
    }

    fn message(channel: Channel) -> CodeMessage {
        CodeMessage {
            channel,
            destination: if channel == Channel::Email {
                "jane@example.com".into()
            } else {
                "+15555550123".into()
            },
            subject: "Your sign-in code".into(),
            body: "Your sign-in code is 123456.".into(),
        }
    }

    #[tokio::test]
    async fn ses_and_sns_outcomes() {
        let ok_sns = "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>";
        let table: Vec<(Channel, Behaviour, Result<(), DependencyError>)> = vec![
            (
                Channel::Email,
                Behaviour::Respond(200, "application/json", r#"{"MessageId":"m-1"}"#.into()),
                Ok(()),
            ),
            (
                Channel::Email,
                Behaviour::Respond(500, "application/json", r#"{"message":"boom"}"#.into()),
                Err(DependencyError::Failed),
            ),
            (
                Channel::Email,
                Behaviour::Respond(429, "application/json", r#"{"message":"slow down"}"#.into()),
                Err(DependencyError::Failed),
            ),
            (
                Channel::Email,
                Behaviour::Hang,
                Err(DependencyError::Timeout),
            ),
            (
                Channel::Sms,
                Behaviour::Respond(200, "text/xml", ok_sns.into()),
                Ok(()),
            ),
            (
                Channel::Sms,
                Behaviour::Respond(500, "text/xml", "<oops".into()),
                Err(DependencyError::Failed),
            ),
            (
                Channel::Sms,
                Behaviour::Respond(
                    429,
                    "text/xml",
                    "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>".into(),
                ),
                Err(DependencyError::Failed),
            ),
            (Channel::Sms, Behaviour::Hang, Err(DependencyError::Timeout)),
        ];
        for (channel, behaviour, want) in table {
            let server = FakeServer::start(behaviour.clone()).await;
            let started = std::time::Instant::now();
            let got = sender("email-otp,sms-otp", &server.url)
                .await
                .send(&message(channel))
                .await;
            let took = started.elapsed();
            // The SDK's own operation timeout may fire first and read as a plain failure.
            let same = got == want || (want == Err(DependencyError::Timeout) && got.is_err());
            assert!(same, "{channel:?} {behaviour:?}: {got:?}");
            assert!(
                took < Duration::from_millis(2500),
                "{channel:?} {behaviour:?}: {took:?}"
            );
            let requests = server.requests().concat();
            let to = if channel == Channel::Email {
                "jane@example.com"
            } else {
                "%2B15555550123"
            };
            assert!(requests.contains(to), "{requests}");
        }
        for channel in [Channel::Email, Channel::Sms] {
            let refused = sender("email-otp,sms-otp", &refused_url().await)
                .await
                .send(&message(channel))
                .await;
            assert_eq!(refused, Err(DependencyError::Failed), "{channel:?}");
        }
    }

    /// Amazon Trust Services' published SHA-256 fingerprints (amazontrust.com/repository).
    const ATS_FINGERPRINTS: [&str; 5] = [
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e", // Amazon Root CA 1
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4", // Amazon Root CA 2
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4", // Amazon Root CA 3
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092", // Amazon Root CA 4
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5", // Starfield Services G2
    ];

    #[test]
    fn embedded_roots_are_amazon_trust_services() {
        use rustls_pki_types::{CertificateDer, pem::PemObject};
        use sha2::{Digest, Sha256};
        let fingerprints: Vec<String> = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES)
            .map(|der| {
                let digest = Sha256::digest(der.unwrap().as_ref());
                digest.iter().map(|b| format!("{b:02x}")).collect()
            })
            .collect();
        assert_eq!(fingerprints, ATS_FINGERPRINTS);
        assert!(usable_roots(AMAZON_TRUST_SERVICES));
    }

    #[test]
    fn ssl_cert_file_is_used_only_when_every_certificate_parses() {
        let dir = std::env::temp_dir().join(format!("create-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let own = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()])
            .unwrap()
            .cert
            .pem();
        let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let table: [(&str, Option<String>, bool); 7] = [
            ("unset", None, false),
            ("missing file", Some("missing.pem".into()), false),
            ("empty file", Some(String::new()), false),
            ("no PEM at all", Some("not a bundle".into()), false),
            ("bad base64", Some(format!("{own}{bad_base64}")), false),
            ("not a certificate", Some(format!("{own}{not_der}")), false),
            ("a usable bundle", Some(own.clone()), true),
        ];
        for (case, contents, own_used) in table {
            let path = contents.map(|contents| {
                let path = dir.join(case.replace(' ', "-"));
                if case != "missing file" {
                    std::fs::write(&path, contents).unwrap();
                }
                path
            });
            let want = if own_used {
                own.as_bytes()
            } else {
                AMAZON_TRUST_SERVICES
            };
            assert_eq!(trusted_roots(path), want, "{case}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A loopback HTTPS server with a fresh self-signed certificate that answers every request
    /// with SES's success reply; returns its URL and its certificate.
    async fn https_server() -> (String, String) {
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let key = rustls_pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key.into())
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    // One request, read until its headers end; the body is small and ignored.
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = r#"{"MessageId":"tls"}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        (url, certified.cert.pem())
    }

    #[tokio::test]
    async fn https_trusts_only_the_chosen_roots() {
        let (url, cert) = https_server().await;
        let send = |roots: Vec<u8>| {
            let url = url.clone();
            async move {
                sender_trusting("email-otp", &url, roots)
                    .await
                    .send(&message(Channel::Email))
                    .await
            }
        };
        // The default trust (Amazon Trust Services) refuses a certificate from anyone else...
        assert_eq!(
            send(AMAZON_TRUST_SERVICES.to_vec()).await,
            Err(DependencyError::Failed)
        );
        // ...and the same server is reached once its certificate is the trusted root.
        assert_eq!(send(cert.into_bytes()).await, Ok(()));
    }
}
