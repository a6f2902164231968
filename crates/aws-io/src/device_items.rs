//! The remembered-device items on DynamoDB, as plain codecs: reading a person's devices out of
//! their item, and the condition the state store's admission checks for a device's answer (that
//! the device is still remembered). No request is made here; `devices.rs` (the adapter) and
//! `dynamo.rs` (the admission) both use these, so neither imports the other.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck};
use custom_auth::encoding::unb64;
use custom_auth::ports::DependencyError;
use custom_auth::store::devices::{DeviceUse, StoredDevice};

use crate::dynamo_call::number;
use crate::passkey_items::{KEY, attr, s};

/// The admission's check that a device is still remembered when its answer passes: the
/// device's key exists in its owner's item and its expiry lies after the use.
pub(crate) fn still_remembered(
    table: &str,
    used: &DeviceUse,
) -> Result<ConditionCheck, DependencyError> {
    ConditionCheck::builder()
        .table_name(table)
        .key(KEY, s(&used.owner))
        .condition_expression("attribute_exists(#k) AND #e > :now")
        .expression_attribute_names("#k", attr('k', &used.id))
        .expression_attribute_names("#e", attr('e', &used.id))
        .expression_attribute_values(":now", number(used.now))
        .build()
        .map_err(|_| DependencyError::Failed)
}

/// The devices held in `item`; an attribute of the wrong type or encoding is garbage, and
/// garbage fails closed.
pub(crate) fn devices_of(
    item: Option<&HashMap<String, AttributeValue>>,
) -> Result<Vec<StoredDevice>, DependencyError> {
    let Some(item) = item else {
        return Ok(Vec::new());
    };
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.as_str()),
        _ => Err(DependencyError::Failed),
    };
    let num = |name: &str| -> Result<u64, DependencyError> {
        match item.get(name) {
            Some(AttributeValue::N(v)) => v.parse().map_err(|_| DependencyError::Failed),
            _ => Err(DependencyError::Failed),
        }
    };
    let mut out = Vec::new();
    for name in item.keys() {
        let Some(encoded) = name.strip_prefix("k_") else {
            continue;
        };
        let id = unb64(encoded).ok_or(DependencyError::Failed)?;
        out.push(StoredDevice {
            public_key: unb64(text(name)?).ok_or(DependencyError::Failed)?,
            name: text(&attr('m', &id))?.to_owned(),
            created_at: num(&attr('a', &id))?,
            expires_at: num(&attr('e', &id))?,
            id,
        });
    }
    out.sort_by_key(|d| d.created_at);
    Ok(out)
}
