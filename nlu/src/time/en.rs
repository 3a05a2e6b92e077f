//! English date-time expressions. (Being written: returns nothing yet.)

use chrono::NaiveDateTime;

use super::TimeEntity;

/// Finds the English date-time expressions of `text` (see [`super::parse`]).
pub fn parse(_text: &str, _reference: NaiveDateTime) -> Vec<TimeEntity> {
    Vec::new()
}
