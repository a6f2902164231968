//! Unit tests of the flow engine: the walk, the decision and Define's response.

use super::*;
use crate::testing::{config, custom, entry, null};

#[test]
fn decisions() {
    use Decision::*;
    use FailReason::*;
    use Step::*;
    let ch = |step, attempt| Challenge {
        name: CUSTOM_CHALLENGE,
        step: Some(step),
        attempt,
    };
    let pv = Challenge {
        name: PASSWORD_VERIFIER,
        step: Some(Password),
        attempt: 1,
    };
    type Row = (&'static str, Vec<Option<ChallengeResult>>, bool, Decision);
    let table: Vec<Row> = vec![
        ("email-otp", vec![], false, ch(EmailOtp, 1)),
        (
            "email-otp",
            vec![custom("EMAIL_OTP:1:123456", false)],
            false,
            ch(EmailOtp, 2),
        ),
        (
            "email-otp",
            vec![
                custom("EMAIL_OTP:1:1", false),
                custom("EMAIL_OTP:1:1", false),
            ],
            false,
            ch(EmailOtp, 3),
        ),
        (
            "email-otp",
            vec![
                custom("EMAIL_OTP:1:1", false),
                custom("EMAIL_OTP:1:1", false),
                custom("EMAIL_OTP:1:1", false),
            ],
            false,
            Fail(AttemptsExhausted),
        ),
        (
            "email-otp",
            vec![
                custom("EMAIL_OTP:1:1", false),
                custom("EMAIL_OTP:1:1", true),
            ],
            false,
            IssueTokens,
        ),
        (
            "email-otp",
            vec![custom("EMAIL_OTP", true)],
            false,
            IssueTokens,
        ),
        (
            "email-otp",
            vec![custom("EMAIL_OTP", true)],
            true,
            Fail(UnknownUser),
        ),
        ("email-otp", vec![], true, ch(EmailOtp, 1)),
        // Wrong tag, a look-alike tag, no metadata, a built-in name, extra rounds, nulls.
        (
            "email-otp",
            vec![custom("SMS_OTP:1:1", true)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "email-otp",
            vec![custom("EMAIL_OTPX", true)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "email-otp",
            vec![entry(CUSTOM_CHALLENGE, true, None)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "email-otp",
            vec![entry("SMS_MFA", true, Some("EMAIL_OTP"))],
            false,
            Fail(OutOfPlace),
        ),
        (
            "email-otp",
            vec![custom("EMAIL_OTP", true), custom("EMAIL_OTP", true)],
            false,
            Fail(OutOfPlace),
        ),
        ("email-otp", vec![null()], false, Fail(OutOfPlace)),
        (
            "email-otp",
            vec![entry(SRP_A, true, None)],
            false,
            Fail(OutOfPlace),
        ),
        // Password.
        ("password", vec![], false, Fail(PasswordRejected)),
        (
            "password",
            vec![entry(SRP_A, true, None)],
            false,
            pv.clone(),
        ),
        (
            "password",
            vec![entry(SRP_A, false, None)],
            false,
            Fail(PasswordRejected),
        ),
        (
            "password",
            vec![
                entry(SRP_A, true, None),
                entry(PASSWORD_VERIFIER, true, None),
            ],
            false,
            IssueTokens,
        ),
        (
            "password",
            vec![
                entry(SRP_A, true, None),
                entry(PASSWORD_VERIFIER, true, None),
            ],
            true,
            Fail(UnknownUser),
        ),
        (
            "password",
            vec![
                entry(SRP_A, true, None),
                entry(PASSWORD_VERIFIER, false, None),
            ],
            false,
            Fail(PasswordRejected),
        ),
        (
            "password",
            vec![entry(PASSWORD_VERIFIER, true, None)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "password",
            vec![custom("EMAIL_OTP", true)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "password,email-otp",
            vec![
                entry(SRP_A, true, None),
                entry(PASSWORD_VERIFIER, true, None),
            ],
            false,
            ch(EmailOtp, 1),
        ),
        (
            "password,email-otp",
            vec![entry(SRP_A, false, None), custom("EMAIL_OTP", true)],
            false,
            Fail(PasswordRejected),
        ),
        (
            "password,email-otp",
            vec![entry(SRP_A, true, None), custom("EMAIL_OTP", true)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "password,email-otp",
            vec![
                entry(SRP_A, true, None),
                entry(PASSWORD_VERIFIER, true, None),
                custom("EMAIL_OTP", true),
            ],
            false,
            IssueTokens,
        ),
        // Multi-step: metadata that claims a later step is out of place.
        (
            "captcha,select-account",
            vec![custom("SELECT_ACCOUNT", true)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "captcha,select-account",
            vec![custom("CAPTCHA", false), custom("CAPTCHA", true)],
            false,
            ch(SelectAccount, 1),
        ),
        (
            "captcha,select-account",
            vec![custom("CAPTCHA", true), custom("SELECT_ACCOUNT", false)],
            false,
            ch(SelectAccount, 2),
        ),
        (
            "captcha,select-account",
            vec![custom("CAPTCHA", true), custom("SELECT_ACCOUNT", true)],
            false,
            IssueTokens,
        ),
        (
            "captcha,select-account",
            vec![custom("CAPTCHA", true), custom("CAPTCHA", true)],
            false,
            Fail(OutOfPlace),
        ),
        // Choices: a CHOOSE round first, then the branch the next round's metadata names,
        // if the CHOOSE round offered it.
        ("email-otp|sms-otp", vec![], false, ch(Choose, 1)),
        (
            "email-otp|sms-otp",
            vec![custom("CHOOSE:email-otp,sms-otp", false)],
            false,
            ch(Choose, 2),
        ),
        (
            "email-otp|sms-otp",
            vec![custom("CHOOSE:email-otp,sms-otp", false); 3],
            false,
            Fail(AttemptsExhausted),
        ),
        (
            "email-otp|sms-otp",
            vec![custom("CHOOSE:email-otp,sms-otp", true)],
            false,
            Challenge {
                name: CUSTOM_CHALLENGE,
                step: None,
                attempt: 1,
            },
        ),
        (
            "email-otp|sms-otp",
            vec![
                custom("CHOOSE:email-otp,sms-otp", true),
                custom("SMS_OTP:1:123456", false),
            ],
            false,
            ch(SmsOtp, 2),
        ),
        (
            "email-otp|sms-otp",
            vec![
                custom("CHOOSE:email-otp,sms-otp", true),
                custom("SMS_OTP:1:123456", true),
            ],
            false,
            IssueTokens,
        ),
        (
            "password,email-otp|sms-otp,select-account",
            vec![
                entry(SRP_A, true, None),
                entry(PASSWORD_VERIFIER, true, None),
                custom("CHOOSE:email-otp", false),
                custom("CHOOSE:email-otp", true),
                custom("EMAIL_OTP:1:123456", true),
            ],
            false,
            ch(SelectAccount, 1),
        ),
        // Switching branch mid-way.
        (
            "email-otp|sms-otp",
            vec![
                custom("CHOOSE:email-otp,sms-otp", true),
                custom("SMS_OTP:1:123456", false),
                custom("EMAIL_OTP:1:123456", true),
            ],
            false,
            Fail(OutOfPlace),
        ),
        // A branch that was not offered.
        (
            "email-otp|sms-otp",
            vec![
                custom("CHOOSE:email-otp", true),
                custom("SMS_OTP:1:123456", true),
            ],
            false,
            Fail(OutOfPlace),
        ),
        // An offer beyond the stage's alternatives, or a malformed one.
        (
            "email-otp|sms-otp",
            vec![custom("CHOOSE:email-otp,captcha", true)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "email-otp|sms-otp",
            vec![custom("CHOOSE:", true)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "email-otp|sms-otp",
            vec![custom("CHOOSE", true)],
            false,
            Fail(OutOfPlace),
        ),
        // Choosing twice.
        (
            "email-otp|sms-otp",
            vec![
                custom("CHOOSE:email-otp,sms-otp", true),
                custom("CHOOSE:email-otp,sms-otp", true),
            ],
            false,
            Fail(OutOfPlace),
        ),
        // A branch without its CHOOSE round.
        (
            "email-otp|sms-otp",
            vec![custom("EMAIL_OTP:1:123456", true)],
            false,
            Fail(OutOfPlace),
        ),
        (
            "email-otp|sms-otp",
            vec![
                custom("CHOOSE:email-otp,sms-otp", true),
                custom("EMAIL_OTP:1:123456", true),
            ],
            true,
            Fail(UnknownUser),
        ),
    ];
    for (flow, session, unknown, want) in table {
        let cfg = config(flow);
        let got = decide(&cfg, None, &session, unknown);
        assert_eq!(
            got, want,
            "flow {flow}, session {session:?}, unknown {unknown}"
        );
    }
}

#[test]
fn each_app_client_has_its_flow() {
    let cfg = crate::testing::config_with(
        "",
        &[(
            "AUTH_FLOWS",
            r#"{"webclient": "email-otp", "backend": "signed-token"}"#,
        )],
    );
    let session = vec![custom("EMAIL_OTP:1:123456", true)];
    assert_eq!(
        decide(&cfg, Some("webclient"), &session, false),
        Decision::IssueTokens
    );
    assert_eq!(
        decide(&cfg, Some("backend"), &session, false),
        Decision::Fail(FailReason::OutOfPlace)
    );
    for client in [None, Some("other"), Some("WEBCLIENT")] {
        assert_eq!(
            decide(&cfg, client, &session, false),
            Decision::Fail(FailReason::UnknownClient),
            "{client:?}"
        );
        assert_eq!(
            decide(&cfg, client, &[], false),
            Decision::Fail(FailReason::UnknownClient),
            "{client:?}"
        );
    }
}

#[test]
fn define_overwrites_the_response() {
    let cfg = config("email-otp");
    let mut event: DefineAuthChallengeEvent =
        crate::testing::fixture("define/email-otp-first.json");
    event.response.issue_tokens = true;
    event.response.fail_authentication = true;
    define(&cfg, &mut event);
    assert!(!event.response.issue_tokens && !event.response.fail_authentication);
    assert_eq!(
        event.response.challenge_name.as_deref(),
        Some(CUSTOM_CHALLENGE)
    );

    event.request.session = vec![custom("EMAIL_OTP", false); 3];
    event.response.issue_tokens = true;
    define(&cfg, &mut event);
    assert!(!event.response.issue_tokens && event.response.fail_authentication);
    assert_eq!(event.response.challenge_name, None);
}
