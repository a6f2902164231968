//! Define Auth Challenge from arbitrary bytes: never panics, and tokens only ever follow a
//! passed last round of a known user.
#![no_main]

use custom_auth::events::DefineAuthChallengeEvent;
use custom_auth_fuzz::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut event) = serde_json::from_slice::<DefineAuthChallengeEvent>(data) else {
        return;
    };
    custom_auth::define(config(), &mut event);
    let response = &event.response;
    if response.issue_tokens {
        assert!(!response.fail_authentication, "tokens and failure at once");
        assert!(!event.request.user_not_found, "tokens for an unknown user");
        let last = event.request.session.last().and_then(Option::as_ref);
        assert!(
            last.is_some_and(|r| r.challenge_result),
            "tokens after a round that did not pass"
        );
    }
    let decided = [
        response.issue_tokens,
        response.fail_authentication,
        response.challenge_name.is_some(),
    ];
    assert_eq!(decided.iter().filter(|d| **d).count(), 1, "{decided:?}");
    let _ = serde_json::to_vec(&event);
});
