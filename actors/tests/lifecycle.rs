//! One order from placement to rating, and the ways it can go wrong, on a
//! real SQLite database.

mod common;

use autoglm_actors::{Caller, Command, EngineError};
use autoglm_core::payment::PaymentState;
use autoglm_core::{CustomerId, DomainError, OrderState, Service};
use autoglm_storage::testing::fresh_sqlite;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_goes_from_booking_to_rating() {
    let db = fresh_sqlite().await;
    let e = engine(db.clone(), quick_config()).await;
    e.register_worker(worker("W1", Service::Cleaning, 2, 1.0)).await.unwrap_or_else(|e| panic!("{e}"));
    e.register_worker(worker("W2", Service::Cleaning, 5, 3.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let c1 = CustomerId::from("C1");
    let (order, created) = e
        .create_order(&c1, request(Service::Cleaning, day_at(&e, 2, 10, 0), 120), Some("k1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(created);
    assert_eq!(order.state, OrderState::AwaitingPayment);
    // Skill 0.6 outweighs 2 km of distance at 0.4: the expert gets it.
    assert_eq!(order.worker.as_ref().map(|w| w.id.as_str()), Some("W2"));
    let payment = order.payment.clone().unwrap_or_else(|| panic!("no payment"));
    assert_eq!(payment.state, PaymentState::Pending);

    // The same key and body returns the same order; another body is refused.
    let (again, created) = e
        .create_order(&c1, request(Service::Cleaning, day_at(&e, 2, 10, 0), 120), Some("k1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!created);
    assert_eq!(again.id, order.id);
    let other = e.create_order(&c1, request(Service::Cleaning, day_at(&e, 3, 10, 0), 120), Some("k1")).await;
    assert!(matches!(other, Err(EngineError::Conflict(_))), "{other:?}");

    // Other customers cannot see it.
    let stranger = e.get_order(&Caller::customer("C2"), &order.id).await;
    assert!(matches!(stranger, Err(EngineError::NotFound(..))));

    // Pay: a forged callback changes nothing, a good one confirms, a replay is refused.
    let sandbox = e.sandbox().unwrap_or_else(|| panic!("sandbox")).clone();
    let notice = sandbox.simulate_payment(&payment.id, false).unwrap_or_else(|e| panic!("{e}"));
    let (body, sig) = signed(&e, &notice);
    let forged = e.payment_callback(&body, "00ff").await;
    assert!(matches!(forged, Err(EngineError::Forbidden(_))), "{forged:?}");
    let mut tampered = notice.clone();
    tampered.amount_cents = 1;
    let (tbody, _) = signed(&e, &tampered);
    assert!(e.payment_callback(&tbody, &sig).await.is_err(), "signature of another body");
    let paid = e.payment_callback(&body, &sig).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(paid.state, OrderState::Confirmed);
    let replay = e.payment_callback(&body, &sig).await;
    assert!(matches!(replay, Err(EngineError::Conflict(_))), "{replay:?}");
    let mut late = notice.clone();
    late.nonce = "late-one".into();
    late.sent_at_ms -= 3_600_000;
    let (lbody, lsig) = signed(&e, &late);
    assert!(matches!(e.payment_callback(&lbody, &lsig).await, Err(EngineError::Payment(_))));

    // The wrong worker cannot check in; the right one can, then completes.
    let wrong = e.command(&Caller::worker("W1"), &order.id, Command::CheckIn { worker: "W1".into() }).await;
    assert!(matches!(wrong, Err(EngineError::NotFound(..))), "{wrong:?}");
    let w2 = Caller::worker("W2");
    let o = e.command(&w2, &order.id, Command::CheckIn { worker: "W2".into() }).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.state, OrderState::InService);
    let o =
        e.command(&w2, &order.id, Command::Complete { worker: "W2".into() }).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.state, OrderState::Completed);

    // Rating once; the worker's average moves.
    let customer = Caller::customer("C1");
    let o = e.command(&customer, &order.id, Command::Rate { stars: 5 }).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.rating, Some(5));
    let again = e.command(&customer, &order.id, Command::Rate { stars: 1 }).await;
    assert!(matches!(again, Err(EngineError::Domain(DomainError::AlreadyRated))), "{again:?}");
    let w = e.get_worker(&"W2".into()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.rating_count, 3);

    // Every transition left an audit row.
    let events: Vec<String> =
        db.order_events(&order.id).await.unwrap_or_default().into_iter().map(|r| r.event).collect();
    assert_eq!(events, ["create", "assign", "pay", "check_in", "complete", "rate"]);
    let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reschedule_and_change_worker_follow_the_policy() {
    let db = fresh_sqlite().await;
    let e = engine(db.clone(), quick_config()).await;
    for (id, km) in [("W1", 1.0), ("W2", 2.0)] {
        e.register_worker(worker(id, Service::Cleaning, 4, km)).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let c = Caller::customer("C1");
    let cid = CustomerId::from("C1");
    let (o, _) = e
        .create_order(&cid, request(Service::Cleaning, day_at(&e, 3, 10, 0), 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = o.worker.clone().unwrap_or_else(|| panic!("no worker")).id;

    // Reschedule keeps the worker when they are free.
    let o = e
        .command(&c, &o.id, Command::Reschedule { start: day_at(&e, 3, 14, 0) })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.worker.as_ref().map(|w| &w.id), Some(&first));
    assert_eq!(o.reschedules, 1);

    // Change worker, blocking the first: the other one takes it.
    let o = e.command(&c, &o.id, Command::ChangeWorker { block: true }).await.unwrap_or_else(|e| panic!("{e}"));
    let second = o.worker.clone().unwrap_or_else(|| panic!("no worker")).id;
    assert_ne!(second, first);
    // Nobody else is left: changing again fails and changes nothing.
    let again = e.command(&c, &o.id, Command::ChangeWorker { block: false }).await;
    assert!(matches!(again, Err(EngineError::Conflict(_))), "{again:?}");
    let still = e.get_order(&c, &o.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(still.worker.as_ref().map(|w| &w.id), Some(&second));

    // A new order by the same customer never goes to the blocked worker.
    let (o2, _) = e
        .create_order(&cid, request(Service::Cleaning, day_at(&e, 4, 10, 0), 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o2.worker.as_ref().map(|w| &w.id), Some(&second));

    // Cancelling an unpaid order is free and releases the worker's time.
    let o = e.command(&c, &o.id, Command::Cancel).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.state, OrderState::Cancelled);
    assert_eq!(o.cancellation_fee.map(|m| m.amount_cents), Some(0));
    let again = e.command(&c, &o.id, Command::Cancel).await;
    assert!(matches!(again, Err(EngineError::Domain(DomainError::InvalidTransition { .. }))));
    assert!(db.reservations_of_order(&o.id).await.unwrap_or_default().is_empty(), "the slot was released");
    let (o3, _) = e
        .create_order(&CustomerId::from("C9"), request(Service::Cleaning, day_at(&e, 3, 14, 0), 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o3.state, OrderState::AwaitingPayment, "the released slot is bookable again");
    let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_free_means_unassignable_with_alternatives() {
    let db = fresh_sqlite().await;
    let e = engine(db.clone(), quick_config()).await;
    e.register_worker(worker("W1", Service::Plumbing, 3, 1.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let cid = CustomerId::from("C1");
    let start = day_at(&e, 2, 10, 0);
    let (a, _) =
        e.create_order(&cid, request(Service::Plumbing, start, 60), None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.state, OrderState::AwaitingPayment);
    let (b, _) =
        e.create_order(&cid, request(Service::Plumbing, start, 60), None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.state, OrderState::Unassignable);
    assert!(!b.alternatives.is_empty(), "suggests other times");
    assert!(b.alternatives.iter().all(|t| *t > start));
    // A service nobody offers is unassignable too, without alternatives.
    let (c, _) =
        e.create_order(&cid, request(Service::Moving, start, 180), None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.state, OrderState::Unassignable);
    // Bad requests are refused before anything is stored.
    let past = e.create_order(&cid, request(Service::Plumbing, day_at(&e, -1, 10, 0), 60), None).await;
    assert!(matches!(past, Err(EngineError::Domain(DomainError::StartInPast(_)))), "{past:?}");
    let orders = db.count_orders_by_state().await.unwrap_or_default();
    assert_eq!(orders.values().sum::<u64>(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_finds_payments_whose_callback_was_lost() {
    let db = fresh_sqlite().await;
    let mut cfg = quick_config();
    cfg.payments.reconcile_after_secs = 0;
    let e = engine(db.clone(), cfg).await;
    e.register_worker(worker("W1", Service::Nanny, 3, 1.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let (o, _) = e
        .create_order(&CustomerId::from("C1"), request(Service::Nanny, day_at(&e, 2, 9, 0), 480), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let payment = o.payment.clone().unwrap_or_else(|| panic!("no payment")).id;
    let sandbox = e.sandbox().unwrap_or_else(|| panic!("sandbox")).clone();
    sandbox.simulate_payment(&payment, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.reconcile_payments().await.unwrap_or_default(), 1);
    let o = e.get_order(&Caller::admin(), &o.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.state, OrderState::Confirmed);
    assert_eq!(e.reconcile_payments().await.unwrap_or_default(), 0, "nothing left pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_with_one_idempotency_key_make_one_order() {
    let db = fresh_sqlite().await;
    let e = engine(db.clone(), quick_config()).await;
    for (id, km) in [("W1", 1.0), ("W2", 2.0), ("W3", 3.0)] {
        e.register_worker(worker(id, Service::Cleaning, 4, km)).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let start = day_at(&e, 2, 10, 0);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let e = e.clone();
        tasks.spawn(async move {
            e.create_order(&CustomerId::from("C1"), request(Service::Cleaning, start, 120), Some("same-key")).await
        });
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut new = 0;
    while let Some(r) = tasks.join_next().await {
        let (order, created) = r.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(order.state, OrderState::AwaitingPayment);
        new += usize::from(created);
        ids.insert(order.id);
    }
    assert_eq!((ids.len(), new), (1, 1), "one order, created once");
    let by_state = db.count_orders_by_state().await.unwrap_or_default();
    assert_eq!(by_state.values().sum::<u64>(), 1, "{by_state:?}");
    // The losers negotiated too, but none of their holds survived.
    let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{report:?}");
    let (other, _) = e
        .create_order(&CustomerId::from("C2"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.state, OrderState::AwaitingPayment, "two workers are still free at that time: {other:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_order_the_database_refuses_leaves_nothing_behind() {
    use sea_orm::ConnectionTrait;
    let db = fresh_sqlite().await;
    let e = engine(db.clone(), quick_config()).await;
    e.register_worker(worker("W1", Service::Cleaning, 4, 1.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let c1 = CustomerId::from("C1");
    let start = day_at(&e, 2, 10, 0);
    // The order is negotiated first and written once, settled: make that write fail.
    let refuse = "CREATE TRIGGER refuse_orders BEFORE INSERT ON orders BEGIN SELECT RAISE(ABORT, 'refused'); END";
    db.conn().execute_unprepared(refuse).await.unwrap_or_else(|e| panic!("{e}"));
    let refused = e.create_order(&c1, request(Service::Cleaning, start, 120), Some("k-refused")).await;
    assert!(matches!(refused, Err(EngineError::Unavailable(_))), "{refused:?}");
    let registry = e.registry().clone();
    eventually("the unstored order's actor to stop", || registry.by_kind("order").is_empty()).await;
    let by_state = db.count_orders_by_state().await.unwrap_or_default();
    assert_eq!(by_state.values().sum::<u64>(), 0, "{by_state:?}");

    // Nothing of it remains: the worker's hold was released and the key is unused.
    db.conn().execute_unprepared("DROP TRIGGER refuse_orders").await.unwrap_or_else(|e| panic!("{e}"));
    let (order, created) = e
        .create_order(&c1, request(Service::Cleaning, start, 120), Some("k-refused"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(created, "the key was not taken by the refused attempt");
    assert_eq!(order.state, OrderState::AwaitingPayment);
    assert_eq!(order.worker.as_ref().map(|w| w.id.as_str()), Some("W1"), "W1's slots are free again");
    let events = db.order_events(&order.id).await.unwrap_or_else(|e| panic!("{e}"));
    let trail: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(trail, ["create", "assign"], "written once, with its creation");
    let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{report:?}");
}
