//! Thirty-minute slots: the unit in which workers are booked.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Length of one slot in seconds.
pub const SLOT_SECONDS: i64 = 30 * 60;

/// A 30-minute slot, counted from the Unix epoch (slot 0 = 1970-01-01T00:00Z).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slot(pub i64);

impl Slot {
    /// The slot containing `t`.
    pub fn containing<Tz: TimeZone>(t: &DateTime<Tz>) -> Slot {
        Slot(t.timestamp().div_euclid(SLOT_SECONDS))
    }

    /// When this slot begins, in UTC.
    pub fn start_utc(self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0 * SLOT_SECONDS, 0).unwrap_or_default()
    }

    /// When this slot begins, at `offset`.
    pub fn start_at(self, offset: FixedOffset) -> DateTime<FixedOffset> {
        self.start_utc().with_timezone(&offset)
    }
}

/// A half-open run of slots `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SlotRange {
    /// First slot.
    pub start: Slot,
    /// One past the last slot.
    pub end: Slot,
}

impl SlotRange {
    /// The slots a job starting at `start` lasting `minutes` occupies; a
    /// partly used slot is occupied whole.
    pub fn covering<Tz: TimeZone>(start: &DateTime<Tz>, minutes: u32) -> SlotRange {
        let from = start.timestamp();
        let to = from + minutes as i64 * 60;
        SlotRange {
            start: Slot(from.div_euclid(SLOT_SECONDS)),
            end: Slot((to + SLOT_SECONDS - 1).div_euclid(SLOT_SECONDS)),
        }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        (self.end.0 - self.start.0).max(0) as usize
    }

    /// Whether the range holds no slot.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether two ranges share a slot.
    pub fn overlaps(&self, other: &SlotRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Each slot in order.
    pub fn iter(&self) -> impl Iterator<Item = Slot> {
        (self.start.0..self.end.0).map(Slot)
    }

    /// The same length shifted by `slots`.
    pub fn shifted(&self, slots: i64) -> SlotRange {
        SlotRange { start: Slot(self.start.0 + slots), end: Slot(self.end.0 + slots) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap_or_default()
    }

    #[test]
    fn covering_rounds_out_to_whole_slots() {
        let r = SlotRange::covering(&at("2026-03-06T10:00:00+08:00"), 120);
        assert_eq!(r.len(), 4);
        let r = SlotRange::covering(&at("2026-03-06T10:15:00+08:00"), 60);
        assert_eq!(r.len(), 3);
        assert_eq!(r.start.start_at(crate::default_offset()), at("2026-03-06T10:00:00+08:00"));
    }

    #[test]
    fn overlap_is_half_open() {
        let a = SlotRange { start: Slot(10), end: Slot(14) };
        let b = SlotRange { start: Slot(14), end: Slot(16) };
        let c = SlotRange { start: Slot(13), end: Slot(15) };
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&c) && c.overlaps(&b));
    }
}
