//! The passkey items on DynamoDB, as plain codecs: the attribute names of a user's passkeys
//! item, the claim and pending-registration keys, reading passkeys out of an item, and the
//! update that records a passkey's use (which the state store's admission also writes, as the
//! third item of its transaction). No request is made here.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use custom_auth::passkey::{Discovered, Holder, PasskeyUse, StoredPasskey, b64, unb64};
use custom_auth::ports::DependencyError;
use sha2::{Digest, Sha256};

use crate::dynamo_call::number;

pub(crate) const KEY: &str = "pk";
pub(crate) const EXPIRES_AT: &str = "expiresAt";
pub(crate) const VALUE: &str = "value";
pub(crate) const OWNER: &str = "owner";
/// A claim's holder: the sign-in name, the user handle (base64url), the public key and the
/// registration's dynamic state (base64url).
pub(crate) const HOLDER: &str = "user";
pub(crate) const HANDLE: &str = "handle";
pub(crate) const PUBLIC_KEY: &str = "publicKey";
pub(crate) const DYNAMIC: &str = "dynamic";

/// The attribute of `field` (one of `c t m a n d u`) of credential `id`.
pub(crate) fn attr(field: char, id: &[u8]) -> String {
    format!("{field}_{}", b64(id))
}

/// The claim item of credential `id`.
pub(crate) fn claim(id: &[u8]) -> String {
    let digest = Sha256::digest(id);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("k#{hex}")
}

/// The pending-registration item of `owner` (`p#<hash>` becomes `r#<hash>`).
pub(crate) fn pending(owner: &str) -> String {
    format!("r#{}", owner.strip_prefix("p#").unwrap_or(owner))
}

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// The passkeys held in `item`; an attribute of the wrong type or encoding is garbage, and
/// garbage fails closed.
pub(crate) fn passkeys_of(
    item: Option<&HashMap<String, AttributeValue>>,
) -> Result<Vec<StoredPasskey>, DependencyError> {
    let Some(item) = item else {
        return Ok(Vec::new());
    };
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(Some(v.as_str())),
        None => Ok(None),
        Some(_) => Err(DependencyError::Failed),
    };
    let num = |name: &str| -> Result<Option<u64>, DependencyError> {
        match item.get(name) {
            Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| DependencyError::Failed),
            None => Ok(None),
            Some(_) => Err(DependencyError::Failed),
        }
    };
    let mut out = Vec::new();
    for name in item.keys() {
        let Some(encoded) = name.strip_prefix("c_") else {
            continue;
        };
        let id = unb64(encoded).ok_or(DependencyError::Failed)?;
        let bytes = |field: char| -> Result<Vec<u8>, DependencyError> {
            text(&attr(field, &id))?
                .and_then(unb64)
                .ok_or(DependencyError::Failed)
        };
        let transports = num(&attr('t', &id))?.unwrap_or(0);
        out.push(StoredPasskey {
            public_key: bytes('c')?,
            dynamic: bytes('d')?,
            sign_count: num(&attr('n', &id))?
                .and_then(|n| u32::try_from(n).ok())
                .ok_or(DependencyError::Failed)?,
            transports: vec![u8::try_from(transports).map_err(|_| DependencyError::Failed)?],
            name: text(&attr('m', &id))?.unwrap_or_default().to_owned(),
            created_at: num(&attr('a', &id))?.unwrap_or(0),
            last_used_at: num(&attr('u', &id))?,
            id,
        });
    }
    // Oldest first, as the user added them.
    out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(out)
}

/// The passkey a claim item finds: `None` without an item, or for a claim written before
/// claims kept their holder (such a passkey signs in by name only); garbage fails closed.
pub(crate) fn discovered_of(
    item: Option<&HashMap<String, AttributeValue>>,
) -> Result<Option<Discovered>, DependencyError> {
    let Some(item) = item else {
        return Ok(None);
    };
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(Some(v.as_str())),
        None => Ok(None),
        Some(_) => Err(DependencyError::Failed),
    };
    let (Some(owner), Some(user)) = (text(OWNER)?, text(HOLDER)?) else {
        return Ok(None);
    };
    let bytes = |name: &str| -> Result<Vec<u8>, DependencyError> {
        text(name)?.and_then(unb64).ok_or(DependencyError::Failed)
    };
    Ok(Some(Discovered {
        owner: owner.to_owned(),
        holder: Holder {
            user: user.to_owned(),
            handle: bytes(HANDLE)?,
        },
        public_key: bytes(PUBLIC_KEY)?,
        dynamic: bytes(DYNAMIC)?,
    }))
}

/// The update that records a passkey's use, if it still exists and its counter allows it
/// ([`PasskeyUse::counter_ok`] as a condition): the third item of the admission's transaction.
pub(crate) fn use_update(table: &str, used: &PasskeyUse) -> Result<Update, DependencyError> {
    let counter = if used.sign_count == 0 {
        "#n = :zero"
    } else {
        "#n < :count"
    };
    let mut update = Update::builder()
        .table_name(table)
        .key(KEY, s(&used.owner))
        .update_expression("SET #n = :count, #d = :dynamic, #u = :now")
        .condition_expression(format!("attribute_exists(#c) AND {counter}"))
        .expression_attribute_values(":count", number(used.sign_count.into()))
        .expression_attribute_values(":dynamic", s(&b64(&used.dynamic)))
        .expression_attribute_values(":now", number(used.used_at));
    if used.sign_count == 0 {
        update = update.expression_attribute_values(":zero", number(0));
    }
    named(update, &used.id, "cndu")
        .build()
        .map_err(|_| DependencyError::Failed)
}

/// Which items of a cancelled transaction failed their condition.
pub(crate) fn refused(error: &TransactWriteItemsError) -> Option<Vec<bool>> {
    match error {
        TransactWriteItemsError::TransactionCanceledException(c) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}

/// `update` with `#<field>` naming credential `id`'s attribute, for each of `fields`.
pub(crate) fn named(mut update: UpdateBuilder, id: &[u8], fields: &str) -> UpdateBuilder {
    for field in fields.chars() {
        update = update.expression_attribute_names(format!("#{field}"), attr(field, id));
    }
    update
}
