//! Where a code or a link may go: the one rule for e-mail and SMS codes and magic links. A
//! message goes only to a well-formed address Cognito marks verified; the round shows it
//! masked; an unknown user, or one with nowhere to send, gets a stable decoy address and a
//! round that looks the same, with nothing sent.

use std::collections::HashMap;

use crate::config::Step;
use crate::steps::round::{Round, public};

/// Masks a usable e-mail address to its first character and domain: `j***@example.com`;
/// `None` for anything that is not one.
pub fn mask_email(email: &str) -> Option<String> {
    // Only what could be sent as is: one `@`, a dotted domain, no whitespace or control
    // characters (a CR/LF would be a header injection attempt), at most 254 bytes.
    let clean = email.len() <= 254
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',');
    let (local, domain) = email.split_once('@')?;
    let first = local.chars().next()?;
    let domain_ok = domain.contains('.') && !domain.contains('@') && !domain.starts_with('.');
    (clean && domain_ok).then(|| format!("{first}***@{domain}"))
}

/// Masks an E.164 phone number (`+` and 8 to 15 digits, as Cognito stores `phone_number`) to
/// its last four digits: `+*******0123`. Anything else is not a usable number.
pub fn mask_phone(phone: &str) -> Option<String> {
    let digits = phone.strip_prefix('+')?;
    let valid = (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    let stars = "*".repeat(digits.len() - 4);
    Some(format!("+{stars}{}", &digits[digits.len() - 4..]))
}

/// Whether Cognito marks the attribute `name` (`email_verified`, `phone_number_verified`) as
/// verified. Only the exact string `"true"`, which is what Cognito sends: a missing, `"false"`,
/// `"TRUE"` or otherwise odd value is not. A code goes only to a verified destination, because
/// a user (or anyone holding one of the user's access tokens) can set `email` or
/// `phone_number` to an address of their choosing, which Cognito then marks unverified;
/// sending codes there would hand the account to whoever controls that address.
pub fn verified(attributes: &HashMap<String, String>, name: &str) -> bool {
    attributes.get(name).is_some_and(|v| v == "true")
}

/// An unknown user's masked decoy address: the name's own mask when it is an address, or a
/// stable made-up one. From the name as the pool compares it, so case changes nothing.
fn decoy_email(user: &str, seed: &[u8; 32]) -> String {
    let user = crate::names::compared(user);
    if let Some(masked) = mask_email(&user) {
        return masked;
    }
    const DOMAINS: [&str; 5] = [
        "gmail.com",
        "outlook.com",
        "yahoo.com",
        "icloud.com",
        "hotmail.com",
    ];
    let first = user
        .chars()
        .find(char::is_ascii_alphanumeric)
        .map_or('u', |c| c.to_ascii_lowercase());
    format!(
        "{first}***@{}",
        DOMAINS[usize::from(seed[0]) % DOMAINS.len()]
    )
}

fn decoy_phone(seed: &[u8; 32]) -> String {
    let last: String = seed[1..5]
        .iter()
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    format!("+*******{last}")
}

/// The masked form of the address a code of `step` would go to (e-mail or phone number), if
/// the user has a well-formed one, verified or not.
fn masked(step: Step, attrs: &HashMap<String, String>) -> Option<String> {
    match step {
        Step::EmailOtp => attrs.get("email").and_then(|e| mask_email(e)),
        _ => attrs.get("phone_number").and_then(|p| mask_phone(p)),
    }
}

/// The address a code of `step` may go to: the user's e-mail address or phone number when it
/// is well-formed and Cognito marks it verified.
fn destination(step: Step, attrs: &HashMap<String, String>) -> Option<&str> {
    let (attribute, flag) = match step {
        Step::EmailOtp => ("email", "email_verified"),
        _ => ("phone_number", "phone_number_verified"),
    };
    masked(step, attrs)?;
    verified(attrs, flag)
        .then(|| attrs.get(attribute).map(String::as_str))
        .flatten()
}

/// Where a message of `channel_step` (an e-mail step or [`Step::SmsOtp`]) may go for this
/// round's user, and what the round shows of it (public `email` or `phone`): the masked
/// address, or an unknown user's stable decoy. A real user with no usable destination (none,
/// malformed, or not verified) gets the decoy treatment: a message nobody receives, because an
/// error would tell such users apart from unknown ones. The log says why, never the address.
/// One rule for codes and magic links.
pub(crate) fn address<'a>(round: &mut Round<'a>, channel_step: Step) -> Option<&'a str> {
    let (request, user, seed) = (round.request, round.user, round.seed);
    let unknown = request.user_not_found;
    let attrs = &request.user_attributes;
    let (to, shown) = if unknown {
        (None, None)
    } else {
        (
            destination(channel_step, attrs),
            masked(channel_step, attrs),
        )
    };
    let (key, shown) = match channel_step {
        Step::SmsOtp => (public::PHONE, shown.unwrap_or_else(|| decoy_phone(&seed))),
        _ => (
            public::EMAIL,
            shown.unwrap_or_else(|| decoy_email(user, &seed)),
        ),
    };
    round.public.insert(key.to_owned(), shown);
    if to.is_none() && !unknown {
        tracing::warn!(step = %round.step, "user has no usable verified destination; running a decoy round");
        round.created.decoy = true;
    }
    to
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        let table: &[(&str, Option<&str>)] = &[
            ("jane@example.com", Some("j***@example.com")),
            ("j@x.io", Some("j***@x.io")),
            ("  j@x.io ", None),
            ("jane@example.com\r\nBcc: mallory@example.net", None),
            ("jane@example.com,mallory@example.net", None),
            ("Jane <jane@example.com>", None),
            ("jane@@example.com", None),
            ("jane@.example.com", None),
            ("@example.com", None),
            ("jane@localhost", None),
            ("jane", None),
        ];
        for (input, want) in table {
            assert_eq!(mask_email(input).as_deref(), *want, "{input}");
        }
        assert_eq!(mask_phone("+15555550123").as_deref(), Some("+*******0123"));
        assert_eq!(
            mask_phone("+447700900123").as_deref(),
            Some("+********0123")
        );
        for bad in [
            "123",
            "+1234567",
            "+44 7700 900123",
            "15555550123",
            "+1555555012a",
            "",
        ] {
            assert_eq!(mask_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_the_exact_string_true_is_verified() {
        let table: &[(Option<&str>, bool)] = &[
            (Some("true"), true),
            (Some("false"), false),
            (Some("TRUE"), false),
            (Some("True"), false),
            (Some(" true"), false),
            (Some("1"), false),
            (Some(""), false),
            (None, false),
        ];
        for (value, want) in table {
            let attrs: HashMap<String, String> = value
                .map(|v| ("email_verified".to_owned(), v.to_owned()))
                .into_iter()
                .collect();
            assert_eq!(verified(&attrs, "email_verified"), *want, "{value:?}");
            assert!(!verified(&attrs, "phone_number_verified"), "{value:?}");
        }
    }

    #[test]
    fn decoy_destinations_are_stable_and_plausible() {
        let a = crate::steps::round::decoy_seed("pool", "ghost");
        assert_eq!(decoy_email("someone@corp.example", &a), "s***@corp.example");
        assert!(decoy_email("ghost", &a).starts_with("g***@"));
        let phone = decoy_phone(&a);
        assert_eq!(phone.len(), 12);
        assert!(phone.starts_with("+*******"));
    }
}
