//! The pool against our rules: what would let a sign-in skip the custom steps, a client grant
//! itself rights, or codes go to an address nobody verified. Read-only: each finding names the
//! setting and its fix, and nothing is changed.

use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, PreventUserExistenceErrorTypes, UserPoolClientType, UserPoolType,
    VerifiedAttributeType,
};

/// The attribute that grants rights (which accounts a sign-in may act for).
const ACCOUNTS: &str = "custom:accounts";

/// One unsafe setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Where: the pool, or `client <id>`.
    pub at: String,
    /// What is unsafe, and why.
    pub what: String,
    /// How to fix it.
    pub fix: String,
}

/// Password flows that issue tokens without the custom steps.
fn skips_our_steps(flow: &ExplicitAuthFlowsType) -> bool {
    matches!(
        flow,
        ExplicitAuthFlowsType::AllowUserSrpAuth
            | ExplicitAuthFlowsType::AllowUserPasswordAuth
            | ExplicitAuthFlowsType::UserPasswordAuth
            | ExplicitAuthFlowsType::AllowUserAuth
    )
}

/// The findings for `pool`, its `clients` (those that get our flow), and our flow's steps.
pub fn findings(pool: &UserPoolType, clients: &[UserPoolClientType], flow: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    let pool_at = || "pool".to_owned();
    let has_accounts = pool
        .schema_attributes()
        .iter()
        .any(|a| a.name() == Some(ACCOUNTS));

    for client in clients {
        let id = client.client_id().unwrap_or_default();
        let at = format!("client {id}");
        // No list at all means Cognito's defaults, which include USER_SRP_AUTH.
        let flows = client.explicit_auth_flows.clone().unwrap_or_else(|| {
            vec![
                ExplicitAuthFlowsType::AllowUserSrpAuth,
                ExplicitAuthFlowsType::AllowCustomAuth,
                ExplicitAuthFlowsType::AllowRefreshTokenAuth,
            ]
        });
        for flow in flows.iter().filter(|f| skips_our_steps(f)) {
            found.push(Finding {
                at: at.clone(),
                what: format!(
                    "allows {}: it issues tokens after the password alone, skipping every custom step",
                    flow.as_str()
                ),
                fix: "remove it from the client's ExplicitAuthFlows (keep ALLOW_CUSTOM_AUTH and ALLOW_REFRESH_TOKEN_AUTH)".into(),
            });
        }
        if !flows.contains(&ExplicitAuthFlowsType::AllowCustomAuth)
            && !flows.contains(&ExplicitAuthFlowsType::CustomAuthFlowOnly)
        {
            found.push(Finding {
                at: at.clone(),
                what: "does not allow CUSTOM_AUTH: our sign-in cannot run through it".into(),
                fix: "add ALLOW_CUSTOM_AUTH to the client's ExplicitAuthFlows".into(),
            });
        }
        let writes_accounts = match client.write_attributes() {
            [] => true,
            listed => listed.iter().any(|a| a == ACCOUNTS),
        };
        if has_accounts && writes_accounts {
            found.push(Finding {
                at: at.clone(),
                what: format!(
                    "may write {ACCOUNTS}, which grants rights: a signed-in user could grant itself any account"
                ),
                fix: format!(
                    "give the client WriteAttributes that leave out {ACCOUNTS} (an empty list means every attribute)"
                ),
            });
        }
        if client.prevent_user_existence_errors() != Some(&PreventUserExistenceErrorTypes::Enabled)
        {
            found.push(Finding {
                at: at.clone(),
                what:
                    "PreventUserExistenceErrors is not ENABLED: its errors tell who has an account"
                        .into(),
                fix: "set PreventUserExistenceErrors to ENABLED on the client".into(),
            });
        }
    }

    // Codes go to an address: a change to it must be verified before it counts.
    let verified_first: Vec<&VerifiedAttributeType> = pool
        .user_attribute_update_settings()
        .map(|s| {
            s.attributes_require_verification_before_update()
                .iter()
                .collect()
        })
        .unwrap_or_default();
    let sends = |step: &str| flow.split([',', '|']).any(|s| s.trim() == step);
    for (steps, attribute) in [
        (
            &["email-otp", "magic-link"][..],
            VerifiedAttributeType::Email,
        ),
        (&["sms-otp"][..], VerifiedAttributeType::PhoneNumber),
    ] {
        let sending: Vec<&str> = steps.iter().copied().filter(|s| sends(s)).collect();
        if !sending.is_empty() && !verified_first.contains(&&attribute) {
            found.push(Finding {
                at: pool_at(),
                what: format!(
                    "a changed {} counts before it is verified, and {} sends to it: a stolen access token could move the codes to its holder",
                    attribute.as_str(),
                    sending.join(" and ")
                ),
                fix: format!(
                    "add {} to UserAttributeUpdateSettings.AttributesRequireVerificationBeforeUpdate (and to AutoVerifiedAttributes)",
                    attribute.as_str()
                ),
            });
        }
    }
    if has_accounts
        && pool
            .admin_create_user_config()
            .is_some_and(|c| !c.allow_admin_create_user_only)
    {
        found.push(Finding {
            at: pool_at(),
            what: format!(
                "anyone may sign up, in a pool whose users hold rights ({ACCOUNTS})"
            ),
            fix: "set AdminCreateUserConfig.AllowAdminCreateUserOnly to true, or keep rights out of a self-service pool".into(),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::{
        AdminCreateUserConfigType, SchemaAttributeType, UserAttributeUpdateSettingsType,
    };

    fn safe_pool() -> UserPoolType {
        UserPoolType::builder()
            .schema_attributes(SchemaAttributeType::builder().name("email").build())
            .schema_attributes(SchemaAttributeType::builder().name(ACCOUNTS).build())
            .user_attribute_update_settings(
                UserAttributeUpdateSettingsType::builder()
                    .attributes_require_verification_before_update(VerifiedAttributeType::Email)
                    .attributes_require_verification_before_update(
                        VerifiedAttributeType::PhoneNumber,
                    )
                    .build(),
            )
            .admin_create_user_config(
                AdminCreateUserConfigType::builder()
                    .allow_admin_create_user_only(true)
                    .build(),
            )
            .build()
    }

    fn safe_client() -> UserPoolClientType {
        UserPoolClientType::builder()
            .client_id("web1")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .write_attributes("email")
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
            .build()
    }

    const FLOW: &str = "password,email-otp|sms-otp";

    #[test]
    fn a_safe_pool_has_no_finding() {
        assert_eq!(findings(&safe_pool(), &[safe_client()], FLOW), vec![]);
    }

    #[test]
    fn each_unsafe_setting_has_its_finding() {
        type Unsafe = (
            &'static str,
            fn(&mut UserPoolType, &mut UserPoolClientType),
            &'static str,
        );
        let cases: [Unsafe; 10] = [
            (
                "srp",
                |_, c| {
                    c.explicit_auth_flows
                        .as_mut()
                        .unwrap()
                        .push(ExplicitAuthFlowsType::AllowUserSrpAuth)
                },
                "allows ALLOW_USER_SRP_AUTH",
            ),
            (
                "password",
                |_, c| {
                    c.explicit_auth_flows
                        .as_mut()
                        .unwrap()
                        .push(ExplicitAuthFlowsType::AllowUserPasswordAuth)
                },
                "allows ALLOW_USER_PASSWORD_AUTH",
            ),
            (
                "legacy password",
                |_, c| {
                    c.explicit_auth_flows
                        .as_mut()
                        .unwrap()
                        .push(ExplicitAuthFlowsType::UserPasswordAuth)
                },
                "allows USER_PASSWORD_AUTH",
            ),
            (
                "choice",
                |_, c| {
                    c.explicit_auth_flows
                        .as_mut()
                        .unwrap()
                        .push(ExplicitAuthFlowsType::AllowUserAuth)
                },
                "allows ALLOW_USER_AUTH",
            ),
            (
                "defaults",
                |_, c| c.explicit_auth_flows = None,
                "allows ALLOW_USER_SRP_AUTH",
            ),
            (
                "no custom",
                |_, c| {
                    c.explicit_auth_flows = Some(vec![ExplicitAuthFlowsType::AllowRefreshTokenAuth])
                },
                "does not allow CUSTOM_AUTH",
            ),
            (
                "writes accounts",
                |_, c| c.write_attributes.as_mut().unwrap().push(ACCOUNTS.into()),
                "may write custom:accounts",
            ),
            (
                "writes everything",
                |_, c| c.write_attributes = None,
                "may write custom:accounts",
            ),
            (
                "existence errors",
                |_, c| {
                    c.prevent_user_existence_errors = Some(PreventUserExistenceErrorTypes::Legacy)
                },
                "PreventUserExistenceErrors is not ENABLED",
            ),
            (
                "self sign-up",
                |p, _| {
                    p.admin_create_user_config
                        .as_mut()
                        .unwrap()
                        .allow_admin_create_user_only = false
                },
                "anyone may sign up",
            ),
        ];
        for (name, make_unsafe, says) in cases {
            let (mut pool, mut client) = (safe_pool(), safe_client());
            make_unsafe(&mut pool, &mut client);
            let found = findings(&pool, &[client], FLOW);
            assert_eq!(found.len(), 1, "{name}: {found:?}");
            assert!(found[0].what.contains(says), "{name}: {found:?}");
            assert!(!found[0].fix.is_empty(), "{name}");
        }
    }

    #[test]
    fn unverified_address_changes_count_only_for_the_channels_the_flow_sends_to() {
        let mut pool = safe_pool();
        pool.user_attribute_update_settings = None;
        let at = |flow: &str| -> Vec<String> {
            findings(&pool, &[safe_client()], flow)
                .into_iter()
                .map(|f| f.what)
                .collect()
        };
        let both = at(FLOW);
        assert_eq!(both.len(), 2, "{both:?}");
        assert!(both[0].contains("email") && both[1].contains("phone_number"));
        assert_eq!(at("magic-link").len(), 1);
        // One finding per setting, naming every step that sends to it.
        let both_mail = at("email-otp|magic-link");
        assert_eq!(both_mail.len(), 1, "{both_mail:?}");
        assert!(
            both_mail[0].contains("email-otp and magic-link"),
            "{both_mail:?}"
        );
        assert!(at("password,captcha").is_empty());
        // Without the rights attribute, self sign-up and writable attributes grant nothing.
        let mut plain = safe_pool();
        plain.schema_attributes = Some(vec![]);
        plain
            .admin_create_user_config
            .as_mut()
            .unwrap()
            .allow_admin_create_user_only = false;
        let mut client = safe_client();
        client.write_attributes = None;
        assert_eq!(findings(&plain, &[client], FLOW), vec![]);
    }
}
