//! The DynamoDB adapter of the support port ([`SupportStore`]): a user's record read strongly
//! consistent, and the lockout or the send window cleared, each in one request.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use custom_auth::ports::DependencyError;
use custom_auth::store::UserRecord;
use custom_auth::support::SupportStore;

use crate::dynamo::{DynamoStore, attr, record};
use crate::dynamo_call::{bounded, failed, sdk_failed};

impl DynamoStore {
    /// Removes `attributes` from `user`'s item, if there is one (a missing item stays
    /// missing: an item without its expiry would never go).
    async fn clear(&self, user: &str, attributes: &str) -> Result<(), DependencyError> {
        bounded(async {
            let result = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key(attr::KEY, AttributeValue::S(user.to_owned()))
                .update_expression(format!("REMOVE {attributes}"))
                .condition_expression("attribute_exists(pk)")
                .send()
                .await;
            match result {
                Ok(_) => Ok(()),
                Err(SdkError::ServiceError(e)) => match e.err() {
                    UpdateItemError::ConditionalCheckFailedException(_) => Ok(()),
                    other => Err(failed("UpdateItem", other.code())),
                },
                Err(e) => Err(sdk_failed("UpdateItem", &e)),
            }
        })
        .await
    }
}

impl SupportStore for DynamoStore {
    async fn user_record(&self, user: &str) -> Result<UserRecord, DependencyError> {
        bounded(async {
            let read = self
                .client()
                .await
                .get_item()
                .table_name(&self.table)
                .key(attr::KEY, AttributeValue::S(user.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| sdk_failed("GetItem", &e))?;
            record(read.item())
        })
        .await
    }

    async fn unlock(&self, user: &str) -> Result<(), DependencyError> {
        self.clear(user, "fails, failsUntil").await
    }

    async fn reset_sends(&self, user: &str) -> Result<(), DependencyError> {
        self.clear(user, "sends, sendsUntil").await
    }
}
