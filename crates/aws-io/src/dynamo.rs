//! The state store on Amazon DynamoDB: the adapter of `custom_auth::store::StateStore`.
//!
//! One table, partition key `pk` (string), TTL attribute `expiresAt`. A user's item
//! (`u#<keyed hash>`) holds `sends` / `sendsUntil` (codes in the running send window and its
//! end) and `fails` / `failsUntil` (wrong answers in the running lockout window and its end);
//! a used token's item (`t#<keyed hash>`) holds only its expiry. Every limit is one
//! conditional write that encodes [`SendGate::decide`] and the lockout rule, so concurrent
//! sign-ins cannot slip past a limit between a read and a write. A refused write returns the
//! item as it was (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), which says why, so the
//! next request (a new window, or a count in the running one) is chosen without a read.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use custom_auth::ports::DependencyError;
use custom_auth::store::{
    Admission, Failures, Limits, OneTime, SendGate, StateSettings, StateStore, TAKE_GRACE_SECONDS,
    UserRecord,
};
use tokio::sync::OnceCell;

use crate::dynamo_call::{bounded, failed, number, sdk_failed};
use crate::passkey_items::use_update;
use crate::sdk::{AwsSettings, SettingError};

/// Attribute names. None is a DynamoDB reserved word, so no expression needs `#name`s.
pub(crate) mod attr {
    pub const KEY: &str = "pk";
    pub const SENDS: &str = "sends";
    pub const SENDS_UNTIL: &str = "sendsUntil";
    pub const FAILS: &str = "fails";
    pub const FAILS_UNTIL: &str = "failsUntil";
    pub const LINK_AT: &str = "linkAt";
    pub const LINK_ID: &str = "linkId";
    pub const EXPIRES_AT: &str = "expiresAt";
    pub const VALUE: &str = "value";
}

/// "The user is not locked at :now", as a condition.
const NOT_LOCKED: &str =
    "(attribute_not_exists(failsUntil) OR failsUntil <= :now OR fails < :lockAfter)";

/// The most rounds of (new window, count in window) one decision takes. Each refusal says why,
/// so two requests decide; a third is needed only when a window ends between them.
const MAX_ROUNDS: usize = 3;

/// The DynamoDB state store. Its client is built on first use, as Create's SES and SNS clients
/// are: building it loads the trust roots, which would otherwise add to every cold start.
pub struct DynamoStore {
    pub(crate) table: String,
    settings: AwsSettings,
    client: OnceCell<Client>,
}

/// What a conditional update did.
enum Written {
    /// Written; the item as it is now.
    Yes(UserRecord),
    /// The condition failed; the item as it was (default when there was none).
    Refused(UserRecord),
}

impl DynamoStore {
    /// The store of `state` (`None` without `AUTH_STATE_TABLE`: then nothing ever calls it).
    /// With a table, start fails naming `AWS_REGION` when no region is set.
    pub fn new(
        state: Option<&StateSettings>,
        settings: AwsSettings,
    ) -> Result<DynamoStore, SettingError> {
        if state.is_some() && settings.region.is_none() {
            return Err(SettingError("AWS_REGION"));
        }
        Ok(DynamoStore {
            table: state.map(|s| s.table.clone()).unwrap_or_default(),
            settings,
            client: OnceCell::new(),
        })
    }

    /// A store on `table` whose client comes from `sdk` (tests point it at a local or fake
    /// endpoint with test credentials).
    pub fn with_sdk(table: &str, settings: AwsSettings, sdk: &SdkConfig) -> DynamoStore {
        let client = Client::from_conf(DynamoStore::client_config(sdk, &settings));
        DynamoStore {
            table: table.to_owned(),
            settings,
            client: OnceCell::new_with(Some(client)),
        }
    }

    /// A store on `table` at `endpoint` with test credentials ([`crate::sdk::for_endpoint`]).
    pub fn at_endpoint(table: &str, endpoint: &str) -> DynamoStore {
        let (settings, sdk) = crate::sdk::for_endpoint(endpoint);
        DynamoStore::with_sdk(table, settings, &sdk)
    }

    fn client_config(sdk: &SdkConfig, settings: &AwsSettings) -> aws_sdk_dynamodb::Config {
        let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(url) = &settings.dynamodb_endpoint_url {
            config = config.endpoint_url(url);
        }
        config.build()
    }

    pub(crate) async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let sdk = self.settings.sdk();
                Client::from_conf(DynamoStore::client_config(&sdk, &self.settings))
            })
            .await
    }

    /// One conditional `UpdateItem` of `user`'s item.
    async fn update(
        &self,
        user: &str,
        update: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<Written, DependencyError> {
        let mut request = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, AttributeValue::S(user.to_owned()))
            .update_expression(update)
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in values {
            request = request.expression_attribute_values(*name, value.clone());
        }
        match request.send().await {
            Ok(written) => record(written.attributes.as_ref()).map(Written::Yes),
            Err(SdkError::ServiceError(e)) => match e.err() {
                UpdateItemError::ConditionalCheckFailedException(refused) => {
                    record(refused.item()).map(Written::Refused)
                }
                other => Err(failed("UpdateItem", other.code())),
            },
            Err(e) => Err(sdk_failed("UpdateItem", &e)),
        }
    }
    /// [`StateStore::record_send`], and with `link` (the least interval between links, and
    /// the link's number) also [`StateStore::record_link`]: the same two conditional writes,
    /// which then also require the user's newest link to be old enough and record this one's
    /// time and number.
    async fn count_send(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
        link: Option<(u64, u64)>,
    ) -> Result<SendGate, DependencyError> {
        let mut values = vec![
            (":now", number(now)),
            (":one", number(1)),
            (":lockAfter", number(limits.lockout_after.into())),
            (":expires", number(limits.expires_at(now))),
        ];
        let (set_link, link_ok) = match link {
            Some((interval, id)) => {
                values.push((":linkBefore", number(now.saturating_sub(interval))));
                values.push((":linkId", number(id)));
                (
                    ", linkAt = :now, linkId = :linkId",
                    " AND (attribute_not_exists(linkAt) OR linkAt <= :linkBefore)",
                )
            }
            None => ("", ""),
        };
        let decide = |before: &UserRecord| match link {
            Some((interval, _)) => SendGate::decide_link(before, now, limits, interval),
            None => SendGate::decide(before, now, limits),
        };
        let with = |extra: (&'static str, AttributeValue)| {
            let mut all = values.clone();
            all.push(extra);
            all
        };
        bounded(async {
            for _ in 0..MAX_ROUNDS {
                // Most sign-ins start a window: one request.
                let started = self
                    .update(
                        user,
                        &format!("SET sends = :one, sendsUntil = :until, expiresAt = :expires{set_link}"),
                        &format!(
                            "(attribute_not_exists(sendsUntil) OR sendsUntil <= :now) AND {NOT_LOCKED}{link_ok}"
                        ),
                        &with((":until", number(now.saturating_add(limits.send_window)))),
                    )
                    .await?;
                let Written::Refused(before) = started else {
                    return Ok(SendGate::Allowed);
                };
                match decide(&before) {
                    SendGate::Allowed if before.sending(now) => {}
                    SendGate::Allowed => continue,
                    refused => return Ok(refused),
                }
                // A window runs and has room: count in it.
                let counted = self
                    .update(
                        user,
                        &format!("SET sends = sends + :one, expiresAt = :expires{set_link}"),
                        &format!("sendsUntil > :now AND sends < :limit AND {NOT_LOCKED}{link_ok}"),
                        &with((":limit", number(limits.send_limit.into()))),
                    )
                    .await?;
                let Written::Refused(before) = counted else {
                    return Ok(SendGate::Allowed);
                };
                match decide(&before) {
                    SendGate::Allowed => continue,
                    refused => return Ok(refused),
                }
            }
            Err(DependencyError::Failed)
        })
        .await
    }
}

/// A user's record from an item; an attribute that is there but not a number is garbage, and
/// garbage fails closed.
pub(crate) fn record(
    item: Option<&HashMap<String, AttributeValue>>,
) -> Result<UserRecord, DependencyError> {
    let Some(item) = item else {
        return Ok(UserRecord::default());
    };
    fn read<T: std::str::FromStr + Default>(
        item: &HashMap<String, AttributeValue>,
        name: &str,
    ) -> Result<T, DependencyError> {
        match item.get(name) {
            None => Ok(T::default()),
            Some(AttributeValue::N(n)) => n.parse().map_err(|_| DependencyError::Failed),
            Some(_) => Err(DependencyError::Failed),
        }
    }
    Ok(UserRecord {
        send_count: read(item, attr::SENDS)?,
        send_window_end: read(item, attr::SENDS_UNTIL)?,
        fail_count: read(item, attr::FAILS)?,
        fail_window_end: read(item, attr::FAILS_UNTIL)?,
        link_at: read(item, attr::LINK_AT)?,
        link_id: read(item, attr::LINK_ID)?,
    })
}

impl StateStore for DynamoStore {
    async fn record_send(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
    ) -> Result<SendGate, DependencyError> {
        self.count_send(user, now, limits, None).await
    }

    async fn record_link(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
        min_interval: u64,
        link: u64,
    ) -> Result<SendGate, DependencyError> {
        self.count_send(user, now, limits, Some((min_interval, link)))
            .await
    }

    async fn record_failure(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
    ) -> Result<Failures, DependencyError> {
        let values = [
            (":now", number(now)),
            (":one", number(1)),
            (":expires", number(limits.expires_at(now))),
        ];
        bounded(async {
            for _ in 0..MAX_ROUNDS {
                // An attacker's answers land in a running window: one request.
                let counted = self
                    .update(
                        user,
                        "SET fails = fails + :one, expiresAt = :expires",
                        "failsUntil > :now",
                        &values,
                    )
                    .await?;
                if let Written::Yes(now) = counted {
                    return Ok(Failures {
                        count: now.fail_count,
                        window_end: now.fail_window_end,
                    });
                }
                let mut start = values.to_vec();
                start.push((":until", number(now.saturating_add(limits.lockout_window))));
                let started = self
                    .update(
                        user,
                        "SET fails = :one, failsUntil = :until, expiresAt = :expires",
                        "attribute_not_exists(failsUntil) OR failsUntil <= :now",
                        &start,
                    )
                    .await?;
                if let Written::Yes(now) = started {
                    return Ok(Failures {
                        count: now.fail_count,
                        window_end: now.fail_window_end,
                    });
                }
            }
            Err(DependencyError::Failed)
        })
        .await
    }

    async fn admit(
        &self,
        user: &str,
        records: &[OneTime],
        now: u64,
        limits: &Limits,
    ) -> Result<Admission, DependencyError> {
        bounded(async {
            let client = self.client().await;
            let key = AttributeValue::S(user.to_owned());
            if records.is_empty() {
                // A strongly consistent read of the lock: a wrong answer counted an instant
                // ago is seen.
                let read = client
                    .get_item()
                    .table_name(&self.table)
                    .key(attr::KEY, key)
                    .consistent_read(true)
                    .projection_expression("fails, failsUntil")
                    .send()
                    .await
                    .map_err(|e| sdk_failed("GetItem", &e))?;
                let before = record(read.item())?;
                return Ok(if before.locked(now, limits) {
                    Admission::Locked
                } else {
                    Admission::Admitted
                });
            };
            // One transaction: the user is not locked (and, for a magic link, it is the user's
            // newest), and no record has any of the keys (the token, link or passkey challenge
            // was never used; the sign-in chose no account and kept no methods before); and for
            // a passkey, its counter update.
            let newest_link = records.iter().find_map(OneTime::newest_link);
            let mut unlocked = ConditionCheck::builder()
                .table_name(&self.table)
                .key(attr::KEY, key)
                .expression_attribute_values(":now", number(now))
                .expression_attribute_values(":lockAfter", number(limits.lockout_after.into()))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            unlocked = match newest_link {
                Some(id) => unlocked
                    .condition_expression(format!("{NOT_LOCKED} AND linkId = :linkId"))
                    .expression_attribute_values(":linkId", number(id)),
                None => unlocked.condition_expression(NOT_LOCKED),
            };
            let unlocked = unlocked.build().map_err(|_| DependencyError::Failed)?;
            let mut transaction = client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().condition_check(unlocked).build());
            for token in records {
                let mut spend = Put::builder()
                    .table_name(&self.table)
                    .item(attr::KEY, AttributeValue::S(token.key.clone()))
                    .item(attr::EXPIRES_AT, number(token.expires_at))
                    .condition_expression("attribute_not_exists(pk)");
                if let Some(value) = token.value() {
                    spend = spend.item(attr::VALUE, AttributeValue::S(value.to_owned()));
                }
                let spend = spend.build().map_err(|_| DependencyError::Failed)?;
                transaction = transaction.transact_items(TransactWriteItem::builder().put(spend).build());
            }
            for used in records.iter().filter_map(OneTime::device) {
                // A device's answer, only if the device is still remembered.
                let check = crate::device_items::still_remembered(&self.table, used)?;
                transaction = transaction
                    .transact_items(TransactWriteItem::builder().condition_check(check).build());
            }
            for used in records.iter().filter_map(OneTime::passkey) {
                // A passkey's new counter, only if it still exists and the counter grew.
                let update = use_update(&self.table, used)?;
                transaction =
                    transaction.transact_items(TransactWriteItem::builder().update(update).build());
            }
            let sent = transaction.send().await;
            match sent {
                Ok(_) => Ok(Admission::Admitted),
                Err(SdkError::ServiceError(e)) => {
                    let reasons = match e.err() {
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => c.cancellation_reasons(),
                        other => return Err(failed("TransactWriteItems", other.code())),
                    };
                    let refused = |i: usize| {
                        reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
                    };
                    if refused(0) {
                        // Locked, or (a magic link) not the newest: the item as it was tells.
                        let before = reasons.first().map(|r| r.item());
                        let locked = match before {
                            Some(Some(item)) => record(Some(item))?.locked(now, limits),
                            _ => newest_link.is_none(),
                        };
                        Ok(if locked {
                            Admission::Locked
                        } else {
                            Admission::Replayed
                        })
                    } else if (1..reasons.len()).any(refused) {
                        Ok(Admission::Replayed)
                    } else {
                        Err(failed("TransactWriteItems", Some("TransactionCanceled")))
                    }
                }
                Err(e) => Err(sdk_failed("TransactWriteItems", &e)),
            }
        })
        .await
    }

    async fn take(&self, key: &str, now: u64) -> Result<Option<String>, DependencyError> {
        bounded(async {
            // Mark the first take; allow more only within the grace after it.
            let taken = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key(attr::KEY, AttributeValue::S(key.to_owned()))
                .update_expression("SET takenAt = if_not_exists(takenAt, :now)")
                .condition_expression(
                    "attribute_exists(pk) AND expiresAt > :now \
                     AND (attribute_not_exists(takenAt) OR takenAt >= :graceStart)",
                )
                .expression_attribute_values(":now", number(now))
                .expression_attribute_values(
                    ":graceStart",
                    number(now.saturating_sub(TAKE_GRACE_SECONDS)),
                )
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
                .await;
            let item = match taken {
                Ok(out) => out.attributes,
                Err(SdkError::ServiceError(e)) => match e.err() {
                    UpdateItemError::ConditionalCheckFailedException(_) => return Ok(None),
                    other => return Err(failed("UpdateItem", other.code())),
                },
                Err(e) => return Err(sdk_failed("UpdateItem", &e)),
            };
            match item.as_ref().and_then(|i| i.get(attr::VALUE)) {
                None => Ok(None),
                Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
                Some(_) => Err(DependencyError::Failed),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests;
