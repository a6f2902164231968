//! Unit tests of the configuration as a whole: what each flow requires, and errors that name
//! the variable without echoing a secret.

use super::*;
use std::collections::HashMap;

fn parse(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_and_bounds() {
    let c = parse(&[("AUTH_FLOW", "select-account")]).unwrap();
    assert_eq!(c.max_attempts, 3);
    assert_eq!(c.otp_length, 6);
    assert_eq!(c.otp_ttl_seconds, 300);
    assert!(c.email.is_none() && c.captcha.is_none() && c.signed_token.is_none());

    let table: &[(&str, &str, bool)] = &[
        ("OTP_LENGTH", "4", true),
        ("OTP_LENGTH", "10", true),
        ("OTP_LENGTH", "3", false),
        ("OTP_LENGTH", "11", false),
        ("OTP_LENGTH", "six", false),
        ("AUTH_MAX_ATTEMPTS", "0", false),
        ("AUTH_MAX_ATTEMPTS", "5", true),
        ("AUTH_MAX_ATTEMPTS", "-1", false),
        ("OTP_TTL_SECONDS", "60", true),
        ("OTP_TTL_SECONDS", "0", false),
    ];
    for (var, value, ok) in table {
        let got = parse(&[("AUTH_FLOW", "select-account"), (var, value)]);
        assert_eq!(got.is_ok(), *ok, "{var}={value}: {got:?}");
        if let Err(e) = got {
            assert!(e.to_string().starts_with(var), "{e}");
        }
    }
}

#[test]
fn errors_name_the_variable_and_hide_secrets() {
    let table: &[(&[(&str, &str)], &str)] = &[
        (&[], "AUTH_FLOW is required"),
        (
            &[("AUTH_FLOW", "sms-otp,nope")],
            "AUTH_FLOW=\"sms-otp,nope\"",
        ),
        (&[("AUTH_FLOW", "email-otp")], "OTP_EMAIL_FROM is required"),
        (
            &[("AUTH_FLOW", "email-otp"), ("OTP_EMAIL_FROM", "nobody")],
            "OTP_EMAIL_FROM=\"nobody\"",
        ),
        (
            &[("AUTH_FLOW", "captcha"), ("CAPTCHA_SITE_KEY", "k")],
            "CAPTCHA_SECRET is required",
        ),
        (
            &[
                ("AUTH_FLOW", "captcha"),
                ("CAPTCHA_SITE_KEY", "k"),
                ("CAPTCHA_SECRET", "s"),
                ("CAPTCHA_VERIFY_URL", "http://example.com/verify"),
            ],
            "CAPTCHA_VERIFY_URL=",
        ),
        (&[("AUTH_FLOW", "signed-token")], "SIGNED_TOKEN_SECRET, "),
        (
            &[
                ("AUTH_FLOW", "signed-token"),
                ("SIGNED_TOKEN_SECRET", "short-secret-value"),
            ],
            "SIGNED_TOKEN_SECRET is invalid",
        ),
        (
            &[
                ("AUTH_FLOW", "signed-token"),
                ("SIGNED_TOKEN_PUBLIC_KEY", "not-a-pem-super-secret"),
            ],
            "SIGNED_TOKEN_PUBLIC_KEY is invalid",
        ),
        (
            &[
                ("AUTH_FLOW", "signed-token"),
                ("SIGNED_TOKEN_SECRET", "0123456789abcdef0123456789abcdef"),
                ("SIGNED_TOKEN_JWKS_URL", "https://example.com/jwks.json"),
            ],
            "set exactly one",
        ),
    ];
    for (vars, want) in table {
        let err = parse(vars).unwrap_err().to_string();
        assert!(err.contains(want), "{vars:?}: {err}");
        assert!(!err.contains("short-secret-value") && !err.contains("super-secret"));
    }
}

#[test]
fn urls_are_parsed_not_matched_by_prefix() {
    let table = [
        ("https://example.com/verify", true),
        ("https://example.com:8443/x?y=1", true),
        ("http://127.0.0.1:8080/siteverify", true),
        ("http://127.9.9.9/x", true),
        ("http://localhost/x", true),
        ("http://LOCALHOST:4600/", true),
        ("http://[::1]:9000/", true),
        ("http://example.com/verify", false),
        ("http://localhost:80@attacker.example/x", false),
        ("http://127.0.0.1@attacker.example/", false),
        ("http://localhost.attacker.example/", false),
        ("http://127.0.0.1.nip.io/", false),
        ("https://user:pass@example.com/", false),
        ("https://localhost:80@attacker.example/", false),
        ("ftp://localhost/", false),
        ("https://", false),
        ("localhost/x", false),
        ("", false),
    ];
    for (url, ok) in table {
        assert_eq!(check_url("X", url).is_ok(), ok, "{url}");
    }
}

#[test]
fn define_reads_its_own_variables_and_no_secret() {
    let asked = std::cell::RefCell::new(Vec::new());
    let vars: std::collections::HashMap<&str, &str> = [
        ("AUTH_FLOW", "password,email-otp|magic-link,signed-token"),
        ("AUTH_MAX_ATTEMPTS", "5"),
        ("AUTH_STATE_KEY", "state-key-secret-0123456789abcdef0123"),
        (
            "SIGNED_TOKEN_SECRET",
            "token-secret-0123456789abcdef0123456",
        ),
    ]
    .into_iter()
    .collect();
    let config = Config::for_define(|k| {
        asked.borrow_mut().push(k.to_owned());
        vars.get(k).map(|v| v.to_string())
    })
    .unwrap();
    assert_eq!(config.max_attempts, 5);
    assert!(config.flows.contains(Step::MagicLink));
    assert_eq!(
        *asked.borrow(),
        ["AUTH_FLOW", "AUTH_FLOWS", "AUTH_MAX_ATTEMPTS"],
        "Define reads nothing else: no secret, no step setting"
    );
    assert!(config.state.is_none() && config.signed_token.is_none());
    // A malformed flow still fails Define's start, naming the variable.
    let err = Config::for_define(|k| (k == "AUTH_FLOW").then(|| "nope".to_owned())).unwrap_err();
    assert!(err.to_string().starts_with("AUTH_FLOW"), "{err}");
}

#[test]
fn full_config() {
    let c = parse(&[
        ("AUTH_FLOW", "password,captcha,email-otp,signed-token"),
        ("OTP_EMAIL_FROM", "no-reply@example.com"),
        ("CAPTCHA_SITE_KEY", "site"),
        ("CAPTCHA_SECRET", "captcha-secret"),
        ("CAPTCHA_VERIFY_URL", "http://127.0.0.1:8080/siteverify"),
        (
            "SIGNED_TOKEN_JWKS_URL",
            "https://issuer.example.com/.well-known/jwks.json",
        ),
        ("SIGNED_TOKEN_ISSUER", "https://issuer.example.com"),
    ])
    .unwrap();
    assert_eq!(c.email.as_ref().unwrap().subject, DEFAULT_EMAIL_SUBJECT);
    assert!(matches!(
        c.signed_token.as_ref().unwrap().keys,
        TokenKeySource::Jwks(_)
    ));
    assert!(!format!("{c:?}").contains("captcha-secret"));
}
