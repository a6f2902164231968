//! Create Auth Challenge: builds the challenge of the current step and sends one-time codes.

mod delivery;
#[cfg(test)]
mod faults;

use custom_auth::events::{CreateAuthChallengeEvent, Incoming};
use custom_auth::telemetry::{self, Telemetry};
use custom_auth::triggers::report as facts;
use custom_auth::{Config, LogSettings};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use rand::SeedableRng;
use rand::rngs::StdRng;

use aws_io::{AwsSettings, DynamoStore};

use crate::delivery::AwsSender;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    tracing::subscriber::set_global_default(
        LogSettings::from_lookup(env)?.subscriber(std::io::stdout),
    )?;
    let aws = AwsSettings::from_lookup(env)?;
    let secrets = aws_io::Secrets::load(&aws, env).await?;
    let config = Config::from_lookup(|name| secrets.get(name).or_else(|| env(name)))?;
    let store = DynamoStore::new(config.state.as_ref(), aws.clone())?;
    let sender = AwsSender::new(&config, aws)?;
    let telemetry = Telemetry::from_lookup(env)?;
    run(service_fn(|event| {
        handler(&config, &telemetry, &sender, &store, event)
    }))
    .await
}

async fn handler(
    config: &Config,
    telemetry: &Telemetry,
    sender: &AwsSender,
    store: &DynamoStore,
    event: LambdaEvent<Incoming<CreateAuthChallengeEvent>>,
) -> Result<CreateAuthChallengeEvent, CreateError> {
    let Incoming(mut payload) = event.payload;
    // A fresh CSPRNG seeded from the OS for each challenge; failing to seed is an error.
    let mut rng = StdRng::try_from_os_rng().map_err(|_| CreateError::Entropy)?;
    let now = aws_io::unix_now();
    let created = custom_auth::create(config, &mut payload, sender, store, &mut rng, now).await;
    let mut report = facts::create(config, &payload, &created);
    report.calls = aws_io::calls::take();
    let millis = telemetry::millis(std::time::SystemTime::now());
    telemetry.write(&report, millis, std::io::stdout());
    if let Err(e) = created {
        tracing::warn!(trigger = "create", error = ?e, "challenge not created");
        return Err(e.into());
    }
    Ok(payload)
}

/// Why Create failed. The text reaches the person signing in, so it reveals nothing inside.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CreateError {
    #[error(transparent)]
    Auth(#[from] custom_auth::AuthError),
    #[error("the sign-in cannot continue")]
    Entropy,
    /// An AWS setting is missing or malformed; raised at start only, so it names the variable.
    #[error("{0} is missing or not valid")]
    Setting(&'static str),
}

impl From<aws_io::SettingError> for CreateError {
    fn from(e: aws_io::SettingError) -> CreateError {
        CreateError::Setting(e.0)
    }
}

impl From<CreateError> for Diagnostic {
    fn from(e: CreateError) -> Diagnostic {
        Diagnostic {
            error_type: "SignInError".into(),
            error_message: e.to_string(),
        }
    }
}
