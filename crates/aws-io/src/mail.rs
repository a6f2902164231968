//! E-mail through Amazon SES v2: [`send`], the one `SendEmail` of the project (Create's codes and
//! links, the passkey API's notices), and [`SesMail`], the passkey API's adapter of the
//! shared crate's [`Mailer`] port.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use custom_auth::ports::{CodeMessage, DependencyError, Mailer};
use tokio::sync::OnceCell;

use crate::sdk::{AwsSettings, OPERATION_TIMEOUT};

/// The SES v2 client of `sdk`; `AWS_ENDPOINT_URL_SESV2` wins over `AWS_ENDPOINT_URL`.
pub fn client(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> Client {
    let mut ses = aws_sdk_sesv2::config::Builder::from(sdk);
    if let Some(url) = &settings.ses_endpoint_url {
        ses = ses.endpoint_url(url);
    }
    Client::from_conf(ses.build())
}

/// Sends `m` (text, and HTML when it has some) from `from`. Errors are logged by their code
/// only: SES's messages may echo the address.
pub async fn send(ses: &Client, from: &str, m: &CodeMessage) -> Result<(), DependencyError> {
    let text = |data: &str| Content::builder().data(data).charset("UTF-8").build();
    let (Ok(subject), Ok(body)) = (text(&m.subject), text(&m.body)) else {
        return Err(DependencyError::Failed);
    };
    let mut parts = Body::builder().text(body);
    if let Some(html) = &m.html {
        parts = parts.html(text(html).map_err(|_| DependencyError::Failed)?);
    }
    let message = Message::builder()
        .subject(subject)
        .body(parts.build())
        .build();
    ses.send_email()
        .from_email_address(from)
        .destination(Destination::builder().to_addresses(&m.destination).build())
        .content(EmailContent::builder().simple(message).build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| match e {
            aws_sdk_sesv2::error::SdkError::TimeoutError(_) => DependencyError::Timeout,
            e => {
                tracing::warn!(code = e.code(), "SES SendEmail failed");
                DependencyError::Failed
            }
        })
}

/// Notices by SES from one sender; the client is built on the first mail (building it loads
/// the trust roots, which would otherwise add to every cold start).
pub struct SesMail {
    settings: AwsSettings,
    from: String,
    client: OnceCell<Client>,
}

impl SesMail {
    /// Mail from `from` (the address SES verified).
    pub fn new(settings: AwsSettings, from: &str) -> SesMail {
        SesMail {
            settings,
            from: from.to_owned(),
            client: OnceCell::new(),
        }
    }

    /// Mail whose client comes from `sdk` (tests point it at a loopback fake).
    pub fn with_sdk(settings: AwsSettings, sdk: &aws_config::SdkConfig, from: &str) -> SesMail {
        let ses = client(sdk, &settings);
        SesMail {
            settings,
            from: from.to_owned(),
            client: OnceCell::new_with(Some(ses)),
        }
    }
}

impl Mailer for SesMail {
    async fn mail(&self, m: &CodeMessage) -> Result<(), DependencyError> {
        let ses = self
            .client
            .get_or_init(|| async { client(&self.settings.sdk(), &self.settings) })
            .await;
        tokio::time::timeout(OPERATION_TIMEOUT, send(ses, &self.from, m))
            .await
            .unwrap_or(Err(DependencyError::Timeout))
    }
}

#[cfg(test)]
mod tests {
    use custom_auth::ports::Channel;
    use test_support::{Behaviour, FakeServer};

    use super::*;

    #[tokio::test]
    async fn notices_go_by_ses_and_failures_are_errors_within_bounds() {
        let notice = CodeMessage {
            channel: Channel::Email,
            destination: "jane@example.com".into(),
            subject: "A passkey was added to your account".into(),
            body: "The passkey \"Laptop\" was added.".into(),
            html: None,
        };
        let json = "application/json";
        for (behaviour, want) in [
            (
                Behaviour::Respond(200, json, r#"{"MessageId":"m-1"}"#.into()),
                Ok(()),
            ),
            (
                Behaviour::Respond(400, json, r#"{"message":"not verified"}"#.into()),
                Err(DependencyError::Failed),
            ),
            (Behaviour::Hang, Err(DependencyError::Timeout)),
        ] {
            let fake = FakeServer::start(behaviour.clone()).await;
            let (settings, sdk) = crate::sdk::for_endpoint(&fake.url);
            let mail = SesMail::with_sdk(settings, &sdk, "no-reply@example.com");
            let started = std::time::Instant::now();
            assert_eq!(mail.mail(&notice).await, want, "{behaviour:?}");
            assert!(started.elapsed() < std::time::Duration::from_millis(2600));
            let sent = fake.requests().concat();
            assert!(sent.contains("POST /v2/email/outbound-emails"), "{sent}");
            assert!(sent.contains("no-reply@example.com") && sent.contains("jane@example.com"));
        }
    }
}
