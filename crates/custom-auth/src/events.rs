//! The Cognito custom-auth trigger events, re-exported from `aws_lambda_events` under short
//! names. The structs are `#[non_exhaustive]`: handlers mutate the payload they receive.

pub use aws_lambda_events::event::cognito::{
    ClaimsAndScopeOverrideDetailsV2, CognitoAccessTokenGenerationV2,
    CognitoEventUserPoolsChallengeResult, CognitoEventUserPoolsCreateAuthChallenge,
    CognitoEventUserPoolsDefineAuthChallenge, CognitoEventUserPoolsPreTokenGenTriggerSource,
    CognitoEventUserPoolsPreTokenGenV2, CognitoEventUserPoolsVerifyAuthChallenge,
    CognitoIdTokenGenerationV2,
};

/// The Define Auth Challenge event.
pub type DefineAuthChallengeEvent = CognitoEventUserPoolsDefineAuthChallenge;
/// The Create Auth Challenge event.
pub type CreateAuthChallengeEvent = CognitoEventUserPoolsCreateAuthChallenge;
/// The Verify Auth Challenge Response event.
pub type VerifyAuthChallengeEvent = CognitoEventUserPoolsVerifyAuthChallenge;
/// The Pre Token Generation event, version 2 (ID and access token).
pub type PreTokenGenerationEvent = CognitoEventUserPoolsPreTokenGenV2;
/// Why Pre Token Generation runs: a sign-in, a refresh, ...
pub type PreTokenGenerationSource = CognitoEventUserPoolsPreTokenGenTriggerSource;
/// One round of the session history.
pub type ChallengeResult = CognitoEventUserPoolsChallengeResult;

/// A trigger event as it arrives, before anything is known about it. Its deserialization
/// error names the place (the runtime adds the JSON path) but never the value: serde's own
/// text quotes the offending value, which in a malformed event can be a code or an answer,
/// and `lambda_runtime` logs that text and returns it to Cognito.
#[derive(Debug)]
pub struct Incoming<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Incoming<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer)
            .map(Incoming)
            .map_err(|_| serde::de::Error::custom("not an event of this trigger"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_events_never_quote_their_values() {
        let table = [
            r#"{"request":{"privateChallengeParameters":{"code":482913}}}"#,
            r#"{"triggerSource":"482913"}"#,
            r#"{"request":{"challengeAnswer":"482913","userNotFound":"482913"}}"#,
            r#"{"request":{"challengeAnswer":"482913""#,
            "482913",
        ];
        let mut quoted_by_serde = 0;
        for text in table {
            let plain = serde_json::from_str::<VerifyAuthChallengeEvent>(text)
                .err()
                .map(|e| e.to_string());
            let wrapped = serde_json::from_str::<Incoming<VerifyAuthChallengeEvent>>(text)
                .err()
                .map(|e| e.to_string());
            let wrapped = wrapped.unwrap_or_else(|| panic!("{text} parsed"));
            assert!(!wrapped.contains("482913"), "{wrapped}");
            assert!(
                wrapped.contains("not an event of this trigger"),
                "{wrapped}"
            );
            quoted_by_serde += usize::from(plain.is_some_and(|p| p.contains("482913")));
        }
        // Without the wrapper serde's text does quote the value: the wrapper is needed.
        assert!(quoted_by_serde >= 2, "{quoted_by_serde}");
        let right: Incoming<VerifyAuthChallengeEvent> =
            crate::testing::fixture("verify/select-account-correct.json");
        assert_eq!(right.0.request.challenge_answer, Some("acct-2002".into()));
    }
}
