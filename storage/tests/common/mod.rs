//! Helpers shared by the storage tests: building changes the way the order
//! actor will.
#![allow(dead_code)]

use autoglm_core::payment::PaymentState;
use autoglm_core::{AssignedWorker, Order, OrderEvent, PaymentId, PaymentInfo, SlotRange, WorkerId};
use autoglm_storage::testing::at;
use autoglm_storage::{NewEvent, OrderChange, PaymentRow};
use chrono::{DateTime, FixedOffset};
use serde_json::json;

/// A time everything in the tests happens around.
pub fn now() -> DateTime<FixedOffset> {
    at("2026-03-05T09:00:00+08:00")
}

/// The creation of `order`, with its `created` event.
pub fn create(order: &Order) -> OrderChange {
    OrderChange::insert(order.clone()).with_event(NewEvent {
        from: None,
        event: "created".into(),
        detail: json!({"by": "test"}),
    })
}

/// A pending payment for `order`.
pub fn payment_of(order: &Order, id: &str) -> PaymentRow {
    let t = now().timestamp_millis();
    PaymentRow {
        id: PaymentId::from(id),
        order_id: order.id.clone(),
        amount: order.price,
        state: PaymentState::Pending,
        expires_at_ms: Some(t + 15 * 60_000),
        created_at_ms: t,
        updated_at_ms: t,
        paid_at_ms: None,
    }
}

/// Awards `order` (already stored at its current version) to `worker`: the
/// order moves to `awaiting_payment`, reserves its slots and gets a payment.
pub fn assign(order: &mut Order, worker: &str, payment: &str) -> OrderChange {
    let expected = order.version;
    let from = order.apply(OrderEvent::Assign, now()).unwrap_or_else(|e| panic!("assign: {e}"));
    order.worker = Some(AssignedWorker {
        id: WorkerId::from(worker),
        name: format!("阿姨 {worker}"),
        rating: 4.8,
        skill_level: 4,
    });
    let pay = payment_of(order, payment);
    order.payment = Some(PaymentInfo {
        id: pay.id.clone(),
        state: PaymentState::Pending,
        expires_at: Some(now() + chrono::Duration::minutes(15)),
    });
    OrderChange {
        order: order.clone(),
        expected_version: Some(expected),
        created: None,
        event: Some(NewEvent { from: Some(from), event: "assign".into(), detail: json!({"worker": worker}) }),
        release_reservations: false,
        reserve: Some((WorkerId::from(worker), order.slots())),
        payment: Some(pay),
        idempotency: None,
        worker_update: None,
        fence: None,
    }
}

/// A brand-new order inserted straight into `awaiting_payment` with `worker`
/// and its slots reserved (what a won race looks like in one change).
pub fn insert_assigned(order: &Order, worker: &str) -> OrderChange {
    let mut o = order.clone();
    let mut ch = assign(&mut o, worker, &format!("P{}", order.id));
    ch.expected_version = None;
    ch
}

/// Moves `order` (stored, assigned) to `start`, releasing the old slots and
/// reserving the new ones.
pub fn reschedule(order: &mut Order, start: DateTime<FixedOffset>) -> OrderChange {
    let expected = order.version;
    let from = order.apply(OrderEvent::Reschedule, now()).unwrap_or_else(|e| panic!("reschedule: {e}"));
    order.start = start;
    order.reschedules += 1;
    let worker = order.worker.as_ref().map(|w| w.id.clone()).unwrap_or_else(|| WorkerId::from("W?"));
    OrderChange {
        order: order.clone(),
        expected_version: Some(expected),
        created: None,
        event: Some(NewEvent {
            from: Some(from),
            event: "reschedule".into(),
            detail: json!({"start": start.to_rfc3339()}),
        }),
        release_reservations: true,
        reserve: Some((worker, order.slots())),
        payment: None,
        idempotency: None,
        worker_update: None,
        fence: None,
    }
}

/// The slots of `order` as a range.
pub fn slots(order: &Order) -> SlotRange {
    order.slots()
}
