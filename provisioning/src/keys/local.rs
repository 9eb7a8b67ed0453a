//! The development key provider: a 32-byte master key in a file, wrapping data keys locally.
//!
//! The file is created on first use with mode 0600 and never rewritten. A data key is wrapped with
//! AES-256-GCM under the master key, a random 96-bit nonce, and the tenant id as associated data,
//! which mirrors what KMS's encryption context gives in production. Blob layout:
//! `b"TLK1" || nonce (12) || ciphertext+tag (48)`.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use async_trait::async_trait;
use rand::RngCore;
use zeroize::Zeroizing;

use super::provider::{DataKey, KeyError, KeyProvider, WrappedKey};
use crate::TenantId;

const MAGIC: &[u8; 4] = b"TLK1";
const NONCE_LEN: usize = 12;

/// Wraps data keys under a master key read from (or created at) a file.
pub struct LocalKms {
    master: Aes256Gcm,
}

impl LocalKms {
    /// Loads the master key at `path`, creating it (mode 0600, random) if the file does not exist.
    pub fn open_or_create(path: &Path) -> Result<Self, KeyError> {
        let err = |reason: String| KeyError::MasterKeyFile {
            path: path.display().to_string(),
            reason,
        };
        let mut key = Zeroizing::new([0u8; 32]);
        match OpenOptions::new().read(true).open(path) {
            Ok(mut file) => {
                refuse_shared_file(&file, path)?;
                let mut contents = Zeroizing::new(Vec::new());
                file.read_to_end(&mut contents)
                    .map_err(|e| err(e.to_string()))?;
                if contents.len() != 32 {
                    return Err(err(format!("expected 32 bytes, found {}", contents.len())));
                }
                key.copy_from_slice(&contents);
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                rand::rngs::OsRng.fill_bytes(key.as_mut());
                // `create_new` makes two processes starting at once agree on one key: the loser
                // fails here and reads the winner's file instead.
                match OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                {
                    Ok(mut file) => {
                        file.write_all(key.as_ref())
                            .map_err(|e| err(e.to_string()))?;
                        file.sync_all().map_err(|e| err(e.to_string()))?;
                    }
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        return Self::open_or_create(path)
                    }
                    Err(e) => return Err(err(e.to_string())),
                }
            }
            Err(e) => return Err(err(e.to_string())),
        }
        Ok(Self {
            master: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.as_ref())),
        })
    }

    /// Where `make run` keeps the master key when none is configured.
    pub fn default_path() -> PathBuf {
        PathBuf::from(".data/master.key")
    }

    fn aad(tenant: TenantId) -> Vec<u8> {
        format!("treaty-local-kms:v1:tenant:{tenant}").into_bytes()
    }
}

#[async_trait]
impl KeyProvider for LocalKms {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn generate_data_key(&self, tenant: TenantId) -> Result<(DataKey, WrappedKey), KeyError> {
        let mut plain = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut plain);
        let key = DataKey::from_bytes(plain);
        plain.iter_mut().for_each(|b| *b = 0);

        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = Self::aad(tenant);
        let sealed = self
            .master
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: key.expose(),
                    aad: &aad,
                },
            )
            .map_err(|_| KeyError::Kms("local wrap failed".into()))?;
        let mut blob = Vec::with_capacity(MAGIC.len() + NONCE_LEN + sealed.len());
        blob.extend_from_slice(MAGIC);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok((key, WrappedKey(blob)))
    }

    async fn unwrap_data_key(
        &self,
        tenant: TenantId,
        wrapped: &WrappedKey,
    ) -> Result<DataKey, KeyError> {
        let blob = &wrapped.0;
        if blob.len() != MAGIC.len() + NONCE_LEN + 48 || &blob[..4] != MAGIC {
            return Err(KeyError::Unwrap(tenant));
        }
        let (nonce, sealed) = blob[4..].split_at(NONCE_LEN);
        let aad = Self::aad(tenant);
        let plain = Zeroizing::new(
            self.master
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| KeyError::Unwrap(tenant))?,
        );
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Unwrap(tenant))?;
        Ok(DataKey::from_bytes(bytes))
    }
}

/// A master key readable by anyone but its owner is a leaked key: refuse it, naming the fix.
fn refuse_shared_file(file: &std::fs::File, path: &Path) -> Result<(), KeyError> {
    let mode = file
        .metadata()
        .map_err(|e| KeyError::MasterKeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::MasterKeyFile {
            path: path.display().to_string(),
            reason: format!(
                "it is readable or writable by group or others (mode {:o}); run `chmod 600 {}`",
                mode & 0o777,
                path.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[tokio::test]
    async fn creates_a_private_master_key_once_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/master.key");
        let kms = LocalKms::open_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let tenant = TenantId::new();
        let (key, wrapped) = kms.generate_data_key(tenant).await.unwrap();
        let reopened = LocalKms::open_or_create(&path).unwrap();
        let unwrapped = reopened.unwrap_data_key(tenant, &wrapped).await.unwrap();
        assert_eq!(unwrapped.expose(), key.expose());
    }

    #[tokio::test]
    async fn a_wrapped_key_cannot_be_unwrapped_for_another_tenant_or_after_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let kms = LocalKms::open_or_create(&dir.path().join("k")).unwrap();
        let tenant = TenantId::new();
        let (_, wrapped) = kms.generate_data_key(tenant).await.unwrap();

        let other = TenantId::new();
        assert!(
            matches!(kms.unwrap_data_key(other, &wrapped).await, Err(KeyError::Unwrap(t)) if t == other)
        );

        let mut tampered = wrapped.clone();
        let last = tampered.0.len() - 1;
        tampered.0[last] ^= 1;
        assert!(kms.unwrap_data_key(tenant, &tampered).await.is_err());
    }

    #[test]
    fn a_master_key_file_of_the_wrong_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.key");
        std::fs::write(&path, b"too short").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            LocalKms::open_or_create(&path),
            Err(KeyError::MasterKeyFile { .. })
        ));
    }

    #[test]
    fn a_master_key_file_others_can_read_is_refused_with_the_chmod_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        LocalKms::open_or_create(&path).unwrap();
        for mode in [0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let message = match LocalKms::open_or_create(&path) {
                Err(err @ KeyError::MasterKeyFile { .. }) => err.to_string(),
                Err(other) => panic!("wrong error {other}"),
                Ok(_) => panic!("mode {mode:o} accepted"),
            };
            assert!(
                message.contains(&format!("chmod 600 {}", path.display())),
                "{message}"
            );
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        LocalKms::open_or_create(&path).unwrap();
    }
}
