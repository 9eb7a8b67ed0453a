//! Password hashing: Argon2id with the OWASP-recommended minimum parameters (19 MiB, t=2, p=1;
//! the `argon2` crate's defaults), run off the async executor because it is deliberately slow.

use anyhow::Context;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
pub async fn hash(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("argon2: {err}"))
    })
    .await
    .context("password hashing task")?
}
