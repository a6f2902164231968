//! End to end: `template.yaml` built with `sam build`, deployed with `sam deploy` into a fresh
//! ministack on a free loopback port, and signed in through the `cognito-signin` CLI as a person
//! would, answering the e-mail code read from the local SES mailbox. The emulator runs our real
//! `bootstrap` binaries as the Cognito triggers.
//!
//! Needs the project `.venv` (`make venv`); `make e2e` and `make test` provide it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use test_support::contains_word;

#[path = "local_aws/arm64.rs"]
mod arm64;
#[path = "local_aws/browser.rs"]
mod browser;
#[path = "local_aws/clients.rs"]
mod clients;
#[path = "local_aws/existing_pool.rs"]
mod existing_pool;
#[path = "local_aws/hostile.rs"]
mod hostile;
#[path = "local_aws/load.rs"]
mod load;
#[path = "local_aws/operations.rs"]
mod operations;
#[path = "local_aws/options.rs"]
mod options;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, as cargo itself reads it.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// A child in its own process group, killed with its group on drop.
struct Group(Child);

impl Group {
    fn spawn(command: &mut Command) -> Group {
        Group(command.process_group(0).spawn().expect("spawn"))
    }

    /// Whether the process still runs (it did not exit or crash).
    fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn local_aws(args: &[&str]) -> Output {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "the project .venv is missing: run `make venv`"
    );
    Command::new(python)
        .arg(root().join("tools/local_aws.py"))
        .args(args)
        .current_dir(root())
        // The functions log JSON at the most verbose level the template offers, so the leak
        // check below sees the most. Release builds compile debug and trace callsites out
        // (dependencies would log raw events and SDK request bodies there): trace writes info.
        .env("LOCAL_AWS_LOG_LEVEL", "trace")
        .stderr(Stdio::inherit())
        .output()
        .expect("run tools/local_aws.py")
}

/// The local AWS of one test run; stopped on drop, also when the test fails.
struct LocalAws {
    port: String,
    stacks: Vec<Value>,
}

impl LocalAws {
    fn up(stacks: &[(&str, &str)], params: &[&str]) -> LocalAws {
        let port = free_port().to_string();
        let mut args = vec!["up", "--port", port.as_str()];
        for (stack, flow) in stacks {
            args.extend(["--stack", stack, "--flow", flow]);
        }
        for param in params {
            args.extend(["--param", param]);
        }
        let mut aws = LocalAws {
            port: port.clone(),
            stacks: Vec::new(),
        };
        let out = local_aws(&args);
        assert!(out.status.success(), "local AWS did not come up");
        aws.stacks = serde_json::from_slice(&out.stdout).expect("stack outputs");
        aws
    }

    fn stack(&self, name: &str) -> &Value {
        self.stacks
            .iter()
            .find(|s| s["stack"] == name)
            .expect("stack")
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many e-mails the local SES has accepted.
    fn mails(&self) -> usize {
        let out = http_get(&self.port, "/_ministack/ses/messages");
        out.matches("\"MessageId\"").count()
    }

    /// How many e-mails the local SES has accepted for `to`.
    fn mails_to(&self, to: &str) -> usize {
        let out = http_get(&self.port, "/_ministack/ses/messages");
        let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let Ok(json) = serde_json::from_str::<Value>(body) else {
            // A chunked body: count the address in the raw text instead.
            return out.matches(&format!("\"{to}\"")).count();
        };
        json["messages"]
            .as_object()
            .into_iter()
            .flat_map(|accounts| accounts.values())
            .filter_map(Value::as_array)
            .flatten()
            .filter(|m| {
                m["To"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|a| a == to))
            })
            .count()
    }

    /// Creates (or resets) a user with a verified address on `stack`.
    fn user(&self, stack: &str, name: &str) -> String {
        let email = format!("{name}@example.com");
        let out = local_aws(&[
            "user",
            "--port",
            &self.port,
            "--stack",
            stack,
            "--username",
            name,
            "--email",
            &email,
        ]);
        assert!(out.status.success(), "could not set up user {name}");
        email
    }

    fn newest_code(&self, to: &str) -> Option<String> {
        let out = local_aws(&["code", "--port", &self.port, "--to", to]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        local_aws(&["down", "--port", &self.port]);
    }
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free loopback port")
        .port()
}

fn http_get(port: &str, path: &str) -> String {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut body = String::new();
    stream.read_to_string(&mut body).expect("read");
    body
}

/// The sign-in CLI, as `make unit` built it: `cargo test --workspace` builds the binary for its
/// own integration test (crates/cognito-signin/tests), with the features of every other test, so
/// this is a no-op after `make unit`. (`cargo build -p cognito-signin` would resolve features for
/// the CLI alone and compile the AWS SDK's crates again: minutes on a fresh 2-core machine.)
fn cli() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let mut cargo = Command::new(env!("CARGO"));
        // Without the variables cargo sets for a test (CARGO_MANIFEST_DIR, CARGO_PKG_NAME,
        // ...), which `make unit` ran without: build scripts that watch them (ring's) would
        // run again and rebuild all that depends on them, two minutes on a fresh clone.
        const SET_FOR_TESTS: &[&str] = &[
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
            "OUT_DIR",
        ];
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if SET_FOR_TESTS.iter().any(|p| name.starts_with(p)) {
                cargo.env_remove(&*name);
            }
        }
        let status = cargo
            .args([
                "test",
                "--workspace",
                "--exclude",
                "e2e",
                "--locked",
                "--no-run",
            ])
            .current_dir(root())
            .status()
            .expect("cargo test --no-run");
        assert!(status.success(), "building the CLI failed");
    });
    target_dir().join("debug/cognito-signin")
}

struct SignIn {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl SignIn {
    fn start(aws: &LocalAws, stack: &str, password: Option<&str>, answers: &[&str]) -> SignIn {
        SignIn::start_as(aws, stack, "jane", password, answers)
    }

    fn start_as(
        aws: &LocalAws,
        stack: &str,
        user: &str,
        password: Option<&str>,
        answers: &[&str],
    ) -> SignIn {
        let client = aws.stack(stack)["clientId"]
            .as_str()
            .expect("client id")
            .to_owned();
        SignIn::start_with(aws, stack, &client, user, password, answers)
    }

    fn start_with(
        aws: &LocalAws,
        stack: &str,
        client: &str,
        user: &str,
        password: Option<&str>,
        answers: &[&str],
    ) -> SignIn {
        SignIn::start_args(aws, stack, client, user, password, answers, &[])
    }

    /// [`SignIn::start_with`] with `extra` arguments for the CLI.
    fn start_args(
        aws: &LocalAws,
        stack: &str,
        client: &str,
        user: &str,
        password: Option<&str>,
        answers: &[&str],
        extra: &[&str],
    ) -> SignIn {
        let s = aws.stack(stack);
        let mut cmd = Command::new(cli());
        cmd.args(["--user-pool-id", s["userPoolId"].as_str().unwrap()])
            .args(["--client-id", client])
            .args(["--username", user])
            .env("AWS_ENDPOINT_URL", aws.endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(p) = password {
            // As README says to: from the environment, never on the command line.
            cmd.arg("--with-password").env("COGNITO_SIGNIN_PASSWORD", p);
        }
        for a in answers {
            cmd.args(["--answer", a]);
        }
        cmd.args(extra);
        let mut child = cmd.spawn().expect("spawn cognito-signin");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("  cli: {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        SignIn { child, lines }
    }

    /// Waits for a stderr line containing one of `texts`; the index of the one seen, or
    /// `None` if the CLI ended (or a minute passed) first.
    fn first_of(&self, texts: &[&str]) -> Option<usize> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_secs(1)) {
                Ok(line) => {
                    if let Some(i) = texts.iter().position(|t| line.contains(t)) {
                        return Some(i);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        None
    }

    /// Waits for a stderr line containing `text`.
    fn expect_line(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_secs(1)) {
                Ok(line) if line.contains(text) => return,
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("the CLI never printed {text:?}");
    }

    fn answer(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{text}").expect("write answer");
    }

    /// Exit code and stdout, killing the CLI if it runs past a minute.
    fn finish(mut self) -> (Option<i32>, String) {
        use std::io::Read;
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stdout = String::new();
                if let Some(mut out) = self.child.stdout.take() {
                    out.read_to_string(&mut stdout).expect("stdout");
                }
                return (status.code(), stdout);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the CLI did not finish within a minute");
    }
}

impl Drop for SignIn {
    /// A CLI still waiting (for a code nobody will type) is stopped with its test.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn new_code(aws: &LocalAws, mails_before: usize) -> String {
    new_code_to(aws, mails_before, "jane@example.com")
}

fn new_code_to(aws: &LocalAws, mails_before: usize, to: &str) -> String {
    for _ in 0..100 {
        if aws.mails() > mails_before
            && let Some(code) = aws.newest_code(to)
        {
            return code;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no new e-mail reached the local mailbox");
}

fn assert_signed_in(code: Option<i32>, stdout: &str) {
    assert_eq!(code, Some(0), "sign-in should succeed");
    let claims: Value = serde_json::from_str(stdout).expect("ID token claims as JSON");
    assert_eq!(claims["cognito:username"], "jane");
    assert_eq!(claims["email"], "jane@example.com");
    assert_eq!(claims["token_use"], "id");
}

/// The ID token's `signin_amr` claim lists `want` (issue 29: Verify recorded them for this
/// sign-in, Pre Token Generation took them).
fn assert_methods(stdout: &str, want: &[&str]) {
    let claims: Value = serde_json::from_str(stdout).expect("claims");
    assert_eq!(claims["signin_amr"], serde_json::json!(want), "{claims}");
}

#[test]
fn sign_in_through_the_local_aws() {
    // The default architecture builds beside the whole run (arm64.rs).
    let arm64 = arm64::Arm64Build::start();
    // The sign-in page's port is fixed before the deploy: magic links may open only the pages
    // the stack lists, and passkeys only the origins it names.
    let page_port = free_port();
    let link_page = format!("MagicLinkUrls=http://127.0.0.1:{page_port}/e2e-link/");
    let passkey_origin = format!("PasskeyOrigins=http://localhost:{page_port}");
    let mut aws = LocalAws::up(
        &[
            ("e2e-email", "email-otp"),
            ("e2e-password", "password,email-otp"),
            ("e2e-token", "signed-token"),
            ("e2e-account", "select-account"),
            ("e2e-choice", "email-otp|sms-otp"),
            ("e2e-link", "magic-link"),
            ("e2e-passkey", "passkey|email-otp"),
            ("e2e-device", "device|email-otp"),
        ],
        &[
            // The state store with small limits and short windows, so a test can reach them
            // and wait them out.
            "OtpSendLimit=3",
            "OtpSendWindowSeconds=30",
            "LockoutAfterFailures=4",
            "LockoutWindowSeconds=30",
            &format!("SignedTokenSecret={TOKEN_SECRET}"),
            "SignedTokenIssuer=e2e-backend",
            "StateTableDeletionProtection=false",
            // Every stack's tokens say how the sign-in passed (issue 29).
            "SignInMethodsClaim=signin_amr",
            // Short-lived links, as many as the send limit allows: the test waits one out.
            &link_page,
            "MagicLinkTtlSeconds=20",
            "MagicLinkMinIntervalSeconds=0",
            // Passkeys are bound to the page's host (localhost: an RP id is a domain).
            "PasskeyRpId=localhost",
            &passkey_origin,
            "PasskeyTimeoutSeconds=60",
            // The browser test waits a sign-in out to see the page ask for a fresh one.
            "PasskeyRegistrationMaxAgeSeconds=10",
            // Alarms notify an address (the success-ratio alarm, metric math, which the local
            // AWS does not run, is left out by tools/local_aws.py).
            "AlarmEmail=ops@example.com",
        ],
    );
    operations::alarms_and_dashboards_deployed(&aws);

    // The bootstraps sam built, run alone, against the hostile corpus.
    hostile::events_fail_closed_and_every_function_keeps_serving();

    // email-otp: the code is read from the local mailbox and typed in.
    let before = aws.mails();
    let mut run = SignIn::start(&aws, "e2e-email", None, &[]);
    run.expect_line("a code was sent to j***@example.com (attempt 1, 3 left)");
    let code = new_code(&aws, before);
    run.answer(&code);
    let (exit, stdout) = run.finish();
    assert_signed_in(exit, &stdout);
    assert_methods(&stdout, &["otp"]);
    let mut codes = vec![code];

    // password,email-otp: SRP first, then the code.
    let before = aws.mails();
    let mut run = SignIn::start(&aws, "e2e-password", Some("Demo-Passw0rd!"), &[]);
    run.expect_line("password: proof sent");
    run.expect_line("a code was sent to j***@example.com");
    let code = new_code(&aws, before);
    run.answer(&code);
    let (exit, stdout) = run.finish();
    assert_signed_in(exit, &stdout);
    assert_methods(&stdout, &["pwd", "otp", "mfa"]);
    codes.push(code);

    // A wrong password fails, and no code is sent.
    let before = aws.mails();
    let run = SignIn::start(&aws, "e2e-password", Some("Wrong-Passw0rd!"), &[]);
    let (exit, stdout) = run.finish();
    assert_eq!(exit, Some(2), "a wrong password must fail the sign-in");
    assert!(stdout.is_empty(), "no claims on failure");
    assert_eq!(aws.mails(), before, "no code for a wrong password");

    // Three wrong codes fail the sign-in; the retries reuse the first code: one e-mail.
    let before = aws.mails();
    let run = SignIn::start(&aws, "e2e-email", None, &["000000", "000001", "000002"]);
    let (exit, stdout) = run.finish();
    assert_eq!(exit, Some(2), "wrong codes must fail the sign-in");
    assert!(stdout.is_empty());
    assert_eq!(aws.mails(), before + 1, "one e-mail for all three tries");
    codes.extend(aws.newest_code("jane@example.com"));

    // A user whose address is not verified gets a challenge like anyone's, but no e-mail, and
    // so no tokens. Once the address is verified, the code reaches it.
    let user = |verified: &str| {
        let out = local_aws(&[
            "user",
            "--port",
            &aws.port,
            "--stack",
            "e2e-email",
            "--username",
            "sam",
            "--email",
            "sam@example.com",
            "--email-verified",
            verified,
        ]);
        assert!(out.status.success(), "could not set up user sam");
    };
    user("false");
    let before = aws.mails();
    let run = SignIn::start_as(
        &aws,
        "e2e-email",
        "sam",
        None,
        &["000000", "000001", "000002"],
    );
    run.expect_line("a code was sent to s***@example.com (attempt 1, 3 left)");
    let (exit, stdout) = run.finish();
    assert_eq!(exit, Some(2), "an unverified address must not sign in");
    assert!(stdout.is_empty(), "no claims on failure");
    assert_eq!(aws.mails(), before, "no e-mail to an unverified address");
    user("true");
    let before = aws.mails();
    let mut run = SignIn::start_as(&aws, "e2e-email", "sam", None, &[]);
    run.expect_line("a code was sent to s***@example.com");
    let code = new_code_to(&aws, before, "sam@example.com");
    run.answer(&code);
    let (exit, stdout) = run.finish();
    assert_eq!(exit, Some(0), "a verified address signs in");
    let claims: Value = serde_json::from_str(&stdout).expect("claims");
    assert_eq!(claims["cognito:username"], "sam");
    codes.push(code);

    // The deployed pool and client carry the template's rules (the emulator records them but
    // enforces none: see README, "The local emulator versus AWS").
    let out = local_aws(&["describe", "--port", &aws.port, "--stack", "e2e-email"]);
    assert!(out.status.success(), "could not describe the pool");
    let settings: Value = serde_json::from_slice(&out.stdout).expect("settings");
    assert_eq!(settings["allowAdminCreateUserOnly"], true, "{settings}");
    assert_eq!(
        settings["writeAttributes"],
        serde_json::json!(["email", "phone_number"]),
        "the app client may not write custom:accounts: {settings}"
    );
    // (`phone_number` joins them when the flow sends SMS; the emulator evaluates that
    // condition as true for every flow: README.)
    for list in ["requireVerificationBeforeUpdate", "autoVerifiedAttributes"] {
        let values = settings[list].as_array().expect(list);
        assert!(values.contains(&"email".into()), "{list}: {settings}");
    }
    let read = settings["readAttributes"].as_array().expect("read");
    assert!(read.contains(&"custom:accounts".into()), "{settings}");

    // A password alone never yields tokens: the client allows CUSTOM_AUTH (SRP runs inside it)
    // and refresh, not the flows that skip the custom steps.
    assert_eq!(
        settings["explicitAuthFlows"],
        serde_json::json!(["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]),
        "{settings}"
    );
    let out = local_aws(&[
        "password-only",
        "--port",
        &aws.port,
        "--stack",
        "e2e-password",
    ]);
    assert!(
        out.status.success(),
        "could not try the password-only flows"
    );
    let outcomes: Value = serde_json::from_slice(&out.stdout).expect("outcomes");
    // (The emulator checks USER_PASSWORD_AUTH against the client only in its IAM-enforcing
    // mode: README. The flow list above is what AWS checks.)
    assert_eq!(
        outcomes["USER_SRP_AUTH"], "InvalidParameterException",
        "a password alone must not start a sign-in: {outcomes}"
    );

    codes.extend(state_across_sign_ins(&aws));
    load::a_small_load_run_through_the_stacks(
        &aws,
        &format!("http://127.0.0.1:{page_port}/e2e-link/"),
        &format!("http://localhost:{page_port}"),
    );
    selected_account_in_the_tokens(&aws);
    codes.extend(remembered_device_in_the_cli(&aws));
    codes.extend(clients::flows_per_client_and_choice(&aws));
    codes.extend(browser::sign_in_through_the_page(&aws, page_port));
    options::every_option_deploys(&mut aws);
    codes.extend(existing_pool::our_sign_in_on_an_existing_pool(
        &mut aws, page_port,
    ));

    // Every line the functions logged (JSON, trace asked, info and above written) holds no code, answer, password or
    // token. Codes are matched as whole words, so a request id cannot fake a hit.
    let out = local_aws(&["logs", "--port", &aws.port]);
    assert!(out.status.success(), "could not read the function logs");
    let logs = String::from_utf8_lossy(&out.stdout).into_owned();
    // Kept for a look after the run (the metric and audit lines among them).
    let _ = std::fs::write(target_dir().join("e2e-artifacts/function-logs.txt"), &logs);
    let json_lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let info = json_lines.iter().filter(|l| l["level"] == "INFO").count();
    assert!(info > 0, "no info lines: the leak check would mean little");
    let below_info = json_lines
        .iter()
        .filter(|l| l["level"] == "DEBUG" || l["level"] == "TRACE")
        .count();
    assert_eq!(
        below_info, 0,
        "debug or trace lines: release builds must compile them out"
    );
    for trigger in ["define", "create", "verify"] {
        let seen = json_lines.iter().any(|l| l["fields"]["trigger"] == trigger);
        assert!(seen, "no JSON log line of {trigger}");
    }
    let mut secrets: Vec<String> = codes;
    secrets.extend(
        [
            "000000",
            "000001",
            "000002",
            "Demo-Passw0rd!",
            "Wrong-Passw0rd!",
        ]
        .map(String::from),
    );
    assert!(secrets.len() >= 8, "{secrets:?}");
    for secret in &secrets {
        assert!(
            !contains_word(&logs, secret),
            "a secret ({} chars) is in the function logs",
            secret.len()
        );
    }
    assert!(
        !logs.contains("eyJ"),
        "a JWT (a Cognito token?) is in the function logs"
    );
    operations::metrics_and_audit_in_the_logs(&logs);
    println!(
        "leak check: {} log lines ({} JSON, {info} info), {} secrets, none found",
        logs.lines().count(),
        json_lines.len(),
        secrets.len()
    );
    drop(aws);
    arm64.finish();
}

/// The HS256 secret of the `signed-token` stack (a test value: it signs nothing real).
const TOKEN_SECRET: &str = "e2e-signed-token-secret-0123456789abcdef";

fn signed_token(sub: &str, jti: Option<&str>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut claims =
        serde_json::json!({"sub": sub, "iss": "e2e-backend", "iat": now, "exp": now + 300});
    if let Some(jti) = jti {
        claims["jti"] = jti.into();
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TOKEN_SECRET.as_bytes()),
    )
    .expect("sign")
}

/// The state store through the local AWS (issue 11): its rules against the real DynamoDB
/// table of the stack, then limits, lockout and single use through whole sign-ins. Returns the
/// codes it saw, for the leak check.
fn state_across_sign_ins(aws: &LocalAws) -> Vec<String> {
    let mut codes = Vec::new();

    // The adapter's conditional writes follow the same rules as the in-memory store, and 20
    // sends at once for one user let exactly the limit through.
    let table = aws.stack("e2e-email")["stateTable"]
        .as_str()
        .expect("state table")
        .to_owned();
    assert!(!table.is_empty(), "the stack has no state table");
    let store = aws_io::DynamoStore::at_endpoint(&table, &aws.endpoint());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(custom_auth::store::conformance::check(&store, "e2e"));
    runtime.block_on(custom_auth::store::conformance::check_concurrent_sends(
        &store, "e2e", 20,
    ));
    runtime.block_on(custom_auth::store::passkeys::conformance::check(
        &store, "e2e",
    ));
    runtime.block_on(custom_auth::store::devices::conformance::check(
        &store, "e2e",
    ));
    println!(
        "state store: the conformance scripts (limits, passkeys, devices) passed against the local DynamoDB"
    );

    // OTP_SEND_LIMIT + 5 sign-ins of one user at once: exactly the limit's e-mails go out,
    // the rest are refused with the fixed message.
    let flood = aws.user("e2e-email", "flood");
    let runs: Vec<SignIn> = (0..8)
        .map(|_| SignIn::start_as(aws, "e2e-email", "flood", None, &[]))
        .collect();
    let mut prompted = 0;
    let mut refused = 0;
    for run in runs {
        match run.first_of(&["a code was sent", "too many codes requested"]) {
            Some(0) => prompted += 1,
            Some(_) => refused += 1,
            None => panic!("a sign-in neither got a code nor was refused"),
        }
        drop(run);
    }
    assert_eq!((prompted, refused), (3, 5), "three codes, five refusals");
    assert_eq!(aws.mails_to(&flood), 3, "exactly OTP_SEND_LIMIT e-mails");

    // Lockout across sign-ins: three wrong codes, then one more wrong and the right code in a
    // new sign-in: refused; then no code is even sent.
    let locky = aws.user("e2e-email", "locky");
    // Both windows have ended 30 s after this: the flood's began earlier, the lock's later.
    let windows_start = Instant::now();
    let run = SignIn::start_as(
        aws,
        "e2e-email",
        "locky",
        None,
        &["000000", "000001", "000002"],
    );
    assert_eq!(run.finish().0, Some(2));
    let before = aws.mails_to(&locky);
    let mut run = SignIn::start_as(aws, "e2e-email", "locky", None, &["000003"]);
    run.expect_line("attempt 2");
    let code = new_code_to(aws, aws.mails() - 1, &locky);
    assert_eq!(aws.mails_to(&locky), before + 1);
    run.answer(&code);
    run.answer("000004");
    let (exit, stdout) = run.finish();
    assert_eq!(exit, Some(2), "the right code is refused while locked");
    assert!(stdout.is_empty());
    codes.push(code);
    let run = SignIn::start_as(aws, "e2e-email", "locky", None, &[]);
    assert_eq!(
        run.first_of(&["too many failed attempts", "a code was sent"]),
        Some(0)
    );
    assert_eq!(aws.mails_to(&locky), before + 1, "no code while locked");

    // A signed token is good once; without jti, never.
    let sub = aws.stack("e2e-token")["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    let once = signed_token(&sub, Some("e2e-hand-off-1"));
    let (exit, stdout) = SignIn::start(aws, "e2e-token", None, &[&once]).finish();
    assert_signed_in(exit, &stdout);
    assert_methods(&stdout, &["jwt"]);
    // (Without jti first: its three refusals stay under the lockout, so the replay's first
    // refusal below is the replay's.)
    let anonymous = signed_token(&sub, None);
    let (exit, _) = SignIn::start(aws, "e2e-token", None, &[anonymous.as_str(); 3]).finish();
    assert_eq!(exit, Some(2), "a token without jti is refused");
    let (exit, _) = SignIn::start(aws, "e2e-token", None, &[&once, &once, &once]).finish();
    assert_eq!(exit, Some(2), "a replayed token is refused");

    // Both windows (30 s) end: the flooded and the locked user sign in again.
    let wait = Duration::from_secs(31).saturating_sub(windows_start.elapsed());
    println!(
        "state store: waiting {}s for the windows to end",
        wait.as_secs()
    );
    std::thread::sleep(wait);
    for (user, email) in [("flood", &flood), ("locky", &locky)] {
        let before = aws.mails();
        let mut run = SignIn::start_as(aws, "e2e-email", user, None, &[]);
        run.expect_line("a code was sent");
        let code = new_code_to(aws, before, email);
        run.answer(&code);
        let (exit, stdout) = run.finish();
        assert_eq!(exit, Some(0), "{user} signs in once the window ended");
        let claims: Value = serde_json::from_str(&stdout).expect("claims");
        assert_eq!(claims["cognito:username"], user);
        codes.push(code);
    }
    // The support desk sees a lock and ends it; the user signs in at once (issue 30).
    codes.push(operations::support_commands_on_a_locked_user(aws));
    codes
}

/// The CLI as a remembered device (issue 29), on `device|email-otp`: a sign-in with the code
/// remembers this machine (the key file owner-only, the public half through the account API);
/// the next sign-in sends no code and its token says `swk`; a key file others may read is
/// refused before anything is sent; another key under the device's id is refused by Verify.
fn remembered_device_in_the_cli(aws: &LocalAws) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let stack = aws.stack("e2e-device");
    let client = stack["clientId"].as_str().expect("client").to_owned();
    let api = stack["passkeyApi"]
        .as_str()
        .expect("the account API")
        .to_owned();
    let dir = std::env::temp_dir().join(format!("e2e-device-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = dir.join("device-key.json");
    let key_arg = key.display().to_string();
    let jane = "jane@example.com";

    let before = aws.mails_to(jane);
    let mut run = SignIn::start_args(
        aws,
        "e2e-device",
        &client,
        "jane",
        None,
        &["email-otp"],
        &[
            "--device-key",
            &key_arg,
            "--remember-device",
            "e2e CLI",
            "--account-api",
            &api,
            "--tokens",
        ],
    );
    run.expect_line("a code was sent");
    let code = new_code_to(aws, before, jane);
    run.answer(&code);
    let (exit, stdout) = run.finish();
    assert_eq!(exit, Some(0), "signed in and remembered");
    let tokens: Value = serde_json::from_str(&stdout).expect("claims");
    assert_eq!(
        tokens["id"]["signin_amr"],
        serde_json::json!(["otp"]),
        "{tokens}"
    );
    let mode = std::fs::metadata(&key)
        .expect("the key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key file is its owner's alone");

    // A sign-in with nothing but a key file.
    let with_key = |path: &str| {
        SignIn::start_args(
            aws,
            "e2e-device",
            &client,
            "jane",
            None,
            &[],
            &["--device-key", path],
        )
    };
    let before = aws.mails_to(jane);
    let run = with_key(&key_arg);
    run.expect_line("remembered device: signing the challenge");
    let (exit, stdout) = run.finish();
    assert_eq!(exit, Some(0), "signed in as a remembered device");
    let claims: Value = serde_json::from_str(&stdout).expect("claims");
    assert_eq!(claims["signin_amr"], serde_json::json!(["swk"]), "{claims}");
    assert_eq!(
        aws.mails_to(jane),
        before,
        "no code for a remembered device"
    );

    // Others may read the key: refused before anything is sent.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (exit, _) = with_key(&key_arg).finish();
    assert_eq!(exit, Some(1), "a key file others may read is refused");

    // Another key under the device's id: every round refused, no tokens.
    let text = std::fs::read_to_string(&key).expect("key");
    let mut forged: Value = serde_json::from_str(&text).expect("key JSON");
    forged["privateKey"] = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE".into();
    let forged_path = dir.join("forged.json");
    std::fs::write(&forged_path, forged.to_string()).expect("forged key");
    std::fs::set_permissions(&forged_path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let forged_arg = forged_path.display().to_string();
    let (exit, stdout) = with_key(&forged_arg).finish();
    assert_eq!(exit, Some(2), "another key is refused");
    assert!(stdout.is_empty());
    std::fs::remove_dir_all(&dir).expect("clean up");
    println!(
        "remembered device: the CLI remembered, signed in without a code, refused a readable and a forged key"
    );
    vec![code]
}

/// Signs jane in on the account stack choosing `account`, with extra CLI arguments; returns
/// the exit code and the claims of both tokens.
fn sign_in_choosing(aws: &LocalAws, account: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let s = aws.stack("e2e-account");
    let mut args = vec![
        "--user-pool-id",
        s["userPoolId"].as_str().expect("pool"),
        "--client-id",
        s["clientId"].as_str().expect("client"),
        "--username",
        "jane",
        "--tokens",
        "--answer",
        account,
    ];
    args.extend_from_slice(extra);
    let out = Command::new(cli())
        .args(&args)
        .env("AWS_ENDPOINT_URL", aws.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .expect("run cognito-signin");
    eprintln!("  cli: {}", String::from_utf8_lossy(&out.stderr).trim());
    let claims = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), claims)
}

/// The account chosen in a sign-in reaches its ID and access tokens (issue 13): each of two
/// accounts; the client cannot smuggle another through its metadata; two sign-ins at once
/// each get their own; a choice that cannot be tied to the sign-in gets no tokens.
fn selected_account_in_the_tokens(aws: &LocalAws) {
    for account in ["acct-1001", "acct-2002"] {
        let (exit, tokens) = sign_in_choosing(aws, account, &[]);
        assert_eq!(exit, Some(0), "{account}: {tokens}");
        assert_eq!(tokens["id"]["selected_account"], account, "{tokens}");
        assert_eq!(tokens["access"]["selected_account"], account, "{tokens}");
        assert_eq!(tokens["id"]["token_use"], "id");
        assert_eq!(tokens["access"]["token_use"], "access");
        assert!(
            tokens["id"].get("custom:accounts").is_none(),
            "the ID token drops the account list: {tokens}"
        );
    }
    // The client's metadata names another account and another list: ignored.
    let (exit, tokens) = sign_in_choosing(
        aws,
        "acct-1001",
        &[
            "--client-metadata",
            "selected_account=acct-2002",
            "--client-metadata",
            r#"custom:accounts={"acct-9999":"Stolen"}"#,
        ],
    );
    assert_eq!(exit, Some(0), "{tokens}");
    assert_eq!(tokens["id"]["selected_account"], "acct-1001", "{tokens}");
    assert_eq!(
        tokens["access"]["selected_account"], "acct-1001",
        "{tokens}"
    );
    // Two devices at once, each choosing its own account.
    let both = std::thread::scope(|scope| {
        let phone = scope.spawn(|| sign_in_choosing(aws, "acct-1001", &[]));
        let laptop = scope.spawn(|| sign_in_choosing(aws, "acct-2002", &[]));
        (phone.join().expect("phone"), laptop.join().expect("laptop"))
    });
    assert_eq!(
        both.0.1["access"]["selected_account"], "acct-1001",
        "{both:?}"
    );
    assert_eq!(
        both.1.1["access"]["selected_account"], "acct-2002",
        "{both:?}"
    );
    // A sign-in id that is not one (too short): the choice cannot be recorded, no tokens.
    let (exit, tokens) = sign_in_choosing(
        aws,
        "acct-1001",
        &[
            "--answer",
            "acct-1001",
            "--answer",
            "acct-1001",
            "--client-metadata",
            "signInId=short",
        ],
    );
    assert_eq!(exit, Some(2), "{tokens}");
    assert_eq!(tokens, Value::Null, "no tokens");
    println!("selected account: in both tokens, not smuggled, per sign-in");
}
