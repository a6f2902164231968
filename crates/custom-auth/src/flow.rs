//! The flow engine: where a session stands in the configured flow, and what Define answers.
//!
//! Cognito hands every trigger the whole session history. Instead of trusting any counter,
//! each trigger walks that history against the flow from the start; an entry that does not fit
//! exactly where it stands ends the sign-in.

use std::iter::{Enumerate, Peekable};
use std::slice::Iter;

use crate::config::{Config, Flow, Stage, Step};
use crate::events::{ChallengeResult, DefineAuthChallengeEvent};

/// The built-in challenge name of an SRP start.
pub const SRP_A: &str = "SRP_A";
/// The built-in challenge name of an SRP password proof.
pub const PASSWORD_VERIFIER: &str = "PASSWORD_VERIFIER";
/// The challenge name of every step this project builds.
pub const CUSTOM_CHALLENGE: &str = "CUSTOM_CHALLENGE";

/// Where a session stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// SRP has started; Cognito must now check the password.
    PasswordVerifier,
    /// A custom round awaits an answer ([`Step::Choose`]: the pick of a choice stage).
    Custom {
        /// The step.
        step: Step,
        /// 1-based round of this step (1 on the first try).
        attempt: u32,
        /// Index in the session of the first round of this step, on a retry.
        first_round: Option<usize>,
    },
    /// A choice stage awaits the user's pick (a `CHOOSE` round).
    Choosing {
        /// The stage's alternatives, as the flow lists them.
        alternatives: Vec<Step>,
        /// 1-based round of the pick.
        attempt: u32,
    },
    /// The user has just picked an alternative of a choice stage; its first round comes next.
    /// Which one only the answer told (Create reads it from the client's `ClientMetadata`, of
    /// the same request, and must find it among `offered`); from then on the session's own
    /// metadata names the branch.
    Chosen {
        /// The alternatives the `CHOOSE` round offered.
        offered: Vec<Step>,
    },
    /// Every step has passed.
    Complete,
    /// The sign-in must fail.
    Failed(FailReason),
}

/// Why a sign-in fails. Logged; never sent to the client, which only learns that it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// An entry is not the one the flow expects at its place (wrong name, wrong tag, an extra
    /// round, a null entry).
    OutOfPlace,
    /// Cognito's SRP check failed or never started.
    PasswordRejected,
    /// A step had its last allowed wrong answer.
    AttemptsExhausted,
    /// The user does not exist (`userNotFound`); the decoy flow ends here.
    UnknownUser,
    /// The event has no `triggerSource`: it did not come from Cognito's sign-in loop.
    NotFromCognito,
    /// The app client has no flow (not in `AUTH_FLOWS`, and no `AUTH_FLOW`).
    UnknownClient,
}

impl FailReason {
    /// A short, log-friendly name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::OutOfPlace => "session-out-of-place",
            FailReason::PasswordRejected => "password-rejected",
            FailReason::AttemptsExhausted => "attempts-exhausted",
            FailReason::UnknownUser => "unknown-user",
            FailReason::NotFromCognito => "no-trigger-source",
            FailReason::UnknownClient => "unknown-app-client",
        }
    }
}

/// The tag at the start of a metadata string (`TAG` or `TAG:...`), if any.
pub fn metadata_tag(metadata: &str) -> &str {
    metadata.split_once(':').map_or(metadata, |(tag, _)| tag)
}

fn is(entry: &ChallengeResult, name: &str) -> bool {
    entry.challenge_name.as_deref() == Some(name)
}

type Rounds<'a> = Peekable<Enumerate<Iter<'a, Option<ChallengeResult>>>>;

/// Walks `session` against `flow`, allowing `max_attempts` answers per custom round kind.
pub fn walk(flow: &Flow, session: &[Option<ChallengeResult>], max_attempts: u32) -> Position {
    let mut rounds = session.iter().enumerate().peekable();
    for stage in flow.stages() {
        let outcome = match stage {
            Stage::One(Step::Password) => password(&mut rounds),
            Stage::One(step) => custom(*step, &mut rounds, max_attempts).map(|_| ()),
            Stage::Choice(alternatives) => choice(alternatives, &mut rounds, max_attempts),
        };
        if let Err(position) = outcome {
            return position;
        }
    }
    if rounds.peek().is_some() {
        return Position::Failed(FailReason::OutOfPlace);
    }
    Position::Complete
}

/// The SRP pair: `SRP_A` (true) then `PASSWORD_VERIFIER` (true).
fn password(rounds: &mut Rounds) -> Result<(), Position> {
    match rounds.next() {
        Some((_, Some(e))) if is(e, SRP_A) && e.challenge_result => {}
        Some((_, Some(e))) if is(e, SRP_A) => {
            return Err(Position::Failed(FailReason::PasswordRejected));
        }
        None => return Err(Position::Failed(FailReason::PasswordRejected)),
        Some(_) => return Err(Position::Failed(FailReason::OutOfPlace)),
    }
    match rounds.next() {
        None => Err(Position::PasswordVerifier),
        Some((_, Some(e))) if is(e, PASSWORD_VERIFIER) && e.challenge_result => Ok(()),
        Some((_, Some(e))) if is(e, PASSWORD_VERIFIER) => {
            Err(Position::Failed(FailReason::PasswordRejected))
        }
        Some(_) => Err(Position::Failed(FailReason::OutOfPlace)),
    }
}

/// The rounds of one custom step: wrong answers, then a right one, all tagged `step`. Returns
/// the right one; the position where the session ends or breaks otherwise.
fn custom<'a>(
    step: Step,
    rounds: &mut Rounds<'a>,
    max_attempts: u32,
) -> Result<&'a ChallengeResult, Position> {
    let Some(tag) = step.tag() else {
        return Err(Position::Failed(FailReason::OutOfPlace));
    };
    let mut answered = 0u32;
    let mut first_round = None;
    loop {
        let Some((index, entry)) = rounds.next() else {
            return Err(Position::Custom {
                step,
                attempt: answered + 1,
                first_round,
            });
        };
        let Some(entry) = entry else {
            return Err(Position::Failed(FailReason::OutOfPlace));
        };
        let tagged = entry
            .challenge_metadata
            .as_deref()
            .is_some_and(|m| metadata_tag(m) == tag);
        if !is(entry, CUSTOM_CHALLENGE) || !tagged {
            return Err(Position::Failed(FailReason::OutOfPlace));
        }
        first_round.get_or_insert(index);
        answered += 1;
        if entry.challenge_result {
            return Ok(entry);
        }
        if answered >= max_attempts {
            return Err(Position::Failed(FailReason::AttemptsExhausted));
        }
    }
}

/// A choice stage: `CHOOSE` rounds until one passes, then the rounds of the alternative that
/// the next round's metadata names, which must be one the passing `CHOOSE` round offered.
fn choice(alternatives: &[Step], rounds: &mut Rounds, max_attempts: u32) -> Result<(), Position> {
    let out_of_place = Position::Failed(FailReason::OutOfPlace);
    let chosen = custom(Step::Choose, rounds, max_attempts).map_err(|p| match p {
        Position::Custom { attempt, .. } => Position::Choosing {
            alternatives: alternatives.to_vec(),
            attempt,
        },
        other => other,
    })?;
    let offered = chosen
        .challenge_metadata
        .as_deref()
        .and_then(offered_in)
        .filter(|offered| offered.iter().all(|s| alternatives.contains(s)))
        .ok_or(out_of_place.clone())?;
    let step = match rounds.peek() {
        None => return Err(Position::Chosen { offered }),
        Some((_, Some(e))) => e
            .challenge_metadata
            .as_deref()
            .and_then(|m| Step::from_tag(metadata_tag(m)))
            .filter(|s| offered.contains(s))
            .ok_or(out_of_place)?,
        Some((_, None)) => return Err(out_of_place),
    };
    custom(step, rounds, max_attempts).map(|_| ())
}

/// The metadata of a `CHOOSE` round: `CHOOSE:<name>,<name>...`, the alternatives offered.
pub fn choose_metadata(offered: &[Step]) -> String {
    let names: Vec<&str> = offered.iter().map(|s| s.name()).collect();
    format!("CHOOSE:{}", names.join(","))
}

/// The alternatives a `CHOOSE` round's metadata offered: at least one, each a known step
/// once. `None` if malformed.
fn offered_in(metadata: &str) -> Option<Vec<Step>> {
    let names = metadata.strip_prefix("CHOOSE:")?;
    let mut offered = Vec::new();
    for name in names.split(',') {
        let step = Step::from_name(name)?;
        if offered.contains(&step) {
            return None;
        }
        offered.push(step);
    }
    Some(offered)
}

/// The steps `session` passed, in order: the password (its `PASSWORD_VERIFIER` round) and each
/// custom round that passed, by its metadata's tag; the pick of a choice is left out. Read
/// only after [`walk`] has placed the session, so every entry already fits the flow.
pub fn passed(session: &[Option<ChallengeResult>]) -> Vec<Step> {
    session
        .iter()
        .flatten()
        .filter(|e| e.challenge_result)
        .filter_map(|e| {
            if is(e, PASSWORD_VERIFIER) {
                Some(Step::Password)
            } else if is(e, CUSTOM_CHALLENGE) {
                e.challenge_metadata
                    .as_deref()
                    .and_then(|m| Step::from_tag(metadata_tag(m)))
                    .filter(|s| *s != Step::Choose)
            } else {
                None
            }
        })
        .collect()
}

/// Whether a right answer to the custom round with `metadata`, added to `session`, completes
/// `flow`: the round Create is building is the sign-in's last.
pub fn completes(
    flow: &Flow,
    session: &[Option<ChallengeResult>],
    metadata: &str,
    max_attempts: u32,
) -> bool {
    let mut after = session.to_vec();
    let mut right = ChallengeResult::default();
    right.challenge_name = Some(CUSTOM_CHALLENGE.to_owned());
    right.challenge_result = true;
    right.challenge_metadata = Some(metadata.to_owned());
    after.push(Some(right));
    walk(flow, &after, max_attempts) == Position::Complete
}

/// What Define answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Present this challenge next.
    Challenge {
        /// `PASSWORD_VERIFIER` or `CUSTOM_CHALLENGE`.
        name: &'static str,
        /// The step it belongs to; `None` for the first round of the alternative the user has
        /// just chosen (only the client's answer said which).
        step: Option<Step>,
        /// 1-based round within the step.
        attempt: u32,
    },
    /// Every step passed: issue tokens.
    IssueTokens,
    /// End the sign-in.
    Fail(FailReason),
}

/// The Define decision: pure, over the app client's flow and the session alone. A client
/// without a flow fails.
pub fn decide(
    config: &Config,
    client_id: Option<&str>,
    session: &[Option<ChallengeResult>],
    user_not_found: bool,
) -> Decision {
    let Some(flow) = config.flows.for_client(client_id) else {
        return Decision::Fail(FailReason::UnknownClient);
    };
    match walk(flow, session, config.max_attempts) {
        Position::PasswordVerifier => Decision::Challenge {
            name: PASSWORD_VERIFIER,
            step: Some(Step::Password),
            attempt: 1,
        },
        Position::Custom { step, attempt, .. } => Decision::Challenge {
            name: CUSTOM_CHALLENGE,
            step: Some(step),
            attempt,
        },
        Position::Choosing { attempt, .. } => Decision::Challenge {
            name: CUSTOM_CHALLENGE,
            step: Some(Step::Choose),
            attempt,
        },
        Position::Chosen { .. } => Decision::Challenge {
            name: CUSTOM_CHALLENGE,
            step: None,
            attempt: 1,
        },
        // An unknown user ran the decoy flow; it can only end in failure.
        Position::Complete if user_not_found => Decision::Fail(FailReason::UnknownUser),
        Position::Complete => Decision::IssueTokens,
        Position::Failed(reason) => Decision::Fail(reason),
    }
}

/// Runs the Define trigger: decides, then writes every response field so that nothing the
/// incoming event carried in `response` survives.
pub fn define(config: &Config, event: &mut DefineAuthChallengeEvent) -> Decision {
    // A wrong `triggerSource` never deserializes; a missing one is refused here.
    let decision = if event
        .cognito_event_user_pools_header
        .trigger_source
        .is_none()
    {
        Decision::Fail(FailReason::NotFromCognito)
    } else {
        let header = &event.cognito_event_user_pools_header;
        let client = header.caller_context.client_id.as_deref();
        decide(
            config,
            client,
            &event.request.session,
            event.request.user_not_found,
        )
    };
    let response = &mut event.response;
    response.challenge_name = None;
    response.issue_tokens = false;
    response.fail_authentication = false;
    match &decision {
        Decision::Challenge { name, .. } => response.challenge_name = Some((*name).to_owned()),
        Decision::IssueTokens => response.issue_tokens = true,
        Decision::Fail(_) => response.fail_authentication = true,
    }
    match &decision {
        Decision::Challenge {
            name,
            step,
            attempt,
        } => {
            let step = step.map_or("chosen", Step::name);
            tracing::info!(
                trigger = "define",
                step,
                attempt,
                decision = name,
                "decided"
            )
        }
        Decision::IssueTokens => {
            tracing::info!(trigger = "define", decision = "issue-tokens", "decided")
        }
        Decision::Fail(reason) => {
            tracing::info!(
                trigger = "define",
                decision = "fail",
                reason = reason.as_str(),
                "decided"
            )
        }
    }
    decision
}

#[cfg(test)]
mod tests;
