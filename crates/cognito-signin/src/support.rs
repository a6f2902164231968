//! `cognito-signin support`: the support desk's commands for one user, with the operator's own
//! AWS credentials (the standard configuration: profile, SSO, environment) and the stack's
//! table, key and audit log group. The user is found in the pool first; a name that is no user
//! is refused. Every change writes an audit line to the stack's support log group (and to
//! standard error); a change whose line cannot be written says so and fails. Nothing secret is
//! printed: the key is read, used and dropped.

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use custom_auth::config::state::StateSettings;
use custom_auth::support::{Action, Person, act};
use custom_auth::telemetry::Audit;

pub const USAGE: &str = "\
usage: cognito-signin support ACTION --user-pool-id ID --username NAME --table TABLE
                              --key-secret ARN [--audit-log-group NAME] [--passkey ID]
                              [--send-limit N] [--lockout-after N]

  ACTION            show            the user's state: locked until, codes sent in the window,
                                    passkeys, remembered devices (as JSON)
                    unlock          end the lockout (wrong answers counted so far are forgotten)
                    reset-sends     end the send window (codes sent so far no longer count)
                    remove-passkey  remove the passkey --passkey ID (an id `show` lists)
                    forget-devices  forget every remembered device
  --table           the stack's AuthStateTableName output
  --key-secret      the stack's AuthStateKeySecretArn output (read, never printed)
  --audit-log-group the stack's SupportAuditLogGroup output: every change writes its audit
                    line there (required for changes)
  --send-limit, --lockout-after
                    the stack's OtpSendLimit and LockoutAfterFailures, when not the defaults
                    (5 and 10): `show` says \"locked\" by them

Uses your own AWS credentials and region (the standard configuration).";

/// Why the command could not run; its text is for the operator, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum SupportCliError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

/// The parsed command line.
#[derive(Debug, PartialEq, Eq)]
pub struct SupportArgs {
    action: Action,
    pool: String,
    user: String,
    table: String,
    key_secret: String,
    audit_log_group: Option<String>,
    send_limit: Option<String>,
    lockout_after: Option<String>,
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<SupportArgs, SupportCliError> {
    let usage = |m: &str| SupportCliError::Usage(m.to_owned());
    let action = args.next().ok_or_else(|| usage("name an action"))?;
    let (mut pool, mut user, mut table, mut key_secret) = (None, None, None, None);
    let (mut audit_log_group, mut passkey, mut send_limit, mut lockout_after) =
        (None, None, None, None);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--user-pool-id" => &mut pool,
            "--username" => &mut user,
            "--table" => &mut table,
            "--key-secret" => &mut key_secret,
            "--audit-log-group" => &mut audit_log_group,
            "--passkey" => &mut passkey,
            "--send-limit" => &mut send_limit,
            "--lockout-after" => &mut lockout_after,
            other => return Err(usage(&format!("unknown argument {other}"))),
        };
        let value = args
            .next()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| usage(&format!("{flag} needs a value")))?;
        *slot = Some(value);
    }
    let action = match (action.as_str(), passkey) {
        ("show", None) => Action::Show,
        ("unlock", None) => Action::Unlock,
        ("reset-sends", None) => Action::ResetSends,
        ("remove-passkey", Some(id)) => Action::RemovePasskey(id),
        ("remove-passkey", None) => return Err(usage("remove-passkey needs --passkey ID")),
        ("forget-devices", None) => Action::ForgetDevices,
        (_, Some(_)) => return Err(usage("--passkey goes with remove-passkey only")),
        (other, None) => return Err(usage(&format!("unknown action {other}"))),
    };
    if action != Action::Show && audit_log_group.is_none() {
        return Err(usage(
            "a change needs --audit-log-group: every change is audited",
        ));
    }
    let need =
        |v: Option<String>, flag: &str| v.ok_or_else(|| usage(&format!("{flag} is required")));
    Ok(SupportArgs {
        action,
        pool: need(pool, "--user-pool-id")?,
        user: need(user, "--username")?,
        table: need(table, "--table")?,
        key_secret: need(key_secret, "--key-secret")?,
        audit_log_group,
        send_limit,
        lockout_after,
    })
}

/// Runs the command; the state after it, as JSON.
pub async fn run(args: SupportArgs) -> Result<String, SupportCliError> {
    let failed = |m: String| SupportCliError::Failed(m);
    let sdk = aws_config::load_from_env().await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let found = cognito
        .admin_get_user()
        .user_pool_id(&args.pool)
        .username(&args.user)
        .send()
        .await
        .map_err(|e| match e.code() {
            Some("UserNotFoundException") => failed(format!(
                "no user {} in pool {}: nothing was done",
                args.user, args.pool
            )),
            code => failed(format!(
                "could not read the user from the pool ({})",
                code.unwrap_or("no answer")
            )),
        })?;
    // The pool's own name for the user (an alias or another case finds the same user).
    let user = found.username().to_owned();
    let sub = found
        .user_attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .map(str::to_owned)
        .ok_or_else(|| failed("the pool gave the user no sub".into()))?;
    let key = read_key(&sdk, &args.key_secret).await?;
    let lookup = |name: &str| match name {
        "AUTH_STATE_TABLE" => Some(args.table.clone()),
        "AUTH_STATE_KEY" => Some(key.clone()),
        "OTP_SEND_LIMIT" => args.send_limit.clone(),
        "LOCKOUT_AFTER_FAILURES" => args.lockout_after.clone(),
        _ => None,
    };
    let state = StateSettings::from_lookup(&lookup)
        .map_err(|e| failed(e.to_string()))?
        .ok_or_else(|| failed("no table".into()))?;
    let settings = aws_io::AwsSettings::from_lookup(|name| std::env::var(name).ok())
        .map_err(|e| failed(e.to_string()))?;
    let store = aws_io::DynamoStore::with_sdk(&state.table, settings, &sdk);
    let person = Person {
        pool: &args.pool,
        user: &user,
        sub: &sub,
    };
    let done = act(
        &state.key,
        &state.limits,
        &store,
        person,
        &args.action,
        aws_io::unix_now(),
    )
    .await
    .map_err(|e| failed(e.to_string()))?;
    if let (Some(audit), Some(group)) = (&done.audit, &args.audit_log_group) {
        write_audit(&sdk, group, audit).await?;
    }
    serde_json::to_string_pretty(&done.state).map_err(|e| failed(e.to_string()))
}

/// The state key from Secrets Manager.
async fn read_key(sdk: &SdkConfig, arn: &str) -> Result<String, SupportCliError> {
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            SupportCliError::Failed(format!(
                "could not read the state key ({})",
                e.code().unwrap_or("no answer")
            ))
        })?
        .secret_string()
        .map(str::to_owned)
        .ok_or_else(|| SupportCliError::Failed("the state key is not a string".into()))
}

/// Writes the audit line of a change to `group` (a stream per run, named by time and the
/// operator's local user) and to standard error.
async fn write_audit(sdk: &SdkConfig, group: &str, audit: &Audit) -> Result<(), SupportCliError> {
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let now = aws_io::unix_now();
    let mut audit = audit.clone();
    let operator = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    audit.detail.push(("operator", operator.clone()));
    let line = audit.line(now);
    eprintln!("audit: {line}");
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let stream = format!(
        "support-{}-{}",
        custom_auth::encoding::rfc3339(now).replace(':', "-"),
        operator
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    );
    let failed = |what: &str, code: Option<&str>| {
        SupportCliError::Failed(format!(
            "the change was made, but its audit line could not be written ({what}: {}); keep the line above",
            code.unwrap_or("no answer")
        ))
    };
    if let Err(e) = logs
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(&stream)
        .send()
        .await
        && e.code() != Some("ResourceAlreadyExistsException")
    {
        return Err(failed("CreateLogStream", e.code()));
    }
    let event = InputLogEvent::builder()
        .timestamp(i64::try_from(now.saturating_mul(1000)).unwrap_or(i64::MAX))
        .message(line)
        .build()
        .map_err(|_| failed("the event", None))?;
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(&stream)
        .log_events(event)
        .send()
        .await
        .map_err(|e| failed("PutLogEvents", e.code()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(list: &[&str]) -> Result<SupportArgs, SupportCliError> {
        parse(list.iter().map(|s| s.to_string()))
    }

    const BASE: [&str; 8] = [
        "--user-pool-id",
        "us-east-1_X",
        "--username",
        "jane",
        "--table",
        "t",
        "--key-secret",
        "arn:aws:secretsmanager:us-east-1:1:secret:k",
    ];

    #[test]
    fn actions_and_their_flags() {
        let with = |action: &str, extra: &[&str]| {
            let mut list = vec![action];
            list.extend(BASE);
            list.extend(extra);
            parsed(&list)
        };
        assert_eq!(with("show", &[]).unwrap().action, Action::Show);
        let audit = ["--audit-log-group", "/custom-auth/s/support"];
        assert_eq!(with("unlock", &audit).unwrap().action, Action::Unlock);
        assert_eq!(
            with("reset-sends", &audit).unwrap().action,
            Action::ResetSends
        );
        assert_eq!(
            with("forget-devices", &audit).unwrap().action,
            Action::ForgetDevices
        );
        let mut remove = audit.to_vec();
        remove.extend(["--passkey", "BwcH"]);
        assert_eq!(
            with("remove-passkey", &remove).unwrap().action,
            Action::RemovePasskey("BwcH".into())
        );
        for (action, extra, why) in [
            ("unlock", &[][..], "--audit-log-group"),
            ("remove-passkey", &audit[..], "--passkey ID"),
            ("show", &["--passkey", "x"][..], "remove-passkey only"),
            ("delete-user", &[][..], "unknown action"),
            ("show", &["--bogus", "1"][..], "unknown argument"),
        ] {
            let err = with(action, extra).expect_err(action).to_string();
            assert!(err.contains(why), "{action} {extra:?}: {err}");
        }
        let err = parsed(&["show", "--username", "jane"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--user-pool-id is required"), "{err}");
    }
}
