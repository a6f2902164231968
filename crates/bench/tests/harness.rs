//! The harness's self-test (part of `make test`): it really drives a `lambda_runtime` binary
//! through the loopback Runtime API and reads back answers and memory. No timing is asserted.

use std::path::Path;

#[tokio::test]
async fn harness_drives_a_real_lambda_runtime_binary() {
    let bin = Path::new(env!("CARGO_BIN_EXE_hello-lambda"));
    let env = bench::lambda_env("hello");
    let event = br#"{"hello":"world"}"#;

    let cold = bench::cold(bin, &env, event).await.unwrap();
    assert!(cold.init_and_first >= cold.init);

    let warm = bench::warm(bin, &env, event, 50).await.unwrap();
    assert_eq!(warm.latencies.len(), 50);
    assert_eq!(warm.errors, 0, "the echo function answers every event");
    assert!(warm.peak_rss_kib > 0, "VmHWM read from /proc");
    assert!(bench::quantile(&warm.latencies, 0.99) >= bench::quantile(&warm.latencies, 0.5));
}

#[tokio::test]
async fn a_binary_that_never_starts_is_an_error_not_a_hang() {
    let env = bench::lambda_env("missing");
    let err = bench::cold(Path::new("/nonexistent/bootstrap"), &env, b"{}")
        .await
        .unwrap_err();
    assert!(err.contains("/nonexistent/bootstrap"));
}
