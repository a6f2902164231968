//! The `captcha` step: the challenge (the widget's site key) and the check of the widget's
//! token with the provider's siteverify.

use crate::error::AuthError;
use crate::ports::{CaptchaVerifier, JwksFetcher};
use crate::steps::answer::{Answer, Checked, VerifyIo, Wrong};
use crate::steps::round::{CreateIo, Round, public};

/// Builds the round: the site key the client's widget needs. Nothing is called.
pub(crate) async fn challenge<S, St, R>(
    round: &mut Round<'_>,
    _: &mut CreateIo<'_, S, St, R>,
) -> Result<(), AuthError> {
    let site_key = round.config.captcha.as_ref().map(|c| c.site_key.clone());
    round.public.insert(
        public::SITE_KEY.to_owned(),
        site_key.ok_or(AuthError::Misconfigured)?,
    );
    Ok(())
}

/// Checks the widget token. It holds no secret of the user, so decoys are checked like real
/// rounds: a solved CAPTCHA refused only for unknown names would reveal which names exist.
pub(crate) async fn check(
    answer: &Answer<'_>,
    io: &VerifyIo<'_, impl CaptchaVerifier, impl JwksFetcher>,
) -> Checked {
    match io.captcha.siteverify(answer.text).await {
        Ok(true) => Ok(None),
        Ok(false) => Err(Wrong::CaptchaRejected),
        Err(_) => Err(Wrong::Dependency),
    }
}
