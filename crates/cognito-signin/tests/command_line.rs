//! The binary as a shell runs it: usage errors name what is wrong, print the usage and exit
//! with the documented status, before any AWS call (no endpoint is reachable from here: the
//! endpoint is a closed loopback port, so a command that tried one would fail differently).
//!
//! Being an integration test, this also makes `cargo test --workspace` build the binary itself,
//! with the same features as every other test: the end-to-end test runs that one instead of
//! building the CLI again for a feature set of its own.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cognito-signin"))
        .args(args)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env_remove("COGNITO_SIGNIN_PASSWORD")
        .output()
        .expect("run cognito-signin")
}

#[test]
fn usage_errors_say_what_is_wrong() {
    struct Case {
        args: &'static [&'static str],
        status: i32,
        says: &'static str,
        usage: &'static str,
    }
    let cases = [
        Case {
            args: &[],
            status: 1,
            says: "--user-pool-id is required",
            usage: "usage: cognito-signin --user-pool-id",
        },
        Case {
            args: &["--user-pool-id", "p", "--client-id", "c"],
            status: 1,
            says: "--username is required",
            usage: "usage: cognito-signin --user-pool-id",
        },
        Case {
            args: &["--frobnicate"],
            status: 1,
            says: "unknown argument \"--frobnicate\"",
            usage: "usage: cognito-signin --user-pool-id",
        },
        Case {
            args: &[
                "--user-pool-id",
                "p",
                "--client-id",
                "c",
                "--username",
                "u",
                "--remember-device",
                "laptop",
            ],
            status: 1,
            says: "--remember-device needs --account-api and --device-key",
            usage: "usage: cognito-signin --user-pool-id",
        },
        Case {
            args: &["support"],
            status: 64,
            says: "name an action",
            usage: "usage: cognito-signin support ACTION",
        },
        Case {
            args: &["support", "show", "--username"],
            status: 64,
            says: "--username needs a value",
            usage: "usage: cognito-signin support ACTION",
        },
        Case {
            args: &["pool"],
            status: 64,
            says: "name an action",
            usage: "usage: cognito-signin pool check|attach|detach",
        },
        Case {
            args: &["pool", "check", "--stack-outputs", "o.json", "--apply"],
            status: 64,
            says: "check changes nothing",
            usage: "usage: cognito-signin pool check|attach|detach",
        },
    ];
    for case in cases {
        let out = run(case.args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(case.status),
            "{:?}: {stderr}",
            case.args
        );
        assert!(stderr.contains(case.says), "{:?}: {stderr}", case.args);
        assert!(stderr.contains(case.usage), "{:?}: {stderr}", case.args);
        assert!(out.stdout.is_empty(), "{:?} printed to stdout", case.args);
    }
}
