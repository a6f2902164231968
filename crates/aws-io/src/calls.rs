//! The dependency calls of the invocation under way, timed where they are made, for the
//! metrics ([`custom_auth::telemetry`]).
//!
//! The calls are kept process-wide: a Lambda process serves one invocation at a time, and the
//! handler takes them ([`take`]) when it writes its report, so each report holds its own
//! invocation's calls.

use std::sync::Mutex;
use std::time::Instant;

use custom_auth::telemetry::{Call, Dependency};

static CALLS: Mutex<Vec<Call>> = Mutex::new(Vec::new());

/// At most this many calls are kept between two reports (a bound, should nothing take them).
const MAX_CALLS: usize = 64;

/// Notes a call to `dependency` that began at `started` and failed or not.
pub fn record(dependency: Dependency, started: Instant, failed: bool) {
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(mut calls) = CALLS.lock()
        && calls.len() < MAX_CALLS
    {
        calls.push(Call {
            dependency,
            millis,
            failed,
        });
    }
}

/// The calls noted since the last take.
pub fn take() -> Vec<Call> {
    CALLS
        .lock()
        .map(|mut calls| std::mem::take(&mut *calls))
        .unwrap_or_default()
}
