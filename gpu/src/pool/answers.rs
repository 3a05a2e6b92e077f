//! The answers of one model version to short texts, kept so that the next
//! identical text skips the queue and the forward pass.
//!
//! A model's output depends on the text alone (times are resolved after it,
//! against each request's reference), so a kept answer is exactly what a
//! forward pass would give. Only short texts are kept: they are the ones
//! customers repeat (确认, 好的, 取消订单, yes); long first messages rarely
//! come twice. Each version has its own cache, so a hot swap starts empty.

use std::sync::atomic::{AtomicU64, Ordering};

use autoglm_nlu::model::ModelOutput;

/// Kept answers of one version, by the folded text the model read.
pub(crate) struct Answers {
    cache: Option<moka::sync::Cache<Box<str>, ModelOutput>>,
    max_chars: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Answers {
    /// Keeps up to `capacity` answers to texts of at most `max_chars`
    /// characters; `capacity` 0 or `max_chars` 0 keeps none.
    pub(crate) fn new(capacity: u64, max_chars: usize) -> Self {
        let cache = (capacity > 0 && max_chars > 0).then(|| moka::sync::Cache::new(capacity));
        Self { cache, max_chars, hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    /// Whether answers to `text` are kept.
    fn keeps(&self, text: &str) -> bool {
        self.cache.is_some() && text.chars().nth(self.max_chars).is_none()
    }

    /// The kept answer to `text`, counting the lookup when `text` is one that is kept.
    pub(crate) fn get(&self, text: &str) -> Option<ModelOutput> {
        let cache = self.cache.as_ref().filter(|_| self.keeps(text))?;
        let found = cache.get(text);
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        crate::telemetry::kept_answer(found.is_some());
        found
    }

    /// Keeps the model's answer to `text` (when `text` is short enough).
    pub(crate) fn put(&self, text: &str, output: &ModelOutput) {
        if let Some(cache) = self.cache.as_ref().filter(|_| self.keeps(text)) {
            cache.insert(text.into(), output.clone());
        }
    }

    /// Lookups answered from the cache, and lookups of kept-length texts that missed.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autoglm_nlu::Intent;

    fn output(intent: Intent) -> ModelOutput {
        ModelOutput { intent, confidence: 0.9, intent_probs: vec![0.9], spans: vec![] }
    }

    #[test]
    fn keeps_short_texts_only_and_counts_their_lookups() {
        let a = Answers::new(100, 4);
        assert_eq!(a.get("确认"), None);
        a.put("确认", &output(Intent::Confirm));
        assert_eq!(a.get("确认").map(|o| o.intent), Some(Intent::Confirm));
        a.put("取消订单吧", &output(Intent::CancelOrder));
        assert_eq!(a.get("取消订单吧"), None, "five characters is over the limit of four");
        assert_eq!(a.counts(), (1, 1), "a text over the limit is not a lookup");
    }

    #[test]
    fn zero_capacity_or_length_keeps_nothing() {
        for a in [Answers::new(0, 12), Answers::new(100, 0)] {
            a.put("yes", &output(Intent::Confirm));
            assert_eq!(a.get("yes"), None);
            assert_eq!(a.counts(), (0, 0));
        }
    }
}
