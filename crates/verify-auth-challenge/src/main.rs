//! Verify Auth Challenge Response: checks the answer; every doubt is a wrong answer.

#[cfg(test)]
mod faults;
mod http;

use std::convert::Infallible;
use std::sync::Arc;

use aws_io::{AwsSettings, DynamoStore, WebClient};
use custom_auth::events::{Incoming, VerifyAuthChallengeEvent};
use custom_auth::telemetry::{self, Telemetry};
use custom_auth::triggers::report as facts;
use custom_auth::{Config, LogSettings, TokenKeys};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

use crate::http::{HttpCaptcha, HttpJwks};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    tracing::subscriber::set_global_default(
        LogSettings::from_lookup(env)?.subscriber(std::io::stdout),
    )?;
    let aws = AwsSettings::from_lookup(env)?;
    let secrets = aws_io::Secrets::load(&aws, env).await?;
    let config = Config::from_lookup(|name| secrets.get(name).or_else(|| env(name)))?;
    let client = Arc::new(WebClient::new(aws.ssl_cert_file.clone()));
    let captcha = HttpCaptcha::new(&config, client.clone());
    let keys = TokenKeys::new(&config, HttpJwks::new(&config, client));
    let store = DynamoStore::new(config.state.as_ref(), aws)?;
    let telemetry = Telemetry::from_lookup(env)?;
    let clients = Clients {
        captcha: &captcha,
        keys: &keys,
        store: &store,
    };
    run(service_fn(|event| {
        handler(&config, &telemetry, clients, event)
    }))
    .await
}

/// The clients, built once.
#[derive(Clone, Copy)]
struct Clients<'a> {
    captcha: &'a HttpCaptcha,
    keys: &'a TokenKeys<HttpJwks>,
    store: &'a DynamoStore,
}

async fn handler(
    config: &Config,
    telemetry: &Telemetry,
    clients: Clients<'_>,
    event: LambdaEvent<Incoming<VerifyAuthChallengeEvent>>,
) -> Result<VerifyAuthChallengeEvent, Infallible> {
    let Incoming(mut payload) = event.payload;
    let now = aws_io::unix_now();
    // Boxed: the check's future is large and lambda_runtime's layers move the handler's future
    // by value; on the heap it is not copied down the stack (peak stack -8 KiB, BENCHMARKS.md).
    let verified = Box::pin(custom_auth::verified(
        config,
        &mut payload,
        clients.captcha,
        clients.keys,
        clients.store,
        now,
    ))
    .await;
    let mut report = facts::verify(config, &payload, &verified);
    report.calls = aws_io::calls::take();
    let millis = telemetry::millis(std::time::SystemTime::now());
    telemetry.write(&report, millis, std::io::stdout());
    Ok(payload)
}
