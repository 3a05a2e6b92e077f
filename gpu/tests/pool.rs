//! The model pool on the CPU: batching, back-pressure, hot swap, unload and
//! worker crashes. Timers run on tokio's paused clock.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use autoglm_gpu::pool::CrashMode;
use autoglm_gpu::{GpuError, ModelPool, ModelState, PoolConfig};
use autoglm_nlu::model::ModelError;
use autoglm_nlu::Intent;
use common::{save_tiny, set_manifest, Scratch};
use tokio::task::JoinSet;

const NAME: &str = "intent_slot";

/// Two saved versions of the tiny model (trained once per test binary).
fn model_dirs() -> &'static (Scratch, Scratch) {
    static DIRS: OnceLock<(Scratch, Scratch)> = OnceLock::new();
    DIRS.get_or_init(|| {
        let (v1, v2) = (Scratch::new("pool-v1"), Scratch::new("pool-v2"));
        save_tiny(v1.path(), "v1");
        for entry in std::fs::read_dir(v1.path()).expect("v1") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, v2.path().join(path.file_name().expect("name"))).expect("copy");
        }
        set_manifest(v2.path(), |m| m["version"] = "v2".into());
        (v1, v2)
    })
}

fn v1() -> PathBuf {
    model_dirs().0.path().to_path_buf()
}

fn v2() -> PathBuf {
    model_dirs().1.path().to_path_buf()
}

fn config(max_batch: usize, max_wait: Duration, queue_capacity: usize) -> PoolConfig {
    PoolConfig {
        max_batch,
        max_wait_us: max_wait.as_micros() as u64,
        queue_capacity,
        devices: Some(vec!["cpu".into()]),
        cpu_threads: Some(1),
        cpu_workers: 1,
        // These tests are about the queue: every text goes to the model.
        answer_cache: 0,
        ..Default::default()
    }
}

async fn pool_with_v1(config: PoolConfig) -> ModelPool {
    let pool = ModelPool::start(config).await.expect("pool");
    let status = pool.load(NAME, v1()).await.expect("load v1");
    assert_eq!((status.version.as_str(), status.state), ("v1", ModelState::Ready));
    pool
}

#[tokio::test(start_paused = true)]
async fn concurrent_requests_are_batched() {
    let pool = pool_with_v1(config(16, Duration::from_millis(5), 1024)).await;
    let mut callers = JoinSet::new();
    for i in 0..64 {
        let pool = pool.clone();
        let text = if i % 2 == 0 { "取消订单A1023" } else { "明天上午10点来打扫厨房" };
        callers.spawn(async move { pool.predict(text).await });
    }
    let mut n = 0;
    while let Some(result) = callers.join_next().await {
        let out = result.expect("task").expect("prediction");
        assert!(matches!(out.intent, Intent::CancelOrder | Intent::BookService));
        n += 1;
    }
    assert_eq!(n, 64);
    let status = &pool.models().await[0];
    assert_eq!(status.requests, 64);
    assert!(status.mean_batch > 1.0, "mean batch {} (batches {})", status.mean_batch, status.batches);
    assert!(status.batches <= 8, "{status:?}");
    // A lone request still goes out once max_wait has passed.
    let out = pool.predict("好的").await.expect("lone request");
    assert_eq!(out.intent, Intent::Confirm);
    pool.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn repeated_short_texts_are_answered_from_kept_answers_until_a_swap() {
    let cfg = PoolConfig { answer_cache: 100, answer_cache_max_chars: 12, ..config(8, Duration::ZERO, 64) };
    let pool = pool_with_v1(cfg).await;
    let first = pool.predict("好的").await.expect("first");
    for _ in 0..5 {
        assert_eq!(pool.predict("好的").await.expect("kept"), first, "the kept answer is the model's");
    }
    let status = pool.models().await[0].clone();
    assert_eq!((status.requests, status.answer_cache_hits, status.answer_cache_misses), (1, 5, 1), "{status:?}");

    // In a batch only the texts not kept go to the model; long texts are never kept.
    let long = "明天上午10点来打扫厨房和卫生间";
    let out = pool.predict_batch(&["好的", "取消订单A1023", long, "好的"]).await.expect("batch");
    assert_eq!(out.iter().map(|o| o.intent).collect::<Vec<_>>()[..2], [Intent::Confirm, Intent::CancelOrder]);
    assert_eq!((out[0].clone(), out[3].clone()), (first.clone(), first.clone()));
    pool.predict(long).await.expect("long again");
    let status = pool.models().await[0].clone();
    assert_eq!(status.requests, 4, "取消订单A1023 once, the long text twice: {status:?}");
    assert_eq!((status.answer_cache_hits, status.answer_cache_misses), (7, 2), "{status:?}");

    // A new version keeps its own answers: the first 好的 goes to its model.
    pool.load(NAME, v2()).await.expect("load v2");
    pool.predict("好的").await.expect("v2");
    let status = pool.models().await[0].clone();
    assert_eq!((status.version.as_str(), status.requests, status.answer_cache_hits), ("v2", 1, 0), "{status:?}");
    pool.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn full_queue_fails_fast() {
    // A long max_wait (below the 30 s request timeout) keeps the first requests queued.
    let pool = pool_with_v1(config(64, Duration::from_secs(10), 4)).await;
    let too_many = pool.predict_batch(&["a", "b", "c", "d", "e"]).await.unwrap_err();
    assert!(matches!(&too_many, ModelError::Overloaded(m) if m.contains("queue full (0 waiting)")), "{too_many}");
    let waiting = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.predict_batch(&["a", "b", "c", "d"]).await })
    };
    for _ in 0..1000 {
        if pool.queue_depth(NAME) == Some(4) {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(pool.queue_depth(NAME), Some(4));
    let err = pool.predict("好的").await.unwrap_err();
    assert_eq!(err, ModelError::Overloaded(format!("model {NAME} queue full (4 waiting)")));
    // The queued ones are answered when their max_wait runs out.
    let answered = waiting.await.expect("task").expect("queued requests answered");
    assert_eq!(answered.len(), 4);
    pool.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn hot_swap_under_load_drops_nothing() {
    let pool = pool_with_v1(config(8, Duration::from_millis(1), 4096)).await;
    let mut callers = JoinSet::new();
    for c in 0..8 {
        let pool = pool.clone();
        callers.spawn(async move {
            let mut versions_ok = 0;
            for i in 0..40 {
                let text = if (c + i) % 2 == 0 { "取消订单A1023" } else { "好的" };
                pool.predict(text).await.map_err(|e| format!("caller {c} request {i}: {e}"))?;
                versions_ok += 1;
            }
            Ok::<_, String>(versions_ok)
        });
    }
    // Swap while the callers are busy: once v1 has answered some of them.
    for _ in 0..10_000 {
        if pool.models().await[0].requests >= 16 {
            break;
        }
        tokio::task::yield_now().await;
    }
    let before = pool.models().await[0].clone();
    assert_eq!(before.version, "v1");
    assert!(before.requests >= 16 && before.requests < 320, "{before:?}");
    let status = pool.load(NAME, v2()).await.expect("load v2");
    assert_eq!(status.version, "v2");
    let mut total = 0;
    while let Some(result) = callers.join_next().await {
        total += result.expect("task").expect("no request dropped");
    }
    assert_eq!(total, 320);
    let models = pool.models().await;
    assert_eq!(models.len(), 1, "the old version is gone: {models:?}");
    assert_eq!((models[0].version.as_str(), models[0].state), ("v2", ModelState::Ready));
    assert!(models[0].requests > 0, "v2 answered the rest");
    assert!(pool.supervisor().lookup(&format!("{NAME}#1.0@cpu")).is_none(), "v1 worker stopped");
    pool.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn unload_then_predict_is_not_loaded() {
    let pool = pool_with_v1(config(8, Duration::from_millis(1), 64)).await;
    pool.predict("好的").await.expect("loaded");
    pool.unload(NAME).await.expect("unload");
    assert_eq!(pool.predict("好的").await.unwrap_err(), ModelError::NotLoaded(NAME.into()));
    assert_eq!(pool.unload(NAME).await.unwrap_err(), ModelError::NotLoaded(NAME.into()));
    assert!(pool.models().await.is_empty());
    assert_eq!(pool.supervisor().live_count(), 0);
    let err = pool.load("other", std::env::temp_dir().join("no-such-model-dir")).await.unwrap_err();
    assert!(matches!(err, GpuError::MissingFile { .. }), "{err}");
    pool.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn crashed_worker_is_restarted_and_the_pool_keeps_answering() {
    let pool = pool_with_v1(config(8, Duration::from_millis(1), 64)).await;
    assert!(pool.inject_crash(NAME, CrashMode::Now));
    let out = pool.predict("取消订单A1023").await.expect("answered after a crash");
    assert_eq!(out.intent, Intent::CancelOrder);
    // A crash in the middle of a batch loses it; the caller side retries once.
    assert!(wait_alive(&pool).await);
    assert!(pool.inject_crash(NAME, CrashMode::NextBatch));
    let outs = pool.predict_batch(&["好的", "不要"]).await.expect("retried after a mid-batch crash");
    assert_eq!((outs[0].intent, outs[1].intent), (Intent::Confirm, Intent::Deny));
    assert!(wait_alive(&pool).await);
    let status = &pool.models().await[0];
    assert_eq!(status.workers[0].restarts, 2, "{status:?}");
    assert!(status.workers[0].alive);
    pool.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn several_workers_share_one_queue() {
    let mut cfg = config(4, Duration::from_millis(1), 1024);
    cfg.cpu_workers = 2;
    let pool = pool_with_v1(cfg).await;
    let texts: Vec<&str> = ["好的", "不要", "取消订单A1023"].iter().cycle().take(90).copied().collect();
    let outs = pool.predict_batch(&texts).await.expect("batch");
    assert_eq!(outs.len(), 90);
    assert_eq!(outs[2].intent, Intent::CancelOrder);
    let status = &pool.models().await[0];
    assert_eq!(status.devices, ["cpu", "cpu"]);
    assert_eq!(status.requests, 90);
    assert!(status.batches >= 90 / 4);
    pool.shutdown().await;
    assert!(matches!(pool.predict("好的").await, Err(ModelError::Failed(_))));
}

/// Waits (bounded, on the paused clock) until the first worker is alive again.
async fn wait_alive(pool: &ModelPool) -> bool {
    for _ in 0..200 {
        if pool.models().await.first().is_some_and(|m| m.workers.iter().all(|w| w.alive)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}
