//! The NLU result of DESIGN.md §3 (API and CLI shape).

use autoglm_core::catalog::{Room, Service};
use serde::{Deserialize, Serialize};

use crate::{Intent, Lang};

/// Slots extracted from one utterance. Times are RFC 3339 with the customer's offset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Slots {
    /// The service named, if any.
    pub service: Option<Service>,
    /// Rooms named (cleaning); `whole_home` when a cleaning booking names none.
    pub rooms: Vec<Room>,
    /// Start, when a time of day is known (`2026-03-06T10:00:00+08:00`).
    pub start: Option<String>,
    /// End of a time range, when given.
    pub end: Option<String>,
    /// A date without a time of day (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// A length of time in minutes.
    pub duration_minutes: Option<u32>,
    /// An order id, without `#`.
    pub order_id: Option<String>,
    /// A rating 1–5.
    pub rating: Option<u8>,
    /// An address, as written.
    pub address: Option<String>,
    /// A phone number, digits only.
    pub phone: Option<String>,
    /// A worker named or described.
    pub worker: Option<String>,
}

/// A span of the input that fed a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NluEntity {
    /// Which slot (`time`, `service`, `room`, `order_id`, …).
    pub kind: String,
    /// The text as written.
    pub text: String,
    /// First character offset (chars).
    pub start: usize,
    /// One past the last character (chars).
    pub end: usize,
}

/// What the engine understood from one utterance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NluResult {
    /// The input as given.
    pub text: String,
    /// Language detected (or given).
    pub lang: Lang,
    /// The intent.
    pub intent: Intent,
    /// Confidence in the intent, 0–1, to three decimals.
    pub confidence: f64,
    /// Extracted slots.
    pub slots: Slots,
    /// The spans behind the slots, in order of position.
    pub entities: Vec<NluEntity>,
}
