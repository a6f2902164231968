//! The measuring half of `make bench`: runs a function binary against a loopback Runtime API
//! and times its cold start, its first invocation and its warm round trips, and reads its peak
//! RSS. Timings are reported, never asserted.

pub mod runtime_api;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One cold start.
#[derive(Clone, Debug)]
pub struct Cold {
    /// `exec` to the first `GET .../next`.
    pub init: Duration,
    /// `exec` to the first response.
    pub init_and_first: Duration,
    /// The first response's body: what the row measured, for the harness to check.
    pub first: Vec<u8>,
}

/// A warm run.
#[derive(Clone, Debug)]
pub struct Warm {
    /// Round trip of each invocation, sorted.
    pub latencies: Vec<Duration>,
    /// Peak resident set (`VmHWM`), in KiB.
    pub peak_rss_kib: u64,
    /// Resident anonymous memory (heap, stacks) at the end, in KiB.
    pub anon_kib: u64,
    /// Resident file-backed memory (the binary's pages, libc) at the end, in KiB.
    pub file_kib: u64,
    /// How many answers were errors.
    pub errors: usize,
}

/// Environment every function gets, besides `AWS_LAMBDA_RUNTIME_API`.
pub fn lambda_env(name: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        // Nothing is sent in these runs; if something were, it would stay on this machine.
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn spawn(bin: &Path, api: &str, env: &[(String, String)]) -> std::io::Result<Child> {
    Command::new(bin)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

const LIMIT: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, f: impl Future<Output = Option<T>>) -> Result<T, String> {
    tokio::time::timeout(LIMIT, f)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| format!("no {what} within {LIMIT:?}"))
}

/// Starts `bin` once, measures init and the first invocation of `event`, then stops it.
pub async fn cold(bin: &Path, env: &[(String, String)], event: &[u8]) -> Result<Cold, String> {
    let mut api = runtime_api::start().await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = spawn(bin, &api.address, env).map_err(|e| format!("{}: {e}", bin.display()))?;
    let result = async {
        let first_next = within("GET /next", api.first_next.recv()).await?;
        api.events
            .send(event.to_vec())
            .await
            .map_err(|e| e.to_string())?;
        let reply = within("response", api.replies.recv()).await?;
        Ok(Cold {
            init: first_next - started,
            init_and_first: reply.at - started,
            first: reply.body,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Starts `bin`, sends `event` `invocations` times, and reads its peak RSS.
pub async fn warm(
    bin: &Path,
    env: &[(String, String)],
    event: &[u8],
    invocations: usize,
) -> Result<Warm, String> {
    let mut api = runtime_api::start().await.map_err(|e| e.to_string())?;
    let mut child = spawn(bin, &api.address, env).map_err(|e| format!("{}: {e}", bin.display()))?;
    let result = async {
        let mut latencies = Vec::with_capacity(invocations);
        let mut errors = 0;
        for _ in 0..invocations {
            let sent = Instant::now();
            api.events
                .send(event.to_vec())
                .await
                .map_err(|e| e.to_string())?;
            let reply = within("response", api.replies.recv()).await?;
            errors += usize::from(reply.kind != "response");
            latencies.push(reply.at - sent);
        }
        latencies.sort();
        let peak_rss_kib = peak_rss_kib(child.id()).unwrap_or(0);
        let rollup = |key: &str| proc_kib(child.id(), "smaps_rollup", key).unwrap_or(0);
        let (rss, anon_kib) = (rollup("Rss:"), rollup("Anonymous:"));
        Ok(Warm {
            latencies,
            peak_rss_kib,
            anon_kib,
            file_kib: rss.saturating_sub(anon_kib),
            errors,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// `VmHWM` of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    proc_kib(pid, "status", "VmHWM:")
}

/// A `key: N kB` line of `/proc/<pid>/<file>`.
fn proc_kib(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The value at quantile `q` (0..=1) of sorted samples.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The median of samples.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    quantile(&samples, 0.5)
}

/// The settings of the passkey rows: the captured fixtures' RP id, origin and state key (the
/// user handle in the assertion is made with that key).
pub const PASSKEY_CONFIG: [(&str, &str); 5] = [
    ("AUTH_FLOW", "passkey"),
    ("AUTH_STATE_TABLE", "bench-state"),
    (
        "AUTH_STATE_KEY",
        "passkey-fixture-state-key-0123456789abcdef",
    ),
    ("PASSKEY_RP_ID", "localhost"),
    ("PASSKEY_ORIGINS", "http://localhost:4700"),
];

/// A Verify event answering a `PASSKEY` round with a real ES256 assertion
/// (`events/passkey/es256.json`, captured from Chromium's virtual authenticator), its
/// ceremony's expiry moved into the future so that every check, the signature included, runs.
pub fn passkey_verify_event(root: &Path) -> Result<Vec<u8>, String> {
    let fixture = read_json(root, "passkey/es256.json")?;
    passkey_round_event(root, &fixture, fixture["signIn"]["answer"].to_string())
}

/// A Verify event of `fixture`'s user answering its captured `PASSKEY` round (its state's
/// expiry moved into the future) with `answer`.
fn passkey_round_event(
    root: &Path,
    fixture: &serde_json::Value,
    answer: String,
) -> Result<Vec<u8>, String> {
    let mut event = read_json(root, "verify/email-otp-correct.json")?;
    let mut private = fixture["signIn"]["private"].clone();
    let state = private["passkeyState"].as_str().ok_or("no passkeyState")?;
    private["passkeyState"] = serde_json::Value::String(future_state(state)?);
    event["userPoolId"] = fixture["pool"].clone();
    event["userName"] = fixture["user"].clone();
    // The passkey and its user handle belong to the user's `sub`.
    event["request"]["userAttributes"]["sub"] = fixture["sub"].clone();
    event["request"]["privateChallengeParameters"] = private;
    event["request"]["challengeAnswer"] = answer.into();
    serde_json::to_vec(&event).map_err(|e| e.to_string())
}

/// A sign-in ceremony's encoded state with its expiry (8 bytes, little-endian Unix seconds,
/// after the 16-byte challenge, the user verification byte and the extensions byte) in 2096.
fn future_state(state: &str) -> Result<String, String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = URL_SAFE_NO_PAD
        .decode(state)
        .map_err(|_| "state: not base64url")?;
    let at = bytes.get_mut(18..26).ok_or("state: too short")?;
    let captured = u64::from_le_bytes(at.try_into().map_err(|_| "state")?);
    if !(1_750_000_000..2_500_000_000).contains(&captured) {
        return Err(format!("state: no expiry at byte 18 ({captured})"));
    }
    at.copy_from_slice(&4_000_000_000u64.to_le_bytes());
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The state key of the passkey rows ([`PASSKEY_CONFIG`]), the fixtures' own.
const PASSKEY_STATE_KEY: &str = "passkey-fixture-state-key-0123456789abcdef";

/// A sign-in without a name, from `events/passkey/es256-discoverable.json`: the assertion and
/// its discoverable state (expiry moved into the future), sealed under the rows' state key as
/// the passkey API seals it. As JSON: `{"credential": ..., "state": ...}`.
fn no_name_answer(fixture: &serde_json::Value) -> Result<serde_json::Value, String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let sealed = fixture["discoverable"]["state"]
        .as_str()
        .ok_or("no discoverable state")?;
    let (state, _) = sealed.split_once('.').ok_or("state: not sealed")?;
    let state = URL_SAFE_NO_PAD
        .decode(future_state(state)?)
        .map_err(|_| "state: not base64url")?;
    let key = custom_auth::config::env::Secret::new(PASSKEY_STATE_KEY);
    Ok(serde_json::json!({
        "credential": fixture["discoverable"]["answer"],
        "state": custom_auth::passkey::discover::seal(&key, &state),
    }))
}

fn read_json(root: &Path, name: &str) -> Result<serde_json::Value, String> {
    let text = std::fs::read(root.join("events").join(name)).map_err(|e| format!("{name}: {e}"))?;
    serde_json::from_slice(&text).map_err(|e| format!("{name}: {e}"))
}

/// A Verify event answering a `PASSKEY` round without a name typed: the discoverable
/// fixture's assertion over a sealed challenge, against the round Create built for its holder.
pub fn passkey_no_name_verify_event(root: &Path) -> Result<Vec<u8>, String> {
    let fixture = read_json(root, "passkey/es256-discoverable.json")?;
    passkey_round_event(root, &fixture, no_name_answer(&fixture)?.to_string())
}

/// A public call to the passkey API (no authorizer, no token): `POST path` with `body`.
pub fn passkey_public_event(root: &Path, path: &str, body: &str) -> Result<Vec<u8>, String> {
    let mut event = read_json(root, "hostile/valid/passkey-api.json")?;
    event["routeKey"] = format!("POST {path}").into();
    event["rawPath"] = path.into();
    event["requestContext"]["routeKey"] = format!("POST {path}").into();
    event["requestContext"]["http"]["method"] = "POST".into();
    event["requestContext"]["http"]["path"] = path.into();
    if let Some(context) = event["requestContext"].as_object_mut() {
        context.remove("authorizer");
    }
    if let Some(headers) = event["headers"].as_object_mut() {
        headers.remove("authorization");
    }
    event["body"] = body.into();
    serde_json::to_vec(&event).map_err(|e| e.to_string())
}

/// The name route's call: the discoverable fixture's assertion and sealed state.
pub fn passkey_name_event(root: &Path) -> Result<Vec<u8>, String> {
    let fixture = read_json(root, "passkey/es256-discoverable.json")?;
    passkey_public_event(
        root,
        "/passkeys/sign-in/name",
        &no_name_answer(&fixture)?.to_string(),
    )
}

/// DynamoDB's answer to the name route's one `GetItem`: the claim item of the discoverable
/// fixture's passkey (its holder, public key and dynamic state), as the adapter writes it.
pub fn passkey_claim_item(root: &Path) -> Result<String, String> {
    let fixture = read_json(root, "passkey/es256-discoverable.json")?;
    let s = |v: &serde_json::Value| serde_json::json!({ "S": v });
    Ok(serde_json::json!({
        "Item": {
            "pk": {"S": "k#bench"},
            "owner": {"S": "p#bench"},
            "user": s(&fixture["holder"]["user"]),
            "handle": s(&fixture["holder"]["handle"]),
            "publicKey": s(&fixture["passkey"]["publicKey"]),
            "dynamic": s(&fixture["passkey"]["dynamic"]),
        }
    })
    .to_string())
}
