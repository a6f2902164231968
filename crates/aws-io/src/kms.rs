//! The AWS KMS key of magic links (`MAGIC_LINK_KMS_KEY_ID`): Create signs each link's proof with
//! it (`Sign`, ECDSA_SHA_256 over the raw message), and fetches its public half once per process
//! (`GetPublicKey`) to hand Verify in each round, which checks proofs locally with no KMS call.
//! Same SDK settings, HTTP client and 2-second bound as every other AWS call of the functions;
//! the client is built on first use.

use aws_sdk_kms::Client;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use aws_smithy_runtime_api::client::result::SdkError;
use custom_auth::Config;
use custom_auth::ports::DependencyError;
use custom_auth::steps::magic::LinkKey;
use tokio::sync::OnceCell;

use crate::sdk::SettingError;
use crate::sdk::{AwsSettings, OPERATION_TIMEOUT};

/// The KMS key of magic links.
pub struct KmsKey {
    key_id: String,
    settings: AwsSettings,
    client: OnceCell<Client>,
    /// The public half, once fetched: a KMS key's public half never changes.
    public: OnceCell<Vec<u8>>,
}

impl KmsKey {
    /// The key the configuration names, if its magic links are signed by KMS. Start fails,
    /// naming `AWS_REGION`, when no region is set.
    pub fn new(config: &Config, settings: AwsSettings) -> Result<Option<KmsKey>, SettingError> {
        let Some(LinkKey::Kms(key_id)) = config.magic_link.as_ref().map(|m| &m.key) else {
            return Ok(None);
        };
        if settings.region.is_none() {
            return Err(SettingError("AWS_REGION"));
        }
        Ok(Some(KmsKey {
            key_id: key_id.clone(),
            settings,
            client: OnceCell::new(),
            public: OnceCell::new(),
        }))
    }

    /// The key `key_id` at a loopback `endpoint`, with test credentials.
    #[cfg(test)]
    pub(crate) fn at_endpoint(key_id: &str, endpoint: &str) -> KmsKey {
        let (settings, sdk) = crate::sdk::for_endpoint(endpoint);
        KmsKey {
            key_id: key_id.into(),
            settings,
            client: OnceCell::new_with(Some(Client::new(&sdk))),
            public: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async { Client::new(&self.settings.sdk()) })
            .await
    }

    /// The signature of `message` (ECDSA P-256 over SHA-256) as r‖s, 64 bytes.
    pub async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DependencyError> {
        let call = async {
            let out = self
                .client()
                .await
                .sign()
                .key_id(&self.key_id)
                .message(Blob::new(message))
                .message_type(MessageType::Raw)
                .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                .send()
                .await
                .map_err(|e| failed("Sign", &e))?;
            let der = out.signature().ok_or(DependencyError::Failed)?;
            raw_signature(der.as_ref()).ok_or(DependencyError::Failed)
        };
        tokio::time::timeout(OPERATION_TIMEOUT, call)
            .await
            .unwrap_or(Err(DependencyError::Timeout))
    }

    /// The key's public half, DER (SubjectPublicKeyInfo): fetched on first use and kept; a
    /// failed fetch is tried again on the next call.
    pub async fn public_key(&self) -> Result<Vec<u8>, DependencyError> {
        self.public
            .get_or_try_init(|| self.fetch_public_key())
            .await
            .cloned()
    }

    async fn fetch_public_key(&self) -> Result<Vec<u8>, DependencyError> {
        let call = async {
            let out = self
                .client()
                .await
                .get_public_key()
                .key_id(&self.key_id)
                .send()
                .await
                .map_err(|e| failed("GetPublicKey", &e))?;
            out.public_key()
                .map(|k| k.as_ref().to_vec())
                .ok_or(DependencyError::Failed)
        };
        tokio::time::timeout(OPERATION_TIMEOUT, call)
            .await
            .unwrap_or(Err(DependencyError::Timeout))
    }
}

/// KMS answers ECDSA signatures DER-encoded; proofs carry the fixed 64-byte r‖s.
fn raw_signature(der: &[u8]) -> Option<Vec<u8>> {
    p256::ecdsa::Signature::from_der(der)
        .ok()
        .map(|sig| sig.to_bytes().to_vec())
}

/// Logs a KMS failure by its error code only, and fails.
fn failed<E: ProvideErrorMetadata, R>(
    operation: &'static str,
    error: &SdkError<E, R>,
) -> DependencyError {
    match error {
        SdkError::TimeoutError(_) => {
            tracing::warn!(operation, "KMS request timed out");
            DependencyError::Timeout
        }
        other => {
            tracing::warn!(operation, code = other.code(), "KMS request failed");
            DependencyError::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_signatures_become_r_and_s() {
        use p256::ecdsa::signature::Signer;
        let key = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let sig: p256::ecdsa::Signature = key.sign(b"ml");
        let der = sig.to_der();
        assert_eq!(raw_signature(der.as_bytes()), Some(sig.to_bytes().to_vec()));
        assert_eq!(raw_signature(b"not der"), None);
        assert_eq!(raw_signature(&[]), None);
    }
}
