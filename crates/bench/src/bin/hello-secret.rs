//! The second baseline of `make bench`: the smallest `lambda_runtime` function that reads one
//! secret by ARN at start, as the functions with the state store must (issue 26: no secret in
//! function configuration). It reads it exactly as they do (`aws_io::Secrets`: the lean SDK
//! configuration, the Secrets Manager client, one request), then echoes its event. The
//! functions that read a secret at start are measured against it, so their budgets weigh what
//! our code adds, not the request every such function must make.

use aws_io::{AwsSettings, Secrets};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    let aws = AwsSettings::from_lookup(env)?;
    let secrets = Secrets::load(&aws, env).await?;
    // Fail as the functions do when the key is not there.
    secrets.get("AUTH_STATE_KEY").ok_or("AUTH_STATE_KEY_ARN")?;
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
