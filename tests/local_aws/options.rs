//! Every option of the template deploys (issue 26): the stacks of the main test cover the
//! flows; these cover the switches a user may turn, one more stack each, into the same local
//! AWS (built once), and one update of a stack that keeps its pool and users. The template's
//! static checks (`make template-lint`, `tools/template_check.py`) cover the same sets without
//! deploying; this proves the emulator's CloudFormation takes them.

use super::*;

/// `tools/local_aws.py deploy`'s outcome.
pub(crate) fn deploy(
    aws: &LocalAws,
    stack: &str,
    flow: &str,
    params: &[&str],
    prepare: bool,
) -> Value {
    let mut args = vec![
        "deploy", "--port", &aws.port, "--stack", stack, "--flow", flow,
    ];
    for param in params {
        args.extend(["--param", param]);
    }
    if prepare {
        args.push("--prepare");
    }
    let out = local_aws(&args);
    assert!(out.status.success(), "tools/local_aws.py deploy {stack}");
    serde_json::from_slice(&out.stdout).expect("deploy outcome")
}

pub(crate) fn has(outcome: &Value, resource: &str) -> bool {
    outcome["resources"]
        .as_array()
        .is_some_and(|all| all.iter().any(|r| r == resource))
}

pub(crate) fn every_option_deploys(aws: &mut LocalAws) {
    let ok = |outcome: &Value, what: &str| {
        assert!(
            outcome["ok"] == true && outcome["status"] == "CREATE_COMPLETE",
            "{what}: {outcome}"
        );
    };

    // No state store: Verify's policy is left out whole (a statement-less policy is refused).
    let stateless = deploy(aws, "o-stateless", "email-otp", &["StateStore=false"], true);
    ok(&stateless, "StateStore=false");
    assert!(!has(&stateless, "AuthStateTable"), "{stateless}");
    aws.stacks.push(stateless["info"].clone());
    let before = aws.mails();
    let mut run = SignIn::start(aws, "o-stateless", None, &[]);
    run.expect_line("a code was sent to j***@example.com (attempt 1, 3 left)");
    let code = new_code(aws, before);
    run.answer(&code);
    let (exit, stdout) = run.finish();
    assert_signed_in(exit, &stdout);

    // Magic links signed with an HMAC key in Secrets Manager rather than KMS.
    let hmac = deploy(
        aws,
        "o-link-hmac",
        "magic-link",
        &[
            "MagicLinkSigning=hmac",
            "MagicLinkUrls=https://app.example.com/signin",
        ],
        false,
    );
    ok(&hmac, "MagicLinkSigning=hmac");
    assert!(
        has(&hmac, "MagicLinkSecret") && !has(&hmac, "MagicLinkKey"),
        "{hmac}"
    );

    // No account claim: no Pre Token Generation; self sign-up on.
    let plain = deploy(
        aws,
        "o-plain",
        "email-otp,select-account",
        &["SelectedAccountClaim=", "AllowSelfSignUp=true"],
        false,
    );
    ok(&plain, "no account claim, self sign-up");
    assert!(!has(&plain, "PreTokenGenerationFunction"), "{plain}");

    // The hand-off secret as an existing Secrets Manager secret (one the backend reads too):
    // the stack names it by ARN, and the functions read it at start.
    let out = local_aws(&[
        "secret",
        "--port",
        &aws.port,
        "--name",
        "e2e-hand-off",
        "--value",
        TOKEN_SECRET,
    ]);
    assert!(out.status.success(), "could not create the secret");
    let arn = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let by_arn = deploy(
        aws,
        "o-secret-arn",
        "email-otp",
        &[&format!("SignedTokenSecretArn={arn}")],
        true,
    );
    ok(&by_arn, "SignedTokenSecretArn");
    assert!(!has(&by_arn, "SignedTokenSecretValue"), "{by_arn}");
    aws.stacks.push(by_arn["info"].clone());
    let stack = aws.stack("o-secret-arn");
    let sub = stack["sub"].as_str().expect("sub").to_owned();
    let client = stack["handoffClientId"]
        .as_str()
        .expect("hand-off client")
        .to_owned();
    let token = signed_token(&sub, Some("o-secret-arn-1"));
    let run = SignIn::start_with(aws, "o-secret-arn", &client, "jane", None, &[&token]);
    let (exit, stdout) = run.finish();
    assert_signed_in(exit, &stdout);
    // Both forms of one secret: the template's rule refuses the deploy.
    let both = deploy(
        aws,
        "o-secret-both",
        "email-otp",
        &[
            &format!("SignedTokenSecretArn={arn}"),
            &format!("SignedTokenSecret={TOKEN_SECRET}"),
        ],
        false,
    );
    assert!(both["ok"] == false, "deployed with both forms: {both}");
    assert!(
        both["log"].to_string().contains("SignedTokenSecretArn"),
        "the refusal says which: {both}"
    );

    // A flow that sends e-mail without a sender does not deploy, and says what is missing.
    let refused = deploy(aws, "o-no-sender", "email-otp", &["OtpEmailFrom="], false);
    assert!(
        refused["ok"] == false,
        "deployed without a sender: {refused}"
    );
    let reasons = refused["failures"].to_string();
    assert!(
        reasons.contains("OtpEmailFromIsRequiredByAuthFlow"),
        "the failure names the parameter: {refused}"
    );

    // The post-deploy check users run on their account (`make smoke`), here on the local AWS.
    smoke(aws, "e2e-email");

    // An update of a running stack (another flow, another limit) keeps its pool and users.
    let pool = aws.stack("e2e-email")["userPoolId"].clone();
    let updated = deploy(
        aws,
        "e2e-email",
        "email-otp|sms-otp",
        &["OtpSendLimit=4", "StateTableDeletionProtection=false"],
        false,
    );
    assert!(
        updated["ok"] == true && updated["status"] == "UPDATE_COMPLETE",
        "update: {updated}"
    );
    assert_eq!(updated["outputs"]["UserPoolId"], pool, "the same pool");
    let before = aws.mails();
    let mut run = SignIn::start(aws, "e2e-email", None, &["email-otp"]);
    run.expect_line("a code was sent to j***@example.com (attempt 1, 3 left)");
    let code = new_code(aws, before);
    run.answer(&code);
    let (exit, stdout) = run.finish();
    assert_signed_in(exit, &stdout);
    println!(
        "every option deploys: no store, HMAC links, no claim with self sign-up, the hand-off secret by ARN; both forms and no sender refused; an update keeps the pool and jane"
    );
}

/// `tools/smoke.py` against `stack`: the stack's wiring, then a sign-in as a throwaway user,
/// typing the code from the local mailbox as a person would, and the user deleted after.
fn smoke(aws: &LocalAws, stack: &str) {
    use std::io::Read;
    let email = "smoke@example.com";
    let before = aws.mails();
    let mut child = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tools/smoke.py"))
        .args(["--stack", stack, "--email", email, "--cli"])
        .arg(cli())
        .env("AWS_ENDPOINT_URL", aws.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run tools/smoke.py");
    let code = new_code_to(aws, before, email);
    let stdin = child.stdin.as_mut().expect("stdin");
    writeln!(stdin, "{code}").expect("type the code");
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "smoke did not finish in two minutes"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("smoke output");
    println!("{out}");
    assert!(status.success(), "smoke failed:\n{out}");
    for line in [
        "ok   the pool's DefineAuthChallenge trigger is",
        "ok   the pool's CreateAuthChallenge trigger is",
        "ok   the pool's VerifyAuthChallengeResponse trigger is",
        "ok   the state table",
        "ok   it has point-in-time recovery",
        "ok   signed in with the CLI: tokens for the throwaway user",
        "ok   deleted the throwaway user",
        "smoke: all checks passed",
    ] {
        assert!(out.contains(line), "smoke said no {line:?}:\n{out}");
    }
    assert!(!out.contains("FAIL"), "{out}");
}
