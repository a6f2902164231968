//! The user pool's word on an access token: Cognito's `GetUser`, called with the token itself,
//! the adapter of the shared crate's [`TokenCheck`] port (the passkey API).
//!
//! API Gateway's JWT authorizer checks a token's signature, issuer, audience and expiry; a
//! token whose user signed out (`GlobalSignOut`), whose refresh token was revoked
//! (`RevokeToken`), or who was deleted passes it until it expires. `GetUser` with that token
//! is refused (`NotAuthorizedException`, `UserNotFoundException`): AWS documents it as the way
//! to learn whether an access token is still live. It needs no IAM permission: the token is
//! the authorization.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::get_user::GetUserError;
use custom_auth::ports::{DependencyError, TokenCheck, TokenStatus};
use tokio::sync::OnceCell;

use crate::sdk::{AwsSettings, OPERATION_TIMEOUT, SettingError};

/// Asks the pool about access tokens; the client is built on the first call.
pub struct PoolTokens {
    settings: AwsSettings,
    client: OnceCell<Client>,
}

impl PoolTokens {
    /// The pool's client for `settings`; start fails naming `AWS_REGION` without a region.
    pub fn new(settings: AwsSettings) -> Result<PoolTokens, SettingError> {
        if settings.region.is_none() {
            return Err(SettingError("AWS_REGION"));
        }
        Ok(PoolTokens {
            settings,
            client: OnceCell::new(),
        })
    }

    /// A checker whose client comes from `sdk` (tests point it at a loopback fake).
    pub fn with_sdk(settings: AwsSettings, sdk: &aws_config::SdkConfig) -> PoolTokens {
        let client = Client::from_conf(PoolTokens::client_config(sdk, &settings));
        PoolTokens {
            settings,
            client: OnceCell::new_with(Some(client)),
        }
    }

    fn client_config(
        sdk: &aws_config::SdkConfig,
        settings: &AwsSettings,
    ) -> aws_sdk_cognitoidentityprovider::Config {
        let mut config = aws_sdk_cognitoidentityprovider::config::Builder::from(sdk);
        if let Some(url) = &settings.cognito_endpoint_url {
            config = config.endpoint_url(url);
        }
        config.build()
    }

    async fn ask(&self, token: &str) -> Result<TokenStatus, DependencyError> {
        let client = self
            .client
            .get_or_init(|| async {
                Client::from_conf(PoolTokens::client_config(
                    &self.settings.sdk(),
                    &self.settings,
                ))
            })
            .await;
        match client.get_user().access_token(token).send().await {
            Ok(user) => {
                let attribute = |name: &str| {
                    user.user_attributes()
                        .iter()
                        .find(|a| a.name() == name)
                        .and_then(|a| a.value())
                };
                let email = (attribute("email_verified") == Some("true"))
                    .then(|| attribute("email").map(str::to_owned))
                    .flatten();
                Ok(TokenStatus::Live { email })
            }
            Err(SdkError::ServiceError(e)) => match e.err() {
                GetUserError::NotAuthorizedException(_)
                | GetUserError::UserNotFoundException(_) => Ok(TokenStatus::Refused),
                other => {
                    tracing::warn!(code = other.code(), "Cognito GetUser failed");
                    Err(DependencyError::Failed)
                }
            },
            Err(SdkError::TimeoutError(_)) => Err(DependencyError::Timeout),
            Err(other) => {
                tracing::warn!(code = other.code(), "Cognito GetUser failed");
                Err(DependencyError::Failed)
            }
        }
    }
}

impl TokenCheck for PoolTokens {
    async fn check(&self, token: &str) -> Result<TokenStatus, DependencyError> {
        tokio::time::timeout(OPERATION_TIMEOUT, self.ask(token))
            .await
            .unwrap_or(Err(DependencyError::Timeout))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use test_support::{Behaviour, FakeServer, refused_url};

    use super::*;

    fn tokens(url: &str) -> PoolTokens {
        let (settings, sdk) = crate::sdk::for_endpoint(url);
        PoolTokens::with_sdk(settings, &sdk)
    }

    const JSON: &str = "application/x-amz-json-1.1";

    fn user(verified: &str) -> String {
        format!(
            r#"{{"Username":"jane","UserAttributes":[{{"Name":"sub","Value":"s-1"}},{{"Name":"email","Value":"jane@example.com"}},{{"Name":"email_verified","Value":"{verified}"}}]}}"#
        )
    }

    fn refused(kind: &str) -> Behaviour {
        Behaviour::Respond(
            400,
            JSON,
            format!(r#"{{"__type":"{kind}","message":"Access Token has been revoked"}}"#),
        )
    }

    #[tokio::test]
    async fn the_pools_word_on_a_token_and_every_failure_fails_closed() {
        let live = |email: Option<&str>| {
            Ok(TokenStatus::Live {
                email: email.map(str::to_owned),
            })
        };
        let table: Vec<(Behaviour, Result<TokenStatus, DependencyError>)> = vec![
            (
                Behaviour::Respond(200, JSON, user("true")),
                live(Some("jane@example.com")),
            ),
            (Behaviour::Respond(200, JSON, user("false")), live(None)),
            (refused("NotAuthorizedException"), Ok(TokenStatus::Refused)),
            (refused("UserNotFoundException"), Ok(TokenStatus::Refused)),
            (
                refused("TooManyRequestsException"),
                Err(DependencyError::Failed),
            ),
            (
                Behaviour::Respond(500, JSON, r#"{"__type":"InternalErrorException"}"#.into()),
                Err(DependencyError::Failed),
            ),
            (
                Behaviour::Respond(200, JSON, "not json".into()),
                Err(DependencyError::Failed),
            ),
            (Behaviour::Hang, Err(DependencyError::Timeout)),
        ];
        for (behaviour, want) in table {
            let fake = FakeServer::start(behaviour.clone()).await;
            let started = Instant::now();
            let got = tokens(&fake.url).check("the-access-token").await;
            assert_eq!(got, want, "{behaviour:?}");
            assert!(
                started.elapsed() < Duration::from_millis(2600),
                "{behaviour:?}"
            );
            let requests = fake.requests();
            assert!(
                requests
                    .iter()
                    .any(|r| r.contains("AWSCognitoIdentityProviderService.GetUser")
                        && r.contains("the-access-token")),
                "{requests:?}"
            );
        }
        let got = tokens(&refused_url().await).check("t").await;
        assert_eq!(got, Err(DependencyError::Failed));
    }
}
