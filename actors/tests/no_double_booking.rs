//! Thousands of concurrent orders for overlapping slots at a few workers, on
//! every database backend: no worker ever holds two overlapping
//! reservations, every order ends assigned or unassignable, nothing is lost.

mod common;

use autoglm_core::{CustomerId, OrderState, Service};
use autoglm_storage::testing::test_databases;
use common::*;
use std::collections::{BTreeMap, HashMap};

const ORDERS: usize = 2400;
const WORKERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_never_double_book() {
    for (backend, db) in test_databases().await {
        let e = engine(db.clone(), quick_config()).await;
        for i in 0..WORKERS {
            e.register_worker(worker(&format!("W{i}"), Service::Cleaning, 3, i as f64 * 0.5))
                .await
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
        }
        // Starts every 30 minutes from 08:00 to 17:30, 120 minutes each: heavy overlap.
        let starts: Vec<_> = (0..20).map(|i| day_at(&e, 2, 8 + i / 2, (i % 2) * 30)).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..ORDERS {
            let e = e.clone();
            let start = starts[i % starts.len()];
            tasks.spawn(async move {
                let customer = CustomerId(format!("C{}", i % 50));
                e.create_order(&customer, request(Service::Cleaning, start, 120), Some(&format!("k{i}"))).await
            });
        }
        let mut states: BTreeMap<OrderState, usize> = BTreeMap::new();
        let mut ids = Vec::new();
        while let Some(res) = tasks.join_next().await {
            let (order, _) = res
                .unwrap_or_else(|e| panic!("{backend}: task panicked: {e}"))
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
            *states.entry(order.state).or_default() += 1;
            ids.push(order.id);
        }
        // Every order answered and ended assigned or unassignable.
        assert_eq!(ids.len(), ORDERS, "{backend}");
        let settled = states.get(&OrderState::AwaitingPayment).copied().unwrap_or(0)
            + states.get(&OrderState::Unassignable).copied().unwrap_or(0);
        assert_eq!(settled, ORDERS, "{backend}: {states:?}");
        // Capacity: at most 6 two-hour jobs in a 12-hour day per worker; at
        // least 3, since every gap of two hours or more gets filled.
        let assigned = states.get(&OrderState::AwaitingPayment).copied().unwrap_or(0);
        assert!((WORKERS * 3..=WORKERS * 6).contains(&assigned), "{backend}: {assigned} assigned");

        // Nothing lost: the database has exactly these orders.
        let by_state = db.count_orders_by_state().await.unwrap_or_default();
        assert_eq!(by_state.values().sum::<u64>(), ORDERS as u64, "{backend}: {by_state:?}");
        // No worker holds two overlapping reservations.
        let mut per_worker: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for id in &ids {
            let rows = db.reservations_of_order(id).await.unwrap_or_default();
            if let (Some(first), Some(last)) = (rows.iter().map(|r| r.1 .0).min(), rows.iter().map(|r| r.1 .0).max()) {
                per_worker.entry(rows[0].0.to_string()).or_default().push((first, last + 1));
            }
        }
        let mut booked = 0;
        for (w, mut ranges) in per_worker {
            ranges.sort();
            booked += ranges.len();
            for pair in ranges.windows(2) {
                assert!(pair[0].1 <= pair[1].0, "{backend}: worker {w} double-booked: {pair:?}");
            }
        }
        assert_eq!(booked, assigned, "{backend}: every assigned order holds a reservation");
        let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert!(report.is_clean(), "{backend}: {report:?}");
        e.shutdown().await;
        eprintln!("{backend}: {ORDERS} orders, {assigned} assigned, states {states:?}");
    }
}
