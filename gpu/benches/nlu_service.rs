//! The full NLU path per sentence, as `POST /v1/nlu/parse` runs it: the model
//! through the pool, then rules, time parser and merge (`NluService::parse`).
//! One caller at a time (latency) and 256 concurrent callers (throughput).
//!
//! `AUTOGLM_BENCH_MODEL=data/models/intent_slot ./dev cargo bench -p autoglm-gpu --bench nlu_service`
//! (without a model folder a small one is trained first; speed does not depend on its quality).

use std::path::PathBuf;

use autoglm_gpu::{train, ModelPool, NluService, PoolConfig, TrainConfig};
use autoglm_nlu::lexicon::Lexicon;
use chrono::FixedOffset;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const SENTENCES: &[&str] = &[
    "明天上午10点来打扫厨房",
    "后天下午三点到五点需要一个保洁阿姨",
    "把订单A1023改到这周六上午",
    "卫生间马桶堵了，今晚七点前能来吗",
    "clean my kitchen tomorrow at 3pm",
    "I need a nanny next Tuesday from 9 to 11am",
    "move order A1023 to Saturday morning",
    "rate the cleaner 5 stars",
];

fn model_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("AUTOGLM_BENCH_MODEL") {
        return PathBuf::from(dir);
    }
    let dir = std::env::temp_dir().join(format!("autoglm-bench-service-{}", std::process::id()));
    let config = TrainConfig { epochs: 1, version: "bench".into(), ..Default::default() };
    let report = train(&config, &autoglm_nlu::corpus::generate(1, 2000), |_| {}).expect("bench model");
    report.model.save(&dir).expect("save bench model");
    dir
}

fn bench_service(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = model_dir();
    let nlu = runtime.block_on(async {
        let pool = ModelPool::start(PoolConfig::default()).await.expect("pool");
        let offset = FixedOffset::east_opt(8 * 3600).expect("+08:00");
        let nlu = NluService::new(pool, Lexicon::builtin(), offset);
        nlu.load_default_model(&dir).await.expect("model");
        nlu
    });
    let mut group = c.benchmark_group("nlu_full_path");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_caller", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            runtime.block_on(nlu.parse(SENTENCES[i % SENTENCES.len()], None, None)).expect("parse")
        })
    });
    const CALLERS: usize = 256;
    group.throughput(Throughput::Elements(CALLERS as u64));
    group.bench_function("256_concurrent_callers", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let calls: Vec<_> = (0..CALLERS)
                    .map(|i| {
                        let nlu = nlu.clone();
                        tokio::spawn(async move { nlu.parse(SENTENCES[i % SENTENCES.len()], None, None).await })
                    })
                    .collect();
                for call in calls {
                    call.await.expect("task").expect("parse");
                }
            })
        })
    });
    group.finish();
    runtime.block_on(nlu.pool().shutdown());
}

criterion_group!(benches, bench_service);
criterion_main!(benches);
