//! The `CHOOSE` round of a choice stage (`email-otp|sms-otp`): what it offers, how an answer
//! is checked, and how Create learns the pick for the round after it.
//!
//! Cognito shows Create neither the answer nor anything Verify decided except "correct". So
//! the client sends its pick twice in the same `RespondToAuthChallenge`: as the answer, which
//! Verify checks against the offered list, and as `ClientMetadata` `choice`, which Cognito
//! hands to Define, Verify and Create of that request. Verify refuses an answer whose metadata
//! names another alternative; Create builds the round of the alternative the metadata names,
//! only if the `CHOOSE` round offered it. From then on the session's metadata (written by
//! Create, kept by Cognito) names the branch, and the walk holds the session to it.

use std::collections::HashMap;

use crate::config::Step;
use crate::ports::{CaptchaVerifier, JwksFetcher};
use crate::steps::answer::{Answer, Checked, VerifyIo, Wrong};
use crate::steps::round::private;

/// The `ClientMetadata` key that repeats the pick.
pub const CHOICE_KEY: &str = "choice";

/// The alternatives to offer: every alternative of the stage, to every name. What a user can
/// complete (a verified address, a passkey) is never asked here, because a list that left
/// something out for some users would tell an attacker which names exist and what they have.
/// A user who picks a branch they cannot complete meets that step's decoy round (nothing is
/// sent, no answer passes), exactly as an unknown name does; the page and the CLI then say to
/// start again and choose another way.
pub fn offer(alternatives: &[Step]) -> Vec<Step> {
    alternatives.to_vec()
}

/// The offered names as the public `options` parameter: a JSON array, in flow order.
pub fn options_json(offered: &[Step]) -> String {
    let names: Vec<&str> = offered.iter().map(|s| s.name()).collect();
    serde_json::Value::from(names).to_string()
}

/// Reads [`options_json`] back (Verify, from the private parameters).
pub fn parse_options(json: &str) -> Option<Vec<Step>> {
    let names: Vec<String> = serde_json::from_str(json).ok()?;
    names.iter().map(|n| Step::from_name(n)).collect()
}

/// Checks a `CHOOSE` answer against the alternatives the round offered (its private
/// parameters) and the client's metadata. A pick holds no secret: the decoy checks it like a
/// real one.
pub(crate) async fn check(
    answer: &Answer<'_>,
    _: &VerifyIo<'_, impl CaptchaVerifier, impl JwksFetcher>,
) -> Checked {
    let offered = answer
        .params
        .get(private::OPTIONS)
        .and_then(|o| parse_options(o))
        .ok_or(Wrong::MissingParameters)?;
    pick(answer.text, &offered, &answer.event.request.client_metadata)
        .map(|_| None)
        .ok_or(Wrong::NotOffered)
}

/// The pick a `CHOOSE` answer names, if `offered` has it and the client's metadata repeats
/// it exactly.
pub fn pick(
    answer: &str,
    offered: &[Step],
    client_metadata: &HashMap<String, String>,
) -> Option<Step> {
    let step = Step::from_name(answer.trim()).filter(|s| offered.contains(s))?;
    (client_metadata.get(CHOICE_KEY).map(String::as_str) == Some(step.name())).then_some(step)
}

/// Create, in the round after a pick: the alternative the client's metadata names, if the
/// `CHOOSE` round offered it.
pub fn chosen(client_metadata: &HashMap<String, String>, offered: &[Step]) -> Option<Step> {
    client_metadata
        .get(CHOICE_KEY)
        .and_then(|name| Step::from_name(name))
        .filter(|s| offered.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_name_is_offered_every_alternative() {
        use Step::*;
        let all = [EmailOtp, SmsOtp, MagicLink, Passkey, Captcha];
        assert_eq!(offer(&all), all.to_vec());
        assert_eq!(offer(&[SmsOtp, EmailOtp]), vec![SmsOtp, EmailOtp]);
    }

    #[test]
    fn options_round_trip() {
        let offered = [Step::EmailOtp, Step::SmsOtp];
        let json = options_json(&offered);
        assert_eq!(json, r#"["email-otp","sms-otp"]"#);
        assert_eq!(parse_options(&json), Some(offered.to_vec()));
        for bad in [
            "",
            "[",
            r#"["choose"]"#,
            r#"["teleport"]"#,
            r#"{"a":1}"#,
            "[1]",
        ] {
            assert_eq!(parse_options(bad), None, "{bad}");
        }
    }

    #[test]
    fn checks_and_picks() {
        let offered = [Step::EmailOtp, Step::SmsOtp];
        let meta = |v: &str| attrs(&[(CHOICE_KEY, v)]);
        let table = [
            ("email-otp", meta("email-otp"), Some(Step::EmailOtp)),
            (" sms-otp\n", meta("sms-otp"), Some(Step::SmsOtp)),
            ("email-otp", meta("sms-otp"), None),
            ("email-otp", attrs(&[]), None),
            ("captcha", meta("captcha"), None),
            ("password", meta("password"), None),
            ("choose", meta("choose"), None),
            ("EMAIL-OTP", meta("EMAIL-OTP"), None),
        ];
        for (answer, metadata, want) in table {
            assert_eq!(pick(answer, &offered, &metadata), want, "{answer:?}");
        }
        assert_eq!(chosen(&meta("sms-otp"), &offered), Some(Step::SmsOtp));
        assert_eq!(chosen(&meta("sms-otp"), &[Step::EmailOtp]), None);
        assert_eq!(chosen(&meta(" sms-otp"), &offered), None);
        assert_eq!(chosen(&attrs(&[]), &offered), None);
    }
}
