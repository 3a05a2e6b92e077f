//! The zh/en date-time parser.
//!
//! [`parse`] finds date-time expressions in a sentence and resolves them
//! against a reference time (local wall-clock time of the customer). Each
//! [`TimeEntity`] carries two resolutions:
//!
//! - `values`: the Recognizers-Text resolution (timex, type, value / start /
//!   end, Mod…), exactly the shape of `shared/eval`, so the parser can be
//!   graded against those cases ([`eval`]);
//! - `domain`: the resolution under the booking conventions of DESIGN.md §3
//!   (a bare hour 1–6 is afternoon, a part of day takes its default hour, a
//!   time without a date is today if still ahead, else tomorrow, …), which the
//!   order flow uses.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::Lang;

pub mod common;
pub mod en;
pub mod eval;
pub mod zh;

/// The Recognizers-Text entity types (`datetimeV2.<kind>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeKind {
    /// A calendar day.
    Date,
    /// A time of day.
    Time,
    /// A day and a time of day.
    DateTime,
    /// A span of days (a week, a month, 周末…).
    DateRange,
    /// A span within a day (下午2点到4点, 9-11am, 上午).
    TimeRange,
    /// A span with dates and times (明天上午, tonight…).
    DateTimeRange,
    /// A length of time (3个小时).
    Duration,
    /// A recurring time (每周六上午).
    Set,
    /// A time zone (English only).
    TimeZone,
}

impl TimeKind {
    /// `datetimeV2.<kind>` as Recognizers-Text names it.
    pub fn type_name(self) -> &'static str {
        match self {
            TimeKind::Date => "datetimeV2.date",
            TimeKind::Time => "datetimeV2.time",
            TimeKind::DateTime => "datetimeV2.datetime",
            TimeKind::DateRange => "datetimeV2.daterange",
            TimeKind::TimeRange => "datetimeV2.timerange",
            TimeKind::DateTimeRange => "datetimeV2.datetimerange",
            TimeKind::Duration => "datetimeV2.duration",
            TimeKind::Set => "datetimeV2.set",
            TimeKind::TimeZone => "datetimeV2.timezone",
        }
    }
}

/// What a date-time expression means for a booking (DESIGN.md §3 conventions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainTime {
    /// Set when a time of day is known (with its date resolved).
    pub start: Option<NaiveDateTime>,
    /// End of a range with a time of day (下午2点到4点 → 16:00).
    pub end: Option<NaiveDateTime>,
    /// A date without a time of day (never a midnight `start`).
    pub date: Option<NaiveDate>,
    /// A length of time, in minutes (3个小时 → 180); for a range with both ends, end − start.
    pub duration_minutes: Option<u32>,
    /// A recurring time as a timex (每周六上午 → `XXXX-WXX-6TMO`).
    pub recurring: Option<String>,
}

impl DomainTime {
    /// Whether nothing was resolved.
    pub fn is_empty(&self) -> bool {
        *self == DomainTime::default()
    }
}

/// One date-time expression found in a sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeEntity {
    /// The matched text (a slice of the input, as written).
    pub text: String,
    /// The entity type.
    pub kind: TimeKind,
    /// Offset of the first character (in chars, not bytes) in the input.
    pub start: usize,
    /// Offset of the last character, inclusive (Recognizers-Text convention).
    pub end: usize,
    /// Recognizers-Text resolution values (`timex`, `type`, `value`, `start`, `end`, `Mod`…).
    pub values: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Resolution under the booking conventions of DESIGN.md §3.
    pub domain: DomainTime,
}

impl TimeEntity {
    /// The entity in the shape of `shared/eval` (`text`, `type`, `start`, `end`, `values`).
    pub fn to_recognizers_json(&self) -> serde_json::Value {
        serde_json::json!({
            "text": self.text,
            "type": self.kind.type_name(),
            "start": self.start,
            "end": self.end,
            "values": self.values,
        })
    }
}

/// Finds and resolves the date-time expressions of `text`, in order of position.
///
/// `reference` is "now" as local wall-clock time of the customer.
pub fn parse(text: &str, lang: Lang, reference: NaiveDateTime) -> Vec<TimeEntity> {
    match lang {
        Lang::Zh => zh::parse(text, reference),
        Lang::En => en::parse(text, reference),
    }
}
