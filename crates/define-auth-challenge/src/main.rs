//! Define Auth Challenge: decides the next challenge, tokens, or failure from the session.

use std::convert::Infallible;

use custom_auth::Config;
use custom_auth::events::{DefineAuthChallengeEvent, Incoming};
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = Config::from_lookup(|name| std::env::var(name).ok())?;
    run(service_fn(|event| handler(&config, event))).await
}

async fn handler(
    config: &Config,
    event: LambdaEvent<Incoming<DefineAuthChallengeEvent>>,
) -> Result<DefineAuthChallengeEvent, Infallible> {
    let Incoming(mut payload) = event.payload;
    custom_auth::define(config, &mut payload);
    Ok(payload)
}
