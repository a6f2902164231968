//! `make bench`: one table of cold start, warm latency, peak RSS, logic cost and size for the
//! three functions, as medians over repeated runs with ratios to baselines taken in the same
//! run (this machine is noisy: the ratios are what count).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bench::{Cold, Warm, cold, median, quantile, warm};

const USAGE: &str = "usage: bench [--runs N] [--invocations N] [--bin-dir DIR]";

struct Function {
    label: &'static str,
    bin: &'static str,
    event: &'static str,
    /// The `AUTH_FLOW` the event belongs to.
    flow: &'static str,
    /// Whether the state store is on (one loopback DynamoDB request per invocation).
    state: bool,
    /// Further settings of this row.
    extra: &'static [(&'static str, &'static str)],
}

const FUNCTIONS: [Function; 13] = [
    Function {
        label: "hello-world baseline",
        bin: "hello-lambda",
        event: "define/multi-step-mid.json",
        flow: FLOW,
        state: false,
        extra: &[],
    },
    Function {
        label: "define",
        bin: "define-auth-challenge",
        event: "define/multi-step-mid.json",
        flow: FLOW,
        state: false,
        extra: &[],
    },
    // A first e-mail round: every invocation sends through the real SES client, to a fake SES
    // on loopback, so the first invocation includes building that client.
    Function {
        label: "create (e-mail code)",
        bin: "create-auth-challenge",
        event: "create/email-otp-first.json",
        flow: "email-otp",
        state: false,
        extra: &[],
    },
    Function {
        label: "verify",
        bin: "verify-auth-challenge",
        event: "verify/select-account-correct.json",
        flow: FLOW,
        state: false,
        extra: &[],
    },
    // The same with the state store: Create counts the send (one UpdateItem) before it; Verify
    // reads the lock (one GetItem) before a right answer passes. DynamoDB is a loopback fake.
    Function {
        label: "create (e-mail code, state store)",
        bin: "create-auth-challenge",
        event: "create/email-otp-first.json",
        flow: "email-otp",
        state: true,
        extra: &[],
    },
    Function {
        label: "verify (state store)",
        bin: "verify-auth-challenge",
        event: "verify/select-account-correct.json",
        flow: FLOW,
        state: true,
        extra: &[],
    },
    // A token refresh: Pre Token Generation drops the account claim and the account list
    // without a store request (a sign-in's would take the recorded choice: one DeleteItem).
    Function {
        label: "pre-token (refresh)",
        bin: "pre-token-generation",
        event: "pre-token/refresh.json",
        flow: "select-account",
        state: true,
        extra: &[("SELECTED_ACCOUNT_CLAIM", "selected_account")],
    },
    // A passkey answer (a real ES256 assertion): every WebAuthn check, one P-256 signature,
    // then one DynamoDB transaction (the counter and the challenge, with the lock check).
    Function {
        label: "verify (passkey ES256, state store)",
        bin: "verify-auth-challenge",
        event: PASSKEY_EVENT,
        flow: "passkey",
        state: false,
        extra: &bench::PASSKEY_CONFIG,
    },
    // The registration API listing the caller's passkeys: one GetItem.
    Function {
        label: "passkey-api (list)",
        bin: "passkey-api",
        event: "hostile/valid/passkey-api.json",
        flow: "passkey",
        state: false,
        extra: &bench::PASSKEY_CONFIG,
    },
    // The second baseline: hello-world reading the state key by ARN at start, as the rows
    // with the store do. Functions that read a secret at start are budgeted against it.
    Function {
        label: "hello-world + secret read baseline",
        bin: "hello-secret",
        event: "define/multi-step-mid.json",
        flow: FLOW,
        state: true,
        extra: &[],
    },
    // Signing in without a name (issue 28): Verify's check of an assertion over a sealed
    // challenge (every WebAuthn check, one P-256 signature, one DynamoDB transaction), and the
    // API's two public routes: the options (no store request), the name (one GetItem of the
    // passkey's claim, then every WebAuthn check and the signature).
    Function {
        label: "verify (passkey without a name, ES256, state store)",
        bin: "verify-auth-challenge",
        event: NO_NAME_VERIFY_EVENT,
        flow: "passkey",
        state: false,
        extra: &bench::PASSKEY_CONFIG,
    },
    Function {
        label: "passkey-api (sign-in options)",
        bin: "passkey-api",
        event: SIGN_IN_OPTIONS_EVENT,
        flow: "passkey",
        state: false,
        extra: &bench::PASSKEY_CONFIG,
    },
    Function {
        label: "passkey-api (sign-in name)",
        bin: "passkey-api",
        event: SIGN_IN_NAME_EVENT,
        flow: "passkey",
        state: false,
        extra: &bench::PASSKEY_CONFIG,
    },
];

/// The row of the baseline that reads a secret at start.
const SECRET_BASELINE: usize = 9;

/// Made at run time from `events/passkey/es256-discoverable.json`
/// ([`bench::passkey_no_name_verify_event`], [`bench::passkey_name_event`]), and the options
/// call of a sign-in without a name.
const NO_NAME_VERIFY_EVENT: &str = "(passkey assertion without a name)";
const SIGN_IN_OPTIONS_EVENT: &str = "(sign-in options)";
const SIGN_IN_NAME_EVENT: &str = "(sign-in name)";

/// Made at run time from `events/passkey/es256.json` ([`bench::passkey_verify_event`]).
const PASSKEY_EVENT: &str = "(passkey assertion)";

const FLOW: &str = "password,captcha,email-otp,select-account";

/// The settings every trigger runs with, besides `AUTH_FLOW`.
const CONFIG: [(&str, &str); 4] = [
    ("OTP_EMAIL_FROM", "no-reply@example.com"),
    ("CAPTCHA_SITE_KEY", "1x00000000000000000000AA"),
    ("CAPTCHA_SECRET", "1x0000000000000000000000000000000AA"),
    ("AWS_LAMBDA_LOG_LEVEL", "info"),
];

/// The state key's secret, as the template names it to the functions with the store.
const STATE_KEY_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-state-key-AbCdEf";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn arg(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".into()
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let runs: usize = arg(&args, "--runs")
        .map_or(Ok(21), |v| v.parse())
        .map_err(|_| USAGE)?;
    let invocations: usize = arg(&args, "--invocations")
        .map_or(Ok(3000), |v| v.parse())
        .map_err(|_| USAGE)?;
    let bin_dir =
        arg(&args, "--bin-dir").map_or_else(|| root().join("target/release"), PathBuf::from);

    let mut colds: Vec<Vec<Cold>> = vec![Vec::new(); FUNCTIONS.len()];
    let mut warms: Vec<Option<Warm>> = vec![None; FUNCTIONS.len()];
    let events: Vec<Vec<u8>> = FUNCTIONS
        .iter()
        .map(|f| {
            match f.event {
                PASSKEY_EVENT => return bench::passkey_verify_event(&root()),
                NO_NAME_VERIFY_EVENT => return bench::passkey_no_name_verify_event(&root()),
                SIGN_IN_OPTIONS_EVENT => {
                    return bench::passkey_public_event(&root(), "/passkeys/sign-in/options", "");
                }
                SIGN_IN_NAME_EVENT => return bench::passkey_name_event(&root()),
                _ => {}
            }
            std::fs::read(root().join("events").join(f.event))
                .map_err(|e| format!("{}: {e}", f.event))
        })
        .collect::<Result<_, _>>()?;
    // SES v2, Secrets Manager and DynamoDB on one loopback fake: SES by its path, Secrets
    // Manager by the endpoint the functions are given for it (the state key, read at start as
    // on AWS, where the template names it by ARN), DynamoDB (POST /) answering every request
    // with an empty success (a write that went through, a read of no item).
    use test_support::Behaviour;
    let aws = test_support::FakeServer::start(Behaviour::Routes(vec![
        (
            "/v2/",
            Behaviour::Respond(200, "application/json", r#"{"MessageId":"bench"}"#.into()),
        ),
        (
            "/secrets",
            Behaviour::Respond(
                200,
                "application/x-amz-json-1.1",
                format!(r#"{{"ARN":"{STATE_KEY_ARN}","Name":"bench-state-key","SecretString":"bench-state-key-0123456789abcdef"}}"#),
            ),
        ),
        (
            "/",
            Behaviour::Respond(200, "application/x-amz-json-1.0", "{}".into()),
        ),
    ]))
    .await;
    // The name route's DynamoDB: the passkey's claim item for its one GetItem.
    let claims = test_support::FakeServer::start(Behaviour::Respond(
        200,
        "application/x-amz-json-1.0",
        bench::passkey_claim_item(&root())?,
    ))
    .await;
    let env_for = |f: &Function| {
        let mut env = bench::lambda_env(f.bin);
        env.extend(CONFIG.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env.push(("AUTH_FLOW".into(), f.flow.into()));
        env.push(("AWS_ENDPOINT_URL".into(), aws.url.clone()));
        env.extend(f.extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if f.event == SIGN_IN_NAME_EVENT {
            env.push(("AWS_ENDPOINT_URL".into(), claims.url.clone()));
        }
        if f.state {
            env.push(("AUTH_STATE_TABLE".into(), "bench-state".into()));
            env.push(("AUTH_STATE_KEY_ARN".into(), STATE_KEY_ARN.into()));
            env.push((
                "AWS_ENDPOINT_URL_SECRETS_MANAGER".into(),
                format!("{}/secrets", aws.url),
            ));
        }
        env
    };

    eprintln!("cold starts: {runs} runs of each function, interleaved");
    for _ in 0..runs {
        for (i, f) in FUNCTIONS.iter().enumerate() {
            colds[i].push(cold(&bin_dir.join(f.bin), &env_for(f), &events[i]).await?);
        }
    }
    // Each row measures the path it names: the passkey rows' answers pass (a refused assertion
    // would skip the signature and time less).
    for (i, f) in FUNCTIONS.iter().enumerate() {
        let body =
            String::from_utf8_lossy(colds[i].first().map_or(&[][..], |c| &c.first)).into_owned();
        let want = match f.event {
            PASSKEY_EVENT | NO_NAME_VERIFY_EVENT => Some("\"answerCorrect\":true"),
            SIGN_IN_OPTIONS_EVENT | SIGN_IN_NAME_EVENT => Some("\"statusCode\":200"),
            _ => None,
        };
        if let Some(want) = want
            && !body.contains(want)
        {
            return Err(format!(
                "{}: the first answer lacks {want}: {body}",
                f.label
            ));
        }
    }
    eprintln!("warm: {invocations} invocations of each function");
    for (i, f) in FUNCTIONS.iter().enumerate() {
        warms[i] = Some(warm(&bin_dir.join(f.bin), &env_for(f), &events[i], invocations).await?);
    }

    let init: Vec<Duration> = colds
        .iter()
        .map(|c| median(c.iter().map(|c| c.init).collect()))
        .collect();
    let first: Vec<Duration> = colds
        .iter()
        .map(|c| median(c.iter().map(|c| c.init_and_first).collect()))
        .collect();
    let rss: Vec<f64> = warms
        .iter()
        .map(|w| w.as_ref().map_or(0.0, |w| w.peak_rss_kib as f64))
        .collect();

    println!(
        "\n## Runtime (release binaries, loopback Runtime API; medians of {runs} cold starts, {invocations} warm invocations)\n"
    );
    println!(
        "| function | init ms | × baseline | init + 1st ms | × baseline | warm p50 µs | warm p99 µs | errors | peak RSS MiB | × baseline | anon / file MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, f) in FUNCTIONS.iter().enumerate() {
        let w = warms[i].as_ref().ok_or("no warm run")?;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {:.1} / {:.1} |",
            f.label,
            ms(init[i]),
            ratio(init[i].as_secs_f64(), init[0].as_secs_f64()),
            ms(first[i]),
            ratio(first[i].as_secs_f64(), first[0].as_secs_f64()),
            us(quantile(&w.latencies, 0.5)),
            us(quantile(&w.latencies, 0.99)),
            w.errors,
            rss[i] / 1024.0,
            ratio(rss[i], rss[0]),
            w.anon_kib as f64 / 1024.0,
            w.file_kib as f64 / 1024.0,
        );
    }

    // The warm medians, for tools/costs.py (`make bench` turns them into a million sign-ins'
    // bill). Written beside the other results; a failed write only loses that table.
    let runtime: serde_json::Map<String, serde_json::Value> = FUNCTIONS
        .iter()
        .zip(&warms)
        .filter_map(|(f, w)| {
            let w = w.as_ref()?;
            let p50 = quantile(&w.latencies, 0.5).as_secs_f64() * 1e6;
            Some((
                f.label.to_owned(),
                serde_json::json!({ "warm_p50_us": p50 }),
            ))
        })
        .collect();
    let runtime_file = root().join("target/bench-runtime.json");
    if let Err(e) = std::fs::write(
        &runtime_file,
        serde_json::Value::Object(runtime).to_string(),
    ) {
        eprintln!("could not write {}: {e}", runtime_file.display());
    }

    let r = |i: usize| init[i].as_secs_f64() / init[0].as_secs_f64();
    let rf = |i: usize| first[i].as_secs_f64() / first[0].as_secs_f64();
    let rr = |i: usize| rss[i] / rss[0];
    // Against the baseline that reads a secret at start: the functions that must read one.
    let rs = |i: usize| init[i].as_secs_f64() / init[SECRET_BASELINE].as_secs_f64();
    // Verify links the AWS SDK (DynamoDB) since the state store: its cold start budget is
    // 1.3x (was 1.25x without the SDK). With the store it reads the state key at start
    // (issue 26), as does Pre Token Generation: both are measured against the baseline that
    // makes the same read, so the budget weighs our code, not the mandated request.
    let budgets: Vec<(String, f64, f64)> = [
        ("cold start define".to_owned(), r(1), 1.25),
        ("cold start verify".to_owned(), r(3), 1.3),
        (
            "cold start verify (state store) against the secret baseline".to_owned(),
            rs(5),
            1.3,
        ),
        ("cold start create".to_owned(), r(2), 2.5),
        (
            "cold start pre-token against the secret baseline".to_owned(),
            rs(6),
            1.25,
        ),
        ("cold start passkey-api".to_owned(), r(8), 1.5),
        (
            "cold start passkey-api (sign-in name)".to_owned(),
            r(12),
            1.5,
        ),
        ("init + first invocation of create".to_owned(), rf(2), 3.0),
        (
            "init + first invocation of create (state store)".to_owned(),
            rf(4),
            3.0,
        ),
    ]
    .into_iter()
    .collect();
    println!("\n## Budget (ratios from this run)\n");
    println!(
        "- (reported) the secret read at start, secret baseline ÷ baseline: init {:.2}×, init + 1st {:.2}×; verify (state store) {:.2}×, pre-token {:.2}× of the plain baseline",
        r(SECRET_BASELINE),
        rf(SECRET_BASELINE),
        r(5),
        r(6)
    );
    for (what, value, max) in budgets {
        println!("- {what} ≤ {max}×: {value:.2}× {}", verdict(value <= max));
    }
    // Peak RSS is reported, not budgeted: issue 27 retired its 2x budget (a 6 MiB function in a
    // 128 MB sandbox costs and starts as a 3 MiB one).
    for (i, f) in FUNCTIONS.iter().enumerate().skip(1) {
        println!("- (reported) peak RSS {}: {:.2}×", f.label, rr(i));
    }
    logic_table();
    size_table();
    Ok(())
}

/// Median of a criterion benchmark from its saved estimates, in nanoseconds.
fn criterion_median(id: &str) -> Option<f64> {
    // Criterion names a benchmark's folder after its id, with `/` turned into `_`.
    let path = root()
        .join("target/criterion")
        .join(id.replace('/', "_"))
        .join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn logic_table() {
    // (label, benchmark, floor, budget): the floor is serde_json parse + serialize of the same
    // event; JWT checks are reported beside jsonwebtoken's own verify instead.
    let rows: [(&str, &str, &str, Option<f64>); 9] = [
        ("define", "define/logic", "define/serde-floor", Some(2.0)),
        (
            "create (select-account)",
            "create-select-account/logic",
            "create-select-account/serde-floor",
            Some(2.0),
        ),
        (
            "create (OTP retry)",
            "create-otp-retry/logic",
            "create-otp-retry/serde-floor",
            Some(2.0),
        ),
        (
            "verify (OTP)",
            "verify-otp/logic",
            "verify-otp/serde-floor",
            Some(2.0),
        ),
        (
            "verify (select-account)",
            "verify-select-account/logic",
            "verify-select-account/serde-floor",
            Some(2.0),
        ),
        (
            "verify (JWT HS256)",
            "verify-jwt-hs256/logic",
            "verify-jwt-hs256/jsonwebtoken-decode",
            None,
        ),
        (
            "verify (JWT ES256)",
            "verify-jwt-es256/logic",
            "verify-jwt-es256/jsonwebtoken-decode",
            None,
        ),
        (
            "verify (passkey ES256) vs serde",
            "verify-passkey-es256/logic",
            "verify-passkey-es256/serde-floor",
            None,
        ),
        (
            "verify (JWT HS256) vs serde",
            "verify-jwt-hs256/logic",
            "verify-jwt-hs256/serde-floor",
            None,
        ),
    ];
    println!("\n## Logic cost (criterion medians; `cargo bench -p bench`)\n");
    println!("| handler work | µs | reference | reference µs | ratio | budget |");
    println!("|---|---:|---|---:|---:|---|");
    for (label, id, floor, budget) in rows {
        let (Some(a), Some(b)) = (criterion_median(id), criterion_median(floor)) else {
            println!("| {label} | – | {floor} | – | – | run `cargo bench -p bench` first |");
            continue;
        };
        let budget = budget.map_or("reported".to_owned(), |max| {
            format!("≤ {max}× {}", verdict(a / b <= max))
        });
        println!(
            "| {label} | {:.2} | {floor} | {:.2} | {} | {budget} |",
            a / 1e3,
            b / 1e3,
            ratio(a, b)
        );
    }
}

fn size_table() {
    let budget = [
        ("define-auth-challenge", 1.0),
        ("verify-auth-challenge", 3.0),
        ("create-auth-challenge", 4.0),
        // It makes a network call (DynamoDB), so the 1 MiB budget of a network-free trigger
        // does not apply; the SDK's share is the same as in Create.
        ("pre-token-generation", 2.0),
        ("passkey-api", 3.0),
    ];
    println!(
        "\n## Size (zipped bootstrap, `cargo lambda build --release --output-format zip`, x86_64)\n"
    );
    println!("| function | zip MiB | budget |");
    println!("|---|---:|---|");
    for (name, max) in budget {
        let path = root()
            .join("target/lambda")
            .join(name)
            .join("bootstrap.zip");
        match std::fs::metadata(&path) {
            Ok(m) => {
                let mib = m.len() as f64 / (1024.0 * 1024.0);
                println!(
                    "| {name} | {mib:.2} | ≤ {max} MiB {} |",
                    verdict(mib <= max)
                );
            }
            Err(_) => println!("| {name} | – | not built |"),
        }
    }
}
