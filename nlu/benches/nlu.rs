//! Time parser and the rule-side NLU path (normalizer, time parser, lexicon,
//! rules, merge), per sentence. The model's share is measured by the pool
//! bench in `gpu/benches/pool.rs`.
//!
//! `./dev cargo bench -p autoglm-nlu --bench nlu`

use autoglm_nlu::lexicon::Lexicon;
use autoglm_nlu::understand::understand;
use autoglm_nlu::{time, Lang};
use chrono::{DateTime, NaiveDateTime};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

const ZH: &[&str] = &[
    "明天上午10点来打扫厨房",
    "后天下午三点到五点需要一个保洁阿姨",
    "下周三能不能约个月嫂",
    "把订单A1023改到这周六上午",
    "每周六上午帮我擦玻璃",
    "卫生间马桶堵了，今晚七点前能来吗",
    "给王阿姨打五星",
    "取消我明天的订单",
];

const EN: &[&str] = &[
    "clean my kitchen tomorrow at 3pm",
    "I need a nanny next Tuesday from 9 to 11am",
    "can someone fix the leaking pipe this afternoon",
    "move order A1023 to Saturday morning",
    "window cleaning every Friday at 10",
    "cancel my booking for the day after tomorrow",
    "rate the cleaner 5 stars",
    "book a deep clean for two hours on the 3rd",
];

fn bench_time(c: &mut Criterion) {
    let reference = NaiveDateTime::parse_from_str("2026-03-05T09:00:00", "%Y-%m-%dT%H:%M:%S").expect("reference");
    let mut group = c.benchmark_group("time_parser");
    for (lang, sentences) in [(Lang::Zh, ZH), (Lang::En, EN)] {
        group.throughput(Throughput::Elements(sentences.len() as u64));
        group.bench_function(lang.as_str(), |b| {
            b.iter(|| {
                for s in sentences {
                    black_box(time::parse(black_box(s), lang, reference));
                }
            })
        });
    }
    group.finish();
}

fn bench_understand(c: &mut Criterion) {
    let reference = DateTime::parse_from_rfc3339("2026-03-05T09:00:00+08:00").expect("reference");
    let lexicon = Lexicon::builtin();
    let mut group = c.benchmark_group("nlu_rules_path");
    for (lang, sentences) in [(Lang::Zh, ZH), (Lang::En, EN)] {
        group.throughput(Throughput::Elements(sentences.len() as u64));
        group.bench_function(lang.as_str(), |b| {
            b.iter(|| {
                for s in sentences {
                    black_box(understand(black_box(s), None, reference, &lexicon, None));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_time, bench_understand);
criterion_main!(benches);
