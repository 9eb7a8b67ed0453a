//! What people and system accounts have in common.
//!
//! Both are principals: rows of `app_user` (`kind` `person` or `system`) with a name, a role, an
//! activation and API tokens. [`users`](super::users) and
//! [`system_accounts`](super::system_accounts) differ in how one is created (an invitation, or
//! at once), in their limits and in their audit events; renaming, (de)activating and removing
//! them is the same, and lives here. The name rule also serves invitations and signup (an
//! organisation's name).

use sqlx::PgConnection;
use uuid::Uuid;

/// What a name that breaks [`is_printable_name`] is told.
pub const NAME_RULE: &str = "must be at most 100 printable characters";

/// A display name (a person's, a system account's, an organisation's): at most 100 characters,
/// none of them control characters.
pub fn is_printable_name(name: &str) -> bool {
    name.chars().count() <= 100 && !name.chars().any(char::is_control)
}

/// The activation a request asks for, when it differs from the principal's: `Some(true)` to
/// reactivate, `Some(false)` to deactivate.
pub fn activation_change(active: bool, requested: Option<bool>) -> Option<bool> {
    requested.filter(|wanted| *wanted != active)
}

/// Renames a principal, changes its role, deactivates (`active: Some(false)`) or reactivates it;
/// `None` leaves that part as it is.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    name: Option<&str>,
    role: Option<&str>,
    active: Option<bool>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update app_user set
            name = coalesce($2, name),
            role = coalesce($3, role),
            deactivated_at = case when $4::bool is null then deactivated_at
                                  when $4 then null
                                  else coalesce(deactivated_at, now()) end
         where user_id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(role)
    .bind(active)
    .execute(conn)
    .await
    .map(drop)
}

/// Removes a principal with its tokens: the tokens first, so the grant-change notifications name
/// every hash before the row goes.
pub async fn remove(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("delete from api_token where user_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from app_user where user_id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}
