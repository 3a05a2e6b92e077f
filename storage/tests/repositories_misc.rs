//! The smaller repositories (idempotency keys, preferences, callback nonces,
//! workers, leases) and the invariant check, on SQLite, PostgreSQL and MariaDB.

mod common;

use autoglm_core::{Address, CustomerId, OrderId, OrderState, PaymentId};
use autoglm_storage::entity::{orders, reservations};
use autoglm_storage::testing::{at, sample_order, sample_worker, test_databases, unique};
use autoglm_storage::{CustomerPrefs, IdempotencyRow, OrderChange, WriteError};
use common::{assign, create};
use sea_orm::{ActiveValue::Set, EntityTrait};

#[tokio::test]
async fn idempotency_prefs_nonces_and_workers() {
    for (name, db) in test_databases().await {
        let key = IdempotencyRow {
            customer_id: "C1".into(),
            key: "key-1".into(),
            request_hash: "abc".into(),
            order_id: "A1".into(),
            created_at_ms: 5,
        };
        let a = sample_order("A1", "C1", at("2026-03-06T10:00:00+08:00"), 120);
        let mut ch = create(&a);
        ch.idempotency = Some(key.clone());
        db.apply(ch).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let b = sample_order("A2", "C1", at("2026-03-06T10:00:00+08:00"), 120);
        let mut ch = create(&b);
        ch.idempotency = Some(IdempotencyRow { order_id: b.id.clone(), ..key.clone() });
        assert_eq!(db.apply(ch).await, Err(WriteError::DuplicateKey), "[{name}]");
        assert_eq!(db.get_order(&b.id).await.ok().flatten(), None, "[{name}]");
        assert_eq!(db.get_idempotency(&"C1".into(), "key-1").await.ok().flatten(), Some(key.clone()), "[{name}]");
        // Keys are per customer, and case-sensitive everywhere (MariaDB too).
        let c = sample_order("A3", "C2", at("2026-03-06T10:00:00+08:00"), 120);
        let mut ch = create(&c);
        ch.idempotency = Some(IdempotencyRow { customer_id: "C2".into(), order_id: c.id.clone(), ..key.clone() });
        db.apply(ch).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert_eq!(db.get_idempotency(&"C1".into(), "KEY-1").await.ok().flatten(), None, "[{name}]");

        let customer = CustomerId::from("C1");
        assert_eq!(db.get_prefs(&customer).await.ok(), Some(CustomerPrefs::default()), "[{name}]");
        let prefs =
            CustomerPrefs { favourites: vec!["W1".into(), "W2".into()], blocked: vec!["W9".into()], address: None };
        db.set_prefs(&customer, &prefs).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert_eq!(db.get_prefs(&customer).await.ok(), Some(prefs), "[{name}]");
        let address = Address { text: "人民广场1号".into(), lat: 31.23, lon: 121.47 };
        let prefs = CustomerPrefs { favourites: vec![], blocked: vec!["W1".into()], address: Some(address) };
        db.set_prefs(&customer, &prefs).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert_eq!(db.get_prefs(&customer).await.ok(), Some(prefs), "[{name}]");

        let p = PaymentId::from("P1");
        assert_eq!(db.record_callback_nonce("n-1", &p, 10).await.ok(), Some(true), "[{name}]");
        assert_eq!(db.record_callback_nonce("n-1", &p, 11).await.ok(), Some(false), "[{name}] replay");
        assert_eq!(db.record_callback_nonce("n-2", &p, 12).await.ok(), Some(true), "[{name}]");

        assert_eq!(db.count_workers().await.ok(), Some(0), "[{name}]");
        let mut w1 = sample_worker("W1");
        db.upsert_worker(&w1).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        db.upsert_worker(&sample_worker("W2")).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        w1.add_rating(1);
        w1.active = false;
        db.upsert_worker(&w1).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert_eq!(db.get_worker(&w1.id).await.ok().flatten(), Some(w1.clone()), "[{name}]");
        assert_eq!(db.count_workers().await.ok(), Some(2), "[{name}]");
        let ids: Vec<String> = db.list_workers().await.unwrap_or_default().into_iter().map(|w| w.id.0).collect();
        assert_eq!(ids, vec!["W1", "W2"], "[{name}]");
        // A rating arrives with an order change.
        w1.add_rating(5);
        let mut ch = OrderChange::update(a.clone(), 0);
        ch.worker_update = Some(w1.clone());
        db.apply(ch).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert_eq!(db.get_worker(&w1.id).await.ok().flatten(), Some(w1), "[{name}]");
        assert_eq!(db.get_worker(&"W404".into()).await.ok(), Some(None), "[{name}]");
    }
}

#[tokio::test]
async fn leases_renew_and_are_taken_over_after_expiry_with_growing_tokens() {
    for (name, db) in test_databases().await {
        let res = unique("worker/W1/");
        let a = db.acquire_lease(&res, "node-a", 1000, 10_000).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let a = a.unwrap_or_else(|| panic!("[{name}] a free lease is granted"));
        assert_eq!((a.owner.as_str(), a.fencing_token, a.expires_at_ms), ("node-a", 1, 11_000), "[{name}]");
        let b = db.acquire_lease(&res, "node-b", 1000, 10_500).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert_eq!(b, None, "[{name}] held leases are not taken");
        let again = db.acquire_lease(&res, "node-a", 1000, 10_600).await.ok().flatten();
        assert_eq!(again.map(|l| (l.fencing_token, l.expires_at_ms)), Some((1, 11_600)), "[{name}] re-acquire renews");
        let renewed = db.renew_lease(&res, "node-a", 1, 1000, 11_000).await.ok().flatten();
        assert_eq!(renewed.map(|l| l.expires_at_ms), Some(12_000), "[{name}]");

        // node-a stops renewing; node-b takes over once it lapsed.
        let b = db.acquire_lease(&res, "node-b", 1000, 12_001).await.ok().flatten();
        let b = b.unwrap_or_else(|| panic!("[{name}] an expired lease is taken over"));
        assert_eq!((b.owner.as_str(), b.fencing_token), ("node-b", 2), "[{name}]");
        assert_eq!(db.renew_lease(&res, "node-a", 1, 1000, 12_002).await.ok(), Some(None), "[{name}] fenced off");
        assert_eq!(db.release_lease(&res, "node-a", 1).await.ok(), Some(false), "[{name}]");
        assert_eq!(db.leases_of("node-b", 12_002).await.map(|l| l.len()).ok(), Some(1), "[{name}]");
        assert_eq!(db.release_lease(&res, "node-b", 2).await.ok(), Some(true), "[{name}]");
        // After a release the next holder still gets a larger token.
        let a = db.acquire_lease(&res, "node-a", 1000, 12_003).await.ok().flatten();
        assert_eq!(a.map(|l| l.fencing_token), Some(3), "[{name}]");
        assert_eq!(db.get_lease(&res).await.ok().flatten().map(|l| l.owner), Some("node-a".into()), "[{name}]");
    }
}

#[tokio::test]
async fn invariants_are_clean_on_a_good_database_and_count_breakage() {
    for (name, db) in test_databases().await {
        let report = db.check_invariants().await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert!(report.is_clean(), "[{name}] {report:?}");

        let mut a = sample_order("A1", "C1", at("2026-03-06T10:00:00+08:00"), 120);
        db.apply(create(&a)).await.unwrap_or_else(|e| panic!("{e}"));
        db.apply(assign(&mut a, "W1", "P1")).await.unwrap_or_else(|e| panic!("{e}"));
        let report = db.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_clean(), "[{name}] {report:?}");

        // Break it behind the repositories' back.
        let mut ghost = a.clone();
        ghost.id = OrderId::from("A2");
        let row = |o: &autoglm_core::Order| orders::ActiveModel {
            id: Set(o.id.0.clone()),
            customer_id: Set(o.customer_id.0.clone()),
            worker_id: Set(o.worker.as_ref().map(|w| w.id.0.clone())),
            state: Set(o.state.as_str().into()),
            start_slot: Set(o.slots().start.0),
            version: Set(o.version),
            body: Set(serde_json::to_string(o).unwrap_or_default()),
            created_at_ms: Set(0),
            updated_at_ms: Set(0),
        };
        // A2 claims A1's worker and time without reservation rows: a double booking of 4 slots.
        orders::Entity::insert(row(&ghost)).exec_without_returning(db.conn()).await.unwrap_or_else(|e| panic!("{e}"));
        // A3 is cancelled but still holds a slot; a reservation points at an order that does not exist.
        let mut dead = sample_order("A3", "C1", at("2026-03-08T10:00:00+08:00"), 60);
        dead.state = OrderState::Cancelled;
        orders::Entity::insert(row(&dead)).exec_without_returning(db.conn()).await.unwrap_or_else(|e| panic!("{e}"));
        let res = |w: &str, s: i64, o: &str| reservations::ActiveModel {
            worker_id: Set(w.into()),
            slot: Set(s),
            order_id: Set(o.into()),
        };
        reservations::Entity::insert_many([res("W5", dead.slots().start.0, "A3"), res("W6", 1, "A404")])
            .exec_without_returning(db.conn())
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        let report = db.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.double_bookings, 4, "[{name}] {report:?}");
        assert_eq!(report.holding_without_reservation, 1, "[{name}] {report:?}");
        assert_eq!(report.reservations_of_dead_orders, 2, "[{name}] {report:?}");
        assert_eq!(report.stray_reservations, 0, "[{name}] {report:?}");
        assert_eq!(report.by_state.get("awaiting_payment"), Some(&2), "[{name}]");
        assert!(!report.is_clean());
    }
}
