//! Whole-database consistency checks, used by tests and by `autoglm loadgen`
//! after a run: no worker booked twice, every held booking backed by its
//! reservation rows, no reservation left behind by a finished order.

use crate::db::{now_ms, Db};
use crate::entity::{orders, reservations};
use crate::error::StorageError;
use crate::rows::{self, InvariantReport};
use autoglm_core::slot::SLOT_SECONDS;
use autoglm_core::{OrderState, Slot};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::{BTreeSet, HashMap};

/// Orders looked up per query.
const CHUNK: usize = 500;

/// What the check needs to know about one order.
struct OrderFacts {
    state: OrderState,
    /// The worker and slots the order says it holds.
    booking: Option<(String, Vec<i64>)>,
}

impl Db {
    /// Checks the booking invariants now.
    pub async fn check_invariants(&self) -> Result<InvariantReport, StorageError> {
        self.check_invariants_at(now_ms()).await
    }

    /// Checks the booking invariants as of `now_ms` (which completed orders
    /// count as past).
    pub async fn check_invariants_at(&self, now_ms: i64) -> Result<InvariantReport, StorageError> {
        let held: Vec<&str> = OrderState::ALL.iter().filter(|s| s.holds_reservation()).map(|s| s.as_str()).collect();
        let live = orders::Entity::find().filter(orders::Column::State.is_in(held)).all(self.conn()).await?;
        let reservations = reservations::Entity::find().all(self.conn()).await?;

        let mut facts: HashMap<String, OrderFacts> = HashMap::new();
        for row in &live {
            facts.insert(row.id.clone(), order_facts(row)?);
        }
        // Orders that hold reservation rows without being live: fetch their state.
        let others: BTreeSet<&str> =
            reservations.iter().map(|r| r.order_id.as_str()).filter(|id| !facts.contains_key(*id)).collect();
        let others: Vec<&str> = others.into_iter().collect();
        for ids in others.chunks(CHUNK) {
            let rows =
                orders::Entity::find().filter(orders::Column::Id.is_in(ids.iter().copied())).all(self.conn()).await?;
            for row in &rows {
                facts.insert(row.id.clone(), order_facts(row)?);
            }
        }

        let mut report =
            InvariantReport { by_state: self.count_orders_by_state().await?, ..InvariantReport::default() };
        let by_slot: HashMap<(&str, i64), &str> =
            reservations.iter().map(|r| ((r.worker_id.as_str(), r.slot), r.order_id.as_str())).collect();

        // Who claims each (worker, slot): live orders by their own account,
        // and the reservation rows of live orders.
        let mut claims: HashMap<(&str, i64), BTreeSet<&str>> = HashMap::new();
        for (id, f) in &facts {
            if !f.state.holds_reservation() {
                continue;
            }
            let Some((worker, slots)) = &f.booking else {
                report.holding_without_reservation += 1;
                continue;
            };
            let mut complete = true;
            for s in slots {
                claims.entry((worker.as_str(), *s)).or_default().insert(id.as_str());
                complete &= by_slot.get(&(worker.as_str(), *s)) == Some(&id.as_str());
            }
            if !complete {
                report.holding_without_reservation += 1;
            }
        }
        for r in &reservations {
            let Some(f) = facts.get(&r.order_id) else {
                report.reservations_of_dead_orders += 1;
                continue;
            };
            let slot_end_ms = (r.slot + 1) * SLOT_SECONDS * 1000;
            match f.state {
                OrderState::Cancelled | OrderState::Unassignable => report.reservations_of_dead_orders += 1,
                OrderState::Completed if slot_end_ms <= now_ms => report.reservations_of_dead_orders += 1,
                s if s.holds_reservation() => {
                    claims.entry((r.worker_id.as_str(), r.slot)).or_default().insert(r.order_id.as_str());
                    let own = f.booking.as_ref().is_some_and(|(w, slots)| *w == r.worker_id && slots.contains(&r.slot));
                    if !own {
                        report.stray_reservations += 1;
                    }
                }
                // Negotiating (or completed, slot still ahead): the order holds no booking by its own account.
                OrderState::Negotiating => report.stray_reservations += 1,
                _ => {}
            }
        }
        report.double_bookings = claims.values().filter(|owners| owners.len() > 1).count() as u64;
        Ok(report)
    }
}

fn order_facts(row: &orders::Model) -> Result<OrderFacts, StorageError> {
    let state = rows::parse_state(&row.state, "order", &row.id)?;
    let order = rows::order_from_row(row)?;
    let booking = order.worker.as_ref().map(|w| (w.id.0.clone(), order.slots().iter().map(|s: Slot| s.0).collect()));
    Ok(OrderFacts { state, booking })
}
