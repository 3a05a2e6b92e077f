//! A worker's calendar: which slots are held, and by which order.
//!
//! This is the fast check of the no-double-booking rule; the unique
//! reservation row per (worker, slot) in the database is the final arbiter.

use crate::ids::OrderId;
use crate::slot::{Slot, SlotRange};
use std::collections::{BTreeMap, HashMap};

/// Slots held by orders, tentatively (awarded, not yet committed) or firmly.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    slots: BTreeMap<Slot, OrderId>,
    by_order: HashMap<OrderId, Booking>,
    /// How many bookings start at each slot (more than one only for empty
    /// ranges): the day's load is a range count, not a scan of every booking.
    starts: BTreeMap<Slot, u32>,
}

/// One order's hold on the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booking {
    /// The slots held.
    pub range: SlotRange,
    /// Committed to the database (false while the award is in flight).
    pub firm: bool,
}

/// Another order already holds part of the range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slot {slot:?} is held by order {holder}")]
pub struct Conflict {
    /// First slot in conflict.
    pub slot: Slot,
    /// The order holding it.
    pub holder: OrderId,
}

impl Calendar {
    /// An empty calendar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether every slot of `range` is free or already held by `order`.
    pub fn is_free_for(&self, range: &SlotRange, order: &OrderId) -> bool {
        self.first_conflict(range, order).is_none()
    }

    fn first_conflict(&self, range: &SlotRange, order: &OrderId) -> Option<Conflict> {
        let slot = self.held_by_others(range.start, range.end, order).next()?;
        let holder = self.slots.get(&slot)?.clone();
        Some(Conflict { slot, holder })
    }

    /// The range `order` holds, if any. Exactly the slots of that range map
    /// to `order` (`hold` refuses conflicts and replaces an order's earlier
    /// hold whole; the property test below checks it), so "held by someone
    /// else" is "held and outside this range": slot numbers are compared
    /// instead of order ids.
    fn own_range(&self, order: &OrderId) -> Option<SlotRange> {
        self.by_order.get(order).map(|b| b.range)
    }

    /// The slots in `[from, to)` held for orders other than `order`, in order.
    pub fn held_by_others(&self, from: Slot, to: Slot, order: &OrderId) -> impl Iterator<Item = Slot> + '_ {
        let mine = self.own_range(order);
        // An empty or inverted range holds nothing (BTreeMap::range would panic).
        let range = (from < to).then(|| self.slots.range(from..to)).into_iter().flatten();
        range.map(|(slot, _)| *slot).filter(move |slot| !mine.is_some_and(|r| r.start <= *slot && *slot < r.end))
    }

    /// Holds `range` for `order`, replacing any earlier hold of that order.
    /// Holding the same range again is a no-op, so retried awards are safe.
    pub fn hold(&mut self, range: SlotRange, order: &OrderId, firm: bool) -> Result<(), Conflict> {
        if let Some(c) = self.first_conflict(&range, order) {
            return Err(c);
        }
        if let Some(prev) = self.by_order.get(order).copied() {
            if prev.range == range {
                let firm = firm || prev.firm;
                self.by_order.insert(order.clone(), Booking { range, firm });
                return Ok(());
            }
            self.release(order);
        }
        for slot in range.iter() {
            self.slots.insert(slot, order.clone());
        }
        *self.starts.entry(range.start).or_default() += 1;
        self.by_order.insert(order.clone(), Booking { range, firm });
        Ok(())
    }

    /// Marks the hold of `order` as committed.
    pub fn confirm(&mut self, order: &OrderId) -> bool {
        match self.by_order.get_mut(order) {
            Some(b) => {
                b.firm = true;
                true
            }
            None => false,
        }
    }

    /// Frees whatever `order` holds; returns what it held.
    pub fn release(&mut self, order: &OrderId) -> Option<Booking> {
        let booking = self.by_order.remove(order)?;
        if let Some(n) = self.starts.get_mut(&booking.range.start) {
            *n -= 1;
            if *n == 0 {
                self.starts.remove(&booking.range.start);
            }
        }
        for slot in booking.range.iter() {
            if self.slots.get(&slot) == Some(order) {
                self.slots.remove(&slot);
            }
        }
        Some(booking)
    }

    /// What `order` holds, if anything.
    pub fn booking(&self, order: &OrderId) -> Option<Booking> {
        self.by_order.get(order).copied()
    }

    /// Every hold, by order.
    pub fn bookings(&self) -> impl Iterator<Item = (&OrderId, &Booking)> {
        self.by_order.iter()
    }

    /// Number of orders holding slots.
    pub fn len(&self) -> usize {
        self.by_order.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.by_order.is_empty()
    }

    /// Number of jobs that start within `[from, to)`; the worker's load.
    pub fn jobs_between(&self, from: Slot, to: Slot) -> usize {
        if from >= to {
            return 0;
        }
        self.starts.range(from..to).map(|(_, n)| *n as usize).sum()
    }

    /// Drops every hold that ended before `before` (past jobs need no check).
    pub fn forget_before(&mut self, before: Slot) {
        let old: Vec<OrderId> =
            self.by_order.iter().filter(|(_, b)| b.range.end <= before).map(|(o, _)| o.clone()).collect();
        for o in old {
            self.release(&o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(a: i64, b: i64) -> SlotRange {
        SlotRange { start: Slot(a), end: Slot(b) }
    }

    #[test]
    fn overlapping_holds_of_different_orders_conflict() {
        let mut c = Calendar::new();
        let (a, b) = (OrderId::from("A1"), OrderId::from("A2"));
        assert!(c.hold(r(10, 14), &a, false).is_ok());
        assert_eq!(c.hold(r(13, 15), &b, false).unwrap_err().holder, a);
        assert!(c.hold(r(14, 16), &b, false).is_ok());
        // The same order may hold the same range again (a retried award).
        assert!(c.hold(r(10, 14), &a, true).is_ok());
        assert_eq!(c.booking(&a), Some(Booking { range: r(10, 14), firm: true }));
        // Moving an order frees its old slots.
        assert!(c.hold(r(20, 22), &a, true).is_ok());
        assert!(c.is_free_for(&r(10, 14), &b));
        assert_eq!(c.release(&b).map(|x| x.range), Some(r(14, 16)));
        assert_eq!(c.len(), 1);
        c.forget_before(Slot(30));
        assert!(c.is_empty());
    }

    proptest! {
        /// Whatever holds and releases happen, no slot is ever held by two
        /// orders and every order's booking is exactly its slots.
        #[test]
        fn never_double_books(ops in proptest::collection::vec((0u8..3, 0u32..6, 0i64..40, 0i64..6), 1..200)) {
            let mut c = Calendar::new();
            for (op, order, start, len) in ops {
                let id = OrderId(format!("A{order}"));
                match op {
                    0 | 1 => {
                        let range = r(start, start + len);
                        let free_before = c.is_free_for(&range, &id);
                        // Free means every held slot of the range is this order's own.
                        let naive = c.slots.range(range.start..range.end).all(|(_, holder)| *holder == id);
                        prop_assert_eq!(free_before, naive);
                        let others: Vec<Slot> = c.held_by_others(range.start, range.end, &id).collect();
                        let naive: Vec<Slot> =
                            c.slots.range(range.start..range.end).filter(|(_, h)| **h != id).map(|(s, _)| *s).collect();
                        prop_assert_eq!(others, naive);
                        let res = c.hold(range, &id, op == 1);
                        prop_assert_eq!(res.is_ok(), free_before);
                    }
                    _ => { c.release(&id); }
                }
                // Invariant: the slot map and the booking map agree exactly.
                let mut count = 0;
                for (o, b) in c.bookings() {
                    for s in b.range.iter() {
                        prop_assert_eq!(c.slots.get(&s), Some(o));
                        count += 1;
                    }
                }
                prop_assert_eq!(count, c.slots.len());
                let mut starts: BTreeMap<Slot, u32> = BTreeMap::new();
                for (_, b) in c.bookings() {
                    *starts.entry(b.range.start).or_default() += 1;
                }
                prop_assert_eq!(&starts, &c.starts);
                let (from, to) = (Slot(start), Slot(start + 12));
                let naive = c.bookings().filter(|(_, b)| b.range.start >= from && b.range.start < to).count();
                prop_assert_eq!(c.jobs_between(from, to), naive);
                // (An empty range holds no slot, so it overlaps nothing.)
                let all: Vec<_> = c.bookings().map(|(_, b)| b.range).filter(|r| !r.is_empty()).collect();
                for (i, x) in all.iter().enumerate() {
                    for y in &all[i + 1..] {
                        prop_assert!(!x.overlaps(y));
                    }
                }
            }
        }
    }
}
