//! A small load run inside `make test` (issue 32), so a change that breaks concurrency fails
//! CI: `tools/load.py --attach` on the stacks this test deployed, with the CLI it built. A few
//! dozen sign-ins, a cap on those in flight, every fourth with a password, every sixth by a
//! magic link, every sixth (others) by a passkey registered through the account API just
//! before, every tenth with wrong codes; then one user's sign-ins at once against the send
//! limit, one user's wrong answers in concurrent sessions against the lockout (exactly one
//! lockout begun), one user's round answered with another's passkey (refused), and one passkey
//! cloned into concurrent sessions with one counter value (exactly one signs in). Each sign-in's
//! ID token must name its own user and say its own methods (`signin_amr`, which every end-to-end
//! stack sets).

use std::process::{Command, Stdio};

use super::{LocalAws, cli, root};

/// `link_page`: the page the `e2e-link` stack's links open (one of its `MagicLinkUrls`);
/// `passkey_origin`: one of the `e2e-passkey` stack's `PasskeyOrigins`, which the software
/// authenticator says it signs for.
pub fn a_small_load_run_through_the_stacks(aws: &LocalAws, link_page: &str, passkey_origin: &str) {
    let out = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tools/load.py"))
        .args(["--attach", "--port", &aws.port])
        .args([
            "--email-stack",
            "e2e-email",
            "--password-stack",
            "e2e-password",
        ])
        .args(["--users", "24", "--ramp", "2", "--in-flight", "8"])
        .args(["--password-every", "4", "--prefix", "e2eload"])
        .args([
            "--link-every",
            "6",
            "--link-stack",
            "e2e-link",
            "--link-url",
            link_page,
        ])
        .args([
            "--passkey-every",
            "6",
            "--passkey-stack",
            "e2e-passkey",
            "--passkey-origin",
            passkey_origin,
        ])
        // The end-to-end stacks' limits (sign_in_through_the_local_aws).
        .args(["--send-limit", "3", "--lockout-after", "4"])
        .args(["--cli", &cli().to_string_lossy()])
        .current_dir(root())
        .stderr(Stdio::inherit())
        .output()
        .expect("run tools/load.py");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success(),
        "the small load run missed (see its report above)"
    );
    assert!(report.contains("failures: 0"), "{report}");
}
