//! The payment window, with paused tokio time: an unpaid order is cancelled
//! when its window closes and its worker's time is free again; and a
//! worker's tentative hold that is never confirmed lapses.
//!
//! Time is paused only while the window runs out: the database answers on
//! its own threads, and while paused tokio would jump over the timeouts of
//! its connection pool during set-up.

mod common;

use autoglm_actors::worker_actor::WorkerMsg;
use autoglm_actors::Caller;
use autoglm_core::payment::PaymentState;
use autoglm_core::{CustomerId, OrderId, OrderState, Service};
use autoglm_storage::testing::fresh_sqlite;
use common::*;
use std::time::Duration;

#[tokio::test]
async fn an_unpaid_order_is_cancelled_when_the_window_closes() {
    let db = fresh_sqlite().await;
    let e = engine(db.clone(), quick_config()).await;
    e.register_worker(worker("W1", Service::Cleaning, 3, 1.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let start = day_at(&e, 2, 10, 0);
    let (o, _) = e
        .create_order(&CustomerId::from("C1"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.state, OrderState::AwaitingPayment);
    let (second, _) = e
        .create_order(&CustomerId::from("C2"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.state, OrderState::Unassignable, "the only worker is held by the first order");

    // Fourteen minutes in, nothing has happened.
    tokio::time::pause();
    tokio::time::sleep(Duration::from_secs(14 * 60)).await;
    tokio::time::resume();
    let admin = Caller::admin();
    assert_eq!(e.get_order(&admin, &o.id).await.map(|o| o.state).ok(), Some(OrderState::AwaitingPayment));

    // Past fifteen minutes the order is cancelled and the payment expired.
    tokio::time::pause();
    tokio::time::sleep(Duration::from_secs(2 * 60)).await;
    tokio::time::resume();
    let mut state = None;
    for _ in 0..500 {
        let now = e.get_order(&admin, &o.id).await.unwrap_or_else(|e| panic!("{e}"));
        if now.state == OrderState::Cancelled {
            state = Some(now);
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancelled = state.unwrap_or_else(|| panic!("order was not cancelled after the window"));
    assert_eq!(cancelled.payment.map(|p| p.state), Some(PaymentState::Expired));
    assert!(db.reservations_of_order(&o.id).await.unwrap_or_default().is_empty());

    // The worker can be booked for that time again.
    let (third, _) = e
        .create_order(&CustomerId::from("C3"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(third.state, OrderState::AwaitingPayment);
    let payment = o.payment.clone().unwrap_or_else(|| panic!("no payment")).id;
    let sandbox = e.sandbox().unwrap_or_else(|| panic!("sandbox")).clone();
    let mut notice = sandbox.simulate_payment(&payment, false).unwrap_or_else(|e| panic!("{e}"));
    notice.sent_at_ms = e.clock().now_ms();
    let (body, sig) = signed(&e, &notice);
    let late = e.payment_callback(&body, &sig).await;
    assert!(
        matches!(late, Err(autoglm_actors::EngineError::Payment(_))),
        "a payment after expiry is refused: {late:?}"
    );
    let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test]
async fn a_tentative_hold_that_is_never_confirmed_lapses() {
    let db = fresh_sqlite().await;
    let e = engine(db.clone(), quick_config()).await;
    e.register_worker(worker("W1", Service::Cleaning, 3, 1.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let start = day_at(&e, 2, 10, 0);
    let range = autoglm_core::slot::SlotRange::covering(&start, 120);

    // An award whose order never commits nor releases (its actor died, say).
    let cell = e.shared().workers.lookup("W1").unwrap_or_else(|| panic!("worker actor not running"));
    let (tx, rx) = ractor::concurrency::oneshot();
    let award = WorkerMsg::Award { order: OrderId::from("A-lost"), range, reply: tx.into() };
    assert!(cell.send_message(award).is_ok());
    assert_eq!(rx.await.ok(), Some(Ok(())), "the free worker takes the award");
    let (blocked, _) = e
        .create_order(&CustomerId::from("C1"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(blocked.state, OrderState::Unassignable, "the hold keeps the slot");

    // Past the hold's time the slot is free again. (With the clock paused the
    // runtime wakes the sweep's timer, which queues the sweep, before it moves
    // on to the end of this sleep; the next call for proposals comes after it.)
    let ttl = Duration::from_millis(quick_config().dispatch.hold_ttl_ms);
    tokio::time::pause();
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    tokio::time::resume();
    let (placed, _) = e
        .create_order(&CustomerId::from("C2"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(placed.state, OrderState::AwaitingPayment, "the lapsed hold still keeps the worker");
    assert_eq!(placed.worker.map(|w| w.id.to_string()), Some("W1".to_string()));
    let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test]
async fn a_retried_award_for_a_confirmed_booking_does_not_lapse() {
    let db = fresh_sqlite().await;
    let e = engine(db.clone(), quick_config()).await;
    e.register_worker(worker("W1", Service::Cleaning, 3, 1.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let start = day_at(&e, 2, 10, 0);
    let (booked, _) = e
        .create_order(&CustomerId::from("C1"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(booked.state, OrderState::AwaitingPayment);

    // The same award again (a retry that crossed the confirmation).
    let cell = e.shared().workers.lookup("W1").unwrap_or_else(|| panic!("worker actor not running"));
    let (tx, rx) = ractor::concurrency::oneshot();
    let range = autoglm_core::slot::SlotRange::covering(&start, 120);
    assert!(cell.send_message(WorkerMsg::Award { order: booked.id.clone(), range, reply: tx.into() }).is_ok());
    assert_eq!(rx.await.ok(), Some(Ok(())));

    // Well past the hold time the booking still keeps the worker.
    let ttl = Duration::from_millis(quick_config().dispatch.hold_ttl_ms);
    tokio::time::pause();
    tokio::time::sleep(ttl * 2).await;
    tokio::time::resume();
    let (second, _) = e
        .create_order(&CustomerId::from("C2"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.state, OrderState::Unassignable, "the database keeps the worker's reservation");
    // And so does the worker's own calendar (else it would bid for that time
    // and lose every race at the database).
    let bookings = e.registry().get("worker/W1").map(|s| s.fields["bookings"].clone());
    assert_eq!(bookings, Some(serde_json::json!(1)), "the confirmed booking was dropped from the calendar");
}
