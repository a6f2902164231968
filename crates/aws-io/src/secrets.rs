//! Secrets from AWS Secrets Manager, read once at start.
//!
//! A secret in a function's environment is readable by anyone allowed
//! `lambda:GetFunctionConfiguration`, which AWS's ReadOnlyAccess grants: an auditor could read
//! the state key or a signing key and sign in as anyone. So on AWS each secret variable names
//! its secret instead (`<VARIABLE>_ARN`), and the function reads the value at start, with its
//! own role's `secretsmanager:GetSecretValue` on that ARN alone. The plain variables stay for
//! local runs and `cargo lambda invoke`; setting both is an error.

use aws_sdk_secretsmanager::Client;
use tokio::task::JoinSet;

use crate::sdk::{AwsSettings, OPERATION_TIMEOUT, SettingError};

/// The secret variables, each with the variable that may name its secret instead, and the
/// error when both are set.
const SECRETS: [(&str, &str, &str); 4] = [
    (
        "AUTH_STATE_KEY",
        "AUTH_STATE_KEY_ARN",
        "AUTH_STATE_KEY and AUTH_STATE_KEY_ARN (give one)",
    ),
    (
        "CAPTCHA_SECRET",
        "CAPTCHA_SECRET_ARN",
        "CAPTCHA_SECRET and CAPTCHA_SECRET_ARN (give one)",
    ),
    (
        "MAGIC_LINK_SECRET",
        "MAGIC_LINK_SECRET_ARN",
        "MAGIC_LINK_SECRET and MAGIC_LINK_SECRET_ARN (give one)",
    ),
    (
        "SIGNED_TOKEN_SECRET",
        "SIGNED_TOKEN_SECRET_ARN",
        "SIGNED_TOKEN_SECRET and SIGNED_TOKEN_SECRET_ARN (give one)",
    ),
];

/// The secrets the environment names by ARN, read. Its `Debug` shows the variables only.
#[derive(Default)]
pub struct Secrets {
    values: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.values.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Secrets").field("read", &names).finish()
    }
}

impl Secrets {
    /// Reads every secret `env` names by ARN, all at once, each bounded by 2 s. Fails naming
    /// the variable: both forms set, no region, or a secret that cannot be read (missing, no
    /// permission, not a string, time-out). With no ARN set, makes no client and no request.
    pub async fn load(
        settings: &AwsSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Secrets, SettingError> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mut wanted = Vec::new();
        for (plain, by_arn, both) in SECRETS {
            match (set(plain), set(by_arn)) {
                (Some(_), Some(_)) => return Err(SettingError(both)),
                (None, Some(arn)) => wanted.push((plain, by_arn, arn.trim().to_owned())),
                _ => {}
            }
        }
        if wanted.is_empty() {
            return Ok(Secrets::default());
        }
        if settings.region.is_none() {
            return Err(SettingError("AWS_REGION"));
        }
        let client = client(&settings.sdk(), settings);
        Secrets::read(&client, wanted).await
    }

    /// Reads `wanted` (variable, its ARN variable, the ARN) with `client`, concurrently.
    async fn read(
        client: &Client,
        wanted: Vec<(&'static str, &'static str, String)>,
    ) -> Result<Secrets, SettingError> {
        let mut reads = JoinSet::new();
        for (plain, by_arn, arn) in wanted {
            let client = client.clone();
            reads.spawn(async move {
                let read = client.get_secret_value().secret_id(arn).send();
                let value = match tokio::time::timeout(OPERATION_TIMEOUT, read).await {
                    Ok(Ok(out)) => out.secret_string().map(str::to_owned),
                    Ok(Err(e)) => {
                        // The code only: a message could name the secret.
                        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
                        tracing::error!(variable = by_arn, code = e.code(), "secret not read");
                        None
                    }
                    Err(_) => {
                        tracing::error!(variable = by_arn, "secret not read: timed out");
                        None
                    }
                };
                (plain, by_arn, value)
            });
        }
        let mut values = Vec::new();
        while let Some(done) = reads.join_next().await {
            let (plain, by_arn, value) = done.map_err(|_| SettingError("secrets"))?;
            values.push((plain, value.ok_or(SettingError(by_arn))?));
        }
        Ok(Secrets { values })
    }

    /// The value of `name` when it was read from Secrets Manager.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

/// The Secrets Manager client of `sdk`; `AWS_ENDPOINT_URL_SECRETS_MANAGER` wins over
/// `AWS_ENDPOINT_URL`.
fn client(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> Client {
    let mut config = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(url) = &settings.secrets_endpoint_url {
        config = config.endpoint_url(url);
    }
    Client::from_conf(config.build())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use test_support::{Behaviour, FakeServer};

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:state-key-AbCdEf";

    #[tokio::test]
    async fn nothing_named_by_arn_reads_nothing() {
        let none = Secrets::load(&AwsSettings::default(), env(&[("AUTH_STATE_KEY", "k")]))
            .await
            .unwrap();
        assert_eq!(
            none.get("AUTH_STATE_KEY"),
            None,
            "the plain variable is the caller's"
        );
    }

    #[tokio::test]
    async fn both_forms_or_no_region_fail_naming_the_variable() {
        let both = env(&[("AUTH_STATE_KEY", "k"), ("AUTH_STATE_KEY_ARN", ARN)]);
        let e = Secrets::load(&AwsSettings::default(), both)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("AUTH_STATE_KEY and AUTH_STATE_KEY_ARN"),
            "{e}"
        );
        let e = Secrets::load(&AwsSettings::default(), env(&[("AUTH_STATE_KEY_ARN", ARN)]))
            .await
            .unwrap_err();
        assert_eq!(e, SettingError("AWS_REGION"));
    }

    #[tokio::test]
    async fn secrets_are_read_by_arn_and_every_failure_names_the_variable() {
        let json = "application/x-amz-json-1.1";
        let table: Vec<(Behaviour, Result<&str, &str>)> = vec![
            (
                Behaviour::Respond(
                    200,
                    json,
                    format!(
                        r#"{{"ARN":"{ARN}","Name":"state-key","SecretString":"s3cr3t-value"}}"#
                    ),
                ),
                Ok("s3cr3t-value"),
            ),
            (
                Behaviour::Respond(200, json, format!(r#"{{"ARN":"{ARN}","Name":"n"}}"#)),
                Err("AUTH_STATE_KEY_ARN"),
            ),
            (
                Behaviour::Respond(
                    400,
                    json,
                    r#"{"__type":"ResourceNotFoundException","message":"no such secret"}"#.into(),
                ),
                Err("AUTH_STATE_KEY_ARN"),
            ),
            (
                Behaviour::Respond(
                    400,
                    json,
                    r#"{"__type":"AccessDeniedException","message":"not allowed"}"#.into(),
                ),
                Err("AUTH_STATE_KEY_ARN"),
            ),
            (Behaviour::Hang, Err("AUTH_STATE_KEY_ARN")),
        ];
        for (behaviour, want) in table {
            let fake = FakeServer::start(behaviour.clone()).await;
            let (settings, sdk) = crate::sdk::for_endpoint(&fake.url);
            let client = client(&sdk, &settings);
            let started = Instant::now();
            let got = Secrets::read(
                &client,
                vec![("AUTH_STATE_KEY", "AUTH_STATE_KEY_ARN", ARN.to_owned())],
            )
            .await;
            assert!(
                started.elapsed() < Duration::from_millis(2600),
                "{behaviour:?}"
            );
            match want {
                Ok(value) => assert_eq!(got.unwrap().get("AUTH_STATE_KEY").as_deref(), Some(value)),
                Err(var) => assert_eq!(got.unwrap_err(), SettingError(var), "{behaviour:?}"),
            }
            let requests = fake.requests().concat();
            assert!(
                requests.contains("secretsmanager.GetSecretValue"),
                "{requests}"
            );
            assert!(requests.contains(ARN), "{requests}");
        }
    }

    #[test]
    fn debug_shows_no_value() {
        let secrets = Secrets {
            values: vec![("AUTH_STATE_KEY", "s3cr3t-value".into())],
        };
        let shown = format!("{secrets:?}");
        assert!(
            shown.contains("AUTH_STATE_KEY") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
