//! The repositories against real databases: every test body runs on SQLite,
//! PostgreSQL and MariaDB (see `autoglm_storage::testing`).

mod common;

use autoglm_core::payment::PaymentState;
use autoglm_core::{OrderEvent, OrderState, PaymentId, Slot, WorkerId};
use autoglm_storage::testing::{at, sample_order, test_databases};
use autoglm_storage::{IdempotencyRow, OrderChange, OrderFilter, WriteError};
use common::{assign, create, now, payment_of, reschedule};

#[tokio::test]
async fn an_order_its_events_reservations_and_payment_are_written_together() {
    for (name, db) in test_databases().await {
        let mut o = sample_order("A1", "C1", at("2026-03-06T10:00:00+08:00"), 120);
        db.apply(create(&o)).await.unwrap_or_else(|e| panic!("[{name}] create: {e}"));
        let ch = assign(&mut o, "W1", "P1");
        db.apply(ch).await.unwrap_or_else(|e| panic!("[{name}] assign: {e}"));

        let stored = db.get_order(&o.id).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert_eq!(stored.as_ref(), Some(&o), "[{name}] the order reads back as written");
        let events = db.order_events(&o.id).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let trail: Vec<_> = events.iter().map(|e| (e.version, e.from, e.to, e.event.as_str())).collect();
        assert_eq!(
            trail,
            vec![
                (0, None, OrderState::Negotiating, "created"),
                (1, Some(OrderState::Negotiating), OrderState::AwaitingPayment, "assign"),
            ],
            "[{name}]"
        );
        assert_eq!(events[1].detail["worker"], "W1", "[{name}]");
        let held = db.reservations_of_order(&o.id).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let want: Vec<_> = o.slots().iter().map(|s| (WorkerId::from("W1"), s)).collect();
        assert_eq!(held, want, "[{name}] four slots reserved");
        let cal = db.reservations_of(&"W1".into(), o.slots().start).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cal.len(), 4, "[{name}]");
        let later = db.reservations_of(&"W1".into(), Slot(o.slots().end.0)).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(later.is_empty(), "[{name}] nothing booked after the job");

        let pay = db.get_payment(&PaymentId::from("P1")).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pay.as_ref().map(|p| p.state), Some(PaymentState::Pending), "[{name}]");
        let pending = db.pending_payments().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pending.len(), 1, "[{name}]");

        // Paying moves the payment out of the pending list.
        let expected = o.version;
        let from = o.apply(OrderEvent::Pay, now()).unwrap_or_else(|e| panic!("{e}"));
        let mut paid = payment_of(&o, "P1");
        paid.state = PaymentState::Paid;
        paid.paid_at_ms = Some(now().timestamp_millis() + 1000);
        let mut ch = OrderChange::update(o.clone(), expected);
        ch.event =
            Some(autoglm_storage::NewEvent { from: Some(from), event: "pay".into(), detail: serde_json::json!({}) });
        ch.payment = Some(paid.clone());
        db.apply(ch).await.unwrap_or_else(|e| panic!("[{name}] pay: {e}"));
        assert!(db.pending_payments().await.unwrap_or_default().is_empty(), "[{name}]");
        assert_eq!(db.get_payment(&paid.id).await.ok().flatten(), Some(paid), "[{name}]");

        // Listing and counting.
        let other = sample_order("A2", "C2", at("2026-03-07T10:00:00+08:00"), 60);
        db.apply(create(&other)).await.unwrap_or_else(|e| panic!("{e}"));
        let mine = db
            .list_orders(&OrderFilter { customer: Some("C1".into()), ..OrderFilter::default() })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mine.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), vec!["A1"], "[{name}]");
        let all = db.list_orders(&OrderFilter::default()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(all.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), vec!["A2", "A1"], "[{name}] newest first");
        let page = db
            .list_orders(&OrderFilter { limit: 1, offset: 1, ..OrderFilter::default() })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page.len(), 1, "[{name}]");
        assert_eq!(page[0].id.as_str(), "A1", "[{name}]");
        let skip = db
            .list_orders(&OrderFilter { offset: 1, ..OrderFilter::default() })
            .await
            .unwrap_or_else(|e| panic!("[{name}] offset without limit: {e}"));
        assert_eq!(skip.len(), 1, "[{name}]");
        let by_worker = db
            .list_orders(&OrderFilter {
                worker: Some("W1".into()),
                states: vec![OrderState::Confirmed],
                ..OrderFilter::default()
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(by_worker.len(), 1, "[{name}]");
        let live = db
            .orders_in_states(&[OrderState::Negotiating, OrderState::Confirmed])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(live.len(), 2, "[{name}]");
        let counts = db.count_orders_by_state().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counts.get("confirmed"), Some(&1), "[{name}]");
        assert_eq!(counts.get("negotiating"), Some(&1), "[{name}]");
        assert!(db.check_invariants().await.map(|r| r.is_clean()).unwrap_or(false), "[{name}]");
    }
}

#[tokio::test]
async fn optimistic_locking_refuses_stale_writes() {
    for (name, db) in test_databases().await {
        let mut o = sample_order("A1", "C1", at("2026-03-06T10:00:00+08:00"), 120);
        db.apply(create(&o)).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let again = db.apply(create(&o)).await;
        assert_eq!(
            again,
            Err(WriteError::StaleVersion { order: o.id.clone(), expected: None }),
            "[{name}] a second insert is refused"
        );
        let first = assign(&mut o, "W1", "P1");
        let mut rival = first.clone();
        rival.reserve = Some(("W2".into(), o.slots()));
        db.apply(first).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let r = db.apply(rival).await;
        assert_eq!(r, Err(WriteError::StaleVersion { order: o.id.clone(), expected: Some(0) }), "[{name}]");
        assert!(db.reservations_of(&"W2".into(), Slot(0)).await.unwrap_or_default().is_empty(), "[{name}]");
        assert_eq!(db.order_events(&o.id).await.map(|e| e.len()).unwrap_or(0), 2, "[{name}]");
    }
}

#[tokio::test]
async fn a_taken_slot_fails_the_whole_change() {
    for (name, db) in test_databases().await {
        let mut a = sample_order("A1", "C1", at("2026-03-06T10:00:00+08:00"), 120);
        db.apply(create(&a)).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        db.apply(assign(&mut a, "W1", "P1")).await.unwrap_or_else(|e| panic!("[{name}] {e}"));

        // B starts an hour into A's job with the same worker: its first slot is A's third.
        let b = sample_order("B1", "C2", at("2026-03-06T11:00:00+08:00"), 120);
        let mut ch = common::insert_assigned(&b, "W1");
        ch.idempotency = Some(IdempotencyRow {
            customer_id: "C2".into(),
            key: "k-b1".into(),
            request_hash: "h".into(),
            order_id: b.id.clone(),
            created_at_ms: 1,
        });
        let r = db.apply(ch).await;
        let first_taken = Slot(a.slots().start.0 + 2);
        assert_eq!(r, Err(WriteError::SlotTaken { worker: "W1".into(), slot: first_taken }), "[{name}]");
        assert_eq!(db.get_order(&b.id).await.ok().flatten(), None, "[{name}] no order row");
        assert!(db.order_events(&b.id).await.unwrap_or_default().is_empty(), "[{name}] no event");
        assert_eq!(db.get_payment(&PaymentId::from("PB1")).await.ok().flatten(), None, "[{name}] no payment");
        assert_eq!(db.get_idempotency(&"C2".into(), "k-b1").await.ok().flatten(), None, "[{name}] no key");
        assert!(db.reservations_of_order(&b.id).await.unwrap_or_default().is_empty(), "[{name}]");
        assert_eq!(
            db.reservations_of_order(&a.id).await.map(|r| r.len()).unwrap_or(0),
            4,
            "[{name}] A keeps its slots"
        );

        // Another worker is free at that time.
        db.apply(common::insert_assigned(&b, "W2")).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert!(db.check_invariants().await.map(|r| r.is_clean()).unwrap_or(false), "[{name}]");
    }
}

#[tokio::test]
async fn release_and_reserve_move_a_booking() {
    for (name, db) in test_databases().await {
        let mut a = sample_order("A1", "C1", at("2026-03-06T10:00:00+08:00"), 120);
        db.apply(create(&a)).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        db.apply(assign(&mut a, "W1", "P1")).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let old = a.slots();
        // Moving by one hour overlaps the old booking: releasing first makes that fine.
        db.apply(reschedule(&mut a, at("2026-03-06T11:00:00+08:00")))
            .await
            .unwrap_or_else(|e| panic!("[{name}] reschedule: {e}"));
        let held: Vec<Slot> =
            db.reservations_of_order(&a.id).await.unwrap_or_default().into_iter().map(|(_, s)| s).collect();
        assert_eq!(held, a.slots().iter().collect::<Vec<_>>(), "[{name}]");
        // The freed hour can be booked by someone else.
        let b = sample_order("B1", "C2", old.start.start_at(autoglm_core::default_offset()), 60);
        db.apply(common::insert_assigned(&b, "W1")).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let report = db.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_clean(), "[{name}] {report:?}");
    }
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_a_busy_timeout() {
    use sea_orm::{ConnectionTrait, Statement};
    let db = autoglm_storage::testing::fresh_sqlite().await;
    let ask = |pragma: &str| Statement::from_string(db.conn().get_database_backend(), format!("PRAGMA {pragma}"));
    let mode = db.conn().query_one(ask("journal_mode")).await.ok().flatten();
    let mode: Option<String> = mode.and_then(|r| r.try_get_by_index(0).ok());
    assert_eq!(mode.as_deref(), Some("wal"));
    let sync = db.conn().query_one(ask("synchronous")).await.ok().flatten();
    let sync: Option<i64> = sync.and_then(|r| r.try_get_by_index(0).ok());
    assert_eq!(sync, Some(1), "synchronous = NORMAL");
    let busy = db.conn().query_one(ask("busy_timeout")).await.ok().flatten();
    let busy: Option<i64> = busy.and_then(|r| r.try_get_by_index(0).ok());
    assert_eq!(busy, Some(5000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_applies_without_the_writer_stay_consistent() {
    for (name, db) in test_databases().await {
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                // Forty (worker, slot) pairs, five contenders each.
                let pair = i % 40;
                let start = Slot(20_518 * 48 + i64::from(pair / 4)).start_at(autoglm_core::default_offset());
                let o = sample_order(&format!("A{i:04}"), "C1", start, 30);
                db.apply(common::insert_assigned(&o, &format!("W{}", pair % 4))).await
            }));
        }
        let (mut ok, mut taken) = (0, 0);
        for t in tasks {
            match t.await.unwrap_or_else(|e| panic!("[{name}] {e}")) {
                Ok(()) => ok += 1,
                Err(WriteError::SlotTaken { .. }) => taken += 1,
                Err(e) => panic!("[{name}] unexpected: {e}"),
            }
        }
        assert_eq!((ok, taken), (40, 160), "[{name}]");
        let report = db.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_clean(), "[{name}] {report:?}");
    }
}
