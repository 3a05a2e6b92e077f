//! Label sets of the NLU: languages, intents (DESIGN.md §3) and slot kinds.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An unknown label in text (a file, a request, a model manifest).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {got:?}; expected one of: {expected}")]
pub struct UnknownLabel {
    /// Which label set.
    pub what: &'static str,
    /// The text that matched none.
    pub got: String,
    /// The allowed spellings, comma separated.
    pub expected: String,
}

macro_rules! label_set {
    ($(#[$doc:meta])* $name:ident ($what:literal) { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $(#[doc = $text] $variant),+ }

        impl $name {
            /// Every label, in a fixed order (model output indices follow it).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The label as the API spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Position in [`Self::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownLabel;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownLabel { what: $what, got: s.to_string(), expected: [$($text),+].join(", ") }),
                }
            }
        }
    };
}

label_set!(
    /// Language of an utterance.
    Lang ("language") { Zh = "zh", En = "en" }
);

label_set!(
    /// What the customer wants (DESIGN.md §3).
    Intent ("intent") {
        BookService = "book_service",
        RescheduleOrder = "reschedule_order",
        CancelOrder = "cancel_order",
        ChangeWorker = "change_worker",
        QueryOrder = "query_order",
        PayOrder = "pay_order",
        RateOrder = "rate_order",
        ProvideInfo = "provide_info",
        Confirm = "confirm",
        Deny = "deny",
        Other = "other",
    }
);

label_set!(
    /// A kind of span the slot tagger marks (BIO tags per character).
    SlotKind ("slot kind") {
        Service = "service",
        Room = "room",
        Time = "time",
        OrderId = "order_id",
        Rating = "rating",
        Address = "address",
        Phone = "phone",
        Worker = "worker",
    }
);

impl Lang {
    /// Guesses the language of `text`: Chinese when it has any CJK ideograph.
    pub fn detect(text: &str) -> Lang {
        if text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)) {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

/// The BIO tag set over [`SlotKind`]: `O`, then `B-kind`, `I-kind` for each kind in order.
pub fn bio_tags() -> Vec<String> {
    let mut tags = vec!["O".to_string()];
    for kind in SlotKind::ALL {
        tags.push(format!("B-{kind}"));
        tags.push(format!("I-{kind}"));
    }
    tags
}

/// Index of tag `B-kind` in [`bio_tags`]; `I-kind` is the next one.
pub fn begin_tag(kind: SlotKind) -> usize {
    1 + 2 * kind.index()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for i in Intent::ALL {
            assert_eq!(i.as_str().parse::<Intent>().ok(), Some(*i));
        }
        assert!("book".parse::<Intent>().is_err());
        assert_eq!(bio_tags().len(), 1 + 2 * SlotKind::ALL.len());
        assert_eq!(bio_tags()[begin_tag(SlotKind::Room)], "B-room");
    }

    #[test]
    fn detects_language() {
        assert_eq!(Lang::detect("明天上午10点来打扫厨房"), Lang::Zh);
        assert_eq!(Lang::detect("clean my kitchen at 10am"), Lang::En);
    }
}
