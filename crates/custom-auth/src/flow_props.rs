//! Property tests of the flow engine against an independent oracle.

use proptest::prelude::*;

use crate::config::{Flow, Step};
use crate::events::ChallengeResult;
use crate::flow::{CUSTOM_CHALLENGE, Decision, PASSWORD_VERIFIER, SRP_A, decide};
use crate::testing::{config_with, custom, entry, null};

const CUSTOM_STEPS: [Step; 5] = [
    Step::Captcha,
    Step::EmailOtp,
    Step::SmsOtp,
    Step::SelectAccount,
    Step::SignedToken,
];

fn flow_strategy() -> impl Strategy<Value = Flow> {
    (
        any::<bool>(),
        Just(CUSTOM_STEPS.to_vec()).prop_shuffle(),
        0..=5usize,
    )
        .prop_filter_map("empty flow", |(password, steps, n)| {
            let mut all = Vec::new();
            if password {
                all.push(Step::Password);
            }
            all.extend_from_slice(&steps[..n]);
            Flow::from_steps(&all).ok()
        })
}

fn round_strategy() -> impl Strategy<Value = Option<ChallengeResult>> {
    let tag = prop::sample::select(vec![
        "CAPTCHA",
        "EMAIL_OTP",
        "SMS_OTP",
        "SELECT_ACCOUNT",
        "SIGNED_TOKEN",
        "EMAIL_OTPX",
        "",
    ]);
    prop_oneof![
        Just(null()),
        any::<bool>().prop_map(|r| entry(SRP_A, r, None)),
        any::<bool>().prop_map(|r| entry(PASSWORD_VERIFIER, r, None)),
        any::<bool>().prop_map(|r| entry("SMS_MFA", r, None)),
        any::<bool>().prop_map(|r| entry(CUSTOM_CHALLENGE, r, None)),
        (tag.clone(), any::<bool>()).prop_map(|(t, r)| custom(&format!("{t}:1:123456"), r)),
        (tag.clone(), any::<bool>()).prop_map(|(t, r)| custom(t, r)),
        // A right tag under a wrong name.
        (
            tag,
            any::<bool>(),
            prop::sample::select(vec![SRP_A, PASSWORD_VERIFIER, "SMS_MFA"])
        )
            .prop_map(|(t, r, n)| entry(n, r, Some(t))),
    ]
}

/// A complete valid walk: each custom step fails `fails[i] % max` times, then passes.
fn valid_walk(flow: &Flow, max: u32, fails: &[u32]) -> Vec<Option<ChallengeResult>> {
    walk_with(flow, max, fails)
}

/// A walk where each custom step fails `fails[i] % limit` times, then passes: valid when
/// `limit` is the attempt limit, one failure too many at most when it is one more.
fn walk_with(flow: &Flow, limit: u32, fails: &[u32]) -> Vec<Option<ChallengeResult>> {
    let mut session = Vec::new();
    for (i, step) in flow.steps().iter().enumerate() {
        match step.tag() {
            None => {
                session.push(entry(SRP_A, true, None));
                session.push(entry(PASSWORD_VERIFIER, true, None));
            }
            Some(tag) => {
                for _ in 0..fails.get(i).copied().unwrap_or(0) % limit {
                    session.push(custom(tag, false));
                }
                session.push(custom(tag, true));
            }
        }
    }
    session
}

/// The oracle: the session, after the SRP pair, splits into runs of one tag each; the runs'
/// tags are the flow's custom steps in order; each run is some failures then one success,
/// at most `max` long.
fn oracle_complete(flow: &Flow, session: &[Option<ChallengeResult>], max: u32) -> bool {
    let mut rest = session;
    let mut steps = flow.steps();
    if steps.first() == Some(&Step::Password) {
        let srp_ok = |e: &Option<ChallengeResult>, n: &str| {
            e.as_ref()
                .is_some_and(|e| e.challenge_name.as_deref() == Some(n) && e.challenge_result)
        };
        if rest.len() < 2 || !srp_ok(&rest[0], SRP_A) || !srp_ok(&rest[1], PASSWORD_VERIFIER) {
            return false;
        }
        rest = &rest[2..];
        steps = &steps[1..];
    }
    let mut runs: Vec<(String, Vec<bool>)> = Vec::new();
    for e in rest {
        let Some(e) = e else { return false };
        if e.challenge_name.as_deref() != Some(CUSTOM_CHALLENGE) {
            return false;
        }
        let meta = e.challenge_metadata.clone().unwrap_or_default();
        let tag = meta.split(':').next().unwrap_or("").to_owned();
        match runs.last_mut() {
            Some((t, results)) if *t == tag => results.push(e.challenge_result),
            _ => runs.push((tag, vec![e.challenge_result])),
        }
    }
    runs.len() == steps.len()
        && runs.iter().zip(steps).all(|((tag, results), step)| {
            step.tag() == Some(tag.as_str())
                && results.len() <= max as usize
                && results.last() == Some(&true)
                && results[..results.len() - 1].iter().all(|r| !r)
        })
}

fn cfg(flow: &Flow, max: u32) -> crate::config::Config {
    config_with(
        &flow.to_string(),
        &[("AUTH_MAX_ATTEMPTS", &max.to_string())],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Tokens exactly when the session is a complete valid walk, and never for unknown users.
    #[test]
    fn tokens_iff_complete_valid_walk(
        flow in flow_strategy(),
        max in 1..=4u32,
        fails in prop::collection::vec(0..8u32, 6),
        noise in prop::collection::vec(round_strategy(), 0..10),
        edits in prop::collection::vec((0..16usize, 0..3u8, round_strategy()), 0..3),
        unknown in any::<bool>(),
    ) {
        // Start from a valid walk or from noise, then apply a few random edits, so that both
        // sides of the boundary are explored.
        let mut session = match noise.len() % 3 {
            0 => valid_walk(&flow, max, &fails),
            1 => walk_with(&flow, max + 1, &fails),
            _ => noise,
        };
        for (at, op, round) in edits {
            let at = at % (session.len() + 1);
            match op {
                0 => session.insert(at, round),
                1 if at < session.len() => { session.remove(at); }
                _ if at < session.len() => session[at] = round,
                _ => {}
            }
        }
        let decision = decide(&cfg(&flow, max), &session, unknown);
        let complete = oracle_complete(&flow, &session, max);
        prop_assert_eq!(decision == Decision::IssueTokens, complete && !unknown,
            "flow {} max {} session {:?}", flow, max, session);
        if unknown {
            prop_assert_ne!(decision, Decision::IssueTokens);
        }
    }

    /// Every valid walk ends in tokens; every non-empty strict prefix asks for another challenge.
    #[test]
    fn valid_walks_and_their_prefixes(
        flow in flow_strategy(),
        max in 1..=4u32,
        fails in prop::collection::vec(0..4u32, 6),
    ) {
        let config = cfg(&flow, max);
        let walk = valid_walk(&flow, max, &fails);
        prop_assert_eq!(decide(&config, &walk, false), Decision::IssueTokens);
        prop_assert!(matches!(decide(&config, &walk, true), Decision::Fail(_)));
        let first = usize::from(flow.steps()[0] == Step::Password);
        for end in first..walk.len() {
            let is_challenge = matches!(decide(&config, &walk[..end], false), Decision::Challenge { .. });
            prop_assert!(is_challenge, "prefix {}", end);
        }
    }
}
