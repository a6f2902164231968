//! The measuring half of `make bench`: runs a function binary against a loopback Runtime API
//! and times its cold start, its first invocation and its warm round trips, and reads its peak
//! RSS. Timings are reported, never asserted.

pub mod runtime_api;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One cold start.
#[derive(Clone, Copy, Debug)]
pub struct Cold {
    /// `exec` to the first `GET .../next`.
    pub init: Duration,
    /// `exec` to the first response.
    pub init_and_first: Duration,
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
