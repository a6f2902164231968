//! Flows per app client and a choice of method (issue 12), on the stack `e2e-choice`: its
//! people's client runs `email-otp|sms-otp`, its hand-off client (made because a signed-token
//! key is set) runs `signed-token`.

use super::*;

impl SignIn {
    /// Signs `user` in through the app client whose id the stack's outputs hold under
    /// `client` (`clientId` or `handoffClientId`).
    fn start_on(aws: &LocalAws, stack: &str, client: &str, user: &str, answers: &[&str]) -> SignIn {
        let id = aws.stack(stack)[client]
            .as_str()
            .expect("client id")
            .to_owned();
        SignIn::start_with(aws, stack, &id, user, None, answers)
    }

    /// The stderr lines up to and including the first that contains `text`.
    fn lines_until(&self, text: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_secs(1)) {
                Ok(line) => {
                    let done = line.contains(text);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("the CLI never printed {text:?}; it printed {seen:?}");
    }
}

pub(crate) fn flows_per_client_and_choice(aws: &LocalAws) -> Vec<String> {
    // The functions name each client's flow; any other client of the pool has none.
    let out = local_aws(&["describe", "--port", &aws.port, "--stack", "e2e-choice"]);
    assert!(out.status.success(), "could not describe the stack");
    let settings: Value = serde_json::from_slice(&out.stdout).expect("settings");
    let stack = aws.stack("e2e-choice");
    let flows: Value = serde_json::from_str(settings["authFlows"].as_str().expect("AUTH_FLOWS"))
        .expect("AUTH_FLOWS is JSON");
    let people = stack["clientId"].as_str().expect("client");
    let handoff = stack["handoffClientId"].as_str().expect("hand-off client");
    assert!(!handoff.is_empty() && handoff != people, "{stack}");
    assert_eq!(
        flows,
        serde_json::json!({ people: "email-otp|sms-otp", handoff: "signed-token" }),
        "{settings}"
    );
    assert_eq!(
        settings["authFlow"], "",
        "no flow for other clients: {settings}"
    );

    // The hand-off client takes the backend's token and asks for nothing else.
    let sub = stack["sub"].as_str().expect("sub");
    let token = signed_token(sub, Some("e2e-choice-handoff-1"));
    let run = SignIn::start_on(aws, "e2e-choice", "handoffClientId", "jane", &[&token]);
    let (exit, stdout) = run.finish();
    assert_signed_in(exit, &stdout);
    let claims: Value = serde_json::from_str(&stdout).expect("claims");
    assert_eq!(claims["aud"], handoff, "tokens of the hand-off client");
    // The people's client: a choice first, offering every way to every name (the list says
    // nothing about who exists or what they have). jane has no phone number: picking SMS
    // anyway runs the decoy round (a made-up masked number, nothing sent, no answer passes), and
    // the CLI says to start again and choose another way. Nothing is sent before the pick.
    let before = aws.mails();
    let run = SignIn::start(aws, "e2e-choice", None, &["sms-otp"]);
    let first = run.lines_until("SMS code: a code was sent to +*******");
    let offered: Vec<&String> = first.iter().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(offered, ["  email-otp", "  sms-otp"], "{first:?}");
    run.expect_line("no code? press Ctrl-D and start again to choose another way");
    let (exit, _) = run.finish();
    assert_ne!(exit, Some(0), "no tokens from a decoy round");
    assert_eq!(aws.mails(), before, "nothing sent before or after the pick");
    // Started again, the e-mail way: the code, then tokens.
    let mut run = SignIn::start(aws, "e2e-choice", None, &["email-otp"]);
    run.expect_line("a code was sent to j***@example.com (attempt 1, 3 left)");
    let code = new_code(aws, before);
    assert_eq!(aws.mails(), before + 1);
    run.answer(&code);
    let (exit, stdout) = run.finish();
    assert_signed_in(exit, &stdout);

    // Each client runs only its own flow (these wrong answers come last: they lock jane on
    // this stack for the test's short lockout window). The people's client does not take a
    // hand-off token...
    let run = SignIn::start(aws, "e2e-choice", None, &[&token, &token, &token]);
    let (exit, stdout) = run.finish();
    assert_eq!(exit, Some(2), "a signed token through the people's client");
    assert!(stdout.is_empty());
    // ...and the people's pick is a wrong answer on the hand-off client.
    let run = SignIn::start_on(
        aws,
        "e2e-choice",
        "handoffClientId",
        "jane",
        &["email-otp", "email-otp", "email-otp"],
    );
    let (exit, _) = run.finish();
    assert_eq!(
        exit,
        Some(2),
        "the people's flow through the hand-off client"
    );
    println!("flows per client and a choice: each client its flow, the pick then its code");
    vec![code, token]
}
