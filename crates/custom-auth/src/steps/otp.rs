//! The one-time code steps, `email-otp` and `sms-otp`: the challenge (a code, sent once per
//! step to a verified destination, kept in the round's metadata for retries) and the check
//! of an answer against it.
//!
//! Cognito keeps no state for us but `challengeMetadata`, so a code step stores its code and
//! first-send time there (`EMAIL_OTP:<unix seconds>:<code>:<owner>`). A retry of the step
//! reads them back from the step's first round: the same code, the same age, nothing sent
//! again. Only triggers ever see metadata; no log shows it.

use rand::{CryptoRng, Rng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{Config, Step};
use crate::error::AuthError;
use crate::keys::user_key;
use crate::ports::{CaptchaVerifier, Channel, CodeMessage, CodeSender, JwksFetcher};
use crate::steps::answer::{Answer, Checked, MAX_ISSUE_SKEW_SECONDS, VerifyIo, Wrong};
use crate::steps::destination::address;
use crate::steps::round::{CreateIo, Round, private};
use crate::store::{SendGate, StateStore};

/// A fresh code of `length` digits, each uniform over 0..=9.
pub fn generate_code(rng: &mut impl CryptoRng, length: usize) -> String {
    (0..length)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
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

/// Builds a code round: the masked destination, and on the step's first round a fresh code,
/// counted against the send limit (with the state store) and sent, or a decoy send when there
/// is nowhere to send; on a retry the first round's code, read back from its metadata.
pub(crate) async fn challenge(
    round: &mut Round<'_>,
    io: &mut CreateIo<'_, impl CodeSender, impl StateStore, impl CryptoRng>,
) -> Result<(), AuthError> {
    let (config, step, tag, request, user, now) = (
        round.config,
        round.step,
        round.tag,
        round.request,
        round.user,
        round.now,
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
                match io.store.record_send(&user, now, &state.limits).await {
                    Ok(SendGate::Allowed) => {}
                    // (A link's interval does not apply to codes.)
                    Ok(SendGate::OverLimit | SendGate::TooSoon) => {
                        return Err(AuthError::TooManyCodes);
                    }
                    Ok(SendGate::Locked) => return Err(AuthError::Locked),
                    Err(e) => return Err(AuthError::State(e)),
                }
            }
            let code = generate_code(io.rng, config.otp_length);
            match destination {
                Some(to) if !round.created.decoy => {
                    io.sender
                        .send(&message(config, channel, to, &code))
                        .await
                        .map_err(AuthError::Delivery)?;
                    round.created.sent = true;
                }
                _ => io.sender.imitate_send().await,
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
pub(crate) async fn check(
    answer: &Answer<'_>,
    _: &VerifyIo<'_, impl CaptchaVerifier, impl JwksFetcher>,
) -> Checked {
    check_code(answer).map(|()| None)
}

fn check_code(answer: &Answer<'_>) -> Result<(), Wrong> {
    let (config, params, now) = (answer.config, answer.params, answer.now);
    let (unknown, answer) = (answer.unknown(), answer.text);
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
