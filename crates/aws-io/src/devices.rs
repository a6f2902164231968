//! Remembered devices on DynamoDB: the adapter of `custom_auth::store::devices::DeviceStore`,
//! on the state store's table.
//!
//! A person's devices are one item, `d#<keyed hash>` (no expiry: each device's own expiry is
//! an attribute, checked by the reads and by the admission), with four attributes per device,
//! named by its id in base64url: `k_<id>` its public key, `m_<id>` its name, `a_<id>` when it
//! was remembered, `e_<id>` until when; and `devices`, how many it holds. One item keeps
//! listing, the limit and "forget all" to one request each.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ReturnValuesOnConditionCheckFailure,
};
use custom_auth::encoding::{b64, unb64};
use custom_auth::ports::DependencyError;
use custom_auth::store::devices::{DeviceStore, DeviceUse, Remembered, StoredDevice};

use crate::dynamo::DynamoStore;
use crate::dynamo_call::{bounded, failed, number, sdk_failed};
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
fn devices_of(
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

impl DeviceStore for DynamoStore {
    async fn devices(&self, owner: &str) -> Result<Vec<StoredDevice>, DependencyError> {
        bounded(async {
            let read = self
                .client()
                .await
                .get_item()
                .table_name(&self.table)
                .key(KEY, s(owner))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| sdk_failed("GetItem", &e))?;
            devices_of(read.item())
        })
        .await
    }

    async fn remember(
        &self,
        owner: &str,
        device: &StoredDevice,
        max: usize,
    ) -> Result<Remembered, DependencyError> {
        bounded(async {
            let id = &device.id;
            let sent = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key(KEY, s(owner))
                .update_expression("SET #k = :key, #m = :name, #a = :created, #e = :expires ADD devices :one")
                .condition_expression(
                    "attribute_not_exists(#k) AND (attribute_not_exists(devices) OR devices < :max)",
                )
                .expression_attribute_names("#k", attr('k', id))
                .expression_attribute_names("#m", attr('m', id))
                .expression_attribute_names("#a", attr('a', id))
                .expression_attribute_names("#e", attr('e', id))
                .expression_attribute_values(":key", s(&b64(&device.public_key)))
                .expression_attribute_values(":name", s(&device.name))
                .expression_attribute_values(":created", number(device.created_at))
                .expression_attribute_values(":expires", number(device.expires_at))
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":max", number(max as u64))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match sent {
                Ok(_) => Ok(Remembered::Added),
                Err(SdkError::ServiceError(e)) => match e.err() {
                    // The item as it was tells which condition failed.
                    UpdateItemError::ConditionalCheckFailedException(c) => {
                        let taken = c.item().is_some_and(|i| i.contains_key(&attr('k', id)));
                        Ok(if taken { Remembered::Duplicate } else { Remembered::TooMany })
                    }
                    other => Err(failed("UpdateItem", other.meta().code())),
                },
                Err(e) => Err(sdk_failed("UpdateItem", &e)),
            }
        })
        .await
    }

    async fn rename_device(
        &self,
        owner: &str,
        id: &[u8],
        name: &str,
    ) -> Result<bool, DependencyError> {
        bounded(async {
            let sent = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key(KEY, s(owner))
                .update_expression("SET #m = :name")
                .condition_expression("attribute_exists(#k)")
                .expression_attribute_names("#k", attr('k', id))
                .expression_attribute_names("#m", attr('m', id))
                .expression_attribute_values(":name", s(name))
                .send()
                .await;
            changed(sent)
        })
        .await
    }

    async fn forget_device(&self, owner: &str, id: &[u8]) -> Result<bool, DependencyError> {
        bounded(async {
            let sent = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key(KEY, s(owner))
                .update_expression("REMOVE #k, #m, #a, #e ADD devices :minus")
                .condition_expression("attribute_exists(#k)")
                .expression_attribute_names("#k", attr('k', id))
                .expression_attribute_names("#m", attr('m', id))
                .expression_attribute_names("#a", attr('a', id))
                .expression_attribute_names("#e", attr('e', id))
                .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
                .send()
                .await;
            changed(sent)
        })
        .await
    }

    async fn forget_devices(&self, owner: &str) -> Result<(), DependencyError> {
        bounded(async {
            self.client()
                .await
                .delete_item()
                .table_name(&self.table)
                .key(KEY, s(owner))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_failed("DeleteItem", &e))
        })
        .await
    }
}

/// Whether a conditional update went through (`false`: its condition, the device exists,
/// failed).
fn changed<O, R>(sent: Result<O, SdkError<UpdateItemError, R>>) -> Result<bool, DependencyError> {
    match sent {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) => match e.err() {
            UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
            other => Err(failed("UpdateItem", other.meta().code())),
        },
        Err(e) => Err(sdk_failed("UpdateItem", &e)),
    }
}
