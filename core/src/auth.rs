//! Bearer tokens: a role, a subject and an expiry, signed with HMAC-SHA256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Books and pays for services; sees only their own orders.
    Customer,
    /// Does the jobs; sees only their own jobs.
    Worker,
    /// Runs the platform; sees everything.
    Admin,
}

impl std::str::FromStr for Role {
    type Err = crate::DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customer" => Ok(Role::Customer),
            "worker" => Ok(Role::Worker),
            "admin" => Ok(Role::Admin),
            _ => Err(crate::DomainError::Invalid { field: "role", reason: "customer, worker or admin".into() }),
        }
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Role.
    pub role: Role,
    /// Customer id, worker id or admin name.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the form `payload.signature`.
    #[error("malformed token")]
    Malformed,
    /// Signature does not match.
    #[error("invalid token signature")]
    BadSignature,
    /// Past its expiry.
    #[error("token expired")]
    Expired,
}

/// The secret tokens are signed with.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(…)")
    }
}

impl TokenKey {
    /// A key from secret bytes (at least 16).
    pub fn new(secret: impl Into<Vec<u8>>) -> Option<Self> {
        let s = secret.into();
        (s.len() >= 16).then_some(TokenKey(s))
    }

    /// Signs `claims` into a token.
    pub fn issue(&self, claims: &Claims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let sig = crate::payment::sign(&self.0, payload.as_bytes());
        format!("{payload}.{sig}")
    }

    /// Checks `token` and returns its claims if it is valid at `now` (epoch seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let (payload, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
        if !crate::payment::verify(&self.0, payload.as_bytes(), sig) {
            return Err(TokenError::BadSignature);
        }
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        let key = TokenKey::new(*b"0123456789abcdef0123").unwrap_or_else(|| panic!("key"));
        let claims = Claims { role: Role::Customer, sub: "C1".into(), exp: 2_000 };
        let t = key.issue(&claims);
        assert_eq!(key.verify(&t, 1_000), Ok(claims.clone()));
        assert_eq!(key.verify(&t, 2_000), Err(TokenError::Expired));
        let other = TokenKey::new(*b"fedcba9876543210fedc").unwrap_or_else(|| panic!("key"));
        assert_eq!(other.verify(&t, 1_000), Err(TokenError::BadSignature));
        // Changing the payload (becoming admin) breaks the signature.
        let admin = Claims { role: Role::Admin, ..claims };
        let forged =
            format!("{}.{}", key.issue(&admin).split('.').next().unwrap_or(""), t.split('.').nth(1).unwrap_or(""));
        assert_eq!(key.verify(&forged, 1_000), Err(TokenError::BadSignature));
        assert_eq!(key.verify("garbage", 1_000), Err(TokenError::Malformed));
        assert!(TokenKey::new(*b"short").is_none());
    }
}
