//! The sign-in page in a real browser (issue 12): `tests/browser/signin.mjs` drives Debian's
//! headless Chromium through the page (web/dist) against this test's local AWS, for
//! `password,email-otp` (SRP in the browser, then the code), `email-otp|sms-otp` (each branch
//! chosen; a wrong code, then the right one), `email-otp` with three wrong codes, and
//! `select-account` (the account picked reaches the ID token), magic links, and passkeys
//! (`passkey|email-otp`, issue 15: a code, then a passkey made through the registration API
//! with a virtual authenticator, then a sign-in with it; another user's authenticator and a
//! forged one refused; the API keeps users apart), and remembered devices
//! (`device|email-otp`, issue 29). `make e2e` builds the page and installs
//! Chromium first. Screenshots land in `target/e2e-artifacts/`.

use super::*;

/// Chromium as Debian installs it (`make chromium`); `CHROMIUM` names another.
fn chromium() -> PathBuf {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        path.exists(),
        "no Chromium at {}: run `make chromium` (or `make e2e`, which does)",
        path.display()
    );
    path
}

pub(crate) fn artifacts() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    target.join("e2e-artifacts")
}

/// Runs the page's scenarios; returns the codes it typed, for the leak check.
pub(crate) fn sign_in_through_the_page(aws: &LocalAws, page_port: u16) -> Vec<String> {
    assert!(
        root().join("web/dist/app.js").exists(),
        "the page is not built: run `make web` (or `make e2e`, which does)"
    );
    // One user of its own on each stack: the CLI's sign-ins above have used up jane's limits.
    let (name, email, phone) = ("pat", "pat@example.com", "+15555550188");
    let mut stacks = serde_json::Map::new();
    for (stack, flow) in [
        ("e2e-password", "password,email-otp"),
        ("e2e-choice", "email-otp|sms-otp"),
        ("e2e-email", "email-otp"),
        ("e2e-account", "select-account"),
        ("e2e-link", "magic-link"),
        ("e2e-passkey", "passkey|email-otp"),
        ("e2e-device", "device|email-otp"),
    ] {
        let out = local_aws(&[
            "user",
            "--port",
            &aws.port,
            "--stack",
            stack,
            "--username",
            name,
            "--email",
            email,
            "--phone",
            phone,
        ]);
        assert!(out.status.success(), "could not set up {name} on {stack}");
        let s = aws.stack(stack);
        let mut config = serde_json::json!({
            "userPoolId": s["userPoolId"], "clientId": s["clientId"], "flow": flow,
        });
        // (Every local stack has the API: the emulator takes the template's "flow names a
        // step" conditions as true. Only the passkey and device flows' pages use it.)
        if let Some(api) = s["passkeyApi"]
            .as_str()
            .filter(|_| flow.contains("passkey") || flow.contains("device"))
        {
            config["passkeyApi"] = api.into();
        }
        stacks.insert(stack.into(), config);
    }
    assert!(
        stacks["e2e-passkey"]["passkeyApi"].is_string(),
        "the passkey stack's API"
    );
    // A second user on the passkey stack, whose passkey must never sign Pat in.
    let (other, other_email) = ("quinn", "quinn@example.com");
    let out = local_aws(&[
        "user",
        "--port",
        &aws.port,
        "--stack",
        "e2e-passkey",
        "--username",
        other,
        "--email",
        other_email,
    ]);
    assert!(out.status.success(), "could not set up {other}");
    let input = serde_json::json!({
        "endpoint": aws.endpoint(),
        "pagePort": page_port,
        "user": { "name": name, "password": "Demo-Passw0rd!", "email": email, "phone": phone },
        "other": { "name": other, "email": other_email },
        "stacks": stacks,
    });
    let (status, result) = run_page_script(&input);
    assert!(
        status,
        "the sign-in page failed in the browser (see `page:` lines above)"
    );
    let list = |key: &str| -> Vec<String> {
        result[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} in the browser test's result"))
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect()
    };
    check_page_run(list("codes"), list("proofs"))
}

/// Runs `tests/browser/signin.mjs` with `input` (bounded); whether it passed, and its result
/// (the codes and proofs it read).
pub(crate) fn run_page_script(input: &Value) -> (bool, Value) {
    let mut input = input.clone();
    input["artifacts"] = artifacts().to_string_lossy().into_owned().into();
    input["chromium"] = chromium().to_string_lossy().into_owned().into();
    let mut child = Command::new("node")
        .arg(root().join("tests/browser/signin.mjs"))
        .arg(input.to_string())
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run node tests/browser/signin.mjs");
    // Bounded: the script's own steps time out after 20 s each; five minutes in all is plenty.
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser test ran past five minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        out.read_to_string(&mut stdout).expect("node's stdout");
    }
    let result: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    (status.success(), result)
}

/// The main page run's codes, links and screenshots; returns its codes and proofs.
fn check_page_run(codes: Vec<String>, proofs: Vec<String>) -> Vec<String> {
    // Six sign-ins by code, two more in the passkey scenario (Pat signing in again to delete
    // a passkey, Quinn's fresh sign-in before her user is deleted), and four in the device
    // scenario (the first sign-in, another profile, after the refused device, after forgetting).
    assert_eq!(
        codes.len(),
        12,
        "twelve codes read from the mailboxes: {codes:?}"
    );
    assert_eq!(
        proofs.len(),
        2,
        "two magic links read from the mailbox: {proofs:?}"
    );
    for shot in [
        "signed-in",
        "signed-in-phone",
        "choice-phone",
        "failed",
        "account-picked",
        "link-sent",
        "link-confirm",
        "link-signed-in",
        "link-invalid-signed-in",
        "link-refused",
        "passkey-added",
        "passkey-signed-in",
        "passkey-none-here",
        "passkey-refused",
        "passkey-sign-in-again",
        "device-remembered",
        "device-signed-in",
        "device-forgotten",
    ] {
        let path = artifacts().join(format!("{shot}.png"));
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        assert!(size > 1000, "no screenshot {}", path.display());
    }
    println!(
        "sign-in page: 5 sign-ins, a magic link, passkeys and remembered devices in Chromium, screenshots in {}",
        artifacts().display()
    );
    // The codes typed and the links' proofs: none may reach a log.
    codes.into_iter().chain(proofs).collect()
}
