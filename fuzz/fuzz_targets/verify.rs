//! Verify Auth Challenge Response from arbitrary bytes: never panics; an unknown user's code
//! or token (or link, or passkey, or device) is never right, a right code is exactly the private one, and
//! nothing passes while the state store holds the user locked.
#![no_main]

use custom_auth::events::VerifyAuthChallengeEvent;
use custom_auth::{Step, TokenKeys};
use custom_auth_fuzz::{Captcha, Down, Gate, block_on, config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut event) = serde_json::from_slice::<VerifyAuthChallengeEvent>(data) else {
        return;
    };
    let keys = TokenKeys::new(config(), Down);
    // Half the inputs meet a store that holds every user locked: nothing may pass there.
    let locked = data.len() % 2 == 1;
    let verdict = block_on(custom_auth::verify(
        config(),
        &mut event,
        &Captcha,
        &keys,
        &Gate(locked),
        1_767_225_630,
    ));
    assert_eq!(verdict.is_ok(), event.response.answer_correct);
    assert!(!(locked && verdict.is_ok()), "an answer passed while locked");
    if let Ok(step) = verdict {
        let answer = event
            .request
            .challenge_answer
            .as_ref()
            .and_then(|a| a.as_str());
        assert!(answer.is_some(), "a non-string answer passed");
        if matches!(
            step,
            Step::EmailOtp
                | Step::SmsOtp
                | Step::SignedToken
                | Step::MagicLink
                | Step::Passkey
                | Step::Device
        ) {
            assert!(
                !event.request.user_not_found,
                "an unknown user passed {step:?}"
            );
        }
        if matches!(step, Step::EmailOtp | Step::SmsOtp) {
            let code = event.request.private_challenge_parameters.get("code");
            assert_eq!(answer.map(str::trim), code.map(String::as_str));
        }
    }
    // A magic link passes only as a proof this pool's key signed (the fuzzer cannot forge one:
    // reaching here with a random answer means the HMAC check is broken).
    if verdict == Ok(Step::MagicLink) {
        let answer = event.request.challenge_answer.as_ref().and_then(|a| a.as_str());
        assert!(
            answer.is_some_and(|a| a.starts_with("ml1.")),
            "a magic link passed without a proof"
        );
    }
    // A passkey passes only as an assertion of the round's own ceremony: its state and
    // challenge are in the private parameters.
    if verdict == Ok(Step::Passkey) {
        let private = &event.request.private_challenge_parameters;
        assert!(
            private.contains_key("passkeyState") && private.contains_key("passkeyChallenge"),
            "a passkey passed without a ceremony"
        );
    }
    // A device passes only naming one of the devices the round offered, with a signature
    // over the round's challenge (the fuzzer cannot forge one: reaching here with a random
    // answer means the signature check is broken).
    if verdict == Ok(Step::Device) {
        let private = &event.request.private_challenge_parameters;
        let answer = event.request.challenge_answer.as_ref().and_then(|a| a.as_str());
        let named = answer
            .and_then(custom_auth::device::DeviceAnswer::parse)
            .map(|a| a.device);
        assert!(
            named.is_some_and(|id| private.get("devices").is_some_and(|d| d.contains(&id))),
            "a device passed that the round did not offer"
        );
        assert!(private.contains_key("deviceChallenge"), "a device passed without a challenge");
    }
    let _ = serde_json::to_vec(&event);
});
