//! Pre Token Generation (event version 2): puts the account selected in this sign-in into the
//! ID and access tokens.

use aws_io::{AwsSettings, DynamoStore};
use custom_auth::events::{Incoming, PreTokenGenerationEvent};
use custom_auth::telemetry::{self, Function, Report, Telemetry};
use custom_auth::{AuthError, Config, LogSettings};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    tracing::subscriber::set_global_default(
        LogSettings::from_lookup(env)?.subscriber(std::io::stdout),
    )?;
    let aws = AwsSettings::from_lookup(env)?;
    let secrets = aws_io::Secrets::load(&aws, env).await?;
    let config = Config::from_lookup(|name| secrets.get(name).or_else(|| env(name)))?;
    let store = DynamoStore::new(config.state.as_ref(), aws)?;
    let telemetry = Telemetry::from_lookup(env)?;
    run(service_fn(|event| {
        handler(&config, &telemetry, &store, event)
    }))
    .await
}

async fn handler(
    config: &Config,
    telemetry: &Telemetry,
    store: &DynamoStore,
    event: LambdaEvent<Incoming<PreTokenGenerationEvent>>,
) -> Result<PreTokenGenerationEvent, TokenError> {
    let Incoming(mut payload) = event.payload;
    let now = aws_io::unix_now();
    let minted = custom_auth::pre_token_generation(config, &mut payload, store, now).await;
    // Its metrics are its store calls; whether the sign-in got tokens, Define counted.
    let mut report = Report::new(Function::PreToken);
    report.calls = aws_io::calls::take();
    telemetry.write(
        &report,
        telemetry::millis(std::time::SystemTime::now()),
        std::io::stdout(),
    );
    if let Err(e) = minted {
        tracing::warn!(trigger = "pre-token", error = ?e, "no tokens");
        return Err(TokenError(e));
    }
    Ok(payload)
}

/// Why no tokens: the text reaches the person signing in, so it reveals nothing inside.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct TokenError(AuthError);

impl From<TokenError> for Diagnostic {
    fn from(e: TokenError) -> Diagnostic {
        Diagnostic {
            error_type: "SignInError".into(),
            error_message: e.to_string(),
        }
    }
}
