//! The `UpdateUserPool` request that changes our trigger slots and nothing else.
//!
//! Cognito's `UpdateUserPool` is not a patch: every setting the request leaves out goes back
//! to its default (the trap that has wiped MFA, e-mail configuration, messages and other
//! triggers of real pools). So the request carries every updatable setting exactly as
//! `DescribeUserPool` returned it, with only `LambdaConfig` (our slots) and `UserPoolTags`
//! (the record of what the slots held) changed. The one deliberate difference: Cognito
//! refuses the deprecated `AdminCreateUserConfig.UnusedAccountValidityDays` beside the
//! password policy's `TemporaryPasswordValidityDays`, which holds the same setting, so it is
//! sent as 0 (unset) when the policy has it.

use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool::builders::UpdateUserPoolFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{LambdaConfigType, UserPoolType};

/// The request: `pool` as described, with `lambda_config` and `tags`.
pub fn request(
    client: &Client,
    pool: &UserPoolType,
    lambda_config: LambdaConfigType,
    tags: HashMap<String, String>,
) -> UpdateUserPoolFluentBuilder {
    let mut admin = pool.admin_create_user_config.clone();
    let temporary_days = pool
        .policies()
        .and_then(|p| p.password_policy())
        .map_or(0, |p| p.temporary_password_validity_days);
    if let Some(admin) = admin.as_mut().filter(|_| temporary_days != 0) {
        admin.unused_account_validity_days = 0;
    }
    client
        .update_user_pool()
        .set_user_pool_id(pool.id.clone())
        .set_pool_name(pool.name.clone())
        .set_policies(pool.policies.clone())
        .set_deletion_protection(pool.deletion_protection.clone())
        .lambda_config(lambda_config)
        .set_auto_verified_attributes(pool.auto_verified_attributes.clone())
        .set_sms_verification_message(pool.sms_verification_message.clone())
        .set_email_verification_message(pool.email_verification_message.clone())
        .set_email_verification_subject(pool.email_verification_subject.clone())
        .set_verification_message_template(pool.verification_message_template.clone())
        .set_sms_authentication_message(pool.sms_authentication_message.clone())
        .set_user_attribute_update_settings(pool.user_attribute_update_settings.clone())
        .set_mfa_configuration(pool.mfa_configuration.clone())
        .set_device_configuration(pool.device_configuration.clone())
        .set_email_configuration(pool.email_configuration.clone())
        .set_sms_configuration(
            // An empty configuration (an emulator's `{}`, read with the SDK's required role
            // ARN as "") is no configuration: sent, AWS would refuse its empty role.
            pool.sms_configuration
                .clone()
                .filter(|c| !c.sns_caller_arn.is_empty()),
        )
        .set_user_pool_tags(Some(tags))
        .set_admin_create_user_config(admin)
        .set_user_pool_add_ons(pool.user_pool_add_ons.clone())
        .set_account_recovery_setting(pool.account_recovery_setting.clone())
        .set_user_pool_tier(pool.user_pool_tier.clone())
        .set_key_configuration(pool.key_configuration.clone())
        .set_issuer_configuration(pool.issuer_configuration.clone())
        .set_acr_configuration(pool.acr_configuration.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::plan::{Slot, attach};
    use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
    use serde_json::Value;
    use test_support::{Behaviour, FakeServer};

    /// A full `DescribeUserPool` answer: every member the API returns, each set.
    const DESCRIBED: &str = include_str!("describe-user-pool.json");

    /// `UpdateUserPool`'s members (its API reference), and the description's name of each.
    const UPDATABLE: &[(&str, &str)] = &[
        ("UserPoolId", "Id"),
        ("PoolName", "Name"),
        ("Policies", "Policies"),
        ("DeletionProtection", "DeletionProtection"),
        ("LambdaConfig", "LambdaConfig"),
        ("AutoVerifiedAttributes", "AutoVerifiedAttributes"),
        ("SmsVerificationMessage", "SmsVerificationMessage"),
        ("EmailVerificationMessage", "EmailVerificationMessage"),
        ("EmailVerificationSubject", "EmailVerificationSubject"),
        ("VerificationMessageTemplate", "VerificationMessageTemplate"),
        ("SmsAuthenticationMessage", "SmsAuthenticationMessage"),
        ("UserAttributeUpdateSettings", "UserAttributeUpdateSettings"),
        ("MfaConfiguration", "MfaConfiguration"),
        ("DeviceConfiguration", "DeviceConfiguration"),
        ("EmailConfiguration", "EmailConfiguration"),
        ("SmsConfiguration", "SmsConfiguration"),
        ("UserPoolTags", "UserPoolTags"),
        ("AdminCreateUserConfig", "AdminCreateUserConfig"),
        ("UserPoolAddOns", "UserPoolAddOns"),
        ("AccountRecoverySetting", "AccountRecoverySetting"),
        ("UserPoolTier", "UserPoolTier"),
        ("KeyConfiguration", "KeyConfiguration"),
        ("IssuerConfiguration", "IssuerConfiguration"),
        ("AcrConfiguration", "AcrConfiguration"),
    ];

    /// What the description holds that `UpdateUserPool` cannot change (set at creation, or
    /// Cognito's own figures), so the request leaves it out.
    const READ_ONLY: &[&str] = &[
        "Status",
        "LastModifiedDate",
        "CreationDate",
        "SchemaAttributes",
        "AliasAttributes",
        "UsernameAttributes",
        "EstimatedNumberOfUsers",
        "SmsConfigurationFailure",
        "EmailConfigurationFailure",
        "Domain",
        "CustomDomain",
        "UsernameConfiguration",
        "Arn",
    ];

    const DEFINE: &str = "arn:aws:lambda:us-east-1:111122223333:function:ours-define";

    /// Describes the pool and sends the update through the real SDK client to a loopback
    /// endpoint; returns the description and the update's JSON body as sent.
    async fn round_trip() -> (Value, Value) {
        let server = FakeServer::start(Behaviour::Operations(vec![
            (
                "DescribeUserPool",
                Behaviour::Respond(200, "application/x-amz-json-1.1", DESCRIBED.into()),
            ),
            (
                "UpdateUserPool",
                Behaviour::Respond(200, "application/x-amz-json-1.1", "{}".into()),
            ),
        ]))
        .await;
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&server.url)
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .build();
        let client = Client::from_conf(config);
        let described = client
            .describe_user_pool()
            .user_pool_id("us-east-1_Ab12Cd34E")
            .send()
            .await
            .expect("describe");
        let pool = described.user_pool().expect("a pool");
        let current = pool
            .lambda_config()
            .cloned()
            .unwrap_or_else(|| LambdaConfigType::builder().build());
        let tags = pool.user_pool_tags().cloned().unwrap_or_default();
        let plan = attach(&current, &tags, &[(Slot::Define, DEFINE.into())], false).unwrap();
        request(
            &client,
            pool,
            plan.lambda_config(&current),
            plan.tags(&tags),
        )
        .send()
        .await
        .expect("update");
        let update = server
            .requests()
            .into_iter()
            .find(|r| r.contains("UpdateUserPool"))
            .expect("the update was sent");
        let body = &update[update.find("\r\n\r\n").expect("a body") + 4..];
        let described: Value = serde_json::from_str(DESCRIBED).unwrap();
        (
            described["UserPool"].clone(),
            serde_json::from_str(body).unwrap(),
        )
    }

    #[tokio::test]
    async fn every_setting_described_is_sent_back_unchanged_but_our_slot_and_its_record() {
        let (described, sent) = round_trip().await;
        let described = described.as_object().unwrap();
        let sent = sent.as_object().unwrap();

        // The fixture is full: every updatable member is in it, and each of its members is
        // either updatable or known to be read-only (a member Cognito adds fails here, until
        // someone decides which it is).
        for (_, name) in UPDATABLE {
            assert!(described.contains_key(*name), "the fixture lacks {name}");
        }
        for name in described.keys() {
            let known = UPDATABLE.iter().any(|(_, d)| d == name) || READ_ONLY.contains(&&**name);
            assert!(known, "{name}: neither updatable nor read-only");
        }
        // The request sends only what UpdateUserPool takes.
        for name in sent.keys() {
            assert!(UPDATABLE.iter().any(|(u, _)| u == name), "{name} sent");
        }

        for (member, name) in UPDATABLE {
            let got = sent.get(*member);
            let mut want = described.get(*name).cloned();
            match *member {
                "LambdaConfig" => {
                    let want = want.as_mut().unwrap().as_object_mut().unwrap();
                    want.insert("DefineAuthChallenge".into(), DEFINE.into());
                }
                "UserPoolTags" => {
                    let want = want.as_mut().unwrap().as_object_mut().unwrap();
                    want.insert(
                        "custom-auth:before:DefineAuthChallenge".into(),
                        "none".into(),
                    );
                }
                // Cognito refuses the deprecated field beside the policy's own.
                "AdminCreateUserConfig" => {
                    let want = want.as_mut().unwrap().as_object_mut().unwrap();
                    want.insert("UnusedAccountValidityDays".into(), 0.into());
                }
                _ => {}
            }
            assert_eq!(got, want.as_ref(), "{member}");
        }
    }
}
