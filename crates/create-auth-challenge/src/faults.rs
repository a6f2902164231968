//! Dependency faults through the whole Create trigger with the real SDK clients and their
//! production settings: SES and SNS on loopback refusing, hanging, failing or throttling.
//! Every case ends inside 2.5 s with a trigger error (Cognito fails the sign-in) and leaves
//! no challenge in the response; the control case creates one.

use std::time::{Duration, Instant};

use custom_auth::events::CreateAuthChallengeEvent;
use rand::SeedableRng;
use rand::rngs::StdRng;
use test_support::{Behaviour, FakeServer, dynamodb, refused_url};

use crate::delivery::tests::{config, sender};

fn first_round(flow: &str) -> (custom_auth::Config, CreateAuthChallengeEvent) {
    let file = format!(
        "{}/../../events/create/{flow}-first.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&file).unwrap();
    (config(flow), serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn delivery_faults_are_bounded_trigger_errors() {
    let ok_sns = "<PublishResponse><PublishResult><MessageId>m</MessageId></PublishResult></PublishResponse>";
    let throttled = r#"{"__type":"TooManyRequestsException","message":"slow down"}"#;
    let table = [
        (
            "email-otp",
            Behaviour::Respond(200, "application/json", r#"{"MessageId":"m"}"#.into()),
            true,
        ),
        (
            "email-otp",
            Behaviour::Respond(500, "application/json", "{}".into()),
            false,
        ),
        (
            "email-otp",
            Behaviour::Respond(429, "application/json", throttled.into()),
            false,
        ),
        ("email-otp", Behaviour::Hang, false),
        (
            "sms-otp",
            Behaviour::Respond(200, "text/xml", ok_sns.into()),
            true,
        ),
        (
            "sms-otp",
            Behaviour::Respond(500, "text/xml", "<oops".into()),
            false,
        ),
        (
            "sms-otp",
            Behaviour::Respond(
                400,
                "text/xml",
                "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>".into(),
            ),
            false,
        ),
        ("sms-otp", Behaviour::Hang, false),
    ];
    let mut runs = Vec::new();
    for (flow, behaviour, created) in table {
        let server = FakeServer::start(behaviour.clone()).await;
        runs.push((
            flow,
            format!("{behaviour:?}"),
            server.url.clone(),
            created,
            Some(server),
        ));
    }
    for flow in ["email-otp", "sms-otp"] {
        runs.push((flow, "refused".into(), refused_url().await, false, None));
    }
    for (flow, what, url, want, _server) in runs {
        let (config, mut event) = first_round(flow);
        let sender = sender(flow, &url).await;
        let mut rng = StdRng::seed_from_u64(7);
        let started = Instant::now();
        let got = custom_auth::create(
            &config,
            &mut event,
            &sender,
            &custom_auth::store::NoStore,
            &mut rng,
            1_767_225_600,
        )
        .await;
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(2500),
            "{flow} {what}: {took:?}"
        );
        assert_eq!(got.is_ok(), want, "{flow} {what}: {got:?}");
        let private = &event.response.private_challenge_parameters;
        assert_eq!(private.contains_key("code"), want, "{flow} {what}");
        if !want {
            let shown = crate::CreateError::from(got.unwrap_err()).to_string();
            assert_eq!(shown, "the code could not be sent; try again later");
        }
    }
}

/// The state store through the whole trigger: a first code round counts its send first; a
/// store that hangs, refuses, fails, throttles, lacks its table or answers garbage ends the
/// round with an error inside 2.5 s, and no code is sent.
#[tokio::test]
async fn state_store_faults_send_nothing() {
    let ses = FakeServer::start(Behaviour::Respond(
        200,
        "application/json",
        r#"{"MessageId":"m"}"#.into(),
    ))
    .await;
    let mut table = vec![("ok", dynamodb::answer(200, "{}"), true)];
    table.extend(
        dynamodb::faults()
            .into_iter()
            .map(|(what, b)| (what, b, false)),
    );
    let mut cases = Vec::new();
    for (what, behaviour, want) in table {
        let server = FakeServer::start(behaviour).await;
        cases.push((what, server.url.clone(), want, Some(server)));
    }
    cases.push(("refused", refused_url().await, false, None));
    let sender = sender("email-otp", &ses.url).await;
    for (what, url, want, _server) in cases {
        let config = custom_auth::Config::from_lookup(|k| match k {
            "AUTH_FLOW" => Some("email-otp".to_owned()),
            "OTP_EMAIL_FROM" => Some("no-reply@example.com".to_owned()),
            "AUTH_STATE_TABLE" => Some("auth-state".to_owned()),
            "AUTH_STATE_KEY" => Some("create-faults-state-key-0123456789".to_owned()),
            _ => None,
        })
        .unwrap();
        let (_, mut event) = first_round("email-otp");
        let store = aws_io::DynamoStore::at_endpoint("auth-state", &url);
        let sent = ses.requests().len();
        let mut rng = StdRng::seed_from_u64(7);
        let started = Instant::now();
        let got = custom_auth::create(
            &config,
            &mut event,
            &sender,
            &store,
            &mut rng,
            1_767_225_600,
        )
        .await;
        let took = started.elapsed();
        assert!(took < Duration::from_millis(2500), "{what}: {took:?}");
        assert_eq!(got.is_ok(), want, "{what}: {got:?}");
        assert_eq!(
            ses.requests().len() - sent,
            usize::from(want),
            "{what}: sends"
        );
        if !want {
            let shown = crate::CreateError::from(got.unwrap_err()).to_string();
            assert_eq!(
                shown, "the sign-in cannot continue; try again later",
                "{what}"
            );
        }
    }
}
