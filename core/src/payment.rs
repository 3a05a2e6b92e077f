//! Payment states and the signature that proves a callback came from the gateway.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Where a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Waiting for the customer.
    Pending,
    /// Money received.
    Paid,
    /// The window closed unpaid.
    Expired,
    /// Returned to the customer (cancellation of a paid order).
    Refunded,
}

impl PaymentState {
    /// The state as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::Paid => "paid",
            PaymentState::Expired => "expired",
            PaymentState::Refunded => "refunded",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<PaymentState> {
        [PaymentState::Pending, PaymentState::Paid, PaymentState::Expired, PaymentState::Refunded]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// Largest clock lead a gateway may have over us before its notice is refused.
pub const MAX_CLOCK_SKEW_MS: i64 = 60_000;

/// Whether a notice sent at `sent_at_ms` is acceptable at `now_ms`: not older
/// than `max_age_secs`, and not from the future beyond clock skew.
pub fn is_fresh(sent_at_ms: i64, now_ms: i64, max_age_secs: i64) -> bool {
    let age = now_ms - sent_at_ms;
    age <= max_age_secs * 1000 && age >= -MAX_CLOCK_SKEW_MS
}

/// HMAC-SHA256 of `body` under `secret`, hex encoded.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable_key());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (hex) is the HMAC-SHA256 of `body` under `secret`;
/// compared in constant time.
pub fn verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature.trim()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable_key());
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

fn unreachable_key() -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so new_from_slice cannot fail.
    Hmac::<Sha256>::new_from_slice(b"k").unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let sig = sign(b"secret", b"{\"payment_id\":\"P1\"}");
        assert!(verify(b"secret", b"{\"payment_id\":\"P1\"}", &sig));
        assert!(!verify(b"secret", b"{\"payment_id\":\"P2\"}", &sig));
        assert!(!verify(b"other", b"{\"payment_id\":\"P1\"}", &sig));
        assert!(!verify(b"secret", b"{\"payment_id\":\"P1\"}", "zz"));
        assert_eq!(PaymentState::parse("paid"), Some(PaymentState::Paid));
    }

    #[test]
    fn notices_are_fresh_within_their_age_and_clock_skew() {
        assert!(is_fresh(1_000_000, 1_000_000, 300));
        assert!(is_fresh(1_000_000, 1_300_000, 300));
        assert!(!is_fresh(1_000_000, 1_300_001, 300), "too old");
        assert!(is_fresh(1_060_000, 1_000_000, 300), "a minute of skew is fine");
        assert!(!is_fresh(1_060_001, 1_000_000, 300), "from the future");
    }
}
