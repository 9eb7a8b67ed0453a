//! The e-mail address a person types in, and the rate limits on the mail and links it sets off.
//!
//! Signup, the confirmation resend, password reset and invitations all take an address and send
//! mail to it: they read it one way ([`EmailAddress::parse`]: trimmed, required, plausible) and
//! the anonymous ones share one budget of mails per client IP and per address ([`limit_mail`]).
//! Following an e-mailed link (confirm a signup, reset a password, accept an invitation) has a
//! budget per client IP ([`limit_link_use`]). The anonymous ones answer with the same
//! [`Message`] whether or not the address has an account.
//!
//! It sits at the top level rather than in `signup/` because `identity/` (password reset,
//! invitations, users) uses it as much as signup does, and signup already uses `identity/`
//! (passwords): neither folder needs the other for it.

use std::fmt;

use crate::client_ip::ClientIp;
use crate::error::Result;
use crate::rate_limit::address_key;
use crate::state::AppState;

/// A trimmed, plausible e-mail address (see [`plausible_email`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Reads an address from a request field; the error is the field's message (`is required`,
    /// `is not a valid e-mail address`).
    pub fn parse(input: Option<String>) -> Result<Self, &'static str> {
        let email = input.unwrap_or_default().trim().to_owned();
        if email.is_empty() {
            return Err("is required");
        }
        if !plausible_email(&email) {
            return Err("is not a valid e-mail address");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `@`, a non-empty local part, a dotted domain, no white space, at most 254 characters.
pub fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Takes one mail to `to` from the shared budget (`RATE_LIMIT_MAIL`), per client IP and per
/// address, whoever is asking.
pub async fn limit_mail(state: &AppState, ip: &ClientIp, to: &EmailAddress) -> Result<()> {
    let limits = state.config.rate_limits.mail;
    state
        .limiter
        .check(&format!("mail:ip:{}", ip.key()), limits)
        .await?;
    state
        .limiter
        .check(&address_key("mail", to.as_str()), limits)
        .await
}

/// Takes one use of an e-mailed link from the client IP's budget (`RATE_LIMIT_LINKS`), before
/// the link is looked at.
pub async fn limit_link_use(state: &AppState, ip: &ClientIp) -> Result<()> {
    state
        .limiter
        .check(
            &format!("links:ip:{}", ip.key()),
            state.config.rate_limits.links,
        )
        .await
}

/// A plain message answer (the requests that send an e-mail only if the address has an
/// account answer alike either way).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Message {
    pub message: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_addresses_need_a_local_part_and_a_dotted_domain() {
        for good in ["a@b.co", "first.last+tag@example.org"] {
            assert!(plausible_email(good), "{good}");
        }
        for bad in ["a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.co", "a@co."] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }
}
