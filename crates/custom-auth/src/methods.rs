//! How a sign-in happened: the authentication methods its steps passed, as the values of the
//! `amr` claim (RFC 8176 where one fits, our own where none does), for the tokens.
//!
//! Cognito sets `amr` itself only for its own `USER_AUTH` sign-ins and does not let Pre Token
//! Generation add or change it, so the methods go into a claim of our own name
//! (`SIGN_IN_METHODS_CLAIM`) with the same values. Create writes the list into the private
//! parameters of the round that completes the flow ([`crate::steps::round::private::METHODS`]);
//! Verify records it once, with that round's right answer, under the client's sign-in id; Pre
//! Token Generation takes it. The list is decided here, from the steps alone.

use crate::config::Step;
use crate::config::passkey::Verification;

/// How long a sign-in's recorded methods wait for Pre Token Generation, which Cognito calls
/// within the same request as the last answer: minutes are plenty.
pub const METHODS_TTL_SECONDS: u64 = 300;

/// A factor class: a method counts towards `mfa` only with a method of another class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Factor {
    /// Something the person knows (the password).
    Knowledge,
    /// Something the person holds: a mailbox, a phone, a key.
    Possession,
    /// The person verified on the authenticator itself (PIN or biometric).
    Verified,
}

/// The `amr` values of one step, and the factor classes they prove. CAPTCHA, the account
/// choice and the pick of a choice prove nothing about who signs in: no value. A signed
/// hand-off token says another system signed the user in, not how: its own value, no class.
fn of(
    step: Step,
    verification: Option<Verification>,
) -> (&'static [&'static str], &'static [Factor]) {
    use Factor::{Knowledge, Possession, Verified};
    match step {
        Step::Password => (&["pwd"], &[Knowledge]),
        Step::EmailOtp => (&["otp"], &[Possession]),
        Step::SmsOtp => (&["sms"], &[Possession]),
        Step::MagicLink => (&["link"], &[Possession]),
        Step::Passkey if verification == Some(Verification::Required) => {
            (&["hwk", "user"], &[Possession, Verified])
        }
        Step::Passkey => (&["hwk"], &[Possession]),
        // A key the device keeps in software (non-extractable, but not in a secure element
        // we can vouch for): RFC 8176's `swk`.
        Step::Device => (&["swk"], &[Possession]),
        Step::SignedToken => (&["jwt"], &[]),
        Step::Captcha | Step::SelectAccount | Step::Choose => (&[], &[]),
    }
}

/// The `amr` values of a sign-in that passed `steps` (in order), with `verification` the
/// passkeys' user verification setting: each method once, in the order first passed, and `mfa`
/// last when methods of two or more factor classes passed (a password and a code; a passkey
/// whose authenticator verified the user, which NIST counts as two factors in one).
pub fn amr(steps: &[Step], verification: Option<Verification>) -> Vec<&'static str> {
    let mut values: Vec<&'static str> = Vec::new();
    let mut classes: Vec<Factor> = Vec::new();
    for step in steps {
        let (names, factors) = of(*step, verification);
        for name in names {
            if !values.contains(name) {
                values.push(name);
            }
        }
        for factor in factors {
            if !classes.contains(factor) {
                classes.push(*factor);
            }
        }
    }
    if classes.len() >= 2 {
        values.push("mfa");
    }
    values
}

/// The list as Create writes it and the store keeps it: a JSON array of strings.
pub fn to_json(values: &[&str]) -> String {
    serde_json::Value::from(values.to_vec()).to_string()
}

/// A kept list read back: a non-empty JSON array of short lower-case strings, or `None` (a
/// record that is not such a list is no list: the tokens then carry none, never a guess).
pub fn from_json(kept: &str) -> Option<Vec<String>> {
    let values: Vec<String> = serde_json::from_str(kept).ok()?;
    let valid = !values.is_empty()
        && values.len() <= 16
        && values
            .iter()
            .all(|v| (1..=16).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_lowercase()));
    valid.then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Step::*;

    #[test]
    fn every_flow_shape_names_its_methods() {
        let required = Some(Verification::Required);
        let table: &[(&[Step], Option<Verification>, &[&str])] = &[
            (&[Password], None, &["pwd"]),
            (&[EmailOtp], None, &["otp"]),
            (&[SmsOtp], None, &["sms"]),
            (&[MagicLink], None, &["link"]),
            (&[SignedToken], None, &["jwt"]),
            (&[Passkey], required, &["hwk", "user", "mfa"]),
            (&[Passkey], Some(Verification::Preferred), &["hwk"]),
            (&[Password, EmailOtp], None, &["pwd", "otp", "mfa"]),
            (&[Password, SmsOtp], None, &["pwd", "sms", "mfa"]),
            (&[Captcha, Password, EmailOtp], None, &["pwd", "otp", "mfa"]),
            (&[Password, Choose, SmsOtp], None, &["pwd", "sms", "mfa"]),
            (
                &[Password, Choose, Passkey],
                required,
                &["pwd", "hwk", "user", "mfa"],
            ),
            (&[EmailOtp, SelectAccount], None, &["otp"]),
            // Two possession factors are one class: no `mfa`.
            (&[EmailOtp, SmsOtp], None, &["otp", "sms"]),
            // A hand-off token proves no class of its own.
            (&[Password, SignedToken], None, &["pwd", "jwt"]),
            (&[Captcha], None, &[]),
            (&[Password, Choose, Device], None, &["pwd", "swk", "mfa"]),
            (&[Device], None, &["swk"]),
        ];
        for (steps, verification, want) in table {
            assert_eq!(amr(steps, *verification), *want, "{steps:?}");
        }
    }

    #[test]
    fn a_kept_list_reads_back_and_nothing_else_does() {
        let kept = to_json(&amr(&[Password, EmailOtp], None));
        assert_eq!(kept, r#"["pwd","otp","mfa"]"#);
        assert_eq!(
            from_json(&kept),
            Some(vec!["pwd".into(), "otp".into(), "mfa".into()])
        );
        for bad in [
            "",
            "[]",
            "{}",
            "\"pwd\"",
            "[1]",
            r#"["PWD"]"#,
            r#"["a b"]"#,
            r#"["waytoolongavaluehere"]"#,
        ] {
            assert_eq!(from_json(bad), None, "{bad}");
        }
    }
}
