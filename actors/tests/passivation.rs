//! Idle actors passivate and come back on demand with their state from the
//! database: order actors when asked about their order, worker actors when
//! an order calls for proposals in their area.

mod common;

use autoglm_actors::Caller;
use autoglm_core::{CustomerId, OrderState, Service};
use autoglm_storage::testing::fresh_sqlite;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_actors_passivate_and_rehydrate_on_demand() {
    let db = fresh_sqlite().await;
    let mut cfg = quick_config();
    cfg.actors.worker_idle_ms = 300;
    cfg.actors.order_idle_ms = 300;
    let e = engine(db.clone(), cfg).await;
    e.register_worker(worker("W1", Service::Cleaning, 4, 1.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let start = day_at(&e, 2, 10, 0);
    let (a, _) = e
        .create_order(&CustomerId::from("C1"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.worker.as_ref().map(|w| w.id.as_str()), Some("W1"));

    // Nothing happens: both actors passivate.
    let registry = e.registry().clone();
    eventually("worker and order to passivate", || {
        registry.get("worker/W1").is_none() && e.live_orders() == 0 && e.shared().dormant.len() == 1
    })
    .await;

    // Asking about the order wakes its actor with the stored state.
    let live = e.live_order(&Caller::customer("C1"), &a.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(live.state, OrderState::AwaitingPayment);
    assert_eq!(live.version, a.version);
    assert_eq!(e.live_orders(), 1);

    // An order in W1's area wakes W1, whose calendar still holds order A.
    let (b, _) = e
        .create_order(&CustomerId::from("C2"), request(Service::Cleaning, day_at(&e, 2, 14, 0), 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.worker.as_ref().map(|w| w.id.as_str()), Some("W1"), "the woken worker took it");
    assert!(registry.get("worker/W1").is_some());
    assert!(e.shared().dormant.is_empty());
    let (c, _) = e
        .create_order(&CustomerId::from("C3"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.state, OrderState::Unassignable, "the rehydrated calendar still has order A");
    let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{report:?}");
}
