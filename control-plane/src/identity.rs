//! Identity and access: who a request is, and what they may do.
//!
//! People sign in ([`login`], [`session`]: cookie sessions with CSRF, [`cross_site`]: no
//! cross-site form logins) with passwords ([`password`]: Argon2id and the policy) they can reset
//! by e-mail ([`password_reset`], through the single-use [`links`]). Administrators manage people
//! ([`users`], who join by [`invitations`]) and CI's [`system_accounts`]; both are principals
//! with a [`role`]. Every principal has [`api_tokens`] for the broker API.

pub mod api_tokens;
pub mod cross_site;
pub mod invitations;
pub mod links;
pub mod login;
pub mod password;
pub mod password_reset;
pub mod role;
pub mod session;
pub mod system_accounts;
pub mod users;
