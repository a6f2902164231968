//! Define Auth Challenge: decides the next challenge, tokens, or failure from the session.

use std::convert::Infallible;

use custom_auth::events::{DefineAuthChallengeEvent, Incoming};
use custom_auth::{Config, LogSettings};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    tracing::subscriber::set_global_default(
        LogSettings::from_lookup(env)?.subscriber(std::io::stdout),
    )?;
    let config = Config::for_define(env)?;
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
