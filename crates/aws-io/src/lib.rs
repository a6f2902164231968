//! The AWS side of the triggers: the SDK configured as Lambda runs it ([`sdk`]), the lean
//! HTTP/1.1 client under it ([`http1`]), and the DynamoDB adapter of the shared crate's state
//! store port ([`DynamoStore`]), the KMS key of magic links ([`KmsKey`]), SES e-mail
//! ([`SesMail`]) and the pool's word on an access token ([`PoolTokens`]). Create and Verify share this crate, so every AWS call has the
//! same settings, trust roots and 2-second bound, written once.

pub mod calls;
pub mod cognito;
mod device_items;
pub mod devices;
pub mod dynamo;
mod dynamo_call;
#[cfg(test)]
mod faults;
pub mod http1;
pub mod kms;
pub mod mail;
mod passkey_items;
pub mod passkeys;
pub mod sdk;
pub mod secrets;
pub mod support;
pub mod web;

pub use cognito::PoolTokens;
pub use dynamo::DynamoStore;
pub use kms::KmsKey;
pub use mail::SesMail;
pub use sdk::{AwsSettings, OPERATION_TIMEOUT, SettingError, sdk_config};
pub use secrets::Secrets;
pub use web::WebClient;

/// Seconds since the Unix epoch, from the system clock: the one clock of the functions. Each
/// handler reads it once per invocation and passes it down; the shared crate reads no clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
