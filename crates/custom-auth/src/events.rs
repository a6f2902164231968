//! The Cognito custom-auth trigger events, re-exported from `aws_lambda_events` under short
//! names. The structs are `#[non_exhaustive]`: handlers mutate the payload they receive.

pub use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsChallengeResult, CognitoEventUserPoolsCreateAuthChallenge,
    CognitoEventUserPoolsDefineAuthChallenge, CognitoEventUserPoolsVerifyAuthChallenge,
};

/// The Define Auth Challenge event.
pub type DefineAuthChallengeEvent = CognitoEventUserPoolsDefineAuthChallenge;
/// The Create Auth Challenge event.
pub type CreateAuthChallengeEvent = CognitoEventUserPoolsCreateAuthChallenge;
/// The Verify Auth Challenge Response event.
pub type VerifyAuthChallengeEvent = CognitoEventUserPoolsVerifyAuthChallenge;
/// One round of the session history.
pub type ChallengeResult = CognitoEventUserPoolsChallengeResult;
