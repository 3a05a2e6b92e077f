//! [`NluModel`]: a trained network with its vocabulary and manifest; batch
//! prediction, span decoding, and the model directory format.

use std::path::Path;
use std::sync::Mutex;

use autoglm_nlu::labels::bio_tags;
use autoglm_nlu::model::{IntentSlotModel, ModelError, ModelOutput, SlotSpan};
use autoglm_nlu::{Intent, SlotKind};
use tch::{nn, Device, Kind, Tensor};

use crate::manifest::{Manifest, WEIGHTS_FILE};
use crate::net::{Logits, Net};
use crate::vocab::{CharVocab, PAD};
use crate::GpuError;

/// Most sentences per forward pass on the CPU: sentences are sorted by length
/// and cut into chunks, so each chunk pads little.
const CPU_CHUNK: usize = 64;
/// Most sentences per forward pass on a GPU (larger: launches cost more than padding).
const GPU_CHUNK: usize = 1024;

/// A loaded (or freshly trained) intent+slot model on one device.
///
/// Thread-safe: libtorch tensors are not `Sync`, so the network sits behind a
/// mutex; each pool worker owns its own copy per device anyway.
pub struct NluModel {
    manifest: Manifest,
    vocab: CharVocab,
    device: Device,
    inner: Mutex<Inner>,
}

struct Inner {
    vs: nn::VarStore,
    net: Net,
}

impl std::fmt::Debug for NluModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NluModel")
            .field("name", &self.manifest.name)
            .field("version", &self.manifest.version)
            .field("device", &self.device)
            .field("vocab", &self.vocab.len())
            .finish_non_exhaustive()
    }
}

/// A batch ready for the network: token ids `[rows, width]` and each row's length.
pub(crate) struct Encoded {
    pub tokens: Vec<i64>,
    pub rows: usize,
    pub width: usize,
    pub lens: Vec<usize>,
}

/// Encodes `texts`, padding every row to the longest (at most `max_len`).
pub(crate) fn encode_batch(vocab: &CharVocab, texts: &[&str], max_len: usize) -> Encoded {
    let rows: Vec<Vec<i64>> = texts.iter().map(|t| vocab.encode(t, max_len)).collect();
    let width = rows.iter().map(Vec::len).max().unwrap_or(1);
    let mut tokens = Vec::with_capacity(rows.len() * width);
    for row in &rows {
        tokens.extend_from_slice(row);
        tokens.extend(std::iter::repeat_n(PAD, width - row.len()));
    }
    Encoded { rows: rows.len(), width, lens: rows.iter().map(Vec::len).collect(), tokens }
}

impl Encoded {
    /// The token tensor on `device`.
    pub(crate) fn tensor(&self, device: Device) -> Result<Tensor, tch::TchError> {
        let rows = i64::try_from(self.rows).unwrap_or(i64::MAX);
        let width = i64::try_from(self.width).unwrap_or(i64::MAX);
        Tensor::f_from_slice(&self.tokens)?.f_view([rows, width])?.f_to_device(device)
    }
}

/// Turns per-character BIO tag ids into spans. `B-x` always opens a span; `I-x`
/// continues an open `x` span or, without one, opens it; `O` closes.
pub fn decode_tags(tags: &[usize]) -> Vec<SlotSpan> {
    let mut spans = Vec::new();
    let mut open: Option<SlotSpan> = None;
    for (pos, &tag) in tags.iter().enumerate() {
        let kind = if tag == 0 { None } else { SlotKind::ALL.get((tag - 1) / 2).copied() };
        let begins = tag % 2 == 1;
        match (kind, open.as_mut()) {
            (Some(k), Some(span)) if !begins && span.kind == k => span.end = pos + 1,
            (Some(k), _) => {
                spans.extend(open.take());
                open = Some(SlotSpan { kind: k, start: pos, end: pos + 1 });
            }
            (None, _) => spans.extend(open.take()),
        }
    }
    spans.extend(open);
    spans
}

impl NluModel {
    /// A model for `manifest`, randomly initialised (training starts here) or
    /// zeroed (weights are loaded next).
    pub(crate) fn fresh(manifest: Manifest, device: Device, random: bool) -> Result<Self, GpuError> {
        let vocab = CharVocab::from_entries(&manifest.vocab)
            .map_err(|reason| GpuError::Manifest { path: "<in memory>".to_string(), reason })?;
        manifest.hyper.validate().map_err(GpuError::InvalidConfig)?;
        let vs = nn::VarStore::new(device);
        let net = Net::new(
            &vs.root(),
            vocab.len() as i64,
            &manifest.hyper,
            (manifest.intents.len() as i64, manifest.tags.len() as i64),
            random,
        )?;
        Ok(Self { manifest, vocab, device, inner: Mutex::new(Inner { vs, net }) })
    }

    /// Loads `dir/manifest.json` and `dir/model.safetensors` onto `device`.
    ///
    /// Fails with [`GpuError::MissingFile`] when either file is absent,
    /// [`GpuError::Manifest`] for an unreadable or invalid manifest,
    /// [`GpuError::LabelMismatch`] when its labels are not this build's, and
    /// [`GpuError::ShapeMismatch`] / [`GpuError::MissingTensor`] /
    /// [`GpuError::UnexpectedTensor`] when the weights do not fit the manifest.
    pub fn load(dir: impl AsRef<Path>, device: Device) -> Result<Self, GpuError> {
        let dir = dir.as_ref();
        let manifest = Manifest::read(dir)?;
        let weights = dir.join(WEIGHTS_FILE);
        if !weights.is_file() {
            return Err(GpuError::MissingFile { path: weights.display().to_string(), what: "model weights" });
        }
        crate::check_device(device)?;
        let model = Self::fresh(manifest, device, false)?;
        model.load_weights(&weights)?;
        Ok(model)
    }

    fn load_weights(&self, path: &Path) -> Result<(), GpuError> {
        let bad = |e: tch::TchError| GpuError::Weights { path: path.display().to_string(), reason: e.to_string() };
        let stored: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(path).map_err(bad)?.into_iter().collect();
        let inner = self.lock();
        let mut vars = inner.vs.variables();
        if let Some(extra) = stored.keys().find(|k| !vars.contains_key(*k)) {
            return Err(GpuError::UnexpectedTensor { name: extra.clone() });
        }
        let _guard = tch::no_grad_guard();
        for (name, var) in vars.iter_mut() {
            let src = stored.get(name).ok_or_else(|| GpuError::MissingTensor { name: name.clone() })?;
            if src.size() != var.size() {
                return Err(GpuError::ShapeMismatch { name: name.clone(), expected: var.size(), got: src.size() });
            }
            var.f_copy_(src).map_err(bad)?;
        }
        Ok(())
    }

    /// Writes `dir/model.safetensors` and `dir/manifest.json` (creating `dir`).
    /// The weights go to a temporary name first, so a reader never sees half a file.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<(), GpuError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| GpuError::io(dir, e))?;
        let tmp = dir.join(".model.tmp.safetensors");
        self.lock()
            .vs
            .save(&tmp)
            .map_err(|e| GpuError::Weights { path: tmp.display().to_string(), reason: e.to_string() })?;
        let weights = dir.join(WEIGHTS_FILE);
        std::fs::rename(&tmp, &weights).map_err(|e| GpuError::io(&weights, e))?;
        self.manifest.write(dir)
    }

    /// The manifest (name, version, labels, metrics...).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Replaces the manifest's record fields (metrics, training info); the
    /// labels, vocab and sizes must stay as they are.
    pub(crate) fn manifest_mut(&mut self) -> &mut Manifest {
        &mut self.manifest
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The model's version.
    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The character vocabulary.
    pub fn vocab(&self) -> &CharVocab {
        &self.vocab
    }

    /// Number of weights.
    pub fn parameter_count(&self) -> i64 {
        self.lock().vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the weights intact (inference never writes them).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the network and var store (training).
    pub(crate) fn with_net<R>(&self, f: impl FnOnce(&nn::VarStore, &Net) -> R) -> R {
        let inner = self.lock();
        f(&inner.vs, &inner.net)
    }

    /// Predicts each text (inference mode, no gradients). Batches are sorted
    /// by length and run in chunks, so short sentences are not padded to the
    /// longest one; outputs come back in input order.
    pub fn predict_texts(&self, texts: &[&str]) -> Result<Vec<ModelOutput>, GpuError> {
        let _guard = tch::no_grad_guard();
        let inner = self.lock();
        let chunk_size = if self.device.is_cuda() { GPU_CHUNK } else { CPU_CHUNK };
        if texts.len() <= 1 {
            return self.predict_chunk(&inner.net, texts);
        }
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].chars().count().min(self.manifest.max_len));
        let mut out: Vec<Option<ModelOutput>> = vec![None; texts.len()];
        for chunk in order.chunks(chunk_size) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            for (&i, o) in chunk.iter().zip(self.predict_chunk(&inner.net, &batch)?) {
                out[i] = Some(o);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    fn predict_chunk(&self, net: &Net, texts: &[&str]) -> Result<Vec<ModelOutput>, GpuError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let enc = encode_batch(&self.vocab, texts, self.manifest.max_len);
        let Logits { intent, tags } = net.forward(&enc.tensor(self.device)?, false)?;
        let probs = intent.f_softmax(-1, Kind::Float)?.f_to_device(Device::Cpu)?;
        let probs = Vec::<f32>::try_from(&probs.f_flatten(0, -1)?)?;
        let tags = tags.f_argmax(-1, false)?.f_to_device(Device::Cpu)?;
        let tags = Vec::<i64>::try_from(&tags.f_flatten(0, -1)?)?;
        let n_intents = Intent::ALL.len();
        let outputs = (0..enc.rows)
            .map(|r| {
                let p = probs[r * n_intents..(r + 1) * n_intents].to_vec();
                let row_tags: Vec<usize> = tags[r * enc.width..r * enc.width + enc.lens[r]]
                    .iter()
                    .map(|&t| usize::try_from(t).unwrap_or(0))
                    .collect();
                output_from(p, &row_tags)
            })
            .collect();
        Ok(outputs)
    }
}

/// Builds one [`ModelOutput`] from intent probabilities and tag ids.
fn output_from(intent_probs: Vec<f32>, tags: &[usize]) -> ModelOutput {
    let (best, confidence) =
        intent_probs.iter().enumerate().fold((0, f32::MIN), |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc });
    let intent = Intent::ALL.get(best).copied().unwrap_or(Intent::Other);
    ModelOutput { intent, confidence, intent_probs, spans: decode_tags(tags) }
}

impl IntentSlotModel for NluModel {
    fn predict(&self, texts: &[&str]) -> Result<Vec<ModelOutput>, ModelError> {
        self.predict_texts(texts).map_err(|e| ModelError::Failed(e.to_string()))
    }
}

/// Number of BIO tags (the tag head's width).
pub fn tag_count() -> usize {
    bio_tags().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(kind: SlotKind, start: usize, end: usize) -> SlotSpan {
        SlotSpan { kind, start, end }
    }

    #[test]
    fn decodes_bio_including_orphan_inside_tags() {
        let b = |k: SlotKind| autoglm_nlu::labels::begin_tag(k);
        let i = |k: SlotKind| autoglm_nlu::labels::begin_tag(k) + 1;
        let (t, r) = (SlotKind::Time, SlotKind::Room);
        assert_eq!(
            decode_tags(&[b(t), i(t), 0, i(r), i(r), b(r), i(t)]),
            vec![span(t, 0, 2), span(r, 3, 5), span(r, 5, 6), span(t, 6, 7)]
        );
        assert_eq!(decode_tags(&[0, 0]), vec![]);
        assert_eq!(decode_tags(&[b(t), b(t)]), vec![span(t, 0, 1), span(t, 1, 2)]);
    }

    #[test]
    fn encoding_pads_to_the_longest_row() {
        let v = CharVocab::build(["abc"], 1);
        let enc = encode_batch(&v, &["ab", "", "abcabc"], 4);
        assert_eq!((enc.rows, enc.width), (3, 4));
        assert_eq!(enc.lens, vec![2, 1, 4]);
        assert_eq!(&enc.tokens[4..8], &[crate::vocab::UNK, PAD, PAD, PAD]);
    }
}
