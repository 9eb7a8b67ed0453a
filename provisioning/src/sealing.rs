//! Sealing tenant secrets: AES-256-GCM under purpose keys derived from the tenant's data key.
//!
//! Every secret a tenant owns (its database password, webhook credentials, `${user.*}` secrets)
//! is sealed with a key derived by HKDF-SHA256 from the tenant's [`DataKey`]
//! (`salt` = tenant id, `info` = `treaty:<purpose>:v1`), so one KMS call serves all purposes and a
//! key compromise in one purpose does not open another. The associated data names the tenant, the
//! purpose and the record the secret belongs to: a sealed value pasted into another row, another
//! purpose or another tenant does not open. Nonces are random (96 bits); per-tenant, per-purpose
//! keys keep each key orders of magnitude below the 2^32-message bound of NIST SP 800-38D.
//!
//! Blob layout: `version (1 = 0x01) || data-key version (u32 BE) || nonce (12) || ciphertext+tag`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::DataKey;
use crate::TenantId;

const FORMAT: u8 = 1;
const HEADER: usize = 1 + 4 + 12;

/// What a sealed value is for; part of both the key derivation and the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    DatabasePassword,
    WebhookCredential,
    Secret,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::DatabasePassword => "database-password",
            Self::WebhookCredential => "webhook-credential",
            Self::Secret => "secret",
        }
    }
}

/// Why a sealed value did not open.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value was made with data key version {found}, not {expected}")]
    KeyVersion { found: u32, expected: u32 },
    #[error("sealed value does not open for this tenant, purpose and record")]
    Open,
}

/// Seals and opens one tenant's secrets under one version of its data key.
pub struct Sealer {
    tenant: TenantId,
    key_version: u32,
    data_key: DataKey,
}

impl Sealer {
    pub fn new(tenant: TenantId, key_version: u32, data_key: DataKey) -> Self {
        Self {
            tenant,
            key_version,
            data_key,
        }
    }

    fn cipher(&self, purpose: Purpose) -> Aes256Gcm {
        let hk = Hkdf::<Sha256>::new(Some(self.tenant.0.as_bytes()), self.data_key.expose());
        let mut okm = Zeroizing::new([0u8; 32]);
        let info = format!("treaty:{}:v1", purpose.label());
        hk.expand(info.as_bytes(), okm.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 length");
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(okm.as_ref()))
    }

    fn aad(&self, purpose: Purpose, record: &str) -> Vec<u8> {
        format!(
            "treaty:v1|tenant:{}|purpose:{}|record:{record}",
            self.tenant,
            purpose.label()
        )
        .into_bytes()
    }

    /// Encrypts `plaintext`, bound to this tenant, `purpose` and `record` (e.g. a row id).
    pub fn seal(&self, purpose: Purpose, record: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = self.aad(purpose, record);
        let sealed = self
            .cipher(purpose)
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = Vec::with_capacity(HEADER + sealed.len());
        blob.push(FORMAT);
        blob.extend_from_slice(&self.key_version.to_be_bytes());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        blob
    }

    /// Decrypts a value sealed by [`seal`](Self::seal) with the same tenant, purpose and record.
    pub fn open(
        &self,
        purpose: Purpose,
        record: &str,
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if blob.len() < HEADER + 16 || blob[0] != FORMAT {
            return Err(SealError::Malformed);
        }
        let found = u32::from_be_bytes(blob[1..5].try_into().expect("4 bytes"));
        if found != self.key_version {
            return Err(SealError::KeyVersion {
                found,
                expected: self.key_version,
            });
        }
        let aad = self.aad(purpose, record);
        self.cipher(purpose)
            .decrypt(
                Nonce::from_slice(&blob[5..HEADER]),
                Payload {
                    msg: &blob[HEADER..],
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open)
    }
}

/// The data-key version a sealed blob was made with, without opening it.
pub fn key_version_of(blob: &[u8]) -> Option<u32> {
    if blob.len() < HEADER || blob[0] != FORMAT {
        return None;
    }
    blob[1..5].try_into().ok().map(u32::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(tenant: TenantId) -> Sealer {
        Sealer::new(tenant, 1, DataKey::from_bytes([7u8; 32]))
    }

    #[test]
    fn sealed_values_open_only_for_their_tenant_purpose_and_record() {
        let tenant = TenantId::new();
        let s = sealer(tenant);
        let blob = s.seal(Purpose::DatabasePassword, "db", b"hunter2");
        assert_eq!(
            s.open(Purpose::DatabasePassword, "db", &blob)
                .unwrap()
                .as_slice(),
            b"hunter2"
        );
        assert_eq!(key_version_of(&blob), Some(1));

        assert!(matches!(
            s.open(Purpose::Secret, "db", &blob),
            Err(SealError::Open)
        ));
        assert!(matches!(
            s.open(Purpose::DatabasePassword, "other", &blob),
            Err(SealError::Open)
        ));
        let other_tenant = sealer(TenantId::new());
        assert!(matches!(
            other_tenant.open(Purpose::DatabasePassword, "db", &blob),
            Err(SealError::Open)
        ));
        let rotated = Sealer::new(tenant, 2, DataKey::from_bytes([7u8; 32]));
        assert!(matches!(
            rotated.open(Purpose::DatabasePassword, "db", &blob),
            Err(SealError::KeyVersion { .. })
        ));
    }

    #[test]
    fn the_same_secret_seals_differently_each_time_and_tampering_is_detected() {
        let s = sealer(TenantId::new());
        let a = s.seal(Purpose::Secret, "r", b"x");
        let b = s.seal(Purpose::Secret, "r", b"x");
        assert_ne!(a, b);
        let mut tampered = a.clone();
        *tampered.last_mut().unwrap() ^= 0x80;
        assert!(matches!(
            s.open(Purpose::Secret, "r", &tampered),
            Err(SealError::Open)
        ));
        assert!(matches!(
            s.open(Purpose::Secret, "r", &a[..10]),
            Err(SealError::Malformed)
        ));
    }
}
