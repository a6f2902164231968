//! Our sign-in on a user pool made outside the template (issue 31): a pool with settings,
//! triggers, tags and a user of its own; the stack deployed beside it with
//! `ExistingUserPoolId`; `cognito-signin pool` checks it, shows the change, attaches, and
//! detaches. Every setting the pool had reads back unchanged after the deploy and the dry run;
//! after the attach, but our slots and their record; after the detach, all of it (with the
//! one documented exception, the deprecated `UnusedAccountValidityDays` sent as 0).
//!
//! The emulator merges an `UpdateUserPool` into the pool where AWS resets what the request
//! leaves out, so the request itself is checked elsewhere: `cognito-signin`'s unit test sends
//! it through the SDK to a loopback endpoint and compares it with a full recorded description.

use super::options::{deploy, has};
use super::*;

const STACK: &str = "x-existing";

/// `UpdateUserPool`'s members (its API reference), which the request must send as described,
/// but for our slots and their record (LambdaConfig, UserPoolTags) and the two documented
/// exceptions (README: AdminCreateUserConfig's deprecated field, an SMS configuration
/// without a role).
const SENT_AS_DESCRIBED: &[&str] = &[
    "Policies",
    "DeletionProtection",
    "AutoVerifiedAttributes",
    "SmsVerificationMessage",
    "EmailVerificationMessage",
    "EmailVerificationSubject",
    "VerificationMessageTemplate",
    "SmsAuthenticationMessage",
    "UserAttributeUpdateSettings",
    "MfaConfiguration",
    "DeviceConfiguration",
    "EmailConfiguration",
    "UserPoolAddOns",
    "AccountRecoverySetting",
    "UserPoolTier",
    "KeyConfiguration",
    "IssuerConfiguration",
    "AcrConfiguration",
];

/// `cognito-signin pool ARGS --stack-outputs FILE` against the local AWS.
fn pool_command(aws: &LocalAws, args: &[&str], outputs: &Path) -> (Option<i32>, String, String) {
    pool_command_at(&aws.endpoint(), args, outputs)
}

/// The same, through `endpoint` (the recording proxy).
fn pool_command_at(endpoint: &str, args: &[&str], outputs: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(cli())
        .arg("pool")
        .args(args)
        .arg("--stack-outputs")
        .arg(outputs)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run cognito-signin pool");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("  pool {}: {stdout}{stderr}", args.join(" "));
    (out.status.code(), stdout, stderr)
}

/// The pool as DescribeUserPool gives it, without the time of its last change.
fn described(aws: &LocalAws, pool: &str) -> serde_json::Map<String, Value> {
    let out = local_aws(&["describe-pool", "--port", &aws.port, "--pool", pool]);
    assert!(out.status.success(), "describe-pool");
    let mut pool: serde_json::Map<String, Value> =
        serde_json::from_slice(&out.stdout).expect("pool JSON");
    pool.remove("LastModifiedDate");
    pool
}

/// Returns the codes it typed (for the leak check).
pub(crate) fn our_sign_in_on_an_existing_pool(aws: &mut LocalAws, page_port: u16) -> Vec<String> {
    let made = local_aws(&["existing-pool", "--port", &aws.port, "--name", "acme"]);
    assert!(made.status.success(), "existing-pool");
    let made: Value = serde_json::from_slice(&made.stdout).expect("existing pool ids");
    let pool = made["userPoolId"].as_str().expect("pool id").to_owned();
    let client = made["clientId"].as_str().expect("client id").to_owned();
    let before = described(aws, &pool);
    for kept in [
        "MfaConfiguration",
        "VerificationMessageTemplate",
        "LambdaConfig",
        "UserPoolTags",
    ] {
        assert!(
            before.contains_key(kept),
            "the pool was made without {kept}: {before:?}"
        );
    }

    // The stack: no pool, no client of its own; the pool untouched.
    let outcome = deploy(
        aws,
        STACK,
        "email-otp",
        &[
            &format!("ExistingUserPoolId={pool}"),
            &format!("ExistingUserPoolClientIds={client}"),
        ],
        false,
    );
    assert!(
        outcome["ok"] == true && outcome["status"] == "CREATE_COMPLETE",
        "deploy on an existing pool: {outcome}"
    );
    for own in ["UserPool", "UserPoolClient", "CognitoSmsRole"] {
        assert!(!has(&outcome, own), "{own} deployed on an existing pool");
    }
    assert_eq!(described(aws, &pool), before, "the deploy changed the pool");
    let outputs: Vec<Value> = outcome["outputs"]
        .as_object()
        .expect("outputs")
        .iter()
        .map(|(k, v)| serde_json::json!({"OutputKey": k, "OutputValue": v}))
        .collect();
    let file = target_dir().join("e2e-artifacts/x-existing-outputs.json");
    std::fs::create_dir_all(file.parent().expect("dir")).expect("artifacts");
    std::fs::write(&file, serde_json::to_vec(&outputs).expect("json")).expect("outputs file");
    let arn = |key: &str| outcome["outputs"][key].as_str().expect(key).to_owned();
    let (define, create, verify) = (
        arn("DefineAuthChallengeFunctionArn"),
        arn("CreateAuthChallengeFunctionArn"),
        arn("VerifyAuthChallengeFunctionArn"),
    );

    // Checked: this pool is safe for our sign-in.
    let (status, stdout, _) = pool_command(aws, &["check"], &file);
    assert_eq!(status, Some(0), "check: {stdout}");
    assert!(stdout.contains("safe: no finding"), "{stdout}");

    // The dry run says what it will change and keep, and changes nothing.
    let (status, stdout, stderr) = pool_command(aws, &["attach"], &file);
    assert_eq!(status, Some(0), "dry run: {stderr}");
    for line in [
        format!("change  DefineAuthChallenge: (empty) -> {define}"),
        format!("change  CreateAuthChallenge: (empty) -> {create}"),
        format!("change  VerifyAuthChallengeResponse: (empty) -> {verify}"),
        "keep    PreSignUp: arn:aws:lambda:us-east-1:000000000000:function:acme-pre-sign-up".into(),
        "keep    PostConfirmation: arn:aws:lambda:us-east-1:000000000000:function:acme-welcome"
            .into(),
    ] {
        assert!(stdout.contains(&line), "dry run lacks {line:?}: {stdout}");
    }
    assert!(stderr.contains("dry run: nothing changed"), "{stderr}");
    assert_eq!(
        described(aws, &pool),
        before,
        "the dry run changed the pool"
    );

    // Attached: our slots and their record, every other setting as it was, but the one
    // documented exception (README): the deprecated UnusedAccountValidityDays goes as 0
    // beside the password policy's TemporaryPasswordValidityDays, which Cognito requires.
    // Through a recording proxy (tools/recording_proxy.py), to read the request itself.
    let log = target_dir().join("e2e-artifacts/x-existing-requests.jsonl");
    let _ = std::fs::remove_file(&log);
    let mut proxy = Command::new(root().join(".venv/bin/python"));
    proxy
        .arg(root().join("tools/recording_proxy.py"))
        .args(["--target", &aws.endpoint(), "--log"])
        .arg(&log)
        .stdout(Stdio::piped());
    let mut proxy = Group::spawn(&mut proxy);
    let mut port = String::new();
    BufReader::new(proxy.0.stdout.as_mut().expect("proxy stdout"))
        .read_line(&mut port)
        .expect("the proxy's port");
    let through = format!("http://127.0.0.1:{}", port.trim());
    let (status, _, stderr) = pool_command_at(&through, &["attach", "--apply"], &file);
    assert_eq!(status, Some(0), "attach: {stderr}");
    drop(proxy);
    let recorded: Vec<Value> = std::fs::read_to_string(&log)
        .expect("the proxy's log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a logged request"))
        .collect();
    let find = |operation: &str| -> Vec<&Value> {
        recorded
            .iter()
            .filter(|r| r["target"].as_str().is_some_and(|t| t.ends_with(operation)))
            .collect()
    };
    let update = find(".UpdateUserPool");
    assert_eq!(update.len(), 1, "one UpdateUserPool: {recorded:?}");
    let sent: Value =
        serde_json::from_str(update[0]["request"].as_str().expect("body")).expect("json");
    let answer: Value = serde_json::from_str(
        find(".DescribeUserPool")[0]["response"]
            .as_str()
            .expect("body"),
    )
    .expect("json");
    let seen = &answer["UserPool"];
    for member in SENT_AS_DESCRIBED {
        assert_eq!(
            sent.get(*member),
            seen.get(*member),
            "{member} sent otherwise than described"
        );
    }
    assert_eq!(sent["PoolName"], seen["Name"]);
    assert_eq!(sent["UserPoolId"], seen["Id"]);
    for (slot, arn) in seen["LambdaConfig"].as_object().expect("LambdaConfig") {
        assert_eq!(
            &sent["LambdaConfig"][slot], arn,
            "the pool's {slot} trigger sent otherwise"
        );
    }
    for (tag, value) in seen["UserPoolTags"].as_object().expect("tags") {
        assert_eq!(
            &sent["UserPoolTags"][tag], value,
            "the pool's tag {tag} sent otherwise"
        );
    }
    let attached = described(aws, &pool);
    let mut kept = before.clone();
    assert!(
        kept["Policies"]["PasswordPolicy"]["TemporaryPasswordValidityDays"].is_number(),
        "{kept:?}"
    );
    kept["AdminCreateUserConfig"]
        .as_object_mut()
        .expect("AdminCreateUserConfig")
        .insert("UnusedAccountValidityDays".into(), 0.into());
    let mut want = kept.clone();
    let slots = want["LambdaConfig"].as_object_mut().expect("LambdaConfig");
    slots.insert("DefineAuthChallenge".into(), define.clone().into());
    slots.insert("CreateAuthChallenge".into(), create.into());
    slots.insert("VerifyAuthChallengeResponse".into(), verify.into());
    let mut ours = vec![
        "DefineAuthChallenge",
        "CreateAuthChallenge",
        "VerifyAuthChallengeResponse",
    ];
    // The stack deploys Pre Token Generation (a claim is named): at event version 2.
    if let Some(pre) = outcome["outputs"]["PreTokenGenerationFunctionArn"].as_str() {
        slots.insert("PreTokenGeneration".into(), pre.into());
        slots.insert(
            "PreTokenGenerationConfig".into(),
            serde_json::json!({"LambdaVersion": "V2_0", "LambdaArn": pre}),
        );
        ours.push("PreTokenGeneration");
    }
    let tags = want["UserPoolTags"].as_object_mut().expect("tags");
    for slot in ours {
        tags.insert(format!("custom-auth:before:{slot}"), "none".into());
    }
    assert_eq!(attached, want, "attach changed more than our slots");
    let (status, _, stderr) = pool_command(aws, &["attach", "--apply"], &file);
    assert_eq!(status, Some(0), "attach again: {stderr}");
    assert!(stderr.contains("nothing to change"), "{stderr}");

    // The pool's own user signs in through our flow.
    aws.stacks.push(serde_json::json!({
        "stack": STACK, "userPoolId": pool, "clientId": client,
    }));
    let mails = aws.mails();
    let mut run = SignIn::start_with(aws, STACK, &client, "olivia", None, &[]);
    run.expect_line("a code was sent to o***@example.com (attempt 1, 3 left)");
    let code = new_code_to(aws, mails, "olivia@example.com");
    run.answer(&code);
    let (exit, stdout) = run.finish();
    assert_eq!(exit, Some(0), "olivia's sign-in");
    let claims: Value = serde_json::from_str(&stdout).expect("ID token claims as JSON");
    assert_eq!(claims["cognito:username"], "olivia");
    assert_eq!(claims["email"], "olivia@example.com");
    assert_eq!(claims["token_use"], "id");

    // And through the sign-in page in Chromium.
    let (passed, result) = super::browser::run_page_script(&serde_json::json!({
        "endpoint": aws.endpoint(),
        "pagePort": page_port,
        "user": {"name": "olivia", "email": "olivia@example.com"},
        "stacks": {STACK: {"userPoolId": pool, "clientId": client, "flow": "email-otp"}},
        "only": ["existing"],
    }));
    assert!(
        passed,
        "the page on the existing pool (see `page:` lines above)"
    );
    let page_codes: Vec<String> = result["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    assert_eq!(page_codes.len(), 1, "{result}");
    let shot = super::browser::artifacts().join("existing-pool-signed-in.png");
    assert!(
        std::fs::metadata(&shot).map_or(0, |m| m.len()) > 1000,
        "no {}",
        shot.display()
    );

    // Detached: the pool reads back exactly as before.
    let (status, stdout, stderr) = pool_command(aws, &["detach", "--apply"], &file);
    assert_eq!(status, Some(0), "detach: {stderr}");
    assert!(stdout.contains(&format!("change  DefineAuthChallenge: {define} -> (empty)")));
    assert_eq!(described(aws, &pool), kept, "detach left the pool changed");
    eprintln!(
        "existing pool: deployed beside it, checked, attached (dry run first, the request recorded), its user signed in (CLI and page), detached; every other setting unchanged"
    );
    page_codes.into_iter().chain([code]).collect()
}
