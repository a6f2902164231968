//! Showing a custom challenge to a person, and taking the answer from flags or the terminal.

use std::collections::HashMap;
use std::io::BufRead;

use crate::CliError;

/// A one-line description of a challenge from its public parameters.
pub fn describe(params: &HashMap<String, String>) -> String {
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("?");
    let tries = format!("attempt {}, {} left", get("attempt"), get("attemptsLeft"));
    match get("challenge") {
        "EMAIL_OTP" => format!("e-mail code: a code was sent to {} ({tries})", get("email")),
        "SMS_OTP" => format!("SMS code: a code was sent to {} ({tries})", get("phone")),
        "CAPTCHA" => format!(
            "CAPTCHA: solve the widget with site key {} and give its token ({tries})",
            get("siteKey")
        ),
        "SELECT_ACCOUNT" => {
            let accounts: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(get("accounts")).unwrap_or_default();
            let list: Vec<String> = accounts
                .iter()
                .map(|(id, name)| format!("  {id}  {}", name.as_str().unwrap_or("")))
                .collect();
            format!("choose an account by id ({tries}):\n{}", list.join("\n"))
        }
        // The terminal cannot run a WebAuthn ceremony; the request is shown, on one line, for an
        // authenticator outside this program (a script with a security key, a test's software
        // authenticator), whose credential JSON is then the answer. Every field is public: the
        // pool gives the same to any client.
        "PASSKEY" => format!(
            "passkey: sign this request with one of your passkeys and give the credential as JSON ({tries})\npasskey request options: {}",
            get("options")
        ),
        "SIGNED_TOKEN" => format!("signed token: give the JWT from your backend ({tries})"),
        "DEVICE" => {
            format!("remembered device: signing the challenge with this machine's key ({tries})")
        }
        "CHOOSE" => {
            let options: Vec<String> = serde_json::from_str(get("options")).unwrap_or_default();
            format!(
                "choose how to sign in ({tries}):\n{}",
                options
                    .iter()
                    .map(|o| format!("  {o}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        }
        other => format!("challenge {other} ({tries})"),
    }
}

/// After a pick in a choice, what to do if the chosen way brings nothing: every name is offered
/// every way (the list says nothing about who exists), and a way this account cannot complete
/// sends nothing.
pub fn after_choice_hint(kind: &str) -> Option<&'static str> {
    match kind {
        "EMAIL_OTP" | "SMS_OTP" => {
            Some("no code? press Ctrl-D and start again to choose another way")
        }
        "MAGIC_LINK" => Some("no e-mail? press Ctrl-D and start again to choose another way"),
        "PASSKEY" => Some("no passkey here? press Ctrl-D and start again to choose another way"),
        _ => None,
    }
}

/// Answers from `--answer` flags first, then from standard input.
pub struct Answers {
    given: std::vec::IntoIter<String>,
    before_prompt: Option<String>,
}

impl Answers {
    /// Answers in order, then the terminal.
    pub fn new(given: Vec<String>, before_prompt: Option<String>) -> Answers {
        Answers {
            given: given.into_iter(),
            before_prompt,
        }
    }

    /// The answer to the next challenge, of kind `kind`.
    pub fn next(&mut self, kind: &str) -> Result<String, CliError> {
        if let Some(answer) = self.given.next() {
            return Ok(answer);
        }
        if let Some(command) = &self.before_prompt {
            // A helper's failure is shown but does not stop the sign-in.
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .env("CHALLENGE", kind)
                .status();
            if !status.is_ok_and(|s| s.success()) {
                eprintln!("(--before-prompt command failed)");
            }
        }
        eprint!("answer> ");
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::Input(format!("cannot read the answer: {e}")))?;
        if read == 0 {
            return Err(CliError::Input(
                "no answer: standard input is closed (pass --answer for scripts)".into(),
            ));
        }
        Ok(line.trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A round's public parameters, and what its description must say.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

    #[test]
    fn each_kind_is_described_with_what_answering_it_needs() {
        let tries = [("attempt", "1"), ("attemptsLeft", "3")];
        let cases: &[Case] = &[
            (
                &[("challenge", "EMAIL_OTP"), ("email", "j***@example.com")],
                &["a code was sent to j***@example.com (attempt 1, 3 left)"],
            ),
            (
                &[
                    ("challenge", "CHOOSE"),
                    ("options", r#"["passkey","email-otp"]"#),
                ],
                &["choose how to sign in", "\n  passkey\n  email-otp"],
            ),
            // The request options on a line of their own, whole, for an authenticator outside.
            (
                &[
                    ("challenge", "PASSKEY"),
                    ("options", r#"{"challenge":"AAEC","rpId":"localhost"}"#),
                ],
                &["\npasskey request options: {\"challenge\":\"AAEC\",\"rpId\":\"localhost\"}"],
            ),
            (
                &[("challenge", "MAGIC_LINK")],
                &["challenge MAGIC_LINK (attempt 1, 3 left)"],
            ),
        ];
        for (given, want) in cases {
            let mut all = params(given);
            all.extend(params(&tries));
            let shown = describe(&all);
            for part in *want {
                assert!(shown.contains(part), "{shown:?} lacks {part:?}");
            }
        }
    }
}
