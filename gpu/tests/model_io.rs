//! Training, the model directory (safetensors + manifest), loading errors,
//! determinism and batch-independence of predictions.

mod common;

use autoglm_gpu::manifest::{MANIFEST_FILE, WEIGHTS_FILE};
use autoglm_gpu::{GpuError, NluModel};
use autoglm_nlu::model::IntentSlotModel;
use autoglm_nlu::{Intent, SlotKind};
use common::{set_manifest, tiny_config, tiny_model, Scratch};

const TEXTS: [&str; 5] = ["明天上午10点来打扫厨房", "取消订单A1023", "clean my kitchen tomorrow at 3pm", "好的", ""];

#[test]
fn trains_saves_loads_and_predicts_identically() {
    let report = tiny_model(7);
    assert_eq!(report.epochs.len(), 6);
    assert!(report.epochs.last().map(|p| p.loss) < report.epochs.first().map(|p| p.loss), "loss falls");
    // The held-out split holds whole templates the model never saw, so score the templates themselves.
    let seen = autoglm_gpu::train::evaluate(&report.model, &common::tiny_corpus(70)).expect("evaluate");
    assert!(seen.intent_accuracy >= 0.95, "templates are learnt: {seen:?}");
    assert!(seen.slot_f1 >= 0.9, "spans are learnt: {seen:?}");
    assert_eq!((report.train_examples, report.held_out_examples), (240, 0));
    // With a held-out split the metrics come from texts never trained on.
    let config = autoglm_gpu::TrainConfig { held_out_fraction: 0.3, epochs: 1, ..tiny_config(7) };
    let held = autoglm_gpu::train(&config, &common::tiny_corpus(240), |_| {}).expect("train");
    assert!(held.held_out_examples > 0 && held.train_examples > 0);
    assert_eq!(held.metrics.examples, held.held_out_examples);
    let dir = Scratch::new("io");
    report.model.save(dir.path()).expect("save");
    assert!(dir.path().join(WEIGHTS_FILE).is_file() && dir.path().join(MANIFEST_FILE).is_file());
    let loaded = NluModel::load(dir.path(), tch::Device::Cpu).expect("load");
    assert_eq!(loaded.manifest(), report.model.manifest());
    let before = report.model.predict(&TEXTS).expect("predict");
    let after = loaded.predict(&TEXTS).expect("predict");
    assert_eq!(before, after);
    assert_eq!(after[0].intent, Intent::BookService);
    assert_eq!(after[1].intent, Intent::CancelOrder);
    let kinds: Vec<SlotKind> = after[0].spans.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [SlotKind::Time, SlotKind::Service, SlotKind::Room]);
    assert_eq!((after[0].spans[2].start, after[0].spans[2].end), (10, 12));
    let sum: f32 = after[0].intent_probs.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4 && after[0].intent_probs.len() == Intent::ALL.len());
    // The weights really are safetensors.
    let stored = tch::Tensor::read_safetensors(dir.path().join(WEIGHTS_FILE)).expect("safetensors");
    assert!(stored.iter().any(|(name, _)| name == "conv1.weight"));
}

#[test]
fn same_seed_same_weights_and_metrics() {
    let (a, b) = (Scratch::new("det-a"), Scratch::new("det-b"));
    let (ra, rb) = (tiny_model(11), tiny_model(11));
    ra.model.save(a.path()).expect("save");
    rb.model.save(b.path()).expect("save");
    // Compared by name: the file's tensor order is not fixed.
    let read = |d: &Scratch| {
        let mut t = tch::Tensor::read_safetensors(d.path().join(WEIGHTS_FILE)).expect("weights");
        t.sort_by(|x, y| x.0.cmp(&y.0));
        t
    };
    let same = |x: &[(String, tch::Tensor)], y: &[(String, tch::Tensor)]| {
        x.len() == y.len() && x.iter().zip(y).all(|((n, t), (m, u))| n == m && t.equal(u))
    };
    assert!(same(&read(&a), &read(&b)), "same seed must give the same weights");
    assert_eq!(ra.metrics, rb.metrics);
    assert_eq!(
        ra.epochs.iter().map(|p| p.loss).collect::<Vec<_>>(),
        rb.epochs.iter().map(|p| p.loss).collect::<Vec<_>>()
    );
    let c = Scratch::new("det-c");
    let examples = common::tiny_corpus(240);
    let other = autoglm_gpu::train(&tiny_config(12), &examples, |_| {}).expect("train");
    other.model.save(c.path()).expect("save");
    assert!(!same(&read(&a), &read(&c)), "another seed gives other weights");
}

#[test]
fn predictions_do_not_depend_on_batch_mates_and_long_input_is_cut() {
    let model = tiny_model(7).model;
    let long = format!("取消订单A1023{}", "好".repeat(200));
    let alone: Vec<_> = TEXTS.iter().map(|t| model.predict(&[t]).expect("one")[0].clone()).collect();
    let together = model.predict(&TEXTS).expect("batch");
    for (a, b) in alone.iter().zip(&together) {
        assert_eq!((a.intent, &a.spans), (b.intent, &b.spans));
        for (p, q) in a.intent_probs.iter().zip(&b.intent_probs) {
            assert!((p - q).abs() < 1e-4);
        }
    }
    let out = model.predict(&[long.as_str()]).expect("long");
    assert!(out[0].spans.iter().all(|s| s.end <= 64));
    // More than one chunk: order is kept.
    let many: Vec<&str> = TEXTS.iter().cycle().take(700).copied().collect();
    let outs = model.predict(&many).expect("many");
    for (i, o) in outs.iter().enumerate() {
        assert_eq!(o.intent, together[i % TEXTS.len()].intent, "row {i}");
    }
}

#[test]
fn load_errors_say_what_is_wrong() {
    let model = tiny_model(7).model;
    let dir = Scratch::new("errors");
    let missing = NluModel::load(dir.path(), tch::Device::Cpu).unwrap_err();
    assert!(matches!(missing, GpuError::MissingFile { what: "model manifest", .. }), "{missing}");

    model.save(dir.path()).expect("save");
    std::fs::remove_file(dir.path().join(WEIGHTS_FILE)).expect("rm");
    let err = NluModel::load(dir.path(), tch::Device::Cpu).unwrap_err();
    assert!(matches!(err, GpuError::MissingFile { what: "model weights", .. }), "{err}");

    model.save(dir.path()).expect("save");
    set_manifest(dir.path(), |m| m["intents"][0] = "order_pizza".into());
    let err = NluModel::load(dir.path(), tch::Device::Cpu).unwrap_err();
    assert!(matches!(err, GpuError::LabelMismatch { what: "intent", .. }), "{err}");

    model.save(dir.path()).expect("save");
    set_manifest(dir.path(), |m| m["tags"].as_array_mut().expect("tags").pop().map(drop).unwrap_or(()));
    let err = NluModel::load(dir.path(), tch::Device::Cpu).unwrap_err();
    assert!(matches!(err, GpuError::LabelMismatch { what: "tag", .. }), "{err}");

    model.save(dir.path()).expect("save");
    set_manifest(dir.path(), |m| m["hyper"]["channels"] = 40.into());
    let err = NluModel::load(dir.path(), tch::Device::Cpu).unwrap_err();
    assert!(matches!(err, GpuError::ShapeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("shape"), "{err}");

    model.save(dir.path()).expect("save");
    std::fs::write(dir.path().join(MANIFEST_FILE), "{not json").expect("write");
    let err = NluModel::load(dir.path(), tch::Device::Cpu).unwrap_err();
    assert!(matches!(err, GpuError::Manifest { .. }), "{err}");

    model.save(dir.path()).expect("save");
    std::fs::write(dir.path().join(WEIGHTS_FILE), b"garbage").expect("write");
    let err = NluModel::load(dir.path(), tch::Device::Cpu).unwrap_err();
    assert!(matches!(err, GpuError::Weights { .. }), "{err}");
}

#[test]
fn bad_training_config_is_rejected() {
    let examples = common::tiny_corpus(10);
    let config = autoglm_gpu::TrainConfig { epochs: 0, ..tiny_config(1) };
    assert!(matches!(autoglm_gpu::train(&config, &examples, |_| {}), Err(GpuError::InvalidConfig(_))));
    assert!(matches!(autoglm_gpu::train(&tiny_config(1), &[], |_| {}), Err(GpuError::NoExamples(_))));
}
