//! The NLU service: rules-only answers without a model, and the operator's
//! lexicon reloaded when its file changes (a broken file keeps the old one).

use std::time::{Duration, SystemTime};

use autoglm_core::catalog::Service;
use autoglm_gpu::service::LexiconWatch;
use autoglm_gpu::{ModelPool, NluError, NluService, PoolConfig};
use autoglm_nlu::lexicon::{Lexicon, BUILTIN_TOML};
use chrono::{DateTime, FixedOffset};

mod common;

async fn service() -> NluService {
    let config = PoolConfig { devices: Some(vec!["cpu".into()]), ..PoolConfig::default() };
    let pool = ModelPool::start(config).await.expect("pool");
    NluService::new(pool, Lexicon::builtin(), FixedOffset::east_opt(8 * 3600).expect("+08:00"))
}

fn reference() -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339("2026-03-05T09:00:00+08:00").ok()
}

/// Writes `text` to `path` and moves its modification time by `age_secs`, so
/// two writes within one clock tick still look different.
fn write(path: &std::path::Path, text: &str, age_secs: u64) {
    std::fs::write(path, text).expect("write lexicon");
    let file = std::fs::File::options().write(true).open(path).expect("open lexicon");
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + age_secs)).expect("mtime");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lexicon_file_is_reloaded_when_it_changes_and_kept_when_broken() {
    let scratch = common::Scratch::new("lexicon");
    let path = scratch.path().join("lexicon.toml");
    write(&path, BUILTIN_TOML, 1);
    let nlu = service().await;
    let mut watch = LexiconWatch::new(path.clone());
    assert_eq!(watch.poll(&nlu), Ok(None), "unchanged file: nothing to do");

    let word = "拾掇拾掇";
    let before = nlu.parse(&format!("明天来{word}"), None, reference()).await.expect("parse");
    assert_eq!(before.slots.service, None);

    let anchor = "[services.cleaning]\nzh = [";
    let edited = BUILTIN_TOML.replacen(anchor, &format!("{anchor}\"{word}\", "), 1);
    assert_ne!(edited, BUILTIN_TOML, "the edit applies");
    write(&path, &edited, 2);
    let entries = watch.poll(&nlu).expect("reload").expect("changed");
    assert_eq!(entries, Lexicon::builtin().len() + 1);
    let after = nlu.parse(&format!("明天来{word}"), None, reference()).await.expect("parse");
    assert_eq!(after.slots.service, Some(Service::Cleaning));

    write(&path, "version = 1\n[services.gardening]\nzh = [\"种花\"]\n", 3);
    let err = watch.poll(&nlu).expect_err("unknown service");
    assert!(err.contains("gardening"), "{err}");
    let still = nlu.parse(&format!("明天来{word}"), None, reference()).await.expect("parse");
    assert_eq!(still.slots.service, Some(Service::Cleaning), "the lexicon in use is kept");
    nlu.pool().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_the_rules_answer_and_bad_text_is_refused() {
    let nlu = service().await;
    let r = nlu.parse("明天上午10点来打扫厨房", None, reference()).await.expect("parse");
    assert_eq!(r.slots.start.as_deref(), Some("2026-03-06T10:00:00+08:00"));
    assert!(matches!(nlu.parse("  ", None, reference()).await, Err(NluError::InvalidText(_))));
    let long = "扫".repeat(autoglm_gpu::service::MAX_TEXT_CHARS + 1);
    assert!(matches!(nlu.parse(&long, None, reference()).await, Err(NluError::InvalidText(_))));
    let items = vec![("取消订单A1023".to_string(), None, reference()), (String::new(), None, reference())];
    let results = nlu.parse_batch(&items).await.expect("batch");
    assert_eq!(results[0].as_ref().map(|r| r.slots.order_id.clone()), Ok(Some("A1023".into())));
    assert!(results[1].is_err(), "a bad item fails alone");
    nlu.pool().shutdown().await;
}
