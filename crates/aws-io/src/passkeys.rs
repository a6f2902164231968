//! Passkeys on DynamoDB: the adapter of `custom_auth::passkey::PasskeyStore`, on the state
//! store's table.
//!
//! A user's passkeys are one item, `p#<keyed hash>` (no expiry), with a few attributes per
//! credential, named by the credential id in base64url: `c_<id>` its public key, `t_<id>` its
//! transports, `m_<id>` its name, `a_<id>` its registration time, `n_<id>` its signature
//! counter, `d_<id>` its dynamic state, `u_<id>` its last use; and `passkeys`, how many it
//! holds. One item keeps listing, the limit on their number and each counter update to one
//! request. A claim item `k#<sha-256 of the id>` makes an id unique across users, and holds
//! what finds the passkey by its id alone (a sign-in without a name): the owner, the holder's
//! sign-in name and user handle, the public key and the dynamic state of the registration.
//! A pending registration is `r#<keyed hash>`, expiring with the ceremony.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use custom_auth::passkey::{Added, Discovered, Holder, PasskeyStore, StoredPasskey, b64};
use custom_auth::ports::DependencyError;

use crate::dynamo::DynamoStore;
use crate::dynamo_call::{bounded, failed, number, sdk_failed};
use crate::passkey_items::{
    DYNAMIC, EXPIRES_AT, HANDLE, HOLDER, KEY, OWNER, PUBLIC_KEY, VALUE, claim, discovered_of,
    named, passkeys_of, pending, refused, s,
};

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
        holder: &Holder,
        max: usize,
    ) -> Result<Added, DependencyError> {
        bounded(async {
            let id = &passkey.id;
            let claimed = Put::builder()
                .table_name(&self.table)
                .item(KEY, s(&claim(id)))
                .item(OWNER, s(owner))
                .item(HOLDER, s(&holder.user))
                .item(HANDLE, s(&b64(&holder.handle)))
                .item(PUBLIC_KEY, s(&b64(&passkey.public_key)))
                .item(DYNAMIC, s(&b64(&passkey.dynamic)))
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

    async fn discover(&self, id: &[u8]) -> Result<Option<Discovered>, DependencyError> {
        bounded(async {
            let read = self
                .client()
                .await
                .get_item()
                .table_name(&self.table)
                .key(KEY, s(&claim(id)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| sdk_failed("GetItem", &e))?;
            discovered_of(read.item())
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
