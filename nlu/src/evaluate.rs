//! Scoring the whole NLU on labelled utterances (the hand-written set): intent
//! accuracy and, per slot, whether the value came out exactly as expected.

use std::collections::BTreeMap;
use std::fmt;

use crate::corpus::Labelled;
use crate::NluResult;

/// The slots compared, in report order.
pub const FIELDS: &[&str] = &["service", "rooms", "start", "date", "end", "duration_minutes", "order_id", "rating"];

/// Scores of the NLU over a labelled set.
#[derive(Debug, Clone, Default)]
pub struct NluReport {
    /// Cases scored.
    pub cases: usize,
    /// Cases whose intent matched.
    pub intent_correct: usize,
    /// Cases whose intent and every compared slot matched.
    pub all_correct: usize,
    /// Per slot: (matched, cases where either side had a value).
    pub fields: BTreeMap<&'static str, (usize, usize)>,
    /// Lines of the cases that missed something, with what differed.
    pub misses: Vec<(usize, String, Vec<String>)>,
}

impl NluReport {
    /// Share of cases with the right intent.
    pub fn intent_accuracy(&self) -> f64 {
        ratio(self.intent_correct, self.cases)
    }

    /// Share of cases entirely right.
    pub fn exact_rate(&self) -> f64 {
        ratio(self.all_correct, self.cases)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Compares each result with its case (same order, same length).
pub fn score(cases: &[Labelled], results: &[NluResult]) -> NluReport {
    let mut report = NluReport { cases: cases.len().min(results.len()), ..NluReport::default() };
    for (case, got) in cases.iter().zip(results) {
        let mut wrong = Vec::new();
        if case.intent == got.intent {
            report.intent_correct += 1;
        } else {
            wrong.push(format!("intent: want {} got {}", case.intent, got.intent));
        }
        let e = &case.expect;
        let s = &got.slots;
        let pairs: [(&'static str, String, String); 8] = [
            ("service", show(&e.service), show(&s.service)),
            ("rooms", show(&e.rooms), show(&s.rooms)),
            ("start", show(&e.start), show(&s.start)),
            ("date", show(&e.date), show(&s.date)),
            ("end", show(&e.end), show(&s.end)),
            ("duration_minutes", show(&e.duration_minutes), show(&s.duration_minutes)),
            ("order_id", show(&e.order_id), show(&s.order_id)),
            ("rating", show(&e.rating), show(&s.rating)),
        ];
        for (field, want, have) in pairs {
            let empty = |v: &str| v == "null" || v == "[]";
            if empty(&want) && empty(&have) {
                continue;
            }
            let row = report.fields.entry(field).or_default();
            row.1 += 1;
            if want == have {
                row.0 += 1;
            } else {
                wrong.push(format!("{field}: want {want} got {have}"));
            }
        }
        if wrong.is_empty() {
            report.all_correct += 1;
        } else {
            report.misses.push((case.line, case.text.clone(), wrong));
        }
    }
    report
}

fn show<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl fmt::Display for NluReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<18} {:>7} {:>7} {:>8}", "slot", "right", "cases", "rate")?;
        for field in FIELDS {
            if let Some((right, total)) = self.fields.get(field) {
                writeln!(f, "{field:<18} {right:>7} {total:>7} {:>7.1}%", 100.0 * ratio(*right, *total))?;
            }
        }
        writeln!(
            f,
            "{:<18} {:>7} {:>7} {:>7.1}%",
            "intent",
            self.intent_correct,
            self.cases,
            100.0 * self.intent_accuracy()
        )?;
        write!(
            f,
            "{:<18} {:>7} {:>7} {:>7.1}%",
            "all slots + intent",
            self.all_correct,
            self.cases,
            100.0 * self.exact_rate()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::load_labelled;
    use crate::lexicon::Lexicon;
    use crate::understand::understand;
    use chrono::{FixedOffset, TimeZone};

    /// The rule-only NLU (no model) on the hand-written set: a regression floor.
    #[test]
    fn rules_only_nlu_on_the_hand_written_set() {
        let cases = load_labelled(include_str!("../data/handwritten.jsonl")).expect("hand-written set");
        let lexicon = Lexicon::builtin();
        let offset = FixedOffset::east_opt(8 * 3600).expect("+08:00");
        let results: Vec<NluResult> = cases
            .iter()
            .map(|c| {
                let reference = offset.from_local_datetime(&c.reference).single().expect("reference");
                understand(&c.text, Some(c.lang), reference, &lexicon, None)
            })
            .collect();
        let report = score(&cases, &results);
        println!("{report}");
        assert!(report.intent_accuracy() >= 0.8, "{report}");
        assert!(report.exact_rate() >= 0.75, "{report}");
    }
}
