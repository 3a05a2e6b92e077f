//! Dispatch alone: orders per second through the contract net (call for
//! proposals, bids, ranking, award) with 1,000 worker actors in memory.
//! The database is not involved: the award is not committed.
//!
//! `cargo bench --bench dispatch` (or `./dev bench`).

use autoglm::demo;
use autoglm_actors::negotiation::{place_in_memory, Placement};
use autoglm_actors::payments::SandboxGateway;
use autoglm_actors::{Engine, EngineConfig, EngineParts};
use autoglm_core::order::OrderRequest;
use autoglm_core::{Address, CustomerId, Order, OrderId, Service};
use autoglm_storage::{CacheConfig, OrderCache, Writer, WriterConfig};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKERS: usize = 1000;
const IN_FLIGHT: usize = 64;

async fn engine(max_fanout: usize) -> Engine {
    let db = autoglm_storage::testing::fresh_sqlite().await;
    for w in demo::workers(WORKERS, 11) {
        db.upsert_worker(&w).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let sandbox = Arc::new(SandboxGateway::new(b"bench-secret-bench".to_vec()));
    Engine::start(EngineParts {
        cfg: {
            let mut cfg = EngineConfig::default();
            cfg.dispatch.max_fanout = max_fanout;
            cfg
        },
        writer: Writer::spawn(db.clone(), WriterConfig::default()),
        cache: OrderCache::new(CacheConfig::default(), None),
        db,
        gateway: sandbox.clone(),
        sandbox: Some(sandbox),
        node: "bench".into(),
        scope: format!("bench-{max_fanout}"),
        clustered: false,
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

fn random_order(engine: &Engine, rng: &mut StdRng) -> Order {
    let now = engine.clock().now();
    let day = now + chrono::Duration::days(rng.gen_range(1..60));
    let start = day.date_naive().and_hms_opt(rng.gen_range(9..16), 0, 0).unwrap_or_default();
    let start = start.and_local_timezone(autoglm_core::default_offset()).single().unwrap_or(now);
    let service = Service::ALL[rng.gen_range(0..Service::ALL.len())];
    let minutes = autoglm_core::policy::Policies::default().service(service).min_minutes;
    let req = OrderRequest {
        service,
        rooms: vec![],
        start,
        duration_minutes: Some(minutes),
        address: Address {
            text: "bench".into(),
            lat: demo::CENTRE.lat + rng.gen_range(-0.05..0.05),
            lon: demo::CENTRE.lon + rng.gen_range(-0.05..0.05),
        },
        notes: None,
    };
    let valid = req.validate(&Default::default(), &now).unwrap_or_else(|e| panic!("{e}"));
    Order::new(OrderId(engine.shared().next_id('A')), CustomerId::from("C1"), valid, now)
}

/// Negotiates `n` orders, `IN_FLIGHT` at a time; returns (elapsed, placed).
async fn negotiate(engine: &Engine, n: u64, seed: u64) -> (Duration, u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let orders: Vec<Order> = (0..n).map(|_| random_order(engine, &mut rng)).collect();
    let start = Instant::now();
    let mut placed = 0;
    let mut tasks = tokio::task::JoinSet::new();
    for order in orders {
        if tasks.len() >= IN_FLIGHT {
            if let Some(Ok(true)) = tasks.join_next().await {
                placed += 1;
            }
        }
        let e = engine.clone();
        tasks.spawn(async move {
            match place_in_memory(e.shared(), &order).await {
                Ok(Placement::Placed(o)) => {
                    // Free the slot again so calendars stay at a steady load.
                    if let Some(w) = o.worker {
                        e.shared().release_worker(&w.id, &o.id);
                    }
                    true
                }
                Ok(Placement::Nobody { .. }) => false,
                Err(e) => {
                    eprintln!("negotiation error: {e}");
                    false
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        if let Ok(true) = r {
            placed += 1;
        }
    }
    (start.elapsed(), placed)
}

/// Bookings the worker actors still hold once the releases have been taken
/// up (waits up to a second for them): 0 unless something leaks, which
/// would fill the calendars and slow every later round.
async fn slots_still_held(engine: &Engine) -> u64 {
    fn held(snaps: &[autoglm_supervisor::Snapshot]) -> u64 {
        snaps.iter().map(|s| s.fields["bookings"].as_u64().unwrap_or(0) + held(&s.children)).sum()
    }
    let mut n = held(&engine.actors());
    for _ in 0..100 {
        if n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        n = held(&engine.actors());
    }
    n
}

fn dispatch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"));
    // Plain runs first, side by side, to print orders/s per fan-out.
    for fanout in [8, 16, 32] {
        let engine = rt.block_on(engine(fanout));
        let (elapsed, placed) = rt.block_on(negotiate(&engine, 20_000, 1));
        println!(
            "dispatch: max_fanout {fanout:>2}: 20000 orders with {WORKERS} workers in {:.2}s = {:.0} orders/s ({placed} placed)",
            elapsed.as_secs_f64(),
            20_000.0 / elapsed.as_secs_f64()
        );
        let held = rt.block_on(slots_still_held(&engine));
        assert_eq!(held, 0, "every placed order was released, yet workers still hold {held} bookings");
        rt.block_on(engine.shutdown());
    }
    let engine = rt.block_on(engine(autoglm_actors::config::DispatchConfig::default().max_fanout));
    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("contract_net_1000_workers", |b| {
        b.iter_custom(|iters| rt.block_on(negotiate(&engine, iters, iters)).0);
    });
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
