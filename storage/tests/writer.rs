//! The group-commit writer against real databases.

mod common;

use autoglm_core::{OrderId, OrderState, Slot, WorkerId};
use autoglm_storage::testing::{sample_order, test_databases};
use autoglm_storage::{Creation, Fence, IdempotencyRow, OrderChange, StorageError, WriteError, Writer, WriterConfig};
use common::{create, insert_assigned, reschedule};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// 30-minute slot numbers start at the epoch; this is 2026-03-06 00:00 UTC.
const DAY: i64 = 20_518 * 48;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_concurrent_submits_give_one_winner_per_slot() {
    let mut runs = Vec::new();
    for lanes in [1, 4] {
        runs.extend(test_databases().await.into_iter().map(|(name, db)| (format!("{name}, {lanes} lanes"), db, lanes)));
    }
    for (name, db, lanes) in runs {
        let writer = Writer::spawn(db.clone(), WriterConfig { lanes, ..WriterConfig::default() });
        // 1,000 orders each on a (worker, slot) of its own, and 1,000 fighting
        // over 100 (worker, slot) pairs, ten contenders each.
        let mut changes = Vec::new();
        for i in 0..1000 {
            let (worker, slot) = (format!("W{}", i % 10), DAY + 1000 + i64::from(i / 10));
            changes.push((format!("U{i}"), worker, slot));
        }
        for i in 0..1000 {
            let pair = i % 100;
            let (worker, slot) = (format!("W{}", pair % 10), DAY + i64::from(pair / 10));
            changes.push((format!("X{i}"), worker, slot));
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (id, worker, slot) in changes {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                let start = Slot(slot).start_at(autoglm_core::default_offset());
                let order = sample_order(&id, "C1", start, 30);
                let r = writer.submit(insert_assigned(&order, &worker)).await;
                (id, worker, slot, r)
            }));
        }
        let mut winners: BTreeMap<(String, i64), Vec<String>> = BTreeMap::new();
        let (mut ok, mut taken) = (0, 0);
        for t in tasks {
            let (id, worker, slot, r) = t.await.unwrap_or_else(|e| panic!("[{name}] task: {e}"));
            match r {
                Ok(()) => {
                    ok += 1;
                    winners.entry((worker, slot)).or_default().push(id);
                }
                Err(WriteError::SlotTaken { worker: w, slot: s }) => {
                    assert_eq!((w.0, s.0), (worker, slot), "[{name}] the loser is told which slot");
                    taken += 1;
                }
                Err(e) => panic!("[{name}] {id}: unexpected {e}"),
            }
        }
        let elapsed = started.elapsed();
        let stats = writer.stats();
        eprintln!(
            "[{name}] 2000 submits in {elapsed:?}: {ok} written, {taken} slot taken; {} batches, mean batch {:.1}, \
             largest {}, {} savepoint re-runs, {} transient retries",
            stats.batches,
            stats.mean_batch_size(),
            stats.max_batch_seen,
            stats.savepoint_reruns,
            stats.transient_retries
        );
        assert_eq!(ok + taken, 2000, "[{name}] every submit got a reply");
        assert_eq!(ok, 1100, "[{name}] 1000 uncontested + one winner for each of 100 pairs");
        assert_eq!(winners.len(), 1100, "[{name}]");
        assert!(winners.values().all(|w| w.len() == 1), "[{name}] exactly one winner per slot");
        assert_eq!(stats.changes, 2000, "[{name}]");
        assert!(stats.mean_batch_size() > 1.0, "[{name}] changes were grouped: {stats:?}");

        // The database agrees: each winner holds its slot, losers left nothing behind.
        for ((worker, slot), ids) in &winners {
            let held = db.reservations_of(&WorkerId::from(worker.as_str()), Slot(*slot)).await;
            let held = held.unwrap_or_else(|e| panic!("[{name}] {e}"));
            assert_eq!(held.first(), Some(&(Slot(*slot), OrderId::from(ids[0].as_str()))), "[{name}]");
        }
        let counts = db.count_orders_by_state().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counts.values().sum::<u64>(), 1100, "[{name}] no loser's order row");
        let report = db.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_clean(), "[{name}] {report:?}");
        writer.shutdown().await;
    }
}

/// With several lanes, changes to one order sent back to back (none waits for
/// the one before) still land in the order sent: every update finds the
/// version its predecessor wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lanes_keep_each_orders_changes_in_order() {
    const ORDERS: usize = 200;
    const UPDATES: i64 = 5;
    for (name, db) in test_databases().await {
        // No waiting for company: many small batches, spread over the lanes.
        let writer =
            Writer::spawn(db.clone(), WriterConfig { lanes: 4, max_wait: Duration::ZERO, ..Default::default() });
        let mut tasks = Vec::new();
        for i in 0..ORDERS {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                let start = Slot(DAY + 2000 + i as i64).start_at(autoglm_core::default_offset());
                let order = sample_order(&format!("L{i:04}"), "C1", start, 30);
                // `join_all` polls in order, so the changes are sent in order.
                let mut changes = vec![create(&order)];
                for v in 0..UPDATES {
                    let mut next = order.clone();
                    next.version = v + 1;
                    next.notes = Some(format!("update {}", v + 1));
                    changes.push(OrderChange::update(next, v));
                }
                let results = futures::future::join_all(changes.into_iter().map(|c| writer.submit(c))).await;
                (order.id, results)
            }));
        }
        for t in tasks {
            let (id, results) = t.await.unwrap_or_else(|e| panic!("[{name}] {e}"));
            assert!(results.iter().all(Result::is_ok), "[{name}] {id}: {results:?}");
            let stored = db.get_order(&id).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
            assert_eq!(stored.map(|o| o.version), Some(UPDATES), "[{name}] {id}");
        }
        let stats = writer.stats();
        eprintln!("[{name}] {} changes in {} batches", stats.changes, stats.batches);
        assert_eq!(stats.changes as usize, ORDERS * (1 + UPDATES as usize), "[{name}]");
        writer.shutdown().await;
    }
}

/// Reschedules of many orders in one batch (release and reserve, merged into
/// a few statements): every booking moves, and the freed slots can be taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_reschedules_moves_every_booking() {
    const ORDERS: i64 = 40;
    for (name, db) in test_databases().await {
        let writer =
            Writer::spawn(db.clone(), WriterConfig { max_wait: Duration::from_millis(20), ..WriterConfig::default() });
        let mut orders = Vec::new();
        for i in 0..ORDERS {
            let start = Slot(DAY + 3000 + 4 * i).start_at(autoglm_core::default_offset());
            let order = sample_order(&format!("R{i:03}"), "C1", start, 60);
            writer.submit(insert_assigned(&order, "W1")).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
            let mut stored = db.get_order(&order.id).await.ok().flatten().unwrap_or_else(|| panic!("[{name}] stored"));
            // Each moves by 30 minutes: it overlaps its own old booking only.
            let moved = reschedule(&mut stored, Slot(DAY + 3000 + 4 * i + 1).start_at(autoglm_core::default_offset()));
            orders.push((stored, moved));
        }
        let results = futures::future::join_all(orders.iter().map(|(_, ch)| writer.submit(ch.clone()))).await;
        assert!(results.iter().all(Result::is_ok), "[{name}] {results:?}");
        assert!(writer.stats().mean_batch_size() > 1.0, "[{name}] grouped: {:?}", writer.stats());
        for (order, _) in &orders {
            let held: Vec<Slot> =
                db.reservations_of_order(&order.id).await.unwrap_or_default().into_iter().map(|(_, s)| s).collect();
            assert_eq!(held, order.slots().iter().collect::<Vec<_>>(), "[{name}] {}", order.id);
        }
        // The first half hour of every old booking is free again.
        let takers: Vec<OrderChange> = (0..ORDERS)
            .map(|i| {
                let start = Slot(DAY + 3000 + 4 * i).start_at(autoglm_core::default_offset());
                insert_assigned(&sample_order(&format!("S{i:03}"), "C2", start, 30), "W1")
            })
            .collect();
        let results = futures::future::join_all(takers.into_iter().map(|ch| writer.submit(ch))).await;
        assert!(results.iter().all(Result::is_ok), "[{name}] {results:?}");
        let report = db.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_clean(), "[{name}] {report:?}");
        writer.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_keeps_order_within_one_order_and_isolates_failures() {
    for (name, db) in test_databases().await {
        let writer =
            Writer::spawn(db.clone(), WriterConfig { max_wait: Duration::from_millis(20), ..WriterConfig::default() });
        let a = sample_order("A1", "C1", autoglm_storage::testing::at("2026-03-06T10:00:00+08:00"), 60);
        let mut a1 = a.clone();
        a1.notes = Some("ring twice".into());
        a1.version = 1;
        let b = sample_order("B1", "C1", autoglm_storage::testing::at("2026-03-06T12:00:00+08:00"), 60);
        let mut stale = b.clone();
        stale.version = 9;
        // Insert then update of A in one batch; a stale update of B (never
        // inserted) fails alone.
        let (r1, r2, r3) = tokio::join!(
            writer.submit(create(&a)),
            writer.submit(OrderChange::update(a1.clone(), 0)),
            writer.submit(OrderChange::update(stale, 8)),
        );
        assert_eq!((r1.clone(), r2.clone()), (Ok(()), Ok(())), "[{name}] {r1:?} {r2:?}");
        assert_eq!(r3, Err(WriteError::StaleVersion { order: b.id.clone(), expected: Some(8) }), "[{name}]");
        assert_eq!(db.get_order(&a.id).await.ok().flatten(), Some(a1), "[{name}]");
        assert!(writer.stats().batches <= 2, "[{name}] {:?}", writer.stats());

        // Shutdown writes what is queued, then refuses more.
        let c = sample_order("C9", "C1", autoglm_storage::testing::at("2026-03-06T14:00:00+08:00"), 60);
        let pending = {
            let w = writer.clone();
            let ch = create(&c);
            tokio::spawn(async move { w.submit(ch).await })
        };
        tokio::task::yield_now().await;
        writer.shutdown().await;
        let r = pending.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            r.is_ok() || r == Err(WriteError::Storage(StorageError::WriterStopped)),
            "[{name}] a change racing the shutdown is written or refused, never lost: {r:?}"
        );
        assert_eq!(r.is_ok(), db.get_order(&c.id).await.ok().flatten().is_some(), "[{name}]");
        let late = writer.submit(create(&b)).await;
        assert_eq!(late, Err(WriteError::Storage(StorageError::WriterStopped)), "[{name}]");
        // A second shutdown returns at once.
        tokio::time::timeout(Duration::from_secs(1), writer.shutdown())
            .await
            .unwrap_or_else(|_| panic!("[{name}] second shutdown hangs"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_off_change_fails_alone_and_the_rest_of_its_batch_commits() {
    for (name, db) in test_databases().await {
        let writer =
            Writer::spawn(db.clone(), WriterConfig { max_wait: Duration::from_millis(20), ..WriterConfig::default() });
        // worker/W1 moved from node-a (token 1) to node-b (token 2); worker/W2 is node-a's.
        for (res, owner, now) in [("worker/W1", "node-a", 10_000), ("worker/W2", "node-a", 10_000)] {
            let got = db.acquire_lease(res, owner, 1000, now).await.ok().flatten();
            assert!(got.is_some(), "[{name}] {res}");
        }
        assert_eq!(db.release_lease("worker/W1", "node-a", 1).await.ok(), Some(true), "[{name}]");
        let b = db.acquire_lease("worker/W1", "node-b", 1000, 10_001).await.ok().flatten();
        assert_eq!(b.map(|l| l.fencing_token), Some(2), "[{name}]");

        let order = |id: &str, hour: u32| {
            let start = autoglm_storage::testing::at(&format!("2026-03-06T{hour:02}:00:00+08:00"));
            sample_order(id, "C1", start, 60)
        };
        // Distinct orders: the batch is written merged, and the fence check fails it as a whole.
        let (good, plain, stale, other) = (order("F1", 8), order("F2", 10), order("F3", 12), order("F4", 14));
        let (r1, r2, r3, r4) = tokio::join!(
            writer.submit(insert_assigned(&good, "W1").fenced_by(Fence::new("worker/W1", 2))),
            writer.submit(insert_assigned(&plain, "W1")),
            writer.submit(insert_assigned(&stale, "W1").fenced_by(Fence::new("worker/W1", 1))),
            writer.submit(insert_assigned(&other, "W2").fenced_by(Fence::new("worker/W2", 1))),
        );
        let fenced = Err(WriteError::Fenced { resource: "worker/W1".into(), token: 1 });
        assert_eq!((r1, r2, r3, r4), (Ok(()), Ok(()), fenced.clone(), Ok(())), "[{name}]");
        for (o, written) in [(&good, true), (&plain, true), (&stale, false), (&other, true)] {
            let stored = db.get_order(&o.id).await.ok().flatten();
            assert_eq!(stored.is_some(), written, "[{name}] {}", o.id);
            let held = db.reservations_of_order(&o.id).await.map(|r| r.len()).ok();
            assert_eq!(held, Some(if written { 2 } else { 0 }), "[{name}] {}", o.id);
        }

        // Two changes to one order: the batch is written change by change.
        let stored = db.get_order(&good.id).await.ok().flatten();
        let stored = stored.unwrap_or_else(|| panic!("[{name}] F1 is stored"));
        let mut again = stored.clone();
        again.notes = Some("ring twice".into());
        again.version += 1;
        let mut late = again.clone();
        late.notes = Some("from the paused node".into());
        late.version += 1;
        let (r1, r2) = tokio::join!(
            writer.submit(OrderChange::update(again.clone(), stored.version).fenced_by(Fence::new("worker/W1", 2))),
            writer.submit(OrderChange::update(late, again.version).fenced_by(Fence::new("worker/W1", 1))),
        );
        assert_eq!((r1, r2), (Ok(()), fenced), "[{name}]");
        assert_eq!(db.get_order(&good.id).await.ok().flatten().and_then(|o| o.notes), again.notes, "[{name}]");
        let stats = writer.stats();
        assert_eq!(stats.failed, 2, "[{name}] {stats:?}");
        assert_eq!(stats.transient_retries, 0, "[{name}] a fenced change is not retried: {stats:?}");
        let report = db.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_clean(), "[{name}] {report:?}");
        writer.shutdown().await;
    }
}

/// Sustained load: many submitters, each waiting for its reply before the
/// next change, as order actors do: the writer groups them into batches.
/// Prints changes per second per backend (`WRITER_EACH=200` and
/// `--release -- --nocapture` for a longer measurement).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_groups_sustained_load_into_batches() {
    const SUBMITTERS: usize = 64;
    let each: usize = std::env::var("WRITER_EACH").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let wait_us: u64 = std::env::var("WRITER_WAIT_US").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    for (name, db) in test_databases().await {
        let cfg = WriterConfig { max_wait: Duration::from_micros(wait_us), ..WriterConfig::default() };
        let writer = Writer::spawn(db.clone(), cfg);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..SUBMITTERS {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..each {
                    let slot = DAY + (i as i64) * 4;
                    let start = Slot(slot).start_at(autoglm_core::default_offset());
                    // Ids grow with time, as generated ones do.
                    let order = sample_order(&format!("T{:08}", i * SUBMITTERS + t), "C1", start, 120);
                    let r = writer.submit(insert_assigned(&order, &format!("W{t}"))).await;
                    if let Err(e) = r {
                        panic!("T{t}x{i}: {e}");
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("[{name}] {e}"));
        }
        let secs = started.elapsed().as_secs_f64();
        let stats = writer.stats();
        eprintln!(
            "[{name}] {} changes (order + 4 reservations + event + payment each) in {secs:.2} s: {:.0}/s, \
             mean batch {:.1} written in {:.2} ms",
            stats.changes,
            stats.changes as f64 / secs,
            stats.mean_batch_size(),
            stats.mean_batch_millis()
        );
        assert_eq!(stats.changes as usize, SUBMITTERS * each, "[{name}]");
        assert!(stats.mean_batch_size() >= 4.0, "[{name}] batches too small: {:.1}", stats.mean_batch_size());
        assert_eq!(stats.changes as usize, SUBMITTERS * each, "[{name}]");
        assert!(stats.mean_batch_size() >= 4.0, "[{name}] batches too small: {:.1}", stats.mean_batch_size());
        writer.shutdown().await;
    }
}

/// New orders negotiated before they were stored: each is written once,
/// settled, with its creation event ahead of its own, alone (`Db::apply`)
/// and many in one batch (the merged statements); a taken idempotency key
/// fails only its change and leaves nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_new_order_is_written_once_with_its_creation() {
    const ORDERS: i64 = 20;
    for (name, db) in test_databases().await {
        let writer =
            Writer::spawn(db.clone(), WriterConfig { max_wait: Duration::from_millis(20), ..WriterConfig::default() });
        let first_write = |i: i64, key: &str| {
            let start = Slot(DAY + 5000 + 4 * i).start_at(autoglm_core::default_offset());
            let order = sample_order(&format!("N{i:03}"), "C1", start, 60);
            let mut ch = insert_assigned(&order, "W1");
            ch.created = Some(Creation::of(&order, serde_json::json!({ "by": "test" })));
            ch.idempotency = Some(IdempotencyRow {
                customer_id: "C1".into(),
                key: key.into(),
                request_hash: "h".into(),
                order_id: order.id.clone(),
                created_at_ms: 1,
            });
            ch
        };
        db.apply(first_write(0, "k0")).await.unwrap_or_else(|e| panic!("[{name}] alone: {e}"));
        // One batch: the others, and one reusing key k0 (refused, alone).
        let mut batch: Vec<OrderChange> = (1..ORDERS).map(|i| first_write(i, &format!("k{i}"))).collect();
        batch.push(first_write(ORDERS, "k0"));
        let results = futures::future::join_all(batch.into_iter().map(|ch| writer.submit(ch))).await;
        let (last, rest) = results.split_last().unwrap_or_else(|| panic!("results"));
        assert!(rest.iter().all(Result::is_ok), "[{name}] {rest:?}");
        assert_eq!(last, &Err(WriteError::DuplicateKey), "[{name}]");
        for i in 0..ORDERS {
            let id = OrderId(format!("N{i:03}"));
            let events = db.order_events(&id).await.unwrap_or_else(|e| panic!("[{name}] {e}"));
            let trail: Vec<_> = events.iter().map(|e| (e.version, e.from, e.to, e.event.as_str())).collect();
            assert_eq!(
                trail,
                vec![
                    (0, None, OrderState::Negotiating, "create"),
                    (1, Some(OrderState::Negotiating), OrderState::AwaitingPayment, "assign"),
                ],
                "[{name}] {id}"
            );
            assert_eq!(events[0].detail["by"], "test", "[{name}]");
            assert_eq!(db.reservations_of_order(&id).await.unwrap_or_default().len(), 2, "[{name}] {id}");
        }
        let refused = OrderId(format!("N{ORDERS:03}"));
        assert_eq!(db.get_order(&refused).await.ok().flatten(), None, "[{name}] nothing of the duplicate");
        assert!(db.order_events(&refused).await.unwrap_or_default().is_empty(), "[{name}]");
        assert!(db.reservations_of_order(&refused).await.unwrap_or_default().is_empty(), "[{name}]");
        let report = db.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(report.is_clean(), "[{name}] {report:?}");
        writer.shutdown().await;
    }
}
