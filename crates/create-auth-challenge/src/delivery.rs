//! Sends one-time codes with Amazon SES v2 and Amazon SNS, each call bounded to 2 seconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_io::AwsSettings;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;
use custom_auth::config::{Config, Step};
use custom_auth::ports::{Channel, CodeMessage, CodeSender, DependencyError};
use custom_auth::telemetry::Dependency;
use tokio::sync::OnceCell;

use crate::CreateError;

/// The most a send may take, so the trigger answers well inside Cognito's 5 seconds.
pub const SEND_TIMEOUT: Duration = aws_io::OPERATION_TIMEOUT;
/// What a decoy waits before the first real send has been timed.
const INITIAL_SEND_MICROS: u64 = 150_000;

/// SES and SNS clients, built once, on the first send, and only for the channels the flow
/// uses. Building them reads the trusted roots and sets up TLS, which would otherwise add to
/// every cold start, also for rounds and flows that send nothing.
pub struct AwsSender {
    clients: OnceCell<Clients>,
    settings: AwsSettings,
    email: bool,
    sms: bool,
    from: String,
    /// A moving average of real send times, which decoys imitate.
    typical_micros: AtomicU64,
    /// The KMS key that signs magic links, when they are signed by KMS.
    kms: Option<aws_io::KmsKey>,
}

struct Clients {
    ses: Option<aws_sdk_sesv2::Client>,
    sns: Option<aws_sdk_sns::Client>,
}

impl Clients {
    /// The flow's clients; a service's own endpoint variable wins over `AWS_ENDPOINT_URL`.
    fn new(sdk: &SdkConfig, settings: &AwsSettings, email: bool, sms: bool) -> Clients {
        Clients {
            ses: email.then(|| aws_io::mail::client(sdk, settings)),
            sns: sms.then(|| {
                let mut sns = aws_sdk_sns::config::Builder::from(sdk);
                if let Some(url) = &settings.sns_endpoint_url {
                    sns = sns.endpoint_url(url);
                }
                aws_sdk_sns::Client::from_conf(sns.build())
            }),
        }
    }
}

impl AwsSender {
    /// A sender for the flow's channels, whose clients are built on the first send. A flow
    /// that sends codes needs a region: without one, start fails naming `AWS_REGION`.
    pub fn new(config: &Config, settings: AwsSettings) -> Result<AwsSender, CreateError> {
        let (email, sms) = (
            config.flows.contains(Step::EmailOtp) || config.flows.contains(Step::MagicLink),
            config.flows.contains(Step::SmsOtp),
        );
        if (email || sms) && settings.region.is_none() {
            return Err(CreateError::Setting("AWS_REGION"));
        }
        Ok(AwsSender {
            clients: OnceCell::new(),
            kms: aws_io::KmsKey::new(config, settings.clone())?,
            settings,
            email,
            sms,
            from: config
                .email
                .as_ref()
                .map(|e| e.from.clone())
                .unwrap_or_default(),
            typical_micros: AtomicU64::new(INITIAL_SEND_MICROS),
        })
    }

    /// A sender whose clients come from `sdk` (tests give them test credentials).
    #[cfg(test)]
    pub fn with_sdk(config: &Config, settings: AwsSettings, sdk: &SdkConfig) -> AwsSender {
        let sender = AwsSender::new(config, settings).unwrap();
        let clients = Clients::new(sdk, &sender.settings, sender.email, sender.sms);
        AwsSender {
            clients: OnceCell::new_with(Some(clients)),
            ..sender
        }
    }

    async fn clients(&self) -> &Clients {
        self.clients
            .get_or_init(|| async {
                let sdk = self.settings.sdk();
                Clients::new(&sdk, &self.settings, self.email, self.sms)
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
        aws_io::mail::send(ses, &self.from, m).await
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
        let dependency = match m.channel {
            Channel::Email => Dependency::Email,
            Channel::Sms => Dependency::Sms,
        };
        aws_io::calls::record(dependency, started, result.is_err());
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

    async fn sign_link(&self, message: &[u8]) -> Result<Vec<u8>, DependencyError> {
        match &self.kms {
            Some(kms) => kms.sign(message).await,
            None => Err(DependencyError::Failed),
        }
    }

    async fn link_public_key(&self) -> Result<Vec<u8>, DependencyError> {
        match &self.kms {
            Some(kms) => kms.public_key().await,
            None => Err(DependencyError::Failed),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
