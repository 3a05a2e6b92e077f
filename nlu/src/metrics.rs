//! Evaluation: intent accuracy and span-level slot precision / recall / F1 (exact kind + start + end).

use std::collections::BTreeMap;
use std::fmt;

use crate::corpus::Example;
use crate::model::SlotSpan;
use crate::{Intent, SlotKind};

/// Span counts for one slot kind (or all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Predicted spans that match a gold span exactly.
    pub correct: usize,
    /// Predicted spans.
    pub predicted: usize,
    /// Gold spans.
    pub gold: usize,
}

impl Counts {
    /// Correct / predicted (1 when nothing was predicted and nothing was expected, else 0 for none predicted).
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted, self.gold == 0)
    }

    /// Correct / gold (1 when there was nothing to find).
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.gold, true)
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    fn add(&mut self, other: Counts) {
        self.correct += other.correct;
        self.predicted += other.predicted;
        self.gold += other.gold;
    }
}

fn ratio(num: usize, den: usize, empty_is_perfect: bool) -> f64 {
    if den == 0 {
        if empty_is_perfect {
            1.0
        } else {
            0.0
        }
    } else {
        num as f64 / den as f64
    }
}

/// Accumulated scores over a test set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Cases seen.
    pub cases: usize,
    /// Cases whose intent was right.
    pub intent_correct: usize,
    /// Per gold intent: (right, total).
    pub per_intent: BTreeMap<Intent, (usize, usize)>,
    /// (gold, predicted) intent pairs that differed, with counts.
    pub confusions: BTreeMap<(Intent, Intent), usize>,
    /// Span counts per slot kind.
    pub per_kind: BTreeMap<SlotKind, Counts>,
}

impl Evaluation {
    /// An empty evaluation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scores one case: the gold intent and spans against the predicted ones.
    pub fn add(&mut self, gold_intent: Intent, gold: &[SlotSpan], predicted_intent: Intent, predicted: &[SlotSpan]) {
        self.cases += 1;
        let right = gold_intent == predicted_intent;
        self.intent_correct += usize::from(right);
        let entry = self.per_intent.entry(gold_intent).or_default();
        entry.0 += usize::from(right);
        entry.1 += 1;
        if !right {
            *self.confusions.entry((gold_intent, predicted_intent)).or_default() += 1;
        }
        for kind in SlotKind::ALL {
            let counts = span_counts(*kind, gold, predicted);
            if counts != Counts::default() {
                self.per_kind.entry(*kind).or_default().add(counts);
            }
        }
    }

    /// Scores `predict` over `examples` (`predict` returns the intent and the spans of a text).
    pub fn over(examples: &[Example], mut predict: impl FnMut(&str) -> (Intent, Vec<SlotSpan>)) -> Self {
        let mut eval = Self::new();
        for ex in examples {
            let (intent, spans) = predict(&ex.text);
            eval.add(ex.intent, &ex.spans, intent, &spans);
        }
        eval
    }

    /// Share of cases with the right intent (0 when empty).
    pub fn intent_accuracy(&self) -> f64 {
        ratio(self.intent_correct, self.cases, false)
    }

    /// Span counts over all kinds (micro average).
    pub fn slots(&self) -> Counts {
        let mut total = Counts::default();
        for c in self.per_kind.values() {
            total.add(*c);
        }
        total
    }

    /// Span counts of one kind.
    pub fn kind(&self, kind: SlotKind) -> Counts {
        self.per_kind.get(&kind).copied().unwrap_or_default()
    }
}

/// Exact matches of one kind; each gold span can be matched once.
fn span_counts(kind: SlotKind, gold: &[SlotSpan], predicted: &[SlotSpan]) -> Counts {
    let mut unmatched: Vec<&SlotSpan> = gold.iter().filter(|s| s.kind == kind).collect();
    let gold_n = unmatched.len();
    let mut correct = 0;
    let mut predicted_n = 0;
    for p in predicted.iter().filter(|s| s.kind == kind) {
        predicted_n += 1;
        if let Some(i) = unmatched.iter().position(|g| g.start == p.start && g.end == p.end) {
            unmatched.swap_remove(i);
            correct += 1;
        }
    }
    Counts { correct, predicted: predicted_n, gold: gold_n }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "intent accuracy {:.3} ({}/{})", self.intent_accuracy(), self.intent_correct, self.cases)?;
        writeln!(f, "{:<18} {:>7} {:>7}", "intent", "right", "total")?;
        for (intent, (right, total)) in &self.per_intent {
            writeln!(f, "{:<18} {:>7} {:>7}", intent.as_str(), right, total)?;
        }
        writeln!(f, "{:<18} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6}", "slot", "gold", "pred", "correct", "P", "R", "F1")?;
        let rows = self.per_kind.iter().map(|(k, c)| (k.as_str(), *c)).chain(std::iter::once(("all", self.slots())));
        for (name, c) in rows {
            writeln!(
                f,
                "{:<18} {:>7} {:>7} {:>7} {:>6.3} {:>6.3} {:>6.3}",
                name,
                c.gold,
                c.predicted,
                c.correct,
                c.precision(),
                c.recall(),
                c.f1()
            )?;
        }
        let mut confusions: Vec<_> = self.confusions.iter().collect();
        confusions.sort_by_key(|(pair, n)| (std::cmp::Reverse(**n), **pair));
        for ((gold, predicted), n) in confusions.into_iter().take(5) {
            writeln!(f, "confused {gold} -> {predicted}: {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(kind: SlotKind, start: usize, end: usize) -> SlotSpan {
        SlotSpan { kind, start, end }
    }

    #[test]
    fn counts_exact_matches_per_kind() {
        let mut e = Evaluation::new();
        let gold = [span(SlotKind::Time, 0, 7), span(SlotKind::Service, 8, 10), span(SlotKind::Room, 10, 12)];
        let pred = [span(SlotKind::Time, 0, 6), span(SlotKind::Service, 8, 10), span(SlotKind::Room, 10, 12)];
        e.add(Intent::BookService, &gold, Intent::BookService, &pred);
        e.add(Intent::Confirm, &[], Intent::Deny, &[span(SlotKind::Room, 0, 1)]);
        assert_eq!(e.intent_accuracy(), 0.5);
        assert_eq!(e.kind(SlotKind::Time), Counts { correct: 0, predicted: 1, gold: 1 });
        assert_eq!(e.kind(SlotKind::Service), Counts { correct: 1, predicted: 1, gold: 1 });
        let room = e.kind(SlotKind::Room);
        assert_eq!(room, Counts { correct: 1, predicted: 2, gold: 1 });
        assert_eq!(room.precision(), 0.5);
        assert_eq!(room.recall(), 1.0);
        assert!((room.f1() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(e.slots(), Counts { correct: 2, predicted: 4, gold: 3 });
        assert_eq!(e.confusions.get(&(Intent::Confirm, Intent::Deny)), Some(&1));
        assert_eq!(e.per_intent.get(&Intent::BookService), Some(&(1, 1)));
    }

    #[test]
    fn duplicates_match_once_and_empty_is_sane() {
        let gold = [span(SlotKind::Room, 0, 2)];
        let c = span_counts(SlotKind::Room, &gold, &[gold[0], gold[0]]);
        assert_eq!(c, Counts { correct: 1, predicted: 2, gold: 1 });
        let none = Counts::default();
        assert_eq!((none.precision(), none.recall(), none.f1()), (1.0, 1.0, 1.0));
        let missed = Counts { correct: 0, predicted: 0, gold: 2 };
        assert_eq!((missed.precision(), missed.recall(), missed.f1()), (0.0, 0.0, 0.0));
        assert_eq!(Evaluation::new().intent_accuracy(), 0.0);
    }

    #[test]
    fn table_lists_kinds_and_total() {
        let ex = vec![Example {
            text: "取消订单A1023".into(),
            lang: crate::Lang::Zh,
            intent: Intent::CancelOrder,
            spans: vec![span(SlotKind::OrderId, 4, 9)],
        }];
        let e = Evaluation::over(&ex, |_| (Intent::CancelOrder, vec![span(SlotKind::OrderId, 4, 9)]));
        let table = e.to_string();
        assert!(table.contains("intent accuracy 1.000 (1/1)"), "{table}");
        assert!(table.contains("order_id") && table.contains("all"), "{table}");
        let wrong = Evaluation::over(&ex, |_| (Intent::QueryOrder, vec![]));
        assert!(wrong.to_string().contains("confused cancel_order -> query_order: 1"), "{wrong}");
    }
}
