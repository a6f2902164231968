//! Unit tests of the DynamoDB state store: host names, and records read back from items.

use super::*;

/// `idna_adapter` is pinned to its back end without Unicode tables (root `Cargo.toml`):
/// ASCII hosts resolve and parse as before, a non-ASCII one is refused, not mapped.
#[tokio::test]
async fn host_names_are_ascii_only() {
    use aws_sdk_dynamodb::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let params = Params::builder().region("eu-west-1").build().unwrap();
    let endpoint = DefaultResolver::new()
        .resolve_endpoint(&params)
        .await
        .unwrap();
    assert_eq!(endpoint.url(), "https://dynamodb.eu-west-1.amazonaws.com");
    for ascii in [
        endpoint.url(),
        "http://localhost:4566",
        "https://login.EXAMPLE.com",
    ] {
        assert!(url::Url::parse(ascii).is_ok(), "{ascii}");
    }
    assert!(url::Url::parse("https://bücher.example").is_err());
    assert!(url::Url::parse("https://xn--bcher-kva.example").is_ok());
}

#[test]
fn records_read_numbers_and_refuse_garbage() {
    let item = |pairs: &[(&str, AttributeValue)]| -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };
    assert_eq!(record(None), Ok(UserRecord::default()));
    assert_eq!(
        record(Some(&item(&[
            ("pk", AttributeValue::S("u#x".into())),
            ("sends", number(2)),
            ("sendsUntil", number(100)),
            ("fails", number(3)),
            ("failsUntil", number(200)),
        ]))),
        Ok(UserRecord {
            send_count: 2,
            send_window_end: 100,
            fail_count: 3,
            fail_window_end: 200,
            link_at: 0,
            link_id: 0,
        })
    );
    for bad in [
        AttributeValue::S("2".into()),
        AttributeValue::N("-1".into()),
        AttributeValue::N("1e3".into()),
        AttributeValue::Bool(true),
    ] {
        assert_eq!(
            record(Some(&item(&[("sends", bad.clone())]))),
            Err(DependencyError::Failed),
            "{bad:?}"
        );
    }
}
