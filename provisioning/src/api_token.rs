//! API tokens: their format, generation and hashing, shared by the control plane (which issues
//! them) and the tenant API (which checks them).
//!
//! A token is `trty_` + 32 random base62 characters (≈190 bits) + a 6-character base62 CRC-32 of
//! the random part. The prefix makes a leaked token recognisable to secret scanners; the checksum
//! lets the tenant API reject typos and garbage without a database lookup. Only the SHA-256 of
//! the whole token is stored: tokens have far more entropy than a password, so a fast hash is
//! the right tool and lookups stay a single index probe.

use std::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};

/// Every Treaty API token starts with this.
pub const PREFIX: &str = "trty_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a token may do on the broker API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenScope {
    /// `GET`/`HEAD`/`OPTIONS`, and the `POST` that fetches pacts for verification.
    ReadOnly,
    /// Everything.
    ReadWrite,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::ReadWrite => "read-write",
        }
    }
}

impl std::str::FromStr for TokenScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read-only" => Ok(Self::ReadOnly),
            "read-write" => Ok(Self::ReadWrite),
            other => Err(format!("unknown token scope {other:?}")),
        }
    }
}

impl TryFrom<String> for TokenScope {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// A token in clear: exists only between generation and the response that shows it once.
pub struct ApiToken(String);

/// The stored form of a token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &hex::encode(self.0)[..8])
    }
}

impl ApiToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let random: String = (0..RANDOM_LEN)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect();
        let checksum = checksum(&random);
        Self(format!("{PREFIX}{random}{checksum}"))
    }

    /// Checks the shape and checksum of a presented token; `None` for anything that is not one.
    pub fn parse(presented: &str) -> Option<Self> {
        let body = presented.strip_prefix(PREFIX)?;
        if body.len() != RANDOM_LEN + CHECKSUM_LEN
            || !body.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        let (random, check) = body.split_at(RANDOM_LEN);
        (checksum(random) == check).then(|| Self(presented.to_owned()))
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The first characters after the prefix, stored so people can tell their tokens apart.
    pub fn display_prefix(&self) -> String {
        self.0[..PREFIX.len() + 6].to_owned()
    }

    /// The token in clear, for the one response that shows it.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiToken({}…)", self.display_prefix())
    }
}

fn checksum(random: &str) -> String {
    let mut crc = u64::from(crc32fast::hash(random.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(crc % 62) as usize];
        crc /= 62;
    }
    String::from_utf8(out.to_vec()).expect("base62 is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_prefixed_long_and_parse_back() {
        let token = ApiToken::generate();
        assert!(token.reveal().starts_with("trty_"));
        assert_eq!(token.reveal().len(), 5 + 32 + 6);
        let parsed = ApiToken::parse(token.reveal()).expect("valid token");
        assert_eq!(parsed.hash(), token.hash());
        assert_ne!(ApiToken::generate().reveal(), token.reveal());
    }

    #[test]
    fn malformed_tokens_and_typos_are_rejected_without_a_lookup() {
        let token = ApiToken::generate();
        let mut typo = token.reveal().to_owned().into_bytes();
        typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
        for bad in [
            "",
            "trty_",
            "Bearer trty_x",
            &token.reveal()[..40],
            &token.reveal().replace("trty_", "ghp_"),
            std::str::from_utf8(&typo).unwrap(),
        ] {
            assert!(ApiToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let token = ApiToken::generate();
        let shown = format!("{token:?} {:?}", token.hash());
        assert!(!shown.contains(&token.reveal()[12..]));
    }
}
