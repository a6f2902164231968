//! The hostile corpus (`events/hostile/`) against the functions `sam build` made, the very
//! `bootstrap` files the stacks run: each event is sent with `cargo lambda invoke` (the pinned
//! `cargo-lambda` of the project `.venv`) through the Lambda runtime API of
//! `cargo lambda watch --only-lambda-apis`, which the five bootstraps poll as they poll Lambda's;
//! its outcome is checked against the manifest, and after each one the same function process
//! must answer a valid event right. No second build: the release binaries of `sam build` are
//! run as they are. The functions log JSON with trace level asked (release builds write info and
//! above: debug and trace callsites are compiled out); the log must hold none of the corpus's
//! secrets.
//!
//! Dependencies are one loopback fake: siteverify refuses every token, the JWKS holds the test
//! keys, SES accepts every mail.

use std::collections::HashMap;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use test_support::{Behaviour, FakeServer, contains_word};

use super::{Group, root, target_dir};

/// The functions, each with the directory `sam build` gave it under `.aws-sam/build`.
const FUNCTIONS: [(&str, &str); 5] = [
    ("define-auth-challenge", "DefineAuthChallengeFunction"),
    ("create-auth-challenge", "CreateAuthChallengeFunction"),
    ("verify-auth-challenge", "VerifyAuthChallengeFunction"),
    ("pre-token-generation", "PreTokenGenerationFunction"),
    ("passkey-api", "PasskeyApiFunction"),
];

/// The longest one invocation may take before the test calls the function hung.
const INVOKE_LIMIT: Duration = Duration::from_secs(30);

fn cargo_lambda() -> PathBuf {
    let path = root().join(".venv/bin/cargo-lambda");
    assert!(
        path.exists(),
        "the project .venv is missing: run `make venv`"
    );
    path
}

/// The runtime API (`cargo lambda watch --only-lambda-apis`) and the five bootstraps polling
/// it, their output in one log.
struct Functions {
    port: u16,
    log: PathBuf,
    processes: HashMap<&'static str, Group>,
    _api: Group,
}

impl Functions {
    fn start(env: &[(String, String)], log: PathBuf) -> Functions {
        let out = File::create(&log).expect("function log");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let api = Group::spawn(
            Command::new(cargo_lambda())
                .args(["lambda", "watch", "--only-lambda-apis", "--quiet"])
                .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
                .arg(port.to_string())
                .current_dir(root())
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log handle"))
                .stderr(out.try_clone().expect("log handle")),
        );
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the runtime API did not listen:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut processes = HashMap::new();
        for (function, built) in FUNCTIONS {
            let bootstrap = root().join(".aws-sam/build").join(built).join("bootstrap");
            assert!(
                bootstrap.exists(),
                "{}: sam build first",
                bootstrap.display()
            );
            let process = Group::spawn(
                Command::new(bootstrap)
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .env(
                        "AWS_LAMBDA_RUNTIME_API",
                        format!("http://127.0.0.1:{port}/.rt/{function}"),
                    )
                    .env("AWS_LAMBDA_FUNCTION_NAME", function)
                    .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                    .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                    .stdin(Stdio::null())
                    .stdout(out.try_clone().expect("log handle"))
                    .stderr(out.try_clone().expect("log handle")),
            );
            processes.insert(function, process);
        }
        Functions {
            port,
            log,
            processes,
            _api: api,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The pid of `function`'s process, which must still run.
    fn pid(&mut self, function: &str) -> u32 {
        let process = self.processes.get_mut(function).expect("function");
        assert!(process.running(), "{function} exited");
        process.0.id()
    }
}

/// What an invocation came to: an error, or the function's response payload.
enum Outcome {
    Error(String),
    Payload(Value),
}

/// `file`, or, when it holds the placeholder `{auth_time}` (a passkey API event whose sign-in
/// must be fresh when it is sent), a copy in `target/hostile/` with the time of now in it.
fn with_fresh_sign_in(file: &Path) -> PathBuf {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    if !text.contains("{auth_time}") {
        return file.to_path_buf();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let copy = target_dir().join("hostile").join("fresh.json");
    std::fs::write(&copy, text.replace("{auth_time}", &now.to_string())).expect("fresh copy");
    copy
}

fn invoke(port: u16, function: &str, file: &Path) -> Outcome {
    let file = &with_fresh_sign_in(file);
    // Bounded: a function that stopped polling would leave the invocation waiting.
    let out = Command::new("timeout")
        .arg(INVOKE_LIMIT.as_secs().to_string())
        .arg(cargo_lambda())
        .args(["lambda", "invoke", function, "--output-format", "json"])
        .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
        .arg(port.to_string())
        .arg("--data-file")
        .arg(file)
        .env("NO_COLOR", "1")
        .output()
        .expect("run cargo lambda invoke");
    assert_ne!(
        out.status.code(),
        Some(124),
        "{function} {}: no answer within {INVOKE_LIMIT:?}",
        file.display()
    );
    if out.status.success() {
        let payload = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{function} {}: response is not JSON ({e})", file.display())
        });
        Outcome::Payload(payload)
    } else {
        Outcome::Error(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Codes Create made during the run: secrets the log must not hold.
static CREATED_CODES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// The outcome in the manifest's words; panics if a response ever carries tokens.
fn describe(function: &str, outcome: &Outcome) -> String {
    let Outcome::Payload(payload) = outcome else {
        return "error".into();
    };
    if function == "passkey-api" {
        // An HTTP response: its status, and an error body of fixed words.
        let status = payload["statusCode"].as_u64().unwrap_or(0);
        if status >= 400 {
            let body: Value =
                serde_json::from_str(payload["body"].as_str().unwrap_or("")).unwrap_or_default();
            assert!(
                body["error"].is_string(),
                "{function}: error body {payload}"
            );
        }
        return format!("status:{status}");
    }
    let response = &payload["response"];
    assert_ne!(
        response["issueTokens"],
        Value::Bool(true),
        "{function} issued tokens"
    );
    match function {
        "define-auth-challenge" => {
            match (&response["challengeName"], &response["failAuthentication"]) {
                (Value::Null, Value::Bool(true)) => "fail".into(),
                (Value::String(name), Value::Bool(false)) => format!("challenge:{name}"),
                other => format!("odd define response {other:?}"),
            }
        }
        "create-auth-challenge" => {
            let public = &response["publicChallengeParameters"];
            let private = &response["privateChallengeParameters"];
            if let Some(code) = private["code"].as_str() {
                let shown = public.to_string();
                assert!(!shown.contains(code), "a code in the public parameters");
                if let Ok(mut codes) = CREATED_CODES.lock() {
                    codes.push(code.to_owned());
                }
            }
            format!("created:{}", public["challenge"].as_str().unwrap_or("?"))
        }
        "pre-token-generation" => {
            let details = &response["claimsAndScopeOverrideDetails"];
            let id = &details["idTokenGeneration"]["claimsToAddOrOverride"];
            let access = &details["accessTokenGeneration"]["claimsToAddOrOverride"];
            assert_eq!(id, access, "both tokens get the same claims");
            let groups = &details["groupOverrideDetails"]["groupsToOverride"];
            assert_eq!(
                groups,
                &Value::Array(Vec::new()),
                "groups come from the request only"
            );
            // The fake store holds no record Verify wrote: no event may mint methods.
            assert!(
                id.get("signin_amr").is_none(),
                "methods from the event: {id}"
            );
            match id["selected_account"].as_str() {
                Some(account) => format!("minted:{account}"),
                None if details.is_object() => "minted:none".into(),
                None => format!("odd pre-token response {response}"),
            }
        }
        _ => match response["answerCorrect"] {
            Value::Bool(true) => "correct".into(),
            Value::Bool(false) => "wrong".into(),
            ref other => format!("odd verify response {other}"),
        },
    }
}

fn sent_mails(deps: &FakeServer) -> usize {
    deps.requests()
        .iter()
        .filter(|r| r.starts_with("POST /v2/email/outbound-emails"))
        .count()
}

/// Runs the corpus; `sam build` must have run (the end-to-end test's local AWS did).
pub fn events_fail_closed_and_every_function_keeps_serving() {
    let dir = root().join("events/hostile");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
    let manifest: Value = serde_json::from_str(&read("manifest.json")).expect("manifest");
    let json = |body: String| Behaviour::Respond(200, "application/json", body);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let deps = runtime.block_on(FakeServer::start(Behaviour::Routes(vec![
        ("/siteverify", json(r#"{"success":false}"#.into())),
        ("/jwks", json(read("jwks.json"))),
        (
            "/v2/email/outbound-emails",
            json(r#"{"MessageId":"hostile-1"}"#.into()),
        ),
        // Cognito's GetUser (the passkey API asks whether a token is live): it is.
        (
            "/cognito",
            Behaviour::Respond(
                200,
                "application/x-amz-json-1.1",
                r#"{"Username":"jane","UserAttributes":[]}"#.into(),
            ),
        ),
        // DynamoDB (POST /): every write goes through, every read finds nothing.
        (
            "/",
            Behaviour::Respond(200, "application/x-amz-json-1.0", "{}".into()),
        ),
    ])));

    let work = target_dir().join("hostile");
    std::fs::create_dir_all(&work).expect("target/hostile");
    let mut env = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    for (key, value) in manifest["env"].as_object().expect("env") {
        let value = value
            .as_str()
            .expect("env value")
            .replace("{deps}", &deps.url);
        if key.contains("SECRET") || key == "AUTH_STATE_KEY" {
            secrets.push(value.clone());
        }
        env.push((key.clone(), value));
    }
    for (key, value) in [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "trace"),
    ] {
        env.push((key.into(), value.into()));
    }
    let mut functions = Functions::start(&env, work.join("functions.log"));
    let port = functions.port;

    let valid = &manifest["valid"];
    let check_valid = |function: &str, after: &str| {
        let v = &valid[function];
        let mails = sent_mails(&deps);
        let outcome = invoke(
            port,
            function,
            &dir.join(v["event"].as_str().expect("event")),
        );
        let got = describe(function, &outcome);
        assert_eq!(
            got,
            v["expect"].as_str().expect("expect"),
            "{function}: the valid event after {after}"
        );
        if let Some(sent) = v["sent"].as_bool() {
            assert_eq!(sent_mails(&deps) - mails, usize::from(sent), "{after}");
        }
    };
    let mut first_pid = HashMap::new();
    for (function, _) in FUNCTIONS {
        check_valid(function, "start");
        first_pid.insert(function, functions.pid(function));
    }

    let cases = manifest["cases"].as_array().expect("cases");
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut tally: HashMap<String, usize> = HashMap::new();
    let mut mismatches = Vec::new();
    for case in cases {
        let file = case["event"].as_str().expect("event");
        let function = case["function"].as_str().expect("function");
        let want = case["expect"].as_str().expect("expect");
        let mails = sent_mails(&deps);
        let outcome = invoke(port, function, &dir.join(file));
        let got = describe(function, &outcome);
        if got != want {
            mismatches.push(format!("{file}: got {got}, want {want} ({})", case["why"]));
        }
        if let Some(sent) = case["sent"].as_bool() {
            assert_eq!(sent_mails(&deps) - mails, usize::from(sent), "{file}");
        }
        if let (Some(not), Outcome::Payload(p)) = (case["code_not"].as_str(), &outcome) {
            let code = &p["response"]["privateChallengeParameters"]["code"];
            assert!(code.is_string() && code != not, "{file}: code {code}");
        }
        if let Outcome::Error(text) = &outcome {
            for secret in case["secret"]
                .as_str()
                .into_iter()
                .chain(secrets.iter().map(String::as_str))
            {
                assert!(
                    !text.contains(secret),
                    "{file}: the error text shows a secret"
                );
            }
        }
        *tally.entry(format!("{function} {want}")).or_default() += 1;
        check_valid(function, file);
        assert_eq!(
            functions.pid(function),
            first_pid[function],
            "{function}: not the same process after {file}"
        );
    }

    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    let log = functions.log();
    let mut leaks: Vec<String> = secrets.clone();
    leaks.extend(["482913", "000000", "hostile-1"].map(String::from));
    for case in cases {
        leaks.extend(case["secret"].as_str().map(String::from));
        // Every answer and private parameter the corpus sends is a secret too.
        let text = std::fs::read_to_string(dir.join(case["event"].as_str().unwrap_or("")));
        let event: Value = serde_json::from_str(&text.unwrap_or_default()).unwrap_or_default();
        let request = &event["request"];
        // A pick is no secret: it names one of the public `options` (logged as the step).
        // Nor is asking for a magic link (the answer `request`).
        let step = &request["privateChallengeParameters"]["step"];
        if step == "CHOOSE" || (step == "MAGIC_LINK" && request["challengeAnswer"] == "request") {
            continue;
        }
        let answer = request["challengeAnswer"].as_str();
        let private = request["privateChallengeParameters"].as_object();
        let values = private
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != "step");
        for secret in answer
            .into_iter()
            .chain(values.filter_map(|(_, v)| v.as_str()))
        {
            if secret.len() >= 6 {
                leaks.push(secret.chars().take(64).collect());
            }
        }
    }
    let created = CREATED_CODES.lock().map(|c| c.clone()).unwrap_or_default();
    assert!(created.len() > 10, "{} codes created", created.len());
    leaks.extend(created);
    assert!(leaks.len() > 60, "{} secrets to look for", leaks.len());
    for secret in &leaks {
        assert!(
            !contains_word(&log, secret),
            "the function log holds a secret ({} chars)",
            secret.len()
        );
    }
    assert!(
        !log.contains(r#""level":"TRACE""#) && !log.contains(r#""level":"DEBUG""#),
        "a debug or trace line: release builds must compile them out"
    );
    let lines = log.lines().filter(|l| l.starts_with('{')).count();
    assert!(
        lines > cases.len(),
        "too few JSON log lines ({lines}) to mean anything"
    );
    let mut tally: Vec<_> = tally.into_iter().collect();
    tally.sort();
    println!(
        "{} hostile events, each followed by a valid one:",
        cases.len()
    );
    for (what, n) in tally {
        println!("  {n:3}  {what}");
    }
}
