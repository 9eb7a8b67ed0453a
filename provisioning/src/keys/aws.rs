//! The production key provider: AWS KMS `GenerateDataKey` / `Decrypt` with an encryption context
//! naming the tenant.
//!
//! The encryption context (`{"treaty:tenant_id": "<uuid>"}`) is authenticated data inside the
//! KMS ciphertext and is logged by CloudTrail, so a wrapped key copied to another tenant's row
//! does not decrypt. The endpoint can be overridden (moto in tests, a VPC endpoint in production).

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_sdk_kms::Client;
use zeroize::Zeroizing;

use super::provider::{DataKey, KeyError, KeyProvider, WrappedKey};
use crate::TenantId;

/// The key in the encryption context that binds a data key to its tenant.
pub const CONTEXT_KEY: &str = "treaty:tenant_id";

/// How to reach KMS.
#[derive(Clone, Debug)]
pub struct AwsKmsSettings {
    /// Key id, ARN or alias (`alias/treaty`) of the KMS key that wraps tenant data keys.
    pub key_id: String,
    /// Overrides the KMS endpoint (e.g. `http://127.0.0.1:5000` for moto).
    pub endpoint: Option<String>,
    /// Overrides the region from the environment.
    pub region: Option<String>,
}

/// Wraps data keys with AWS KMS.
pub struct AwsKms {
    client: Client,
    key_id: String,
}

impl AwsKms {
    /// Builds a client from the standard AWS environment (credentials chain, region) plus
    /// `settings`.
    pub async fn connect(settings: &AwsKmsSettings) -> Self {
        let mut loader = aws_config::from_env();
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let config = loader.load().await;
        Self {
            client: Client::new(&config),
            key_id: settings.key_id.clone(),
        }
    }
}

fn kms_error<E: std::error::Error + Send + Sync + 'static>(
    err: aws_sdk_kms::error::SdkError<E>,
) -> KeyError {
    KeyError::Kms(aws_sdk_kms::error::DisplayErrorContext(err).to_string())
}

#[async_trait]
impl KeyProvider for AwsKms {
    fn name(&self) -> &'static str {
        "aws-kms"
    }

    async fn generate_data_key(&self, tenant: TenantId) -> Result<(DataKey, WrappedKey), KeyError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, tenant.to_string())
            .send()
            .await
            .map_err(kms_error)?;
        let plain = Zeroizing::new(out.plaintext.map(Blob::into_inner).unwrap_or_default());
        let wrapped = out
            .ciphertext_blob
            .map(Blob::into_inner)
            .unwrap_or_default();
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| {
            KeyError::Kms(format!(
                "GenerateDataKey returned {} bytes, not 32",
                plain.len()
            ))
        })?;
        Ok((DataKey::from_bytes(bytes), WrappedKey(wrapped)))
    }

    async fn unwrap_data_key(
        &self,
        tenant: TenantId,
        wrapped: &WrappedKey,
    ) -> Result<DataKey, KeyError> {
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped.0.clone()))
            .encryption_context(CONTEXT_KEY, tenant.to_string())
            .send()
            .await
            .map_err(|err| {
                let invalid = err.as_service_error().is_some_and(|e| {
                    e.is_invalid_ciphertext_exception() || e.is_incorrect_key_exception()
                });
                if invalid {
                    KeyError::Unwrap(tenant)
                } else {
                    kms_error(err)
                }
            })?;
        let plain = Zeroizing::new(out.plaintext.map(Blob::into_inner).unwrap_or_default());
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Unwrap(tenant))?;
        Ok(DataKey::from_bytes(bytes))
    }
}
