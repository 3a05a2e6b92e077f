//! Training: a deterministic run (same seed, same corpus, same device and
//! thread count → same weights) of Adam over intent cross-entropy plus
//! per-character tag cross-entropy, with metrics on a held-out split.

use std::time::{Duration, Instant};

use autoglm_nlu::corpus::Example;
use autoglm_nlu::labels::{begin_tag, bio_tags};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use crate::manifest::{intent_labels, Hyper, Manifest, Metrics, TrainingInfo, MANIFEST_FORMAT, MAX_LEN};
use crate::metrics::{score, visible_spans};
use crate::model::{encode_batch, NluModel};
use crate::net::Net;
use crate::vocab::{CharVocab, PAD, UNK};
use crate::GpuError;

/// Target value the losses skip (padding positions).
const IGNORE: i64 = -100;

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Model name written to the manifest (the pool's registry key).
    pub name: String,
    /// Model version written to the manifest.
    pub version: String,
    /// Seeds weight initialisation, dropout, the split and the shuffling.
    pub seed: u64,
    /// Passes over the training split.
    pub epochs: usize,
    /// Examples per optimizer step.
    pub batch_size: usize,
    /// Adam's initial learning rate (decays linearly to a tenth).
    pub learning_rate: f64,
    /// Share of the examples held out for the metrics (0 ≤ f < 1).
    pub held_out_fraction: f64,
    /// Network sizes.
    pub hyper: Hyper,
    /// Longest input read.
    pub max_len: usize,
    /// Characters seen fewer times in the training split map to `<unk>`.
    pub min_char_count: usize,
    /// Chance of replacing a training character by `<unk>`, so the model copes with unseen ones.
    pub unk_dropout: f64,
    /// Where to train.
    pub device: Device,
    /// libtorch CPU threads (`None`: leave libtorch's setting). The default, 1,
    /// trained 10x faster than 2 on a busy 2-core box (20k examples × 8 epochs
    /// in 69 s); libtorch's threads stall whenever a neighbour takes a core.
    pub threads: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            name: "intent_slot".to_string(),
            version: "dev".to_string(),
            seed: 42,
            epochs: 8,
            batch_size: 64,
            learning_rate: 8e-3,
            held_out_fraction: 0.1,
            hyper: Hyper::default(),
            max_len: MAX_LEN,
            min_char_count: 1,
            unk_dropout: 0.02,
            device: Device::Cpu,
            threads: Some(1),
        }
    }
}

impl TrainConfig {
    fn validate(&self) -> Result<(), GpuError> {
        let bad = |m: String| Err(GpuError::InvalidConfig(m));
        if self.epochs == 0 || self.batch_size == 0 {
            return bad("epochs and batch_size must be at least 1".to_string());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(format!("learning_rate {} must be positive", self.learning_rate));
        }
        if !(0.0..1.0).contains(&self.held_out_fraction) || !(0.0..1.0).contains(&self.unk_dropout) {
            return bad("held_out_fraction and unk_dropout must be in [0, 1)".to_string());
        }
        if !(1..=1024).contains(&self.max_len) {
            return bad(format!("max_len {} is out of range 1..=1024", self.max_len));
        }
        if self.name.trim().is_empty() || self.version.trim().is_empty() {
            return bad("name and version must not be empty".to_string());
        }
        self.hyper.validate().map_err(GpuError::InvalidConfig)?;
        crate::check_device(self.device)
    }
}

/// Reported after every epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Total epochs.
    pub epochs: usize,
    /// Mean training loss over the epoch (intent + tags).
    pub loss: f64,
    /// Held-out metrics after the epoch (zeros without a held-out split).
    pub held_out: Metrics,
    /// Time since training started.
    pub elapsed: Duration,
}

/// The outcome of [`train`].
#[derive(Debug)]
pub struct TrainReport {
    /// The trained model (its manifest carries the metrics); save it with [`NluModel::save`].
    pub model: NluModel,
    /// One entry per epoch.
    pub epochs: Vec<Progress>,
    /// Held-out metrics of the final model.
    pub metrics: Metrics,
    /// Examples trained on.
    pub train_examples: usize,
    /// Examples held out.
    pub held_out_examples: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// The corpus's deterministic PRNG, also used for shuffling and `<unk>` dropout.
pub use autoglm_nlu::corpus::rng::SplitMix64;

/// Splits `examples` into (train, held-out) with the corpus's own split
/// ([`autoglm_nlu::corpus::split`]): by a seeded hash of the text, so
/// duplicates of a text never straddle the split and inflate the metrics.
pub fn split(examples: &[Example], held_out_fraction: f64, seed: u64) -> (Vec<Example>, Vec<Example>) {
    autoglm_nlu::corpus::split(examples.to_vec(), held_out_fraction, seed)
}

/// Trains a model on `examples` (split into train and held-out per `config`),
/// calling `progress` after each epoch.
pub fn train(
    config: &TrainConfig,
    examples: &[Example],
    mut progress: impl FnMut(Progress),
) -> Result<TrainReport, GpuError> {
    config.validate()?;
    // libtorch's RNG and thread count are process-wide: one training at a time
    // keeps a run reproducible when others start beside it.
    static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let (train_set, held_out) = split(examples, config.held_out_fraction, config.seed);
    if train_set.is_empty() {
        return Err(GpuError::NoExamples(format!("{} examples, none left for training", examples.len())));
    }
    if let Some(n) = config.threads {
        tch::set_num_threads(i32::try_from(n.max(1)).unwrap_or(1));
    }
    tch::manual_seed(config.seed as i64);
    if let Device::Cuda(_) = config.device {
        tch::Cuda::manual_seed_all(config.seed);
    }
    let vocab = CharVocab::build(train_set.iter().map(|e| e.text.as_str()), config.min_char_count);
    let mut model = NluModel::fresh(initial_manifest(config, &vocab), config.device, true)?;
    let mut opt = model.with_net(|vs, _| nn::Adam::default().build(vs, config.learning_rate))?;
    let mut rng = SplitMix64::new(config.seed);
    let steps_per_epoch = train_set.len().div_ceil(config.batch_size);
    let total_steps = (steps_per_epoch * config.epochs).max(1);
    let mut step = 0usize;
    let mut epochs = Vec::with_capacity(config.epochs);
    for epoch in 1..=config.epochs {
        let mut order: Vec<usize> = (0..train_set.len()).collect();
        rng.shuffle(&mut order);
        let mut loss_sum = 0.0;
        for chunk in order.chunks(config.batch_size) {
            let lr = config.learning_rate * (1.0 - 0.9 * step as f64 / total_steps as f64);
            opt.set_lr(lr);
            let batch: Vec<&Example> = chunk.iter().map(|&i| &train_set[i]).collect();
            let targets = Targets::new(&batch, model.vocab(), config, &mut rng);
            loss_sum += model.with_net(|_, net| targets.step(net, &mut opt, config.device))?;
            step += 1;
        }
        let held = evaluate(&model, &held_out)?;
        let p = Progress {
            epoch,
            epochs: config.epochs,
            loss: loss_sum / steps_per_epoch as f64,
            held_out: held,
            elapsed: started.elapsed(),
        };
        progress(p.clone());
        epochs.push(p);
    }
    let metrics = epochs.last().map(|p| p.held_out).unwrap_or_default();
    let elapsed = started.elapsed();
    let manifest = model.manifest_mut();
    manifest.metrics = metrics;
    manifest.training.seconds = (elapsed.as_secs_f64() * 1000.0).round() / 1000.0;
    manifest.training.train_examples = train_set.len();
    manifest.training.held_out_examples = held_out.len();
    Ok(TrainReport {
        model,
        epochs,
        metrics,
        train_examples: train_set.len(),
        held_out_examples: held_out.len(),
        elapsed,
    })
}

/// Scores `model` on `examples` (zeros for an empty set).
pub fn evaluate(model: &NluModel, examples: &[Example]) -> Result<Metrics, GpuError> {
    if examples.is_empty() {
        return Ok(Metrics::default());
    }
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let predicted = model.predict_texts(&texts)?;
    Ok(score(examples, &predicted, model.manifest().max_len))
}

fn initial_manifest(config: &TrainConfig, vocab: &CharVocab) -> Manifest {
    Manifest {
        format: MANIFEST_FORMAT,
        name: config.name.clone(),
        version: config.version.clone(),
        created_by: format!("autoglm-gpu {}", env!("CARGO_PKG_VERSION")),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        seed: config.seed,
        vocab: vocab.to_entries(),
        intents: intent_labels(),
        tags: bio_tags(),
        max_len: config.max_len,
        hyper: config.hyper.clone(),
        training: TrainingInfo {
            epochs: config.epochs,
            batch_size: config.batch_size,
            learning_rate: config.learning_rate,
            device: format!("{:?}", config.device).to_lowercase(),
            ..Default::default()
        },
        metrics: Metrics::default(),
    }
}

/// One training batch: tokens (with `<unk>` dropout), tag and intent targets.
struct Targets {
    tokens: Vec<i64>,
    tags: Vec<i64>,
    intents: Vec<i64>,
    rows: i64,
    width: i64,
}

impl Targets {
    fn new(batch: &[&Example], vocab: &CharVocab, config: &TrainConfig, rng: &mut SplitMix64) -> Self {
        let texts: Vec<&str> = batch.iter().map(|e| e.text.as_str()).collect();
        let mut enc = encode_batch(vocab, &texts, config.max_len);
        let mut tags = vec![IGNORE; enc.tokens.len()];
        for (r, ex) in batch.iter().enumerate() {
            let row = r * enc.width;
            for t in &mut tags[row..row + enc.lens[r]] {
                *t = 0;
            }
            for span in visible_spans(&ex.spans, enc.lens[r]) {
                let b = begin_tag(span.kind) as i64;
                tags[row + span.start] = b;
                for t in &mut tags[row + span.start + 1..row + span.end] {
                    *t = b + 1;
                }
            }
        }
        if config.unk_dropout > 0.0 {
            for t in enc.tokens.iter_mut().filter(|t| **t != PAD) {
                if rng.next_f64() < config.unk_dropout {
                    *t = UNK;
                }
            }
        }
        let intents = batch.iter().map(|e| e.intent.index() as i64).collect();
        Self { rows: enc.rows as i64, width: enc.width as i64, tokens: enc.tokens, tags, intents }
    }

    /// Forward, backward and one optimizer step; returns the batch loss.
    fn step(&self, net: &Net, opt: &mut nn::Optimizer, device: Device) -> Result<f64, GpuError> {
        let tokens = Tensor::f_from_slice(&self.tokens)?.f_view([self.rows, self.width])?.f_to_device(device)?;
        let tags = Tensor::f_from_slice(&self.tags)?.f_to_device(device)?;
        let intents = Tensor::f_from_slice(&self.intents)?.f_to_device(device)?;
        let logits = net.forward(&tokens, true)?;
        let n_tags = logits.tags.size().last().copied().unwrap_or(1);
        let intent_loss = logits.intent.f_cross_entropy_loss::<Tensor>(&intents, None, Reduction::Mean, IGNORE, 0.0)?;
        let tag_loss = logits.tags.f_reshape([-1, n_tags])?.f_cross_entropy_loss::<Tensor>(
            &tags,
            None,
            Reduction::Mean,
            IGNORE,
            0.0,
        )?;
        let loss = intent_loss.f_add(&tag_loss)?;
        opt.zero_grad();
        loss.f_backward()?;
        opt.clip_grad_norm(5.0);
        opt.step();
        Ok(loss.f_to_kind(Kind::Double)?.f_double_value(&[])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_deterministic_and_keeps_duplicates_together() {
        let examples = autoglm_nlu::corpus::generate(1, 400);
        let (a, b) = split(&examples, 0.2, 9);
        assert_eq!(a.len() + b.len(), 400);
        assert!(!a.is_empty() && !b.is_empty());
        assert_eq!(split(&examples, 0.2, 9), (a.clone(), b.clone()));
        assert!(b.iter().all(|h| !a.iter().any(|t| t.text == h.text)));
        assert!(split(&examples, 0.0, 9).1.is_empty());
    }

    #[test]
    fn prng_shuffles_deterministically() {
        let mut a: Vec<u32> = (0..20).collect();
        let mut b = a.clone();
        SplitMix64::new(3).shuffle(&mut a);
        SplitMix64::new(3).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..20).collect::<Vec<_>>());
    }
}
