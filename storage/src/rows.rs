//! The values repositories read and write besides orders and workers, and
//! the conversions between domain values and table rows.

use crate::entity::{orders, payments, workers};
use crate::error::StorageError;
use autoglm_core::money::Currency;
use autoglm_core::payment::PaymentState;
use autoglm_core::{Address, CustomerId, Money, Order, OrderId, OrderState, PaymentId, Worker, WorkerId};
use chrono::{DateTime, FixedOffset};
use sea_orm::ActiveValue::{NotSet, Set};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which orders [`Db::list_orders`](crate::Db::list_orders) returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only this customer's orders.
    pub customer: Option<CustomerId>,
    /// Only orders assigned to this worker.
    pub worker: Option<WorkerId>,
    /// Only orders in one of these states; empty means any state.
    pub states: Vec<OrderState>,
    /// At most this many; 0 means no limit.
    pub limit: u64,
    /// Skip this many first (newest first).
    pub offset: u64,
}

/// One row of an order's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// Sequence number, increasing in write order.
    pub id: i64,
    /// The order.
    pub order_id: OrderId,
    /// The order's version after the event.
    pub version: i64,
    /// State before, if there was one (none for the creation).
    pub from: Option<OrderState>,
    /// State after.
    pub to: OrderState,
    /// What happened (`created`, `assign`, `pay`, …).
    pub event: String,
    /// Details (who, why, fees).
    pub detail: serde_json::Value,
    /// When, epoch ms.
    pub at_ms: i64,
}

/// An event to record with an [`OrderChange`](crate::OrderChange).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// State before, if there was one.
    pub from: Option<OrderState>,
    /// What happened.
    pub event: String,
    /// Details.
    pub detail: serde_json::Value,
}

/// The creation of an order that is first written when it settles (its
/// negotiation ran before anything was stored): the `create` event, recorded
/// at the version, state and time the order had when it was made, ahead of
/// the change's own event.
#[derive(Debug, Clone, PartialEq)]
pub struct Creation {
    /// The order's version when made.
    pub version: i64,
    /// Its state when made.
    pub state: OrderState,
    /// When it was made.
    pub at: DateTime<FixedOffset>,
    /// The creation event (`from` is `None`).
    pub event: NewEvent,
}

impl Creation {
    /// The creation of `order` as it is now (just made), with `detail`.
    pub fn of(order: &Order, detail: serde_json::Value) -> Self {
        Creation {
            version: order.version,
            state: order.state,
            at: order.updated_at,
            event: NewEvent { from: None, event: "create".into(), detail },
        }
    }
}

/// A stored payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRow {
    /// Payment id.
    pub id: PaymentId,
    /// The order paid for.
    pub order_id: OrderId,
    /// How much.
    pub amount: Money,
    /// Where it is.
    pub state: PaymentState,
    /// When an unpaid payment lapses, epoch ms.
    pub expires_at_ms: Option<i64>,
    /// Created, epoch ms.
    pub created_at_ms: i64,
    /// Last changed, epoch ms.
    pub updated_at_ms: i64,
    /// When the money arrived, epoch ms.
    pub paid_at_ms: Option<i64>,
}

/// An `Idempotency-Key` already served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRow {
    /// The customer who sent it.
    pub customer_id: CustomerId,
    /// The key (at most 128 characters).
    pub key: String,
    /// Hash of the request body (at most 128 characters).
    pub request_hash: String,
    /// The order it created.
    pub order_id: OrderId,
    /// When, epoch ms.
    pub created_at_ms: i64,
}

/// A customer's profile: favourite and blocked workers, home address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerPrefs {
    /// Workers the customer likes; they get a bonus in dispatch.
    pub favourites: Vec<WorkerId>,
    /// Workers the customer never wants again.
    pub blocked: Vec<WorkerId>,
    /// Where services usually take place (the chat asks when there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// What [`Db::check_invariants`](crate::Db::check_invariants) found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantReport {
    /// (worker, slot) pairs claimed by more than one live order.
    pub double_bookings: u64,
    /// Orders holding a worker's time whose reservation rows are missing.
    pub holding_without_reservation: u64,
    /// Reservation rows whose order is gone, cancelled, unassignable, or
    /// completed with the slot in the past.
    pub reservations_of_dead_orders: u64,
    /// Reservation rows of a live (or negotiating) order that the order does
    /// not claim: another worker, or slots it moved away from.
    pub stray_reservations: u64,
    /// Orders per state.
    pub by_state: BTreeMap<String, u64>,
}

impl InvariantReport {
    /// Whether nothing is broken.
    pub fn is_clean(&self) -> bool {
        self.double_bookings == 0
            && self.holding_without_reservation == 0
            && self.reservations_of_dead_orders == 0
            && self.stray_reservations == 0
    }
}

/// Epoch milliseconds of a timestamp.
pub(crate) fn ms<Tz: chrono::TimeZone>(t: &chrono::DateTime<Tz>) -> i64 {
    t.timestamp_millis()
}

/// The full row for `order`; `created_at_ms` is left unset on updates.
pub(crate) fn order_row(order: &Order, for_insert: bool) -> Result<orders::ActiveModel, StorageError> {
    let body = serde_json::to_string(order).map_err(|e| StorageError::corrupt("order", order.id.as_str(), e))?;
    Ok(orders::ActiveModel {
        id: if for_insert { Set(order.id.0.clone()) } else { NotSet },
        customer_id: Set(order.customer_id.0.clone()),
        worker_id: Set(order.worker.as_ref().map(|w| w.id.0.clone())),
        state: Set(order.state.as_str().to_string()),
        start_slot: Set(order.slots().start.0),
        version: Set(order.version),
        body: Set(body),
        created_at_ms: if for_insert { Set(ms(&order.created_at)) } else { NotSet },
        updated_at_ms: Set(ms(&order.updated_at)),
    })
}

/// The order stored in `row`.
pub(crate) fn order_from_row(row: &orders::Model) -> Result<Order, StorageError> {
    serde_json::from_str(&row.body).map_err(|e| StorageError::corrupt("order", &row.id, e))
}

/// The row for `worker` at `now_ms`.
pub(crate) fn worker_row(w: &Worker, now_ms: i64) -> Result<workers::ActiveModel, StorageError> {
    let body = serde_json::to_string(w).map_err(|e| StorageError::corrupt("worker", w.id.as_str(), e))?;
    Ok(workers::ActiveModel {
        id: Set(w.id.0.clone()),
        name: Set(w.name.clone()),
        body: Set(body),
        active: Set(w.active),
        created_at_ms: Set(now_ms),
        updated_at_ms: Set(now_ms),
    })
}

/// The worker stored in `row`.
pub(crate) fn worker_from_row(row: &workers::Model) -> Result<Worker, StorageError> {
    serde_json::from_str(&row.body).map_err(|e| StorageError::corrupt("worker", &row.id, e))
}

/// The row for `p`.
pub(crate) fn payment_row(p: &PaymentRow) -> payments::ActiveModel {
    payments::ActiveModel {
        id: Set(p.id.0.clone()),
        order_id: Set(p.order_id.0.clone()),
        amount_cents: Set(p.amount.amount_cents),
        currency: Set(currency_code(p.amount.currency).to_string()),
        state: Set(p.state.as_str().to_string()),
        expires_at_ms: Set(p.expires_at_ms),
        created_at_ms: Set(p.created_at_ms),
        updated_at_ms: Set(p.updated_at_ms),
        paid_at_ms: Set(p.paid_at_ms),
    }
}

/// The payment stored in `row`.
pub(crate) fn payment_from_row(row: payments::Model) -> Result<PaymentRow, StorageError> {
    let state = PaymentState::parse(&row.state)
        .ok_or_else(|| StorageError::corrupt("payment", &row.id, format!("unknown state {:?}", row.state)))?;
    let currency: Currency = serde_json::from_value(serde_json::Value::String(row.currency.clone()))
        .map_err(|_| StorageError::corrupt("payment", &row.id, format!("unknown currency {:?}", row.currency)))?;
    Ok(PaymentRow {
        id: PaymentId(row.id),
        order_id: OrderId(row.order_id),
        amount: Money { amount_cents: row.amount_cents, currency },
        state,
        expires_at_ms: row.expires_at_ms,
        created_at_ms: row.created_at_ms,
        updated_at_ms: row.updated_at_ms,
        paid_at_ms: row.paid_at_ms,
    })
}

fn currency_code(c: Currency) -> &'static str {
    match c {
        Currency::CNY => "CNY",
    }
}

/// A state column's value, or a corrupt-row error naming `id`.
pub(crate) fn parse_state(s: &str, what: &'static str, id: &str) -> Result<OrderState, StorageError> {
    OrderState::parse(s).ok_or_else(|| StorageError::corrupt(what, id, format!("unknown state {s:?}")))
}
