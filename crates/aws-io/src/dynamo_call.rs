//! One DynamoDB call as both adapters (the state store's and the passkeys') make it: bounded by
//! [`OPERATION_TIMEOUT`], its failure logged by error code only and mapped to the port's
//! [`DependencyError`].

use std::future::Future;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use custom_auth::ports::DependencyError;
use custom_auth::telemetry::Dependency;

use crate::sdk::OPERATION_TIMEOUT;

/// Logs a store failure by its error code only (a message could echo a key), and fails.
pub(crate) fn failed(operation: &'static str, code: Option<&str>) -> DependencyError {
    tracing::warn!(operation, code, "DynamoDB request failed");
    DependencyError::Failed
}

/// [`failed`] for an SDK error that is not the service's answer: the SDK's own time-out is a
/// time-out, anything else (refused, unreadable) a failure.
pub(crate) fn sdk_failed<E: ProvideErrorMetadata, R>(
    operation: &'static str,
    error: &SdkError<E, R>,
) -> DependencyError {
    match error {
        SdkError::TimeoutError(_) => {
            tracing::warn!(operation, "DynamoDB request timed out");
            DependencyError::Timeout
        }
        other => failed(operation, other.code()),
    }
}

pub(crate) fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// Bounds a whole decision (all its requests) by [`OPERATION_TIMEOUT`]. The work is boxed: the
/// SDK's futures are large, and polled in place they grew Verify's peak stack by 16 KiB.
/// Each decision is timed for the metrics ([`crate::calls`]).
pub(crate) async fn bounded<T>(
    work: impl Future<Output = Result<T, DependencyError>>,
) -> Result<T, DependencyError> {
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(OPERATION_TIMEOUT, Box::pin(work))
        .await
        .unwrap_or(Err(DependencyError::Timeout));
    crate::calls::record(Dependency::Store, started, result.is_err());
    result
}
