//! Unit tests of the delivery: the real SES, SNS and KMS clients against loopback endpoints.

use std::sync::Arc;

use std::path::PathBuf;

use aws_io::sdk::{AMAZON_TRUST_SERVICES, https_client, root_store, trusted_roots};
use aws_sdk_sesv2::config::{Credentials, SharedCredentialsProvider};
use test_support::{Behaviour, FakeServer, refused_url};

use super::*;

/// A configuration with `flow` and a sender address.
pub(crate) fn config(flow: &str) -> Config {
    Config::from_lookup(|k| {
        match k {
            "AUTH_FLOW" => Some(flow),
            "OTP_EMAIL_FROM" => Some("no-reply@example.com"),
            "AUTH_STATE_TABLE" => Some("state"),
            "AUTH_STATE_KEY" => Some("state-key-for-tests-0123456789abcdef"),
            "MAGIC_LINK_URLS" => Some("https://app.example.com/signin"),
            "MAGIC_LINK_SECRET" => Some("magic-link-test-secret-0123456789abcdef"),
            _ => None,
        }
        .map(str::to_owned)
    })
    .unwrap()
}

/// The production SDK settings, pointed at `endpoint` with test credentials.
pub(crate) async fn sender(flow: &str, endpoint: &str) -> AwsSender {
    let mut settings = AwsSettings::default();
    settings.region = Some("us-east-1".into());
    settings.endpoint_url = Some(endpoint.into());
    sender_with(flow, settings, AMAZON_TRUST_SERVICES.to_vec())
}

/// A sender for `settings` with test credentials, trusting the roots in `roots_pem`.
fn sender_with(flow: &str, settings: AwsSettings, roots_pem: Vec<u8>) -> AwsSender {
    let credentials = Credentials::new("AKIDTEST", "test-secret", None, None, "test");
    let sdk = aws_io::sdk_config(&settings)
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https_client(root_store(&roots_pem).unwrap()))
        .build();
    AwsSender::with_sdk(&config(flow), settings, &sdk)
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
        html: None,
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
    // A magic link's e-mail (a flow with no code step) goes out with both parts.
    let server = FakeServer::start(Behaviour::Respond(
        200,
        "application/json",
        r#"{"MessageId":"m-2"}"#.into(),
    ))
    .await;
    let mut mail = message(Channel::Email);
    mail.html = Some("<p>html part</p>".into());
    let got = sender("magic-link", &server.url).await.send(&mail).await;
    assert_eq!(got, Ok(()));
    let requests = server.requests().concat();
    assert!(
        requests.contains("\"Html\"") && requests.contains("html part"),
        "{requests}"
    );
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
    assert!(root_store(AMAZON_TRUST_SERVICES).is_some());
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
        let want = root_store(want).unwrap().roots;
        assert_eq!(trusted_roots(path).roots, want, "{case}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn https_trusts_only_the_chosen_roots() {
    let (url, cert) = test_support::https_server(r#"{"MessageId":"tls"}"#).await;
    let send = |roots: Vec<u8>| {
        let url = url.clone();
        async move {
            let mut settings = AwsSettings::default();
            settings.region = Some("us-east-1".into());
            settings.endpoint_url = Some(url);
            sender_with("email-otp", settings, roots)
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

#[test]
fn aws_settings_from_the_environment() {
    let read = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AwsSettings::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    };
    let all = read(&[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "us-east-2"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:1"),
        ("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:2"),
        ("AWS_USE_FIPS_ENDPOINT", "TRUE"),
        ("AWS_USE_DUALSTACK_ENDPOINT", "false"),
        ("SSL_CERT_FILE", "/etc/bundle.pem"),
    ])
    .unwrap();
    assert_eq!(all.region.as_deref(), Some("eu-west-1"));
    assert_eq!(all.endpoint_url.as_deref(), Some("http://127.0.0.1:4566"));
    assert_eq!(all.ses_endpoint_url.as_deref(), Some("http://127.0.0.1:1"));
    assert_eq!(all.sns_endpoint_url.as_deref(), Some("http://127.0.0.1:2"));
    assert!(all.use_fips && !all.use_dual_stack);
    assert_eq!(all.ssl_cert_file, Some(PathBuf::from("/etc/bundle.pem")));

    let fallback = read(&[("AWS_DEFAULT_REGION", "us-east-2"), ("AWS_REGION", "")]).unwrap();
    assert_eq!(fallback.region.as_deref(), Some("us-east-2"));
    let none = read(&[]).unwrap();
    assert!(none.region.is_none() && none.endpoint_url.is_none() && !none.use_fips);

    for (name, value) in [
        ("AWS_USE_FIPS_ENDPOINT", "yes"),
        ("AWS_USE_DUALSTACK_ENDPOINT", "1"),
    ] {
        let err = read(&[(name, value)]).unwrap_err();
        assert_eq!(err.to_string(), format!("{name} is missing or not valid"));
    }

    // A flow that sends codes cannot start without a region; one that sends none can.
    let err = AwsSender::new(&config("email-otp"), none.clone())
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "AWS_REGION is missing or not valid");
    assert!(AwsSender::new(&config("sms-otp"), none.clone()).is_err());
    assert!(AwsSender::new(&config("password,select-account"), none).is_ok());
}

#[tokio::test]
async fn a_service_endpoint_wins_over_the_global_one() {
    let ses = FakeServer::start(Behaviour::Respond(
        200,
        "application/json",
        r#"{"MessageId":"m"}"#.into(),
    ))
    .await;
    let sns = FakeServer::start(Behaviour::Respond(
        200,
        "text/xml",
        "<PublishResponse><PublishResult><MessageId>m</MessageId></PublishResult></PublishResponse>"
            .into(),
    ))
    .await;
    let mut settings = AwsSettings::default();
    settings.region = Some("us-east-1".into());
    settings.endpoint_url = Some(refused_url().await);
    settings.ses_endpoint_url = Some(ses.url.clone());
    settings.sns_endpoint_url = Some(sns.url.clone());
    let sender = sender_with(
        "email-otp,sms-otp",
        settings,
        AMAZON_TRUST_SERVICES.to_vec(),
    );
    assert_eq!(sender.send(&message(Channel::Email)).await, Ok(()));
    assert_eq!(sender.send(&message(Channel::Sms)).await, Ok(()));
    assert!(ses.requests().concat().contains("jane@example.com"));
    assert!(sns.requests().concat().contains("%2B15555550123"));
}

/// A keep-alive SES on loopback that counts the connections it accepts. With `close_idle`,
/// it quietly closes each connection 50 ms after answering, as endpoints close idle ones.
async fn keep_alive_ses(close_idle: bool) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        for _ in 0..10 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 8192];
                // Bounded: a few requests per connection.
                for _ in 0..64 {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).into_owned();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if seen.len() < end + 4 + length {
                        continue;
                    }
                    seen.clear();
                    let body = r#"{"MessageId":"m"}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    if close_idle {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        return;
                    }
                }
            });
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn sends_reuse_the_connection_and_survive_its_close() {
    for (close_idle, connections) in [(false, 1), (true, 3)] {
        let (url, accepted) = keep_alive_ses(close_idle).await;
        let sender = sender("email-otp", &url).await;
        for _ in 0..3 {
            assert_eq!(sender.send(&message(Channel::Email)).await, Ok(()));
            // Idle between sign-ins; long enough for a closing endpoint to close.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let got = accepted.load(Ordering::SeqCst);
        assert_eq!(got, connections, "close_idle {close_idle}");
    }
}
