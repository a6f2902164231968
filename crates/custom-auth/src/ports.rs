//! The small traits behind which every I/O of the triggers lives. The binaries implement them
//! with the AWS SDK and HTTP; tests implement them with fakes.

use std::future::Future;

/// How a one-time code travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Amazon SES v2 e-mail.
    Email,
    /// Amazon SNS SMS.
    Sms,
}

/// A message that carries a one-time code. Its `Debug` hides the body, which holds the code.
pub struct CodeMessage {
    /// E-mail or SMS.
    pub channel: Channel,
    /// The e-mail address or phone number.
    pub destination: String,
    /// The e-mail subject (unused for SMS).
    pub subject: String,
    /// The text, code included.
    pub body: String,
    /// An HTML part beside the text (e-mail only).
    pub html: Option<String>,
}

impl std::fmt::Debug for CodeMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeMessage")
            .field("channel", &self.channel)
            .field("body", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A failed call to a dependency. It carries no text from the dependency, which could echo a
/// secret back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// No answer within the time limit.
    #[error("timed out")]
    Timeout,
    /// A refusal, an error status or an unreadable answer.
    #[error("failed")]
    Failed,
}

/// Sends one-time codes.
pub trait CodeSender: Sync {
    /// Sends `message`; must give up within 2 seconds.
    fn send(
        &self,
        message: &CodeMessage,
    ) -> impl Future<Output = Result<(), DependencyError>> + Send;

    /// Takes about as long as a real send, sending nothing: the decoy path of unknown users
    /// calls it so that timing does not tell them apart.
    fn imitate_send(&self) -> impl Future<Output = ()> + Send;

    /// Signs `message` with the AWS KMS key of magic links (ECDSA P-256 over SHA-256), as r‖s
    /// (64 bytes); must give up within 2 seconds. A sender without KMS refuses, so a
    /// configuration with a KMS key fails closed.
    fn sign_link(
        &self,
        _message: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, DependencyError>> + Send {
        async { Err(DependencyError::Failed) }
    }

    /// The KMS key's public half, DER (SubjectPublicKeyInfo); must give up within 2 seconds.
    /// Create passes it to Verify in each `MAGIC_LINK` round's private parameters, so Verify
    /// needs no KMS call (nor permission). A sender without KMS refuses: fails closed.
    fn link_public_key(&self) -> impl Future<Output = Result<Vec<u8>, DependencyError>> + Send {
        async { Err(DependencyError::Failed) }
    }
}

/// Asks a CAPTCHA provider whether a widget token is genuine.
pub trait CaptchaVerifier: Sync {
    /// `Ok(true)` only for a token the provider accepts; must give up within 2 seconds.
    fn siteverify(&self, token: &str)
    -> impl Future<Output = Result<bool, DependencyError>> + Send;
}

/// Fetches the JWKS document Verify checks the `signed-token` step's tokens with.
pub trait JwksFetcher: Sync {
    /// The raw document; must give up within 2 seconds.
    fn fetch(&self) -> impl Future<Output = Result<Vec<u8>, DependencyError>> + Send;
}

/// A [`JwksFetcher`] for configurations without a JWKS URL: always fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoJwks;

impl JwksFetcher for NoJwks {
    async fn fetch(&self) -> Result<Vec<u8>, DependencyError> {
        Err(DependencyError::Failed)
    }
}

/// What the user pool says of an access token, asked with the token itself (Cognito's
/// `GetUser`): a signature check alone cannot tell that the user signed out
/// (`GlobalSignOut`, `RevokeToken`) or was deleted, which the pool knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    /// The pool still honours the token. `email`: the user's e-mail address when the pool
    /// marks it verified, for notices.
    Live {
        /// The verified e-mail address, if any.
        email: Option<String>,
    },
    /// The pool refuses the token: revoked, signed out, or its user is gone.
    Refused,
}

/// Asks the user pool whether an access token is still live.
pub trait TokenCheck: Sync {
    /// The pool's word on `access_token`; must give up within 2 seconds.
    fn check(
        &self,
        access_token: &str,
    ) -> impl Future<Output = Result<TokenStatus, DependencyError>> + Send;
}

/// Sends a notice e-mail (not a code: nothing in it is secret).
pub trait Mailer: Sync {
    /// Sends `message` (channel e-mail); must give up within 2 seconds.
    fn mail(
        &self,
        message: &CodeMessage,
    ) -> impl Future<Output = Result<(), DependencyError>> + Send;
}
