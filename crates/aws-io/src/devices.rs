//! Remembered devices on DynamoDB: the adapter of `custom_auth::store::devices::DeviceStore`,
//! on the state store's table.
//!
//! A person's devices are one item, `d#<keyed hash>` (no expiry: each device's own expiry is
//! an attribute, checked by the reads and by the admission), with four attributes per device,
//! named by its id in base64url: `k_<id>` its public key, `m_<id>` its name, `a_<id>` when it
//! was remembered, `e_<id>` until when; and `devices`, how many it holds. One item keeps
//! listing, the limit and "forget all" to one request each.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use custom_auth::encoding::b64;
use custom_auth::ports::DependencyError;
use custom_auth::store::devices::{DeviceStore, Remembered, StoredDevice};

use crate::device_items::devices_of;
use crate::dynamo::DynamoStore;
use crate::dynamo_call::{bounded, failed, number, sdk_failed};
use crate::passkey_items::{KEY, attr, s};

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
