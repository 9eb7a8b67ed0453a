//! Choosing a password through an e-mailed link: what a password reset and accepting an
//! invitation share.
//!
//! Both take a link's token and a new password, both required ([`required`]); both check the
//! password against its owner's address and hash it before the link is used up
//! ([`checked_hash`]), so a weak password does not spend the link. What each then writes differs,
//! and stays with [`password_reset`](super::password_reset) and
//! [`invitations`](super::invitations).

use secrecy::SecretString;
use sqlx::PgPool;

use crate::error::{Error, FieldErrors, Result};
use crate::identity::links::{self, Purpose};
use crate::identity::password;

/// The token and the password, each `is required` in `errors` when empty.
pub fn required(
    token: Option<String>,
    password: Option<String>,
    errors: &mut FieldErrors,
) -> (String, String) {
    let token = token.unwrap_or_default();
    let password = password.unwrap_or_default();
    if token.is_empty() {
        errors.insert("token", vec!["is required".into()]);
    }
    if password.is_empty() {
        errors.insert("password", vec!["is required".into()]);
    }
    (token, password)
}

/// The password's hash, once it meets the policy for the owner of the (unused, unexpired) link;
/// with the owner's address. An unknown link is [`Error::LinkInvalid`].
pub async fn checked_hash(
    db: &PgPool,
    token: &str,
    purpose: Purpose,
    password: String,
) -> Result<(String, Option<String>)> {
    let mut conn = db.acquire().await?;
    let owner = links::peek(&mut conn, token, purpose)
        .await?
        .ok_or(Error::LinkInvalid)?;
    let email: Option<String> = sqlx::query_scalar("select email from app_user where user_id = $1")
        .bind(owner.user_id)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    drop(conn);
    if let Some(weakness) = password::weakness(&password, email.as_deref().unwrap_or_default()) {
        return Err(Error::field("password", weakness));
    }
    let hash = password::hash(SecretString::from(password)).await?;
    Ok((hash, email))
}
