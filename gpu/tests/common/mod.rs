//! Shared helpers of the integration tests: scratch directories and a tiny
//! model trained in a second or two.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use autoglm_gpu::{train, Hyper, TrainConfig, TrainReport};
use autoglm_nlu::corpus::Example;
use autoglm_nlu::model::SlotSpan;
use autoglm_nlu::{Intent, Lang, SlotKind};

/// A fresh scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("autoglm-gpu-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small, fast configuration.
pub fn tiny_config(seed: u64) -> TrainConfig {
    TrainConfig {
        name: "intent_slot".into(),
        version: "tiny-1".into(),
        seed,
        epochs: 6,
        batch_size: 16,
        learning_rate: 1e-2,
        held_out_fraction: 0.0,
        hyper: Hyper { embed_dim: 16, channels: 32, kernel: 3, dilation: 2, dropout: 0.1 },
        threads: Some(1),
        ..Default::default()
    }
}

/// A fixed little corpus (independent of the real generator, so the
/// thresholds below do not move when it changes): `n` examples cycling
/// through a few templates.
pub fn tiny_corpus(n: usize) -> Vec<Example> {
    type Template = (&'static str, Intent, &'static [(SlotKind, &'static str)]);
    const TEMPLATES: &[Template] = &[
        (
            "明天上午10点来打扫厨房",
            Intent::BookService,
            &[(SlotKind::Time, "明天上午10点"), (SlotKind::Service, "打扫"), (SlotKind::Room, "厨房")],
        ),
        ("取消订单A1023", Intent::CancelOrder, &[(SlotKind::OrderId, "A1023")]),
        (
            "clean my kitchen tomorrow at 3pm",
            Intent::BookService,
            &[(SlotKind::Service, "clean"), (SlotKind::Room, "kitchen"), (SlotKind::Time, "tomorrow at 3pm")],
        ),
        ("cancel order B77", Intent::CancelOrder, &[(SlotKind::OrderId, "B77")]),
        ("好的", Intent::Confirm, &[]),
        ("不要", Intent::Deny, &[]),
        ("今天天气怎么样", Intent::Other, &[]),
    ];
    (0..n)
        .map(|i| {
            let (text, intent, parts) = TEMPLATES[i % TEMPLATES.len()];
            let spans = parts
                .iter()
                .map(|(kind, part)| {
                    let byte = text.find(part).expect("part of the text");
                    let start = text[..byte].chars().count();
                    SlotSpan { kind: *kind, start, end: start + part.chars().count() }
                })
                .collect();
            Example { text: text.to_string(), lang: Lang::detect(text), intent, spans }
        })
        .collect()
}

/// Trains the tiny model on [`tiny_corpus`].
pub fn tiny_model(seed: u64) -> TrainReport {
    train(&tiny_config(seed), &tiny_corpus(240), |_| {}).expect("tiny training")
}

/// Saves a tiny model under `dir`, with `version` written into its manifest.
pub fn save_tiny(dir: &Path, version: &str) {
    let report = tiny_model(7);
    report.model.save(dir).expect("save");
    set_manifest(dir, |m| m["version"] = version.into());
}

/// Edits `dir/manifest.json` in place.
pub fn set_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    edit(&mut m);
    std::fs::write(&path, serde_json::to_string_pretty(&m).expect("json")).expect("write");
}
