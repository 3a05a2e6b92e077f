//! Payment gateways: the trait the engine uses, and the sandbox gateway that
//! behaves like a real one (signed callbacks over HTTP, status queries).

use autoglm_core::ids::{OrderId, PaymentId};
use autoglm_core::payment::{self, PaymentState};
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::Full;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// What the gateway tells the customer to do to pay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkout {
    /// Where the customer pays (the sandbox's simulate URL here).
    pub pay_url: String,
}

/// A payment notice the gateway sends to `POST /v1/payments/callback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackNotice {
    /// The payment.
    pub payment_id: PaymentId,
    /// Its order.
    pub order_id: OrderId,
    /// Amount received, in cents.
    pub amount_cents: i64,
    /// What happened (`paid`).
    pub status: PaymentState,
    /// Unique per notice; a repeated nonce is a replay.
    pub nonce: String,
    /// When the gateway sent it, ms since the epoch.
    pub sent_at_ms: i64,
}

/// Why the gateway refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GatewayError {
    /// Signature missing or wrong.
    #[error("bad signature")]
    BadSignature,
    /// The body is not a notice.
    #[error("malformed notice: {0}")]
    Malformed(String),
    /// The gateway could not be reached.
    #[error("gateway unreachable: {0}")]
    Unreachable(String),
}

/// The three operations every payment gateway offers.
pub trait PaymentGateway: Send + Sync + 'static {
    /// Gateway name for logs and `/ops`.
    fn name(&self) -> &'static str;
    /// Opens a payment of `amount_cents` for `order`.
    fn create(&self, id: &PaymentId, order: &OrderId, amount_cents: i64) -> Result<Checkout, GatewayError>;
    /// Checks a callback's signature and parses it.
    fn verify_callback(&self, body: &[u8], signature: &str) -> Result<CallbackNotice, GatewayError>;
    /// Asks the gateway what it knows of a payment (for stuck pending payments).
    fn query_status(&self, id: &PaymentId) -> BoxFuture<'static, Result<PaymentState, GatewayError>>;
}

/// The built-in sandbox: `POST /v1/sandbox/pay/{id}` marks a payment paid and
/// the gateway then calls back, signed, like a real one would.
pub struct SandboxGateway {
    secret: Vec<u8>,
    callback_url: OnceLock<String>,
    ledger: Arc<Mutex<HashMap<PaymentId, Entry>>>,
    client: hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

#[derive(Debug, Clone)]
struct Entry {
    order: OrderId,
    amount_cents: i64,
    state: PaymentState,
}

impl SandboxGateway {
    /// A sandbox signing callbacks with `secret`.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<Full<Bytes>>();
        Self { secret: secret.into(), callback_url: OnceLock::new(), ledger: Arc::default(), client }
    }

    /// Where callbacks go; set once the node knows its listen address.
    pub fn set_callback_url(&self, url: String) {
        let _ = self.callback_url.set(url);
    }

    /// Signs `body` the way the gateway does (for tests and tools).
    pub fn sign(&self, body: &[u8]) -> String {
        payment::sign(&self.secret, body)
    }

    /// The customer pays: record it and send the signed callback. With
    /// `deliver` false the callback is "lost", as happens with real gateways;
    /// reconciliation must then find the payment.
    pub fn simulate_payment(&self, id: &PaymentId, deliver: bool) -> Result<CallbackNotice, GatewayError> {
        let entry = {
            let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
            let entry = ledger.get_mut(id).ok_or_else(|| GatewayError::Malformed(format!("unknown payment {id}")))?;
            entry.state = PaymentState::Paid;
            entry.clone()
        };
        let notice = CallbackNotice {
            payment_id: id.clone(),
            order_id: entry.order,
            amount_cents: entry.amount_cents,
            status: PaymentState::Paid,
            nonce: format!("{:032x}", rand::random::<u128>()),
            sent_at_ms: chrono::Utc::now().timestamp_millis(),
        };
        if deliver {
            self.deliver(&notice);
        }
        Ok(notice)
    }

    fn deliver(&self, notice: &CallbackNotice) {
        let Some(url) = self.callback_url.get().cloned() else {
            tracing::warn!("sandbox has no callback URL; callback dropped");
            return;
        };
        let body = serde_json::to_vec(notice).unwrap_or_default();
        let sig = self.sign(&body);
        let client = self.client.clone();
        tokio::spawn(async move {
            // Like a real gateway: a few tries with growing pauses, then give up
            // (reconciliation catches what is still pending).
            for attempt in 0..4u32 {
                let req = hyper::Request::post(&url)
                    .header("content-type", "application/json")
                    .header("x-signature", &sig)
                    .body(Full::new(Bytes::from(body.clone())));
                let Ok(req) = req else { return };
                match client.request(req).await {
                    Ok(resp) if resp.status().is_success() || resp.status().is_client_error() => return,
                    Ok(resp) => tracing::warn!(status = %resp.status(), attempt, "payment callback not accepted"),
                    Err(e) => tracing::warn!(error = %e, attempt, "payment callback failed"),
                }
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        });
    }
}

impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn create(&self, id: &PaymentId, order: &OrderId, amount_cents: i64) -> Result<Checkout, GatewayError> {
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        ledger.entry(id.clone()).or_insert(Entry { order: order.clone(), amount_cents, state: PaymentState::Pending });
        Ok(Checkout { pay_url: format!("/v1/sandbox/pay/{id}") })
    }

    fn verify_callback(&self, body: &[u8], signature: &str) -> Result<CallbackNotice, GatewayError> {
        if !payment::verify(&self.secret, body, signature) {
            return Err(GatewayError::BadSignature);
        }
        serde_json::from_slice(body).map_err(|e| GatewayError::Malformed(e.to_string()))
    }

    fn query_status(&self, id: &PaymentId) -> BoxFuture<'static, Result<PaymentState, GatewayError>> {
        let state = self
            .ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map(|e| e.state)
            .unwrap_or(PaymentState::Pending);
        Box::pin(async move { Ok(state) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sandbox_signs_what_it_verifies_and_knows_what_was_paid() {
        let gw = SandboxGateway::new(b"0123456789abcdef".to_vec());
        let id = PaymentId::from("P1");
        assert!(gw.create(&id, &"A1".into(), 24000).is_ok());
        assert_eq!(gw.query_status(&id).await, Ok(PaymentState::Pending));
        let notice = gw.simulate_payment(&id, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(gw.query_status(&id).await, Ok(PaymentState::Paid));
        let body = serde_json::to_vec(&notice).unwrap_or_default();
        let sig = gw.sign(&body);
        assert_eq!(gw.verify_callback(&body, &sig).map(|n| n.amount_cents), Ok(24000));
        assert_eq!(gw.verify_callback(&body, "00"), Err(GatewayError::BadSignature));
        assert!(gw.simulate_payment(&"P404".into(), false).is_err());
    }
}
