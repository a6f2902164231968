//! Passkeys on DynamoDB: the adapter of `custom_auth::passkey::PasskeyStore`, on the state
//! store's table.
//!
//! A user's passkeys are one item, `p#<keyed hash>` (no expiry), with a few attributes per
//! credential, named by the credential id in base64url: `c_<id>` its public key, `t_<id>` its
//! transports, `m_<id>` its name, `a_<id>` its registration time, `n_<id>` its signature
//! counter, `d_<id>` its dynamic state, `u_<id>` its last use; and `passkeys`, how many it
//! holds. One item keeps listing, the limit on their number and each counter update to one
//! request. A claim item `k#<sha-256 of the id>` makes an id unique across users. A pending
//! registration is `r#<keyed hash>`, expiring with the ceremony.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use custom_auth::passkey::{Added, PasskeyStore, PasskeyUse, StoredPasskey, b64, unb64};
use custom_auth::ports::DependencyError;
use sha2::{Digest, Sha256};

use crate::dynamo::{DynamoStore, bounded, failed, number, sdk_failed};

const KEY: &str = "pk";
const EXPIRES_AT: &str = "expiresAt";
const VALUE: &str = "value";
const OWNER: &str = "owner";

/// The attribute of `field` (one of `c t m a n d u`) of credential `id`.
fn attr(field: char, id: &[u8]) -> String {
    format!("{field}_{}", b64(id))
}

/// The claim item of credential `id`.
fn claim(id: &[u8]) -> String {
    let digest = Sha256::digest(id);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("k#{hex}")
}

/// The pending-registration item of `owner` (`p#<hash>` becomes `r#<hash>`).
fn pending(owner: &str) -> String {
    format!("r#{}", owner.strip_prefix("p#").unwrap_or(owner))
}

fn s(value: &str) -> AttributeValue {
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
fn refused(error: &TransactWriteItemsError) -> Option<Vec<bool>> {
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
fn named(mut update: UpdateBuilder, id: &[u8], fields: &str) -> UpdateBuilder {
    for field in fields.chars() {
        update = update.expression_attribute_names(format!("#{field}"), attr(field, id));
    }
    update
}

impl DynamoStore {
    /// Runs `items` as one transaction: `Ok(None)` when it went through, `Ok(Some(refused))`
    /// when conditions cancelled it (which items' failed), an error otherwise.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<bool>>, DependencyError> {
        let sent = self
            .client()
            .await
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(e)) => match refused(e.err()) {
                Some(flags) => Ok(Some(flags)),
                None => Err(failed("TransactWriteItems", e.err().meta().code())),
            },
            Err(e) => Err(sdk_failed("TransactWriteItems", &e)),
        }
    }
}

impl PasskeyStore for DynamoStore {
    async fn passkeys(&self, owner: &str) -> Result<Vec<StoredPasskey>, DependencyError> {
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
            passkeys_of(read.item())
        })
        .await
    }

    async fn add_passkey(
        &self,
        owner: &str,
        passkey: &StoredPasskey,
        max: usize,
    ) -> Result<Added, DependencyError> {
        bounded(async {
            let id = &passkey.id;
            let claimed = Put::builder()
                .table_name(&self.table)
                .item(KEY, s(&claim(id)))
                .item(OWNER, s(owner))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|_| DependencyError::Failed)?;
            let added = Update::builder()
                .table_name(&self.table)
                .key(KEY, s(owner))
                .update_expression(
                    "SET #c = :key, #t = :transports, #m = :name, #a = :created, #n = :count, \
                     #d = :dynamic ADD passkeys :one",
                )
                .condition_expression(
                    "attribute_not_exists(#c) AND (attribute_not_exists(passkeys) OR passkeys < :max)",
                )
                .expression_attribute_values(":key", s(&b64(&passkey.public_key)))
                .expression_attribute_values(
                    ":transports",
                    number(passkey.transports.first().copied().unwrap_or(0).into()),
                )
                .expression_attribute_values(":name", s(&passkey.name))
                .expression_attribute_values(":created", number(passkey.created_at))
                .expression_attribute_values(":count", number(passkey.sign_count.into()))
                .expression_attribute_values(":dynamic", s(&b64(&passkey.dynamic)))
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":max", number(max as u64));
            let added = named(added, id, "ctmand")
                .build()
                .map_err(|_| DependencyError::Failed)?;
            let items = vec![
                TransactWriteItem::builder().put(claimed).build(),
                TransactWriteItem::builder().update(added).build(),
            ];
            match self.transact(items).await?.as_deref() {
                None => Ok(Added::Added),
                Some([true, ..]) => Ok(Added::Duplicate),
                Some([false, true]) => Ok(Added::TooMany),
                Some(_) => Err(failed("TransactWriteItems", Some("TransactionCanceled"))),
            }
        })
        .await
    }

    async fn remove_passkey(&self, owner: &str, id: &[u8]) -> Result<bool, DependencyError> {
        bounded(async {
            let removed = Update::builder()
                .table_name(&self.table)
                .key(KEY, s(owner))
                .update_expression("REMOVE #c, #t, #m, #a, #n, #d, #u ADD passkeys :minus")
                .condition_expression("attribute_exists(#c)")
                .expression_attribute_values(":minus", AttributeValue::N("-1".into()));
            let removed = named(removed, id, "ctmandu")
                .build()
                .map_err(|_| DependencyError::Failed)?;
            let unclaimed = Delete::builder()
                .table_name(&self.table)
                .key(KEY, s(&claim(id)))
                .condition_expression("#owner = :owner")
                .expression_attribute_names("#owner", OWNER)
                .expression_attribute_values(":owner", s(owner))
                .build()
                .map_err(|_| DependencyError::Failed)?;
            let items = vec![
                TransactWriteItem::builder().update(removed).build(),
                TransactWriteItem::builder().delete(unclaimed).build(),
            ];
            match self.transact(items).await?.as_deref() {
                None => Ok(true),
                Some([true, ..]) => Ok(false),
                Some(_) => Err(failed("TransactWriteItems", Some("TransactionCanceled"))),
            }
        })
        .await
    }

    async fn begin_registration(
        &self,
        owner: &str,
        state: &str,
        expires_at: u64,
    ) -> Result<(), DependencyError> {
        bounded(async {
            self.client()
                .await
                .put_item()
                .table_name(&self.table)
                .item(KEY, s(&pending(owner)))
                .item(VALUE, s(state))
                .item(EXPIRES_AT, number(expires_at))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_failed("PutItem", &e))
        })
        .await
    }

    async fn take_registration(
        &self,
        owner: &str,
        now: u64,
    ) -> Result<Option<String>, DependencyError> {
        bounded(async {
            let taken = self
                .client()
                .await
                .delete_item()
                .table_name(&self.table)
                .key(KEY, s(&pending(owner)))
                .return_values(ReturnValue::AllOld)
                .send()
                .await
                .map_err(|e| sdk_failed("DeleteItem", &e))?;
            let Some(item) = taken.attributes() else {
                return Ok(None);
            };
            let expires = match item.get(EXPIRES_AT) {
                Some(AttributeValue::N(n)) => {
                    n.parse::<u64>().map_err(|_| DependencyError::Failed)?
                }
                _ => return Err(DependencyError::Failed),
            };
            match item.get(VALUE) {
                // An expired item the TTL has not removed yet is no registration.
                Some(AttributeValue::S(v)) if expires > now => Ok(Some(v.clone())),
                Some(AttributeValue::S(_)) => Ok(None),
                _ => Err(DependencyError::Failed),
            }
        })
        .await
    }
}
