//! Passwords: Argon2id with the OWASP-recommended minimum parameters (19 MiB, t=2, p=1; the
//! `argon2` crate's defaults), hashed and verified off the async executor because it is
//! deliberately slow, a few at a time so a flood of logins cannot exhaust memory, and the policy
//! new passwords must meet (NIST SP 800-63B: length, not a well-known password, not the e-mail).
//!
//! [`verify_or_waste`] verifies against a fixed dummy hash when there is no account, so a login
//! for an unknown address takes as long as one with a wrong password.

use std::sync::LazyLock;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;

/// Argon2 computations running at once (each holds 19 MiB).
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(
        std::thread::available_parallelism()
            .map(|n| n.get() * 2)
            .unwrap_or(4),
    )
});

/// A hash of a password nobody has, verified instead when there is no account.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(b"no account has this password", &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
pub async fn hash(password: SecretString) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await.context("hashing semaphore")?;
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

/// Whether `password` matches the stored hash; with no hash, burns the same time and says no.
pub async fn verify_or_waste(
    password: SecretString,
    stored: Option<String>,
) -> anyhow::Result<bool> {
    let _permit = HASHING.acquire().await.context("hashing semaphore")?;
    tokio::task::spawn_blocking(move || {
        let present = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY.clone());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        present && ok
    })
    .await
    .context("password verification task")
}

/// Passwords people must not choose: the most common ones of at least the minimum length.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "0123456789",
    "qwertyuiop",
    "1q2w3e4r5t",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "iloveyou12",
    "abcdefghij",
    "abc1234567",
    "qwerty1234",
    "qwerty12345",
    "1qaz2wsx3edc",
    "letmein123",
    "welcome123",
    "changeme123",
    "administrator",
    "football123",
    "baseball123",
    "sunshine123",
    "princess123",
    "11111111111",
    "aaaaaaaaaa",
];

/// Why `password` is not acceptable for the person with `email`, if it is not.
pub fn weakness(password: &str, email: &str) -> Option<String> {
    let length = password.chars().count();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Some(format!(
            "must be between {MIN_LENGTH} and {MAX_LENGTH} characters"
        ));
    }
    let lower = password.to_lowercase();
    let distinct = {
        let mut chars: Vec<char> = lower.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        chars.len()
    };
    if distinct < 4 || COMMON.contains(&lower.as_str()) {
        return Some("is too easy to guess; choose a longer or less common one".into());
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if !email.is_empty() && (lower == email || (local.len() >= 4 && lower.contains(local))) {
        return Some("must not contain your e-mail address".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert_eq!(weakness("correct horse battery", "a@b.co"), None);
        for (weak, email) in [
            ("short", "a@b.co"),
            ("aaaaaaaaaaaa", "a@b.co"),
            ("Password123", "a@b.co"),
            ("melissa.lead-2024", "melissa.lead@acme.test"),
            (&"x".repeat(300), "a@b.co"),
        ] {
            assert!(weakness(weak, email).is_some(), "{weak}");
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_a_missing_hash_never_does() {
        let hashed = hash(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let verify =
            |p: &str, h: Option<String>| verify_or_waste(SecretString::from(p.to_owned()), h);
        assert!(verify("correct horse battery", Some(hashed.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong horse battery", Some(hashed)).await.unwrap());
        assert!(!verify("no account has this password", None).await.unwrap());
    }
}
