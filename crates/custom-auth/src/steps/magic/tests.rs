//! Unit tests of magic links: proofs, the mail, the round and the check.

use super::mail::html_escape;
use super::proof::signature;
use super::*;
use crate::config::env::ConfigError;
use crate::ports::Channel;
use crate::steps::answer::LinkRejection;

fn settings() -> LinkSettings {
    LinkSettings {
        urls: vec![
            "https://app.example.com/signin".into(),
            "http://127.0.0.1:4600/".into(),
        ],
        ttl_seconds: 900,
        min_interval_seconds: 60,
        key: LinkKey::Hmac(Secret::new("magic-link-test-secret-0123456789abcdef")),
        subject: DEFAULT_SUBJECT.into(),
    }
}

fn secret(s: &LinkSettings) -> &Secret {
    match &s.key {
        LinkKey::Hmac(secret) => secret,
        LinkKey::Kms(_) => panic!("an HMAC key"),
    }
}

fn claims() -> LinkClaims {
    LinkClaims {
        pool: "us-east-1_pool".into(),
        user: "jane".into(),
        url: "https://app.example.com/signin".into(),
        id: "00112233445566778899aabbccddeeff".into(),
        issued_at: 1_000,
        expires_at: 1_900,
    }
}

fn check_at(proof: &str, user: &str, url: &str, now: u64) -> Result<LinkClaims, LinkRejection> {
    check_proof(&settings(), proof, "us-east-1_pool", user, url, now, None)
}

#[test]
fn a_proof_checks_for_its_pool_user_page_and_time_only() {
    let s = settings();
    let proof = issue_hmac(secret(&s), &claims());
    assert!(proof.starts_with("ml1.") && proof.len() < 400, "{proof}");
    let url = "https://app.example.com/signin";
    assert_eq!(check_at(&proof, "jane", url, 1_000), Ok(claims()));
    assert_eq!(check_at(&proof, "jane", url, 1_899), Ok(claims()));
    let cases: [(&str, &str, &str, u64, LinkRejection); 6] = [
        (
            "us-east-1_other",
            "jane",
            url,
            1_000,
            LinkRejection::OtherPool,
        ),
        (
            "us-east-1_pool",
            "john",
            url,
            1_000,
            LinkRejection::OtherUser,
        ),
        (
            "us-east-1_pool",
            "Jane",
            url,
            1_000,
            LinkRejection::OtherUser,
        ),
        (
            "us-east-1_pool",
            "jane",
            "http://127.0.0.1:4600/",
            1_000,
            LinkRejection::OtherUrl,
        ),
        ("us-east-1_pool", "jane", url, 1_900, LinkRejection::Expired),
        ("us-east-1_pool", "jane", url, 5_000, LinkRejection::Expired),
    ];
    for (pool, user, page, now, why) in cases {
        assert_eq!(
            check_proof(&s, &proof, pool, user, page, now, None),
            Err(why),
            "{pool} {user} {page} {now}"
        );
    }
    // Issued in the future (beyond clock skew), or valid longer than the TTL: refused.
    let future = issue_hmac(
        secret(&s),
        &LinkClaims {
            issued_at: 2_000,
            expires_at: 2_500,
            ..claims()
        },
    );
    assert_eq!(
        check_at(&future, "jane", url, 1_000),
        Err(LinkRejection::Expired)
    );
    let long = issue_hmac(
        secret(&s),
        &LinkClaims {
            expires_at: 1_000 + 901,
            ..claims()
        },
    );
    assert_eq!(
        check_at(&long, "jane", url, 1_000),
        Err(LinkRejection::Expired)
    );
    // A page no longer allowed, though the proof names it.
    let gone = issue_hmac(
        secret(&s),
        &LinkClaims {
            url: "https://old.example.com/".into(),
            ..claims()
        },
    );
    assert_eq!(
        check_at(&gone, "jane", "https://old.example.com/", 1_000),
        Err(LinkRejection::OtherUrl)
    );
}

#[test]
fn tampered_or_malformed_proofs_are_refused() {
    let s = settings();
    let proof = issue_hmac(secret(&s), &claims());
    let url = "https://app.example.com/signin";
    let (input, sig) = proof.rsplit_once('.').unwrap();
    // Another user in the payload, signature kept: the signature no longer matches.
    let forged_payload = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&LinkClaims {
            user: "john".into(),
            ..claims()
        })
        .unwrap(),
    );
    let forged = format!("ml1.{forged_payload}.{sig}");
    assert_eq!(
        check_at(&forged, "john", url, 1_000),
        Err(LinkRejection::BadSignature)
    );
    // Signed with another key.
    let other = LinkSettings {
        key: LinkKey::Hmac(Secret::new("another-secret-of-at-least-32-bytes!!")),
        ..settings()
    };
    assert_eq!(
        check_at(&issue_hmac(secret(&other), &claims()), "jane", url, 1_000),
        Err(LinkRejection::BadSignature)
    );
    // A flipped signature byte, a truncated one, none.
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes[0] ^= 1;
    let flipped = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&bytes));
    assert_eq!(
        check_at(&flipped, "jane", url, 1_000),
        Err(LinkRejection::BadSignature)
    );
    assert!(check_at(&format!("{input}.{}", &sig[..10]), "jane", url, 1_000).is_err());
    for bad in [
        "",
        "ml1",
        "ml1.",
        "ml1..",
        "ml2.x.y",
        "x.y",
        "ml1.!!!.???",
        &format!("{proof}.x"),
    ] {
        assert!(check_at(bad, "jane", url, 1_000).is_err(), "{bad:?}");
    }
    // A validly signed payload that is not the claims (extra field, wrong types).
    for json in [
        r#"{"p":"us-east-1_pool"}"#,
        r#"{"p":1,"u":"jane","l":"x","i":"x","t":1,"e":2}"#,
    ] {
        let input = format!("ml1.{}", URL_SAFE_NO_PAD.encode(json));
        let signed = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature(secret(&s), &input))
        );
        assert_eq!(
            check_at(&signed, "jane", url, 1_000),
            Err(LinkRejection::Malformed),
            "{json}"
        );
    }
    assert_eq!(
        check_at(&"a".repeat(MAX_PROOF_BYTES + 1), "jane", url, 1_000),
        Err(LinkRejection::Malformed)
    );
}

#[test]
fn the_mail_has_the_link_in_text_and_html_and_nothing_else_secret() {
    let s = settings();
    let link = link(
        "https://app.example.com/signin",
        &issue_hmac(secret(&s), &claims()),
    );
    assert!(
        link.starts_with("https://app.example.com/signin#magic-link=ml1."),
        "{link}"
    );
    let m = message(&s, "jane@example.com", &link);
    assert_eq!(
        (m.channel, m.destination.as_str()),
        (Channel::Email, "jane@example.com")
    );
    assert!(
        m.body.contains(&link) && m.body.contains("15 minutes"),
        "{}",
        m.body
    );
    let html = m.html.unwrap();
    assert!(html.contains(&format!("href=\"{link}\"")) && html.contains("15 minutes"));
    let key = secret(&s).expose();
    assert!(!m.body.contains(key) && !html.contains(key));
    assert_eq!(html_escape(r#"a&b<c>"d'"#), "a&amp;b&lt;c&gt;&quot;d&#39;");
}

#[test]
fn settings_need_the_store_allowed_urls_and_a_long_secret() {
    let vars = |pairs: &[(&str, &str)]| {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    };
    let good = [
        (
            "MAGIC_LINK_URLS",
            "https://app.example.com/signin, http://127.0.0.1:4600/",
        ),
        (
            "MAGIC_LINK_SECRET",
            "magic-link-test-secret-0123456789abcdef",
        ),
    ];
    let s = LinkSettings::from_lookup(&vars(&good), true).unwrap();
    assert_eq!(
        s.urls,
        ["https://app.example.com/signin", "http://127.0.0.1:4600/"]
    );
    assert_eq!((s.ttl_seconds, s.min_interval_seconds), (900, 60));
    assert!(
        format!("{s:?}").contains("redacted") && !format!("{s:?}").contains("0123456789abcdef")
    );
    let var_of = |e: ConfigError| match e {
        ConfigError::Missing { var, .. }
        | ConfigError::Invalid { var, .. }
        | ConfigError::InvalidSecret { var, .. } => var,
    };
    assert_eq!(
        var_of(LinkSettings::from_lookup(&vars(&good), false).unwrap_err()),
        "AUTH_STATE_TABLE"
    );
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[(
                "MAGIC_LINK_SECRET",
                "magic-link-test-secret-0123456789abcdef",
            )],
            "MAGIC_LINK_URLS",
        ),
        (
            &[("MAGIC_LINK_URLS", "https://a.example/")],
            "MAGIC_LINK_SECRET",
        ),
        (
            &[
                ("MAGIC_LINK_URLS", "https://a.example/"),
                ("MAGIC_LINK_SECRET", "tiny-key"),
            ],
            "MAGIC_LINK_SECRET",
        ),
        (
            &[
                ("MAGIC_LINK_URLS", "http://evil.example/"),
                (
                    "MAGIC_LINK_SECRET",
                    "magic-link-test-secret-0123456789abcdef",
                ),
            ],
            "MAGIC_LINK_URLS",
        ),
        (
            &[
                ("MAGIC_LINK_URLS", "https://a.example/#x"),
                (
                    "MAGIC_LINK_SECRET",
                    "magic-link-test-secret-0123456789abcdef",
                ),
            ],
            "MAGIC_LINK_URLS",
        ),
    ];
    for (pairs, var) in cases {
        // (No key at all names the preferred one, the KMS key.)
        let var = if pairs.len() == 1 && pairs[0].0 == "MAGIC_LINK_URLS" {
            "MAGIC_LINK_KMS_KEY_ID"
        } else {
            var
        };
        assert_eq!(
            var_of(LinkSettings::from_lookup(&vars(pairs), true).unwrap_err()),
            var,
            "{pairs:?}"
        );
    }
    // A KMS key, or an HMAC secret: one, never both.
    let kms = [
        ("MAGIC_LINK_URLS", "https://a.example/"),
        ("MAGIC_LINK_KMS_KEY_ID", "alias/links"),
    ];
    let s = LinkSettings::from_lookup(&vars(&kms), true).unwrap();
    assert!(matches!(&s.key, LinkKey::Kms(id) if id == "alias/links"));
    assert_eq!(s.key.version(), "mk1");
    let both = [kms[0], kms[1], good[1]];
    assert_eq!(
        var_of(LinkSettings::from_lookup(&vars(&both), true).unwrap_err()),
        "MAGIC_LINK_SECRET"
    );
    let err = LinkSettings::from_lookup(
        &vars(&[
            ("MAGIC_LINK_URLS", "https://a.example/"),
            ("MAGIC_LINK_SECRET", "tiny-key"),
        ]),
        true,
    )
    .unwrap_err();
    assert!(!err.to_string().contains("tiny-key"), "{err}");
}
