//! Single-use links sent by e-mail: signup confirmation, password reset, invitation.
//!
//! A link carries 256 random bits (base64url); only their SHA-256 is stored, with the purpose,
//! the person and an expiry. Redeeming marks the row used in the same statement that checks it
//! is unused, unexpired and of the right purpose, so a link works once even under concurrent
//! clicks. Issuing a new link of a purpose retires the person's older ones. Tokens travel in the
//! query string, which the request log never records.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use provisioning::TenantId;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

/// What a link lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    ConfirmSignup,
    ResetPassword,
    AcceptInvitation,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::ConfirmSignup => "confirm_signup",
            Self::ResetPassword => "reset_password",
            Self::AcceptInvitation => "accept_invitation",
        }
    }
}

/// A link's token in clear: it exists only in the e-mail.
pub struct LinkToken(String);

impl LinkToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whose link it was.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct Redeemed {
    pub tenant_id: TenantId,
    pub user_id: Uuid,
}

/// Issues a link for `user`, retiring their unused links of the same purpose.
pub async fn issue(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: Uuid,
    purpose: Purpose,
    ttl: Duration,
) -> sqlx::Result<LinkToken> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = B64.encode(bytes);
    sqlx::query(
        "update email_link set used_at = now()
         where user_id = $1 and purpose = $2 and used_at is null",
    )
    .bind(user)
    .bind(purpose.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into email_link (email_link_id, tenant_id, user_id, purpose, token_hash, expires_at)
         values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
    )
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(user)
    .bind(purpose.as_str())
    .bind(hash(&token).as_slice())
    .bind(ttl.as_secs_f64())
    .execute(&mut *conn)
    .await?;
    Ok(LinkToken(token))
}

/// Redeems a link once: `None` when it is unknown, of another purpose, expired or used.
pub async fn redeem(
    conn: &mut PgConnection,
    token: &str,
    purpose: Purpose,
) -> sqlx::Result<Option<Redeemed>> {
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(None);
    }
    sqlx::query_as(
        "update email_link set used_at = now()
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
         returning tenant_id, user_id",
    )
    .bind(hash(token).as_slice())
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
}

/// Looks at a link without redeeming it (to show what an invitation is for).
pub async fn peek(
    conn: &mut PgConnection,
    token: &str,
    purpose: Purpose,
) -> sqlx::Result<Option<Redeemed>> {
    sqlx::query_as(
        "select tenant_id, user_id from email_link
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()",
    )
    .bind(hash(token).as_slice())
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
}

/// `<public url><path>?token=<token>`.
pub fn url(public_url: &str, path: &str, token: &LinkToken) -> String {
    format!(
        "{}{path}?token={}",
        public_url.trim_end_matches('/'),
        token.0
    )
}
