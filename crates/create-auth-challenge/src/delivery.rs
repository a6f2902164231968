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

/// Places the system keeps its CA bundle: `SSL_CERT_FILE`, Amazon Linux (Lambda's
/// provided.al2023), Debian and Ubuntu.
const CA_BUNDLES: [&str; 2] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
];

/// The standard AWS configuration (region, credentials, `AWS_ENDPOINT_URL`) with our settings:
/// one HTTPS client, 1 s to connect, 2 s per operation, at most two attempts.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(SEND_TIMEOUT)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
}

/// The SDK's HTTPS client with one CA bundle as its trust store. The default also reads every
/// hashed file of `/etc/ssl/certs`, the same roots again, one file each: measurably slower on
/// the first send and a larger peak RSS. Without a bundle, the default native roots apply.
fn https_client() -> aws_sdk_sesv2::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let bundle = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(CA_BUNDLES.iter().map(std::path::PathBuf::from))
        .find_map(|path| std::fs::read(path).ok());
    let trust = match bundle {
        Some(pem) => TrustStore::empty().with_pem_certificate(pem),
        None => TrustStore::default(),
    };
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(_) => builder.build_https(),
    }
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
        let config = config(flow);
        let credentials = Credentials::new("AKIDTEST", "test-secret", None, None, "test");
        let sdk = sdk_loader()
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
}
