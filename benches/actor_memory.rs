//! Memory per order actor: live, after passivation, and rehydrated again.
//! Heap bytes in use come from glibc's `mallinfo2`, so the figure is the
//! allocator's own count, not a resident-set estimate.
//!
//! `cargo bench --bench actor_memory`

use autoglm_actors::payments::SandboxGateway;
use autoglm_actors::{Caller, Engine, EngineConfig, EngineParts};
use autoglm_core::OrderState;
use autoglm_storage::{CacheConfig, OrderCache, OrderChange, Writer, WriterConfig};
use std::sync::Arc;
use std::time::Duration;

const ORDERS: usize = 20_000;

#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// Heap bytes in use (small and large allocations).
fn heap_in_use() -> usize {
    // SAFETY: mallinfo2 only reads allocator statistics; glibc >= 2.33.
    let m = unsafe { mallinfo2() };
    m.uordblks + m.hblkhd
}

async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// The smallest possible ractor actor, to separate the framework's cost from ours.
struct Bare;

impl ractor::Actor for Bare {
    type Msg = ();
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ractor::ActorRef<()>, _: ()) -> Result<(), ractor::ActorProcessingErr> {
        Ok(())
    }
}

async fn bare_actor_cost() -> f64 {
    settle().await;
    let before = heap_in_use();
    let mut actors = Vec::with_capacity(ORDERS);
    for _ in 0..ORDERS {
        let (a, h) = ractor::Actor::spawn(None, Bare, ()).await.unwrap_or_else(|e| panic!("{e}"));
        actors.push((a, h));
    }
    settle().await;
    let per = (heap_in_use().saturating_sub(before)) as f64 / ORDERS as f64;
    for (a, h) in actors {
        a.stop(None);
        let _ = h.await;
    }
    per
}

/// Bare actors started through a supervisor: framework + supervision + registry.
async fn supervised_bare_cost() -> f64 {
    use autoglm_supervisor::{ChildSpec, Registry, Restart, StartCtx, SupervisorArgs, SupervisorHandle};
    let registry = Registry::new("mem");
    let (sup, _) = SupervisorHandle::spawn(SupervisorArgs::new("bare", "supervisor", registry.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    settle().await;
    let before = heap_in_use();
    for i in 0..ORDERS {
        let spec = ChildSpec {
            id: format!("A{i}"),
            kind: "bare".into(),
            restart: Restart::Transient,
            start: Arc::new(|ctx: StartCtx| {
                Box::pin(async move {
                    let (a, _) = ractor::Actor::spawn_linked(None, Bare, (), ctx.supervisor).await?;
                    Ok(a.get_cell())
                })
            }),
        };
        let cell = sup.start_child(spec).await.unwrap_or_else(|e| panic!("{e}"));
        if std::env::var("BARE_MSG").is_ok() {
            let _ = cell.send_message(());
        }
    }
    settle().await;
    let per = (heap_in_use().saturating_sub(before)) as f64 / ORDERS as f64;
    sup.shutdown(Duration::from_secs(10)).await;
    per
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let db = autoglm_storage::testing::fresh_sqlite().await;
        // Confirmed orders: live actors with no payment timer, as most are.
        let writer = Writer::spawn(db.clone(), WriterConfig::default());
        let start = autoglm_storage::testing::at("2030-03-06T10:00:00+08:00");
        let mut ids = Vec::with_capacity(ORDERS);
        let mut pending = tokio::task::JoinSet::new();
        for i in 0..ORDERS {
            let mut order =
                autoglm_storage::testing::sample_order(&format!("A{i}"), &format!("C{}", i % 500), start, 120);
            order.state = OrderState::Confirmed;
            ids.push(order.id.clone());
            let w = writer.clone();
            pending.spawn(async move { w.submit(OrderChange::insert(order)).await });
        }
        while let Some(r) = pending.join_next().await {
            r.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut cfg = EngineConfig::default();
        cfg.actors.order_idle_ms = 3_000;
        let sandbox = Arc::new(SandboxGateway::new(b"memory-bench-secret".to_vec()));
        let engine = Engine::start(EngineParts {
            cfg,
            db: db.clone(),
            writer,
            // No cache: every wake reads the database, so the cache is not counted.
            cache: OrderCache::new(CacheConfig { l1_capacity: 0, ..CacheConfig::default() }, None),
            gateway: sandbox.clone(),
            sandbox: Some(sandbox),
            node: "mem".into(),
            scope: "mem".into(),
            clustered: false,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        println!("bare ractor actor (framework only): {:.0} bytes each", bare_actor_cost().await);
        println!(
            "bare actor under a supervisor, with a registry entry: {:.0} bytes each",
            supervised_bare_cost().await
        );
        let admin = Caller::admin();
        let wake_all = |engine: Engine, ids: Vec<autoglm_core::OrderId>| async move {
            for chunk in ids.chunks(500) {
                let mut set = tokio::task::JoinSet::new();
                for id in chunk {
                    let (e, id) = (engine.clone(), id.clone());
                    set.spawn(async move { e.live_order(&Caller::admin(), &id).await.map(|_| ()) });
                }
                while let Some(r) = set.join_next().await {
                    r.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
                }
            }
        };
        let _ = engine.get_order(&admin, &ids[0]).await;
        settle().await;
        let before = heap_in_use();
        wake_all(engine.clone(), ids.clone()).await;
        settle().await;
        let live = engine.live_orders();
        let with_live = heap_in_use();
        let per_live = (with_live.saturating_sub(before)) as f64 / live.max(1) as f64;
        println!(
            "live order actors: {live}, heap +{} KiB, {per_live:.0} bytes per live actor",
            (with_live - before.min(with_live)) / 1024
        );

        // Let them passivate (idle), then measure what passivated orders keep.
        for _ in 0..100 {
            if engine.live_orders() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        settle().await;
        let passivated = heap_in_use();
        println!(
            "after passivation: live {}, heap {:+} bytes per passivated order (state only in the database)",
            engine.live_orders(),
            (passivated as f64 - before as f64) / ORDERS as f64
        );

        wake_all(engine.clone(), ids.clone()).await;
        settle().await;
        let again = heap_in_use();
        let live = engine.live_orders();
        println!(
            "rehydrated again: live {live}, {:.0} bytes per rehydrated actor (relative to the passivated heap)",
            (again as f64 - passivated as f64) / live.max(1) as f64
        );
        engine.shutdown().await;
    });
}
