//! Throughput and latency of the intent+slot model, raw and through the pool,
//! on every device `devices()` reports.
//!
//! ```text
//! ./dev cargo bench -p autoglm-gpu --bench pool            # CPU build
//! AUTOGLM_BENCH_MODEL=models/intent_slot ./dev cargo bench -p autoglm-gpu --bench pool
//! AUTOGLM_BENCH_SECS=1 ...                                 # seconds per measurement (default 1.5)
//! AUTOGLM_BENCH_WAIT_US=0 ...                              # the pool's max_wait_us (default 1000)
//! ```
//! Without `AUTOGLM_BENCH_MODEL` a default-size model is trained for one
//! epoch first (speed does not depend on how well it is trained).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use autoglm_gpu::{devices, train, ModelPool, NluModel, PoolConfig, TrainConfig};
use tokio::task::JoinSet;

struct Row {
    device: String,
    mode: String,
    sentences_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    extra: String,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn bench_secs() -> Duration {
    let secs = std::env::var("AUTOGLM_BENCH_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(1.5);
    Duration::from_secs_f64(secs.clamp(0.1, 60.0))
}

/// The pool's `max_wait_us` (`AUTOGLM_BENCH_WAIT_US`, default 1000).
fn bench_wait_us() -> u64 {
    std::env::var("AUTOGLM_BENCH_WAIT_US").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000)
}

fn model_dir(scratch: &std::path::Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    if let Ok(dir) = std::env::var("AUTOGLM_BENCH_MODEL") {
        return Ok(PathBuf::from(dir));
    }
    let examples = autoglm_nlu::corpus::generate(1, 2000);
    let config = TrainConfig { epochs: 1, version: "bench".into(), ..Default::default() };
    let started = Instant::now();
    let report = train(&config, &examples, |_| {})?;
    eprintln!("trained a bench model (1 epoch, 2000 examples) in {:.1}s", started.elapsed().as_secs_f64());
    report.model.save(scratch)?;
    Ok(scratch.to_path_buf())
}

/// The raw model at a fixed batch size: calls per second and per-call latency.
fn bench_raw(model: &NluModel, texts: &[String], batch: usize, device: &str) -> Row {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut offset = 0;
    let mut next = || {
        let start = offset % (refs.len() - batch);
        offset += batch;
        &refs[start..start + batch]
    };
    for _ in 0..20 {
        let _ = model.predict_texts(next());
    }
    let budget = bench_secs();
    let started = Instant::now();
    let mut lat = Vec::new();
    let mut sentences = 0usize;
    while started.elapsed() < budget && lat.len() < 1_000_000 {
        let t = Instant::now();
        if model.predict_texts(next()).is_err() {
            break;
        }
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        sentences += batch;
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    Row {
        device: device.to_string(),
        mode: format!("raw batch {batch}"),
        sentences_per_s: sentences as f64 / secs,
        p50_us: percentile(&lat, 0.5),
        p99_us: percentile(&lat, 0.99),
        extra: format!("{} calls", lat.len()),
    }
}

/// The pool with `callers` concurrent callers each sending one sentence at a time.
async fn bench_pool(pool: &ModelPool, texts: Arc<Vec<String>>, callers: usize, device: &str) -> Row {
    let budget = bench_secs();
    let started = Instant::now();
    let mut set = JoinSet::new();
    for c in 0..callers {
        let (pool, texts) = (pool.clone(), texts.clone());
        set.spawn(async move {
            let mut lat = Vec::new();
            let mut i = c * 7;
            while started.elapsed() < budget && lat.len() < 1_000_000 {
                let t = Instant::now();
                if pool.predict(&texts[i % texts.len()]).await.is_err() {
                    break;
                }
                lat.push(t.elapsed().as_secs_f64() * 1e6);
                i += 1;
            }
            lat
        });
    }
    let mut lat = Vec::new();
    while let Some(Ok(mut l)) = set.join_next().await {
        lat.append(&mut l);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let status = pool.models().await;
    let mean_batch = status.first().map_or(0.0, |s| s.mean_batch);
    Row {
        device: device.to_string(),
        mode: format!("pool {callers} callers"),
        sentences_per_s: lat.len() as f64 / secs,
        p50_us: percentile(&lat, 0.5),
        p99_us: percentile(&lat, 0.99),
        extra: format!("mean batch {mean_batch:.1} (cumulative)"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Criterion-style filters and --bench flags are accepted and ignored.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scratch = std::env::temp_dir().join(format!("autoglm-bench-model-{}", std::process::id()));
    let dir = model_dir(&scratch)?;
    let texts: Vec<String> = autoglm_nlu::corpus::generate(3, 16_384).into_iter().map(|e| e.text).collect();
    let mean_chars = texts.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / texts.len() as f64;
    let texts = Arc::new(texts);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(cores.max(2)).enable_all().build()?;
    let mut rows = Vec::new();
    for device in devices() {
        let cpu = device.kind == autoglm_gpu::DeviceKind::Cpu;
        // On the CPU: libtorch threads = cores, then one thread (several workers share the cores).
        let setups: Vec<(usize, usize)> = if cpu { vec![(cores, 1), (1, cores)] } else { vec![(cores, 1)] };
        for (threads, workers) in setups {
            tch::set_num_threads(threads as i32);
            let model = NluModel::load(&dir, device.device())?;
            eprintln!(
                "{}: {} weights, mean sentence {mean_chars:.1} chars, {threads} libtorch threads",
                device.name,
                model.parameter_count()
            );
            let label = format!("{} ({threads}t)", device.name);
            // A GPU needs far bigger batches than the CPU to be kept busy.
            let batches: &[usize] = if cpu { &[1, 32, 256] } else { &[1, 32, 256, 1024, 4096] };
            for &batch in batches {
                rows.push(bench_raw(&model, &texts, batch, &label));
            }
            let config = PoolConfig {
                devices: Some(vec![device.name.clone()]),
                cpu_workers: workers,
                max_batch: if cpu { 256 } else { 2048 },
                max_wait_us: bench_wait_us(),
                queue_capacity: 65_536,
                ..Default::default()
            };
            let label = format!("{} ({workers}w x {threads}t)", device.name);
            runtime.block_on(async {
                let pool = ModelPool::start(config).await?;
                pool.load("intent_slot", &dir).await?;
                let callers: &[usize] = if cpu { &[1, 64, 512] } else { &[1, 512, 8192] };
                for &callers in callers {
                    rows.push(bench_pool(&pool, texts.clone(), callers, &label).await);
                }
                pool.shutdown().await;
                Ok::<_, Box<dyn std::error::Error>>(())
            })?;
        }
    }
    println!("\nmean sentence {mean_chars:.1} chars; {cores} cores");
    println!("{:<18} {:<18} {:>14} {:>11} {:>11}  notes", "device", "mode", "sentences/s", "p50 µs", "p99 µs");
    for r in &rows {
        println!(
            "{:<18} {:<18} {:>14.0} {:>11.1} {:>11.1}  {}",
            r.device, r.mode, r.sentences_per_s, r.p50_us, r.p99_us, r.extra
        );
    }
    if std::env::var("AUTOGLM_BENCH_MODEL").is_err() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    Ok(())
}
