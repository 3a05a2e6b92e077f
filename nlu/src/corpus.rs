//! The synthetic training corpus (templates × lexicon × slot values × typos) and the hand-written test set.
//!
//! [`generate`] / [`generate_with`] make labelled utterances in zh and en over
//! all intents, with exact char spans for every slot kind; same seed, same
//! corpus. [`split`] holds out a stable fraction by text hash (a text and its
//! duplicates land on the same side). [`load_labelled`] reads the hand-written
//! JSONL set (`nlu/data/handwritten.jsonl`, [`HANDWRITTEN`]).

use serde::{Deserialize, Serialize};

use crate::lexicon::Lexicon;
use crate::model::SlotSpan;
use crate::{Intent, Lang};

mod generate;
mod labelled;
mod phrases;
pub mod rng;
mod templates;
mod typos;

pub use generate::generate_with;
pub use labelled::{load_labelled, Expect, Labelled};

/// The hand-written labelled test set (JSON lines; see [`load_labelled`]).
pub const HANDWRITTEN: &str = include_str!("../data/handwritten.jsonl");

/// One labelled utterance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The utterance.
    pub text: String,
    /// Its language.
    pub lang: Lang,
    /// Its intent.
    pub intent: Intent,
    /// Its slot spans (char offsets, end exclusive), in order.
    pub spans: Vec<SlotSpan>,
}

/// Generates `n` examples deterministically from `seed` with the built-in lexicon.
pub fn generate(seed: u64, n: usize) -> Vec<Example> {
    generate_with(&Lexicon::builtin(), seed, n)
}

/// Splits `examples` into (train, held out): a text goes to held out when its seeded hash falls
/// under `held_out_fraction` (0–1), so the split is stable and duplicates never straddle it.
pub fn split(examples: Vec<Example>, held_out_fraction: f64, seed: u64) -> (Vec<Example>, Vec<Example>) {
    let fraction = held_out_fraction.clamp(0.0, 1.0);
    examples.into_iter().partition(|e| (rng::hash_text(&e.text, seed) >> 11) as f64 / (1u64 << 53) as f64 >= fraction)
}

#[cfg(test)]
mod tests;
