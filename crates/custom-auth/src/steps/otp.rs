//! The one-time code steps, `email-otp` and `sms-otp`: the challenge (a code, sent once per
//! step to a verified destination, kept in the round's metadata for retries) and the check
//! of an answer against it.
//!
//! Cognito keeps no state for us but `challengeMetadata`, so a code step stores its code and
//! first-send time there (`EMAIL_OTP:<unix seconds>:<code>:<owner>`). A retry of the step
//! reads them back from the step's first round: the same code, the same age, nothing sent
//! again. Only triggers ever see metadata; no log shows it.

use std::collections::HashMap;

use rand::{CryptoRng, Rng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{Config, Step};
use crate::error::AuthError;
use crate::keys::user_key;
use crate::ports::{Channel, CodeMessage, CodeSender};
use crate::state::{SendGate, StateStore};
use crate::steps::answer::{MAX_ISSUE_SKEW_SECONDS, Wrong};
use crate::steps::round::{Round, private, public};

/// A fresh code of `length` digits, each uniform over 0..=9.
pub fn generate_code(rng: &mut impl CryptoRng, length: usize) -> String {
    (0..length)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

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

/// Who a stored code belongs to: the pool, the user name and the user's `sub`. A retry only
/// reuses a code whose metadata names the same user, so a session store that mixes up
/// sessions (a buggy emulator, say) cannot hand one user's code to another.
struct Owner<'a> {
    pool: &'a str,
    user: &'a str,
    sub: &'a str,
}

impl Owner<'_> {
    /// 16 hex digits of SHA-256 over the owner, the step, the time and the code. Not a MAC:
    /// Cognito keeps the metadata server-side, and this only detects mix-ups.
    fn binding(&self, tag: &str, issued_at: u64, code: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"custom-auth otp owner v1\0");
        for part in [
            self.pool,
            self.user,
            self.sub,
            tag,
            &issued_at.to_string(),
            code,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The metadata of an OTP round: `TAG:<issued_at>:<code>:<owner binding>`.
fn code_metadata(owner: &Owner, tag: &str, issued_at: u64, code: &str) -> String {
    let binding = owner.binding(tag, issued_at, code);
    format!("{tag}:{issued_at}:{code}:{binding}")
}

/// Reads [`code_metadata`] back from the first round of an OTP step; `None` if it is malformed
/// or bound to another user.
fn stored_code(metadata: &str, owner: &Owner, tag: &str, length: usize) -> Option<(u64, String)> {
    let mut parts = metadata.split(':');
    if parts.next()? != tag {
        return None;
    }
    let issued_at = parts.next()?.parse().ok()?;
    let code = parts.next()?;
    let binding = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let valid = code.len() == length && code.bytes().all(|b| b.is_ascii_digit());
    let expected = owner.binding(tag, issued_at, code);
    let owned: bool = binding.as_bytes().ct_eq(expected.as_bytes()).into();
    (valid && owned).then(|| (issued_at, code.to_owned()))
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

/// Builds a code round: the masked destination, and on the step's first round a fresh code,
/// counted against the send limit (with the state store) and sent, or a decoy send when there
/// is nowhere to send; on a retry the first round's code, read back from its metadata.
pub(crate) async fn challenge<S: CodeSender>(
    round: &mut Round<'_>,
    sender: &S,
    store: &impl StateStore,
    rng: &mut impl CryptoRng,
    now: u64,
) -> Result<(), AuthError> {
    let (config, step, tag, request, user) = (
        round.config,
        round.step,
        round.tag,
        round.request,
        round.user,
    );
    let attrs = &request.user_attributes;
    let first_round = round.first_round;
    let owner = Owner {
        pool: round.pool,
        user,
        sub: attrs.get("sub").map_or("", String::as_str),
    };
    let channel = match step {
        Step::EmailOtp => Channel::Email,
        _ => Channel::Sms,
    };
    let destination = address(round, step);
    let (issued_at, code) = match first_round {
        Some(index) => {
            let stored = request
                .session
                .get(index)
                .and_then(Option::as_ref)
                .and_then(|r| r.challenge_metadata.as_deref())
                .and_then(|m| stored_code(m, &owner, tag, config.otp_length));
            stored.ok_or(AuthError::TamperedSession)?
        }
        None => {
            if let Some(state) = &config.state {
                let user = user_key(&state.key, owner.pool, user);
                match store.record_send(&user, now, &state.limits).await {
                    Ok(SendGate::Allowed) => {}
                    // (A link's interval does not apply to codes.)
                    Ok(SendGate::OverLimit | SendGate::TooSoon) => {
                        return Err(AuthError::TooManyCodes);
                    }
                    Ok(SendGate::Locked) => return Err(AuthError::Locked),
                    Err(e) => return Err(AuthError::State(e)),
                }
            }
            let code = generate_code(rng, config.otp_length);
            match destination {
                Some(to) if !round.created.decoy => {
                    sender
                        .send(&message(config, channel, to, &code))
                        .await
                        .map_err(AuthError::Delivery)?;
                    round.created.sent = true;
                }
                _ => sender.imitate_send().await,
            }
            (now, code)
        }
    };
    round.metadata = code_metadata(&owner, tag, issued_at, &code);
    round.private.insert(private::CODE.to_owned(), code);
    round
        .private
        .insert(private::ISSUED_AT.to_owned(), issued_at.to_string());
    Ok(())
}

fn message(config: &Config, channel: Channel, to: &str, code: &str) -> CodeMessage {
    let minutes = config.otp_ttl_seconds.div_ceil(60);
    CodeMessage {
        channel,
        destination: to.to_owned(),
        subject: config
            .email
            .as_ref()
            .map(|e| e.subject.clone())
            .unwrap_or_default(),
        html: None,
        body: format!(
            "Your sign-in code is {code}. It expires in {minutes} minute{}. If you did not try to sign in, ignore this message.",
            if minutes == 1 { "" } else { "s" }
        ),
    }
}

/// Checks an answer against the round's code: equal (compared in constant time, before
/// anything else, so timing says nothing about expiry or decoys), not expired, not from the
/// future, and never for an unknown user.
pub(crate) fn check(
    config: &Config,
    params: &HashMap<String, String>,
    answer: &str,
    unknown: bool,
    now: u64,
) -> Result<(), Wrong> {
    let code = params.get(private::CODE).ok_or(Wrong::MissingParameters)?;
    let issued_at: u64 = params
        .get(private::ISSUED_AT)
        .and_then(|t| t.parse().ok())
        .ok_or(Wrong::MissingParameters)?;
    // Compare first, in constant time, so timing says nothing about expiry or decoys.
    let matches: bool = answer.trim().as_bytes().ct_eq(code.as_bytes()).into();
    if unknown {
        return Err(Wrong::Decoy);
    }
    let from_future = issued_at > now.saturating_add(MAX_ISSUE_SKEW_SECONDS);
    if from_future || now > issued_at.saturating_add(config.otp_ttl_seconds) {
        return Err(Wrong::Expired);
    }
    if matches {
        Ok(())
    } else {
        Err(Wrong::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn codes_are_uniform_over_all_digits() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = [0u32; 10];
        for _ in 0..20_000 {
            let code = generate_code(&mut rng, 6);
            assert_eq!(code.len(), 6);
            for b in code.bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 120,000 digits: each expected 12,000; a missing 9 (the exclusive-bound bug) fails.
        for (digit, n) in counts.iter().enumerate() {
            assert!((11_000..13_000).contains(n), "digit {digit}: {n}");
        }
    }

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

    #[test]
    fn stored_codes() {
        let jane = Owner {
            pool: "pool",
            user: "jane",
            sub: "sub-1",
        };
        let good = code_metadata(&jane, "EMAIL_OTP", 100, "123456");
        let bound = &good["EMAIL_OTP:100:123456:".len()..];
        let other_user = code_metadata(
            &Owner {
                user: "john",
                ..jane
            },
            "EMAIL_OTP",
            100,
            "123456",
        );
        let other_sub = code_metadata(
            &Owner {
                sub: "sub-2",
                ..jane
            },
            "EMAIL_OTP",
            100,
            "123456",
        );
        let table: Vec<(String, Option<(u64, &str)>)> = vec![
            (good.clone(), Some((100, "123456"))),
            (other_user, None),
            (other_sub, None),
            (format!("EMAIL_OTP:101:123456:{bound}"), None),
            (format!("EMAIL_OTP:100:123457:{bound}"), None),
            (format!("{good}:extra"), None),
            ("EMAIL_OTP:100:123456".into(), None),
            ("EMAIL_OTP:100:12345:0000000000000000".into(), None),
            ("EMAIL_OTP:x:123456:0000000000000000".into(), None),
            (good.replace("EMAIL_OTP", "SMS_OTP"), None),
            ("EMAIL_OTP".into(), None),
        ];
        for (m, want) in table {
            let got = stored_code(&m, &jane, "EMAIL_OTP", 6);
            assert_eq!(got.as_ref().map(|(t, c)| (*t, c.as_str())), want, "{m}");
        }
    }
}
