//! The synthetic training corpus, generated from templates and the lexicon. (Being written.)

use serde::{Deserialize, Serialize};

use crate::model::SlotSpan;
use crate::{Intent, Lang};

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

/// Generates `n` examples deterministically from `seed` (placeholder templates until the generator lands).
pub fn generate(seed: u64, n: usize) -> Vec<Example> {
    use crate::SlotKind;
    type Template = (&'static str, Intent, &'static [(SlotKind, &'static str)]);
    let templates: &[Template] = &[
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
        ("好的", Intent::Confirm, &[]),
        ("不要", Intent::Deny, &[]),
        ("今天天气怎么样", Intent::Other, &[]),
    ];
    (0..n)
        .map(|i| {
            let (text, intent, parts) = templates[(i + seed as usize) % templates.len()];
            let spans = parts
                .iter()
                .filter_map(|(kind, part)| {
                    let byte = text.find(part)?;
                    let start = text[..byte].chars().count();
                    Some(SlotSpan { kind: *kind, start, end: start + part.chars().count() })
                })
                .collect();
            Example { text: text.to_string(), lang: Lang::detect(text), intent, spans }
        })
        .collect()
}
