//! Create Auth Challenge from arbitrary bytes: never panics; a one-time code is never in a
//! public parameter (unless the user's own attributes happen to contain those digits); a code
//! is sent only to a known user's destination marked verified ("true"), and never while the
//! state store holds the user locked.
#![no_main]

use custom_auth::events::CreateAuthChallengeEvent;
use custom_auth_fuzz::{Gate, Sender, block_on, config};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, json)) = data.split_first() else {
        return;
    };
    let Ok(mut event) = serde_json::from_slice::<CreateAuthChallengeEvent>(json) else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(u64::from(mode));
    let sender = Sender(mode & 1 == 0);
    let locked = mode & 2 != 0;
    let created = block_on(custom_auth::create(
        config(),
        &mut event,
        &sender,
        &Gate(locked),
        &mut rng,
        1_767_225_600,
    ));
    if let Ok(done) = &created
        && done.sent
    {
        assert!(!locked, "a code sent to a locked user");
        // A code went out: only ever to a known user's verified destination.
        let verified = match done.step {
            custom_auth::Step::EmailOtp => "email_verified",
            _ => "phone_number_verified",
        };
        let attributes = &event.request.user_attributes;
        assert!(!event.request.user_not_found, "sent to an unknown user");
        assert_eq!(
            attributes.get(verified).map(String::as_str),
            Some("true"),
            "sent to an unverified destination"
        );
    }
    if created.is_ok() {
        let private = &event.response.private_challenge_parameters;
        let attributes = &event.request.user_attributes;
        let code = private
            .get("code")
            .filter(|c| !attributes.values().any(|v| v.contains(c.as_str())));
        if let Some(code) = code {
            for value in event.response.public_challenge_parameters.values() {
                assert!(!value.contains(code.as_str()), "code in a public parameter");
            }
        }
    }
    let _ = serde_json::to_vec(&event);
});
