//! Define Auth Challenge: decides the next challenge, tokens, or failure from the session.

use std::convert::Infallible;

use custom_auth::events::{DefineAuthChallengeEvent, Incoming};
use custom_auth::telemetry::{self, Telemetry};
use custom_auth::triggers::report as facts;
use custom_auth::{Config, LogSettings};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    tracing::subscriber::set_global_default(
        LogSettings::from_lookup(env)?.subscriber(std::io::stdout),
    )?;
    let config = Config::for_define(env)?;
    let telemetry = Telemetry::from_lookup(env)?;
    run(service_fn(|event| handler(&config, &telemetry, event))).await
}

async fn handler(
    config: &Config,
    telemetry: &Telemetry,
    event: LambdaEvent<Incoming<DefineAuthChallengeEvent>>,
) -> Result<DefineAuthChallengeEvent, Infallible> {
    let Incoming(mut payload) = event.payload;
    let decision = custom_auth::define(config, &mut payload);
    let report = facts::define(&payload, &decision);
    let now = telemetry::millis(std::time::SystemTime::now());
    telemetry.write(&report, now, std::io::stdout());
    Ok(payload)
}
