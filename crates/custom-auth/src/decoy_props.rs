//! Property test: an unknown name's rounds do not change with the name's case. The pool
//! compares names without case, so `jane` and `JANE` are one user with one round; if an
//! unknown name's decoys changed with its case, two requests would tell whether it exists.

use std::collections::HashMap;

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::Config;
use crate::events::CreateAuthChallengeEvent;
use crate::flow::CUSTOM_CHALLENGE;
use crate::steps::round::public;
use crate::store::MemoryStore;
use crate::testing::{config_with, fakes, fixture};
use crate::triggers::create::create;

const T0: u64 = 1_800_000_000;

/// Every step kind's first round, and a choice.
const FLOWS: [&str; 8] = [
    "captcha",
    "email-otp",
    "sms-otp",
    "select-account",
    "signed-token",
    "magic-link",
    "passkey",
    "email-otp|sms-otp|magic-link|passkey",
];

fn config(flow: &str) -> Config {
    config_with(
        flow,
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", "decoy-test-state-key-0123456789abcdef"),
            ("PASSKEY_RP_ID", "example.com"),
            ("PASSKEY_ORIGINS", "https://example.com"),
        ],
    )
}

/// The public parameters of an unknown `user`'s first round of `flow`, with what is random
/// in every round (a passkey ceremony's challenge) taken out.
fn first_round(config: &Config, user: &str) -> HashMap<String, String> {
    let mut event: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
    event.request.challenge_name = Some(CUSTOM_CHALLENGE.into());
    event.request.session = Vec::new();
    event.request.user_not_found = true;
    event.request.user_attributes.clear();
    event.cognito_event_user_pools_header.user_name = Some(user.to_owned());
    let store = MemoryStore::default();
    let sender = fakes::Sender::default();
    let mut rng = StdRng::seed_from_u64(7);
    let run = create(config, &mut event, &sender, &store, &mut rng, T0);
    block_on(run).expect("a decoy round");
    let mut shown = event.response.public_challenge_parameters;
    if shown.get(public::CHALLENGE).map(String::as_str) == Some("PASSKEY") {
        let mut options: serde_json::Value =
            serde_json::from_str(&shown[public::OPTIONS]).expect("options JSON");
        options["challenge"] = serde_json::Value::Null;
        shown.insert(public::OPTIONS.to_owned(), options.to_string());
    }
    shown
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A name, and the same name with the case of some letters changed.
fn name_and_recased() -> impl Strategy<Value = (String, String)> {
    (
        "[a-zA-Z][a-zA-Z0-9._-]{0,20}(@[a-zA-Z]{1,10}\\.[a-zA-Z]{2,4})?",
        prop::collection::vec(any::<bool>(), 40),
    )
        .prop_map(|(name, flips)| {
            let recased = name
                .chars()
                .zip(flips.iter().cycle())
                .map(|(c, flip)| match (flip, c.is_ascii_lowercase()) {
                    (false, _) => c,
                    (true, true) => c.to_ascii_uppercase(),
                    (true, false) => c.to_ascii_lowercase(),
                })
                .collect();
            (name, recased)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn unknown_names_see_the_same_rounds_under_any_case((name, recased) in name_and_recased()) {
        for flow in FLOWS {
            let config = config(flow);
            prop_assert_eq!(
                first_round(&config, &name),
                first_round(&config, &recased),
                "{} {} {}", flow, name, recased
            );
        }
    }
}
