//! Identity and access: who a request is, and what they may do.
//!
//! People sign in ([`login`]; [`session`]: cookie sessions; [`current_user`]: the extractors,
//! with the CSRF check; [`cross_site`]: no cross-site form logins) with passwords
//! ([`password`]: Argon2id and the policy) they can reset by e-mail ([`password_reset`], through
//! the single-use [`links`]; [`link_password`] is what choosing a password through a link shares
//! with accepting an invitation). Administrators manage people ([`users`], who join by
//! [`invitations`]) and CI's [`system_accounts`]; both are principals with a [`role`] and share
//! what [`principals`] holds. Every principal has [`api_tokens`] for the broker API.
//!
//! This folder uses `billing` only for the plan's limits and seat counts; signup uses it (the
//! first administrator's password, the confirmation link), not the other way round.

pub mod api_tokens;
pub mod cross_site;
pub mod current_user;
pub mod invitations;
pub mod link_password;
pub mod links;
pub mod login;
pub mod password;
pub mod password_reset;
pub mod principals;
pub mod role;
pub mod session;
pub mod system_accounts;
pub mod users;
