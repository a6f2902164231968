//! `cognito-signin pool`: our sign-in on a user pool that already exists. `check` reads the
//! pool and its app clients and says what is unsafe; `attach` puts the stack's functions into
//! the pool's trigger slots, and `detach` puts back what was there. Both print exactly what
//! they will change and change nothing without `--apply`; every other setting and trigger is
//! sent back as `DescribeUserPool` returned it (update.rs), since `UpdateUserPool` resets
//! whatever it is not given.

mod findings;
mod plan;
mod update;

use std::collections::HashMap;
use std::fmt::Write as _;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{LambdaConfigType, UserPoolTierType, UserPoolType};

use findings::findings;
use plan::{Plan, Slot};

pub const USAGE: &str = "\
usage: cognito-signin pool check|attach|detach --stack-outputs FILE [--apply] [--replace]

  check            the pool and the stack's app clients against our rules: each unsafe
                   setting and its fix (changes nothing; exit status 3 when there are any)
  attach           the stack's functions into the pool's trigger slots (Define, Create, Verify,
                   and Pre Token Generation when the stack deploys it); prints exactly what it
                   changes and keeps; every other setting and trigger stays as it is
  detach           puts back what those slots held before attach (recorded in the pool's tags,
                   custom-auth:before:<slot>)
  --stack-outputs  the stack's outputs as JSON, `-` for standard input:
                     sam list stack-outputs --stack-name NAME --output json > outputs.json
  --apply          make the change (a dry run without it)
  --replace        attach: take a slot that holds another function (detach puts it back)

Uses your own AWS credentials and region (the standard configuration); attach and detach
need cognito-idp:DescribeUserPool, DescribeUserPoolClient, UpdateUserPool and UntagResource
(and iam:PassRole for the pool's SMS role, which the update sends back unchanged).";

/// Why the command could not run; its text is for the operator.
#[derive(Debug, thiserror::Error)]
pub enum PoolCliError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
    /// The report was printed; the pool has unsafe settings (`check`).
    #[error("{0} finding(s): the pool is not safe for our sign-in as it is")]
    Findings(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Check,
    Attach,
    Detach,
}

/// The parsed command line.
#[derive(Debug, PartialEq, Eq)]
pub struct PoolArgs {
    action: Action,
    outputs: String,
    apply: bool,
    replace: bool,
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<PoolArgs, PoolCliError> {
    let usage = |m: String| PoolCliError::Usage(m);
    let action = match args.next().as_deref() {
        Some("check") => Action::Check,
        Some("attach") => Action::Attach,
        Some("detach") => Action::Detach,
        Some(other) => return Err(usage(format!("unknown action {other:?}"))),
        None => return Err(usage("name an action".into())),
    };
    let (mut outputs, mut apply, mut replace) = (None, false, false);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--apply" => apply = true,
            "--replace" => replace = true,
            "--stack-outputs" => {
                outputs = Some(
                    args.next()
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| usage("--stack-outputs needs a value".into()))?,
                );
            }
            other => return Err(usage(format!("unknown argument {other}"))),
        }
    }
    if action == Action::Check && (apply || replace) {
        return Err(usage(
            "check changes nothing: no --apply or --replace".into(),
        ));
    }
    if action == Action::Detach && replace {
        return Err(usage("--replace is for attach".into()));
    }
    Ok(PoolArgs {
        action,
        outputs: outputs.ok_or_else(|| usage("--stack-outputs is required".into()))?,
        apply,
        replace,
    })
}

/// The stack's outputs this command reads.
#[derive(Debug, PartialEq, Eq)]
struct Stack {
    pool: String,
    clients: Vec<String>,
    flow: String,
    existing: bool,
    slots: Vec<(Slot, String)>,
}

impl Stack {
    /// From `sam list stack-outputs --output json` (a list of `OutputKey`/`OutputValue`), or
    /// CloudFormation's `Stacks[0].Outputs`, which has the same shape.
    fn from_json(text: &str) -> Result<Stack, PoolCliError> {
        let bad = |m: &str| PoolCliError::Failed(format!("--stack-outputs: {m}"));
        let list: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|_| {
            bad("expected the JSON list `sam list stack-outputs --output json` prints")
        })?;
        let outputs: HashMap<&str, &str> = list
            .iter()
            .filter_map(|o| Some((o["OutputKey"].as_str()?, o["OutputValue"].as_str()?)))
            .collect();
        let get = |key: &str| {
            outputs
                .get(key)
                .map(|v| v.to_string())
                .ok_or_else(|| bad(&format!("no {key} (a stack of this template's version?)")))
        };
        let mut slots = vec![
            (Slot::Define, get("DefineAuthChallengeFunctionArn")?),
            (Slot::Create, get("CreateAuthChallengeFunctionArn")?),
            (Slot::Verify, get("VerifyAuthChallengeFunctionArn")?),
        ];
        if let Ok(arn) = get("PreTokenGenerationFunctionArn") {
            slots.push((Slot::PreToken, arn));
        }
        Ok(Stack {
            pool: get("UserPoolId")?,
            clients: get("AppClientIds")?.split(',').map(str::to_owned).collect(),
            flow: get("AuthFlow")?,
            existing: get("ExistingUserPool")? == "true",
            slots,
        })
    }
}

fn failed(what: &str, e: impl ProvideErrorMetadata) -> PoolCliError {
    PoolCliError::Failed(format!(
        "{what}: {}: {}",
        e.code().unwrap_or("error"),
        e.message().unwrap_or("no message")
    ))
}

/// Reads the pool, reports, and (with `--apply`) changes our slots.
pub async fn run(args: PoolArgs) -> Result<String, PoolCliError> {
    let text = if args.outputs == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(&args.outputs)
    }
    .map_err(|e| {
        PoolCliError::Failed(format!("cannot read --stack-outputs {}: {e}", args.outputs))
    })?;
    let stack = Stack::from_json(&text)?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = Client::new(&sdk);
    let pool = describe(&client, &stack.pool).await?;
    let mut clients = Vec::new();
    for id in &stack.clients {
        let described = client
            .describe_user_pool_client()
            .user_pool_id(&stack.pool)
            .client_id(id)
            .send()
            .await
            .map_err(|e| {
                failed(
                    &format!("DescribeUserPoolClient {id}"),
                    e.into_service_error(),
                )
            })?;
        clients.extend(described.user_pool_client().cloned());
    }
    let found = findings(&pool, &clients, &stack.flow);
    let mut report = String::new();
    let _ = writeln!(
        report,
        "pool {} ({})",
        stack.pool,
        pool.name().unwrap_or_default()
    );
    if found.is_empty() {
        let _ = writeln!(report, "safe: no finding against our rules");
    }
    for f in &found {
        let _ = writeln!(
            report,
            "unsafe  {}: {}\n        fix: {}",
            f.at, f.what, f.fix
        );
    }
    if args.action == Action::Check {
        print!("{report}");
        return if found.is_empty() {
            Ok("check: nothing to fix".into())
        } else {
            Err(PoolCliError::Findings(found.len()))
        };
    }
    if !stack.existing {
        return Err(PoolCliError::Failed(
            "this stack created its own pool, and its template wires the triggers: attach and detach are for a stack deployed with ExistingUserPoolId".into(),
        ));
    }
    let current = pool
        .lambda_config()
        .cloned()
        .unwrap_or_else(|| LambdaConfigType::builder().build());
    let tags = pool.user_pool_tags().cloned().unwrap_or_default();
    let plan = match args.action {
        Action::Attach => {
            if stack.slots.iter().any(|(s, _)| *s == Slot::PreToken)
                && matches!(pool.user_pool_tier(), None | Some(UserPoolTierType::Lite))
            {
                return Err(PoolCliError::Failed(format!(
                    "the stack's Pre Token Generation runs at event version 2, which needs the Essentials or Plus plan; this pool is on {}: change the plan yourself (it is billed), or deploy without SelectedAccountClaim and SignInMethodsClaim",
                    pool.user_pool_tier().map_or("LITE", |t| t.as_str())
                )));
            }
            plan::attach(&current, &tags, &stack.slots, args.replace)
                .map_err(|e| PoolCliError::Failed(e.to_string()))?
        }
        _ => plan::detach(&current, &tags, &stack.slots),
    };
    describe_plan(&mut report, &plan, &current);
    print!("{report}");
    if plan.changes.is_empty() && plan.forget.is_empty() {
        return Ok("nothing to change".into());
    }
    if !args.apply {
        return Ok("dry run: nothing changed (run again with --apply)".into());
    }
    update::request(
        &client,
        &pool,
        plan.lambda_config(&current),
        plan.tags(&tags),
    )
    .send()
    .await
    .map_err(|e| failed("UpdateUserPool", e.into_service_error()))?;
    // UpdateUserPool may add tags without removing others: remove the record explicitly.
    if !plan.forget.is_empty() {
        client
            .untag_resource()
            .resource_arn(pool.arn().unwrap_or_default())
            .set_tag_keys(Some(plan.forget.clone()))
            .send()
            .await
            .map_err(|e| failed("UntagResource", e.into_service_error()))?;
    }
    let after = describe(&client, &stack.pool).await?;
    let now = after
        .lambda_config()
        .cloned()
        .unwrap_or_else(|| LambdaConfigType::builder().build());
    let wanted = plan.lambda_config(&current);
    for change in &plan.changes {
        if change.slot.occupant(&now) != change.slot.occupant(&wanted) {
            return Err(PoolCliError::Failed(format!(
                "{} reads back as {:?} after the update: check the pool",
                change.slot.name(),
                change.slot.occupant(&now)
            )));
        }
    }
    Ok(match args.action {
        Action::Attach => "attached: the pool's sign-ins now run the stack's flow".into(),
        _ => "detached: the slots hold what they held before attach".into(),
    })
}

async fn describe(client: &Client, pool: &str) -> Result<UserPoolType, PoolCliError> {
    client
        .describe_user_pool()
        .user_pool_id(pool)
        .send()
        .await
        .map_err(|e| failed("DescribeUserPool", e.into_service_error()))?
        .user_pool
        .ok_or_else(|| PoolCliError::Failed("DescribeUserPool returned no pool".into()))
}

/// Lines for the operator: each change, each slot left, and the other triggers kept.
fn describe_plan(report: &mut String, plan: &Plan, current: &LambdaConfigType) {
    let name = |v: &Option<String>| v.clone().unwrap_or_else(|| "(empty)".into());
    for c in &plan.changes {
        let _ = writeln!(
            report,
            "change  {}: {} -> {}",
            c.slot.name(),
            name(&c.from),
            name(&c.to)
        );
    }
    for (key, value) in &plan.record {
        let _ = writeln!(report, "record  tag {key} = {value}");
    }
    for key in &plan.forget {
        let _ = writeln!(report, "remove  tag {key}");
    }
    for note in &plan.notes {
        let _ = writeln!(report, "leave   {note}");
    }
    let others = [
        ("PreSignUp", &current.pre_sign_up),
        ("CustomMessage", &current.custom_message),
        ("PostConfirmation", &current.post_confirmation),
        ("PreAuthentication", &current.pre_authentication),
        ("PostAuthentication", &current.post_authentication),
        ("UserMigration", &current.user_migration),
    ];
    for (slot, arn) in others.iter().filter_map(|(s, a)| Some((s, a.as_ref()?))) {
        let _ = writeln!(report, "keep    {slot}: {arn}");
    }
    let _ = writeln!(
        report,
        "keep    every other setting, as DescribeUserPool returned it"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<PoolArgs, PoolCliError> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments() {
        let a = args(&["attach", "--stack-outputs", "o.json", "--apply"]).unwrap();
        assert_eq!(
            (a.action, a.apply, a.replace),
            (Action::Attach, true, false)
        );
        let refused = [
            (&["frob"][..], "unknown action"),
            (&[][..], "name an action"),
            (&["check"][..], "--stack-outputs is required"),
            (
                &["check", "--stack-outputs", "o", "--apply"][..],
                "changes nothing",
            ),
            (
                &["detach", "--stack-outputs", "o", "--replace"][..],
                "for attach",
            ),
            (&["attach", "--stack-outputs"][..], "needs a value"),
        ];
        for (list, says) in refused {
            let e = args(list).unwrap_err().to_string();
            assert!(e.contains(says), "{list:?}: {e}");
        }
    }

    #[test]
    fn stack_outputs() {
        let json = r#"[
            {"OutputKey": "UserPoolId", "OutputValue": "us-east-1_X"},
            {"OutputKey": "AppClientIds", "OutputValue": "a1,b2"},
            {"OutputKey": "AuthFlow", "OutputValue": "email-otp"},
            {"OutputKey": "ExistingUserPool", "OutputValue": "true"},
            {"OutputKey": "DefineAuthChallengeFunctionArn", "OutputValue": "d"},
            {"OutputKey": "CreateAuthChallengeFunctionArn", "OutputValue": "c"},
            {"OutputKey": "VerifyAuthChallengeFunctionArn", "OutputValue": "v"}
        ]"#;
        let stack = Stack::from_json(json).unwrap();
        assert_eq!(stack.clients, ["a1", "b2"]);
        assert!(stack.existing);
        assert_eq!(stack.slots.len(), 3);
        let missing = Stack::from_json("[]").unwrap_err().to_string();
        assert!(
            missing.contains("no DefineAuthChallengeFunctionArn"),
            "{missing}"
        );
        assert!(Stack::from_json("{}").is_err());
    }
}
