//! Property tests of the flow engine against an independent oracle.

use proptest::prelude::*;

use crate::config::{Flow, Stage, Step};
use crate::events::ChallengeResult;
use crate::flow::{CUSTOM_CHALLENGE, Decision, PASSWORD_VERIFIER, SRP_A, choose_metadata, decide};
use crate::testing::{config_with, custom, entry, null};

const CUSTOM_STEPS: [Step; 5] = [
    Step::Captcha,
    Step::EmailOtp,
    Step::SmsOtp,
    Step::SelectAccount,
    Step::SignedToken,
];

/// Flows of up to five custom steps after an optional password, some stages a choice of two
/// or more (never of select-account, which the parser refuses).
fn flow_strategy() -> impl Strategy<Value = Flow> {
    (
        any::<bool>(),
        Just(CUSTOM_STEPS.to_vec()).prop_shuffle(),
        0..=5usize,
        prop::collection::vec(any::<bool>(), 5),
    )
        .prop_filter_map("empty flow", |(password, steps, n, join)| {
            let mut stages: Vec<Vec<Step>> = Vec::new();
            if password {
                stages.push(vec![Step::Password]);
            }
            for (i, step) in steps[..n].iter().enumerate() {
                let joinable = |stage: &Vec<Step>| {
                    !stage.contains(&Step::Password) && !stage.contains(&Step::SelectAccount)
                };
                match stages.last_mut() {
                    Some(last) if join[i] && joinable(last) && *step != Step::SelectAccount => {
                        last.push(*step)
                    }
                    _ => stages.push(vec![*step]),
                }
            }
            let text: Vec<String> = stages
                .iter()
                .map(|stage| stage.iter().map(|s| s.name()).collect::<Vec<_>>().join("|"))
                .collect();
            Flow::parse(&text.join(",")).ok()
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
        "CHOOSE",
        "CHOOSE:email-otp,sms-otp",
        "CHOOSE:sms-otp",
        "CHOOSE:captcha,signed-token",
        "CHOOSE:email-otp,email-otp",
        "CHOOSE:",
    ]);
    prop_oneof![
        Just(null()),
        any::<bool>().prop_map(|r| entry(SRP_A, r, None)),
        any::<bool>().prop_map(|r| entry(PASSWORD_VERIFIER, r, None)),
        any::<bool>().prop_map(|r| entry("SMS_MFA", r, None)),
        any::<bool>().prop_map(|r| entry(CUSTOM_CHALLENGE, r, None)),
        (tag.clone(), any::<bool>()).prop_map(|(t, r)| custom(&format!("{t}:1:123456"), r)),
        (tag.clone(), any::<bool>()).prop_map(|(t, r)| custom(&format!("{t},captcha"), r)),
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

/// How a walk's `CHOOSE` rounds offer: every alternative, only the pick (both valid), or
/// every alternative but the pick (invalid when there is another).
#[derive(Clone, Copy, Debug)]
enum Offer {
    All,
    Pick,
    AllButPick,
}

/// A complete valid walk: each custom round kind fails `fails[i] % max` times, then passes;
/// a choice picks `picks[i] % alternatives`, offering all of them or only the pick.
fn valid_walk(
    flow: &Flow,
    max: u32,
    fails: &[u32],
    picks: &[usize],
    pick_only: bool,
) -> Vec<Option<ChallengeResult>> {
    let offer = if pick_only { Offer::Pick } else { Offer::All };
    walk_with(flow, max, fails, picks, offer)
}

/// A walk where each custom round kind fails `fails[i] % limit` times, then passes: valid
/// when `limit` is the attempt limit, one failure too many at most when it is one more.
fn walk_with(
    flow: &Flow,
    limit: u32,
    fails: &[u32],
    picks: &[usize],
    offer: Offer,
) -> Vec<Option<ChallengeResult>> {
    let mut session = Vec::new();
    let mut runs = 0;
    let mut run = |session: &mut Vec<_>, metadata: &str| {
        for _ in 0..fails.get(runs).copied().unwrap_or(0) % limit {
            session.push(custom(metadata, false));
        }
        session.push(custom(metadata, true));
        runs += 1;
    };
    for (i, stage) in flow.stages().iter().enumerate() {
        match stage {
            Stage::One(Step::Password) => {
                session.push(entry(SRP_A, true, None));
                session.push(entry(PASSWORD_VERIFIER, true, None));
            }
            Stage::One(step) => run(&mut session, step.tag().unwrap_or_default()),
            Stage::Choice(alternatives) => {
                let pick = alternatives[picks.get(i).copied().unwrap_or(0) % alternatives.len()];
                let offered: Vec<Step> = match offer {
                    Offer::All => alternatives.clone(),
                    Offer::Pick => vec![pick],
                    Offer::AllButPick => alternatives
                        .iter()
                        .copied()
                        .filter(|s| *s != pick)
                        .collect(),
                };
                run(&mut session, &choose_metadata(&offered));
                run(&mut session, pick.tag().unwrap_or_default());
            }
        }
    }
    session
}

/// The oracle: the session, after the SRP pair, splits into runs of one tag each. Each stage
/// takes one run tagged as its step, or, for a choice, a `CHOOSE` run whose last round offers
/// some of the stage's alternatives (each once) and then a run tagged as one of those. Each
/// run is some failures then one success, at most `max` long.
fn oracle_complete(flow: &Flow, session: &[Option<ChallengeResult>], max: u32) -> bool {
    let mut rest = session;
    let mut stages = flow.stages();
    if stages.first() == Some(&Stage::One(Step::Password)) {
        let srp_ok = |e: &Option<ChallengeResult>, n: &str| {
            e.as_ref()
                .is_some_and(|e| e.challenge_name.as_deref() == Some(n) && e.challenge_result)
        };
        if rest.len() < 2 || !srp_ok(&rest[0], SRP_A) || !srp_ok(&rest[1], PASSWORD_VERIFIER) {
            return false;
        }
        rest = &rest[2..];
        stages = &stages[1..];
    }
    // (tag, results, metadata of the last round)
    let mut runs: Vec<(String, Vec<bool>, String)> = Vec::new();
    for e in rest {
        let Some(e) = e else { return false };
        if e.challenge_name.as_deref() != Some(CUSTOM_CHALLENGE) {
            return false;
        }
        let meta = e.challenge_metadata.clone().unwrap_or_default();
        let tag = meta.split(':').next().unwrap_or("").to_owned();
        match runs.last_mut() {
            Some((t, results, last)) if *t == tag => {
                results.push(e.challenge_result);
                *last = meta;
            }
            _ => runs.push((tag, vec![e.challenge_result], meta)),
        }
    }
    let well_run = |results: &Vec<bool>| {
        results.len() <= max as usize
            && results.last() == Some(&true)
            && results[..results.len() - 1].iter().all(|r| !r)
    };
    let mut runs = runs.iter();
    for stage in stages {
        let wanted: Vec<&str> = match stage {
            Stage::One(step) => vec![step.tag().unwrap_or_default()],
            Stage::Choice(alternatives) => {
                let Some((tag, results, last)) = runs.next() else {
                    return false;
                };
                if tag != "CHOOSE" || !well_run(results) {
                    return false;
                }
                let names: Vec<&str> = last
                    .strip_prefix("CHOOSE:")
                    .unwrap_or("")
                    .split(',')
                    .collect();
                let mut offered = Vec::new();
                for name in names {
                    match alternatives.iter().find(|s| s.name() == name) {
                        Some(step) if !offered.contains(step) => offered.push(*step),
                        _ => return false,
                    }
                }
                offered
                    .iter()
                    .map(|s| s.tag().unwrap_or_default())
                    .collect()
            }
        };
        let Some((tag, results, _)) = runs.next() else {
            return false;
        };
        if !wanted.contains(&tag.as_str()) || !well_run(results) {
            return false;
        }
    }
    runs.next().is_none()
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
        fails in prop::collection::vec(0..8u32, 8),
        picks in prop::collection::vec(0..3usize, 6),
        offer in prop::sample::select(vec![Offer::All, Offer::Pick, Offer::AllButPick]),
        noise in prop::collection::vec(round_strategy(), 0..10),
        edits in prop::collection::vec((0..16usize, 0..3u8, round_strategy()), 0..3),
        unknown in any::<bool>(),
    ) {
        // Start from a valid walk or from noise, then apply a few random edits, so that both
        // sides of the boundary are explored.
        let mut session = match noise.len() % 3 {
            0 => walk_with(&flow, max, &fails, &picks, offer),
            1 => walk_with(&flow, max + 1, &fails, &picks, offer),
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
        let decision = decide(&cfg(&flow, max), None, &session, unknown);
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
        fails in prop::collection::vec(0..4u32, 8),
        picks in prop::collection::vec(0..3usize, 6),
        pick_only in any::<bool>(),
    ) {
        let config = cfg(&flow, max);
        let walk = valid_walk(&flow, max, &fails, &picks, pick_only);
        prop_assert_eq!(decide(&config, None, &walk, false), Decision::IssueTokens);
        prop_assert!(matches!(decide(&config, None, &walk, true), Decision::Fail(_)));
        let first = usize::from(flow.stages()[0] == Stage::One(Step::Password));
        for end in first..walk.len() {
            let is_challenge = matches!(decide(&config, None, &walk[..end], false), Decision::Challenge { .. });
            prop_assert!(is_challenge, "prefix {}", end);
        }
    }
}
