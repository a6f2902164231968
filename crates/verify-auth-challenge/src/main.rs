//! Verify Auth Challenge Response: checks the answer; every doubt is a wrong answer.

#[cfg(test)]
mod faults;
mod http;

use std::convert::Infallible;
use std::sync::Arc;

use aws_io::{AwsSettings, DynamoStore, WebClient};
use custom_auth::events::{Incoming, VerifyAuthChallengeEvent};
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
    run(service_fn(|event| {
        handler(&config, &captcha, &keys, &store, event)
    }))
    .await
}

async fn handler(
    config: &Config,
    captcha: &HttpCaptcha,
    keys: &TokenKeys<HttpJwks>,
    store: &DynamoStore,
    event: LambdaEvent<Incoming<VerifyAuthChallengeEvent>>,
) -> Result<VerifyAuthChallengeEvent, Infallible> {
    let Incoming(mut payload) = event.payload;
    let now = aws_io::unix_now();
    // Boxed: the check's future is large and lambda_runtime's layers move the handler's future
    // by value; on the heap it is not copied down the stack (peak stack -8 KiB, BENCHMARKS.md).
    let _ = Box::pin(custom_auth::verify(
        config,
        &mut payload,
        captcha,
        keys,
        store,
        now,
    ))
    .await;
    Ok(payload)
}
