//! Verifying the `Stripe-Signature` header of a webhook delivery.
//!
//! Stripe's scheme: the header is `t=<unix time>,v1=<hex>[,v1=<hex>…][,v0=…]`, and a `v1` value
//! is HMAC-SHA256, keyed with the endpoint's signing secret, of `"<t>.<raw body>"`. A delivery is
//! genuine when any `v1` matches under any configured secret (several `v1`s, and several
//! secrets, during a rotation) and `t` is within the tolerance of now (300 s), so a captured
//! delivery cannot be replayed later. Comparisons are constant-time (`Mac::verify_slice`).
//! The body is the raw bytes received: re-serialised JSON would not verify.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How far a delivery's timestamp may be from now, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a delivery is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the Stripe-Signature timestamp is more than 300 seconds from now")]
    Stale,
    #[error("no v1 signature matches the payload under any configured webhook secret")]
    NoMatch,
}

/// Checks `header` for `payload` at time `now` (unix seconds) against `secrets`.
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secrets: &[SecretString],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    for secret in secrets {
        for signature in &signatures {
            if mac(secret, timestamp, payload)
                .verify_slice(signature)
                .is_ok()
            {
                return Ok(());
            }
        }
    }
    Err(SignatureError::NoMatch)
}

fn mac(secret: &SecretString, timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// A `Stripe-Signature` header for `payload`, as Stripe would send it (tests, tools).
pub fn header(payload: &[u8], secret: &SecretString, timestamp: i64) -> String {
    let signature = hex::encode(mac(secret, timestamp, payload).finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    const NOW: i64 = 1_795_000_000;

    #[test]
    fn a_signed_payload_verifies_and_a_changed_one_does_not() {
        let payload = br#"{"id":"evt_1","type":"invoice.paid"}"#;
        let header = header(payload, &secret("whsec_a"), NOW);
        assert_eq!(
            verify(payload, Some(&header), &[secret("whsec_a")], NOW),
            Ok(())
        );
        assert_eq!(
            verify(
                b"{\"id\":\"evt_2\"}",
                Some(&header),
                &[secret("whsec_a")],
                NOW
            ),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(payload, Some(&header), &[secret("whsec_b")], NOW),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn any_v1_under_any_secret_matches_during_a_rotation() {
        let payload = b"{}";
        let old = header(payload, &secret("whsec_old"), NOW);
        let new = header(payload, &secret("whsec_new"), NOW);
        let both = format!("{old},{},v0=deadbeef", new.split_once(',').unwrap().1);
        assert_eq!(
            verify(payload, Some(&both), &[secret("whsec_new")], NOW),
            Ok(())
        );
        assert_eq!(
            verify(payload, Some(&both), &[secret("whsec_old")], NOW),
            Ok(())
        );
        assert_eq!(
            verify(
                payload,
                Some(&old),
                &[secret("whsec_x"), secret("whsec_old")],
                NOW
            ),
            Ok(())
        );
    }

    #[test]
    fn old_missing_and_malformed_headers_are_refused() {
        let payload = b"{}";
        let s = [secret("whsec_a")];
        let stale = header(payload, &s[0], NOW - 301);
        assert_eq!(
            verify(payload, Some(&stale), &s, NOW),
            Err(SignatureError::Stale)
        );
        let edge = header(payload, &s[0], NOW - 300);
        assert_eq!(verify(payload, Some(&edge), &s, NOW), Ok(()));
        let future = header(payload, &s[0], NOW + 301);
        assert_eq!(
            verify(payload, Some(&future), &s, NOW),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify(payload, None, &s, NOW), Err(SignatureError::Missing));
        for bad in [
            "",
            "t=abc,v1=00",
            "v1=00",
            "t=1795000000",
            "t=1795000000,v1=zz",
        ] {
            assert_eq!(
                verify(payload, Some(bad), &s, NOW),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_scheme_matches_a_known_stripe_signature() {
        // The official Python library: stripe.WebhookSignature._compute_signature("1795000000.{}", "whsec_test").
        assert_eq!(
            header(b"{}", &secret("whsec_test"), 1_795_000_000),
            format!(
                "t=1795000000,v1={}",
                "f50cd36baaae795dac63f86cd686693bcb16ea422cd6f180232b0f6ed3a6367d"
            )
        );
    }
}
