//! The smaller repositories (idempotency keys, preferences, callback nonces,
//! workers, leases) and the invariant check, on SQLite, PostgreSQL and MariaDB.

mod common;

use autoglm_core::{Address, CustomerId, OrderId, OrderState, PaymentId, WorkerId};
use autoglm_storage::entity::{orders, reservations};
use autoglm_storage::testing::{at, sample_order, sample_worker, test_databases, unique};
use autoglm_storage::{CustomerPrefs, Fence, IdempotencyRow, Lease, OrderChange, WriteError};
use common::{assign, create, insert_assigned, reschedule};
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
async fn fenced_changes_are_written_only_while_the_lease_carries_their_token() {
    for (name, db) in test_databases().await {
        let res = "worker/W1";
        let lease = db.acquire_lease(res, "node-a", 1000, 10_000).await.ok().flatten();
        let fence = Fence::from(&lease.unwrap_or_else(|| panic!("[{name}] a free lease is granted")));
        assert_eq!(fence, Fence::new(res, 1), "[{name}]");

        // The holder writes with its current token.
        let mut a = sample_order("A1", "C1", at("2026-03-06T10:00:00+08:00"), 120);
        db.apply(create(&a).fenced_by(fence.clone())).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        db.apply(assign(&mut a, "W1", "P1").fenced_by(fence.clone())).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let held = vec![(WorkerId::from("W1"), a.slots().start)];
        let reserved = |db: autoglm_storage::Db, id: OrderId| async move {
            let r = db.reservations_of_order(&id).await.unwrap_or_else(|e| panic!("{e}"));
            r.into_iter().take(1).collect::<Vec<_>>()
        };
        assert_eq!(reserved(db.clone(), a.id.clone()).await, held, "[{name}]");

        // node-a pauses; the lease is released and taken by node-b: token 2.
        assert_eq!(db.release_lease(res, "node-a", 1).await.ok(), Some(true), "[{name}]");
        let b = db.acquire_lease(res, "node-b", 1000, 10_001).await.ok().flatten();
        assert_eq!(b.map(|l| (l.owner, l.fencing_token)), Some(("node-b".into(), 2)), "[{name}]");

        // The paused old owner wakes up and writes with token 1: nothing is written.
        let stored = db.get_order(&a.id).await.ok().flatten();
        let mut moved = a.clone();
        let stale = reschedule(&mut moved, at("2026-03-07T10:00:00+08:00")).fenced_by(fence.clone());
        let fenced = Err(WriteError::Fenced { resource: res.into(), token: 1 });
        assert_eq!(db.apply(stale).await, fenced, "[{name}]");
        assert_eq!(db.get_order(&a.id).await.ok().flatten(), stored, "[{name}] the order row is untouched");
        assert_eq!(reserved(db.clone(), a.id.clone()).await, held, "[{name}] reservations untouched");
        assert_eq!(db.order_events(&a.id).await.map(|e| e.len()).ok(), Some(2), "[{name}] no event");
        let fresh = sample_order("A2", "C1", at("2026-03-08T10:00:00+08:00"), 60);
        assert_eq!(db.apply(insert_assigned(&fresh, "W1").fenced_by(fence.clone())).await, fenced, "[{name}]");
        assert_eq!(db.get_order(&fresh.id).await.ok().flatten(), None, "[{name}] no order row");
        assert_eq!(reserved(db.clone(), fresh.id.clone()).await, vec![], "[{name}] no reservation");
        let message = fenced.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(message, "lease worker/W1 moved on: fencing token 1 is stale", "[{name}]");

        // The new holder's token works; a released lease or a missing one fences everyone off.
        let current = Fence::new(res, 2);
        db.apply(reschedule(&mut a, at("2026-03-07T10:00:00+08:00")).fenced_by(current.clone()))
            .await
            .unwrap_or_else(|e| panic!("[{name}] {e}"));
        assert_eq!(db.get_order(&a.id).await.ok().flatten(), Some(a.clone()), "[{name}]");
        assert_eq!(db.release_lease(res, "node-b", 2).await.ok(), Some(true), "[{name}]");
        let mut noted = a.clone();
        noted.notes = Some("ring twice".into());
        noted.version += 1;
        let after_release = OrderChange::update(noted.clone(), a.version).fenced_by(current);
        let fenced = Err(WriteError::Fenced { resource: res.into(), token: 2 });
        assert_eq!(db.apply(after_release).await, fenced, "[{name}] released");
        let nowhere = OrderChange::update(noted, a.version).fenced_by(Fence::new("worker/W404", 1));
        let fenced = Err(WriteError::Fenced { resource: "worker/W404".into(), token: 1 });
        assert_eq!(db.apply(nowhere).await, fenced, "[{name}] no such lease");
        assert_eq!(db.get_order(&a.id).await.ok().flatten(), Some(a), "[{name}]");
    }
}

#[tokio::test]
async fn renew_leases_of_extends_the_owners_live_leases_with_the_prefix_in_one_go() {
    for (name, db) in test_databases().await {
        let take = |res: &'static str, owner: &'static str, now: i64| {
            let db = db.clone();
            async move {
                let got = db.acquire_lease(res, owner, 1000, now).await.unwrap_or_else(|e| panic!("{res}: {e}"));
                got.unwrap_or_else(|| panic!("{res} is free"))
            }
        };
        take("worker/W1", "node-a", 10_000).await;
        take("worker/W2", "node-a", 10_000).await;
        let lapsed = take("worker/W3", "node-a", 5_000).await;
        let other_owner = take("worker/W4", "node-b", 10_000).await;
        let other_prefix = take("node_id/1", "node-a", 10_000).await;
        let near_miss = take("workers/W5", "node-a", 10_000).await;

        let renewed = db.renew_leases_of("node-a", "worker/", 5000, 10_500).await;
        let renewed = renewed.unwrap_or_else(|e| panic!("[{name}] {e}"));
        let lease =
            |res: &str| Lease { resource: res.into(), owner: "node-a".into(), fencing_token: 1, expires_at_ms: 15_500 };
        assert_eq!(renewed, vec![lease("worker/W1"), lease("worker/W2")], "[{name}]");
        for untouched in [lapsed, other_owner, other_prefix, near_miss] {
            let stored = db.get_lease(&untouched.resource).await.ok().flatten();
            assert_eq!(stored.as_ref(), Some(&untouched), "[{name}] {} is left alone", untouched.resource);
        }
        // The lapsed one is free to take over, with the next token.
        let b = db.acquire_lease("worker/W3", "node-b", 1000, 10_600).await.ok().flatten();
        assert_eq!(b.map(|l| l.fencing_token), Some(2), "[{name}]");
        assert_eq!(db.renew_leases_of("node-c", "worker/", 5000, 10_600).await.ok(), Some(vec![]), "[{name}]");

        // LIKE wildcards in the prefix are taken literally.
        take("job/50%_off", "node-a", 10_000).await;
        take("job/50xyoff", "node-a", 10_000).await;
        let jobs = db.renew_leases_of("node-a", "job/50%_", 5000, 10_700).await.unwrap_or_else(|e| panic!("{e}"));
        let jobs: Vec<(String, i64)> = jobs.into_iter().map(|l| (l.resource, l.expires_at_ms)).collect();
        assert_eq!(jobs, vec![("job/50%_off".to_string(), 15_700)], "[{name}]");
        let all = db.leases_of("node-a", 10_700).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(all.len(), 6, "[{name}] leases_of still lists every prefix: {all:?}");
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
