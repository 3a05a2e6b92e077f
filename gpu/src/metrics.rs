//! Held-out quality: intent accuracy and span-level slot precision/recall/F1
//! (a span counts only when kind, start and end all match).

use autoglm_nlu::corpus::Example;
use autoglm_nlu::model::{ModelOutput, SlotSpan};

use crate::manifest::Metrics;

/// The gold spans the model can see: spans starting past `max_len` are
/// dropped and the rest cut at `max_len`.
pub fn visible_spans(spans: &[SlotSpan], max_len: usize) -> Vec<SlotSpan> {
    spans
        .iter()
        .filter(|s| s.start < max_len && s.start < s.end)
        .map(|s| SlotSpan { end: s.end.min(max_len), ..*s })
        .collect()
}

/// Scores `predicted` (one output per example, in order) against `examples`.
pub fn score(examples: &[Example], predicted: &[ModelOutput], max_len: usize) -> Metrics {
    let mut correct = 0usize;
    let (mut tp, mut n_pred, mut n_gold) = (0usize, 0usize, 0usize);
    for (ex, out) in examples.iter().zip(predicted) {
        correct += usize::from(ex.intent == out.intent);
        let gold = visible_spans(&ex.spans, max_len);
        tp += out.spans.iter().filter(|s| gold.contains(s)).count();
        n_pred += out.spans.len();
        n_gold += gold.len();
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    // With no gold and no predicted spans the tagger made no mistake.
    let (precision, recall) =
        if n_pred == 0 && n_gold == 0 { (1.0, 1.0) } else { (ratio(tp, n_pred), ratio(tp, n_gold)) };
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    let n = examples.len().min(predicted.len());
    Metrics {
        intent_accuracy: ratio(correct, n),
        slot_precision: precision,
        slot_recall: recall,
        slot_f1: f1,
        examples: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autoglm_nlu::{Intent, Lang, SlotKind};

    fn ex(intent: Intent, spans: Vec<SlotSpan>) -> Example {
        Example { text: "x".repeat(10), lang: Lang::En, intent, spans }
    }

    fn out(intent: Intent, spans: Vec<SlotSpan>) -> ModelOutput {
        ModelOutput { intent, confidence: 1.0, intent_probs: vec![], spans }
    }

    #[test]
    fn counts_exact_spans_only() {
        let s = |start, end| SlotSpan { kind: SlotKind::Time, start, end };
        let examples = [ex(Intent::Confirm, vec![s(0, 2), s(3, 5)]), ex(Intent::Deny, vec![])];
        let predicted = [out(Intent::Confirm, vec![s(0, 2), s(3, 4)]), out(Intent::Confirm, vec![])];
        let m = score(&examples, &predicted, 64);
        assert_eq!(m.intent_accuracy, 0.5);
        assert_eq!((m.slot_precision, m.slot_recall), (0.5, 0.5));
        assert_eq!(m.slot_f1, 0.5);
        assert_eq!(visible_spans(&[s(2, 9), s(8, 9)], 5), vec![s(2, 5)]);
    }
}
