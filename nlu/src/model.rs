//! The intent+slot model, as the NLU sees it: a trait the GPU pool implements.

use serde::{Deserialize, Serialize};

use crate::{Intent, SlotKind};

/// A span the slot tagger marked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlotSpan {
    /// Which slot.
    pub kind: SlotKind,
    /// First character (chars, not bytes).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

/// What the model says about one utterance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// The most likely intent.
    pub intent: Intent,
    /// Its probability.
    pub confidence: f32,
    /// Probability of every intent, indexed like [`Intent::ALL`].
    pub intent_probs: Vec<f32>,
    /// Tagged spans, in order of position.
    pub spans: Vec<SlotSpan>,
}

/// Why a model could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The pool's queue is full; try again later.
    #[error("model pool overloaded: {0}")]
    Overloaded(String),
    /// No model of that name is loaded.
    #[error("no model loaded: {0}")]
    NotLoaded(String),
    /// The model failed (libtorch error, worker crashed).
    #[error("model failed: {0}")]
    Failed(String),
}

/// A batch intent+slot predictor (synchronous; the pool wraps it for async callers).
pub trait IntentSlotModel: Send + Sync {
    /// Predicts each text; the output has one entry per input, in order.
    fn predict(&self, texts: &[&str]) -> Result<Vec<ModelOutput>, ModelError>;
}
