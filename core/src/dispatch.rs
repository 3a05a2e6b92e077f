//! Contract-net dispatch rules: who may bid, how bids are scored and ranked,
//! and which other times to suggest when nobody can come.

use crate::calendar::Calendar;
use crate::catalog::Service;
use crate::geo::{travel_minutes, GeoPoint};
use crate::ids::{OrderId, WorkerId};
use crate::slot::{Slot, SlotRange};
use crate::worker::{SkillLevel, Worker};
use chrono::FixedOffset;
use serde::{Deserialize, Serialize};

/// What an order asks workers for: a call for proposals (sent across nodes
/// in a cluster, hence serializable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallForProposals {
    /// The order.
    pub order: OrderId,
    /// The service wanted.
    pub service: Service,
    /// Where.
    pub place: GeoPoint,
    /// When.
    pub range: SlotRange,
    /// Workers the customer marked as favourites.
    pub favourites: Vec<WorkerId>,
    /// Workers who must not get this order (blocked by the customer, or the
    /// worker being changed away from).
    pub excluded: Vec<WorkerId>,
    /// Workers may bid this many times their usual radius away (1 in the
    /// first round; more when the area is widened).
    pub radius_factor: f64,
}

/// A worker's answer to a call for proposals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bid {
    /// Who bids.
    pub worker: WorkerId,
    /// Display name, so the award needs no lookup.
    pub name: String,
    /// Distance from the worker's home in km.
    pub distance_km: f64,
    /// Estimated travel time.
    pub travel_minutes: u32,
    /// Skill for the service, 1-5.
    pub skill_level: SkillLevel,
    /// Average rating 0-5.
    pub rating: f64,
    /// Jobs already booked that day.
    pub load: u32,
    /// The customer marked this worker as a favourite.
    pub favourite: bool,
    /// In a cluster: the fencing token of the bidding node's lease on this
    /// worker; the award commits only while that lease is still current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<i64>,
}

/// Weights of the bid score; `[dispatch]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchWeights {
    /// Weight of closeness (1 at the door, 0 at `max_distance_km`).
    pub distance: f64,
    /// Weight of skill level (level / 5).
    pub skill: f64,
    /// Weight of rating (rating / 5).
    pub rating: f64,
    /// Weight of fairness: fewer jobs that day scores higher.
    pub load: f64,
    /// Bonus for a customer's favourite worker.
    pub favourite_bonus: f64,
    /// Distance at which the closeness score reaches zero.
    pub max_distance_km: f64,
    /// Jobs per day at which the fairness score reaches zero.
    pub max_daily_jobs: u32,
}

impl Default for DispatchWeights {
    fn default() -> Self {
        Self {
            distance: 0.4,
            skill: 0.6,
            rating: 0.1,
            load: 0.1,
            favourite_bonus: 0.5,
            max_distance_km: 20.0,
            max_daily_jobs: 6,
        }
    }
}

impl DispatchWeights {
    /// The score of one bid; higher is better.
    pub fn score(&self, bid: &Bid) -> f64 {
        let closeness = 1.0 - (bid.distance_km / self.max_distance_km).clamp(0.0, 1.0);
        let skill = bid.skill_level as f64 / 5.0;
        let rating = (bid.rating / 5.0).clamp(0.0, 1.0);
        let fairness = 1.0 - (bid.load as f64 / self.max_daily_jobs.max(1) as f64).clamp(0.0, 1.0);
        let bonus = if bid.favourite { self.favourite_bonus } else { 0.0 };
        self.distance * closeness + self.skill * skill + self.rating * rating + self.load * fairness + bonus
    }

    /// Bids best first; ties go to the lower worker id so ranking is deterministic.
    pub fn rank(&self, mut bids: Vec<Bid>) -> Vec<Bid> {
        bids.sort_by(|a, b| self.score(b).total_cmp(&self.score(a)).then_with(|| a.worker.cmp(&b.worker)));
        bids
    }

    /// Checks weights are usable.
    pub fn validate(&self) -> Result<(), crate::DomainError> {
        let all = [self.distance, self.skill, self.rating, self.load, self.favourite_bonus];
        if all.iter().any(|w| !w.is_finite() || *w < 0.0)
            || self.max_distance_km.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
        {
            return Err(crate::DomainError::Invalid {
                field: "dispatch",
                reason: "weights must be finite and non-negative, max_distance_km positive".into(),
            });
        }
        Ok(())
    }
}

/// The bid `worker` makes for `cfp`, or `None` when they cannot serve it.
pub fn evaluate(worker: &Worker, calendar: &Calendar, cfp: &CallForProposals, offset: FixedOffset) -> Option<Bid> {
    if cfp.excluded.contains(&worker.id) || !worker.serves_within(cfp.service, &cfp.place, cfp.radius_factor) {
        return None;
    }
    if !worker.hours.covers(&cfp.range, offset) || !calendar.is_free_for(&cfp.range, &cfp.order) {
        return None;
    }
    let distance_km = worker.home.distance_km(&cfp.place);
    let day = day_of(cfp.range.start, offset);
    Some(Bid {
        worker: worker.id.clone(),
        name: worker.name.clone(),
        distance_km,
        travel_minutes: travel_minutes(distance_km),
        skill_level: worker.skill(cfp.service)?,
        rating: worker.rating,
        load: calendar.jobs_between(day.start, day.end) as u32,
        favourite: cfp.favourites.contains(&worker.id),
        fence: None,
    })
}

/// The slots of the local day containing `slot`.
pub fn day_of(slot: Slot, offset: FixedOffset) -> SlotRange {
    let per_day = 48;
    let shift = offset.local_minus_utc() as i64 / 1800;
    let local = slot.0 + shift;
    let start = local.div_euclid(per_day) * per_day - shift;
    SlotRange { start: Slot(start), end: Slot(start + per_day) }
}

/// Where to look for free start times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchWindow {
    /// First start slot considered.
    pub from: Slot,
    /// Job length in slots.
    pub len: i64,
    /// Slots after `from` to search.
    pub horizon: i64,
    /// Most starts returned.
    pub max: usize,
}

/// Start slots in `window` at which `worker` could take a job of
/// `window.len` slots, earliest first.
///
/// One pass: the slots other orders hold in the window are read from the
/// calendar once, and a start that would run into one jumps past it (a
/// worker whose days are full answers after a few steps, not a range lookup
/// per slot of the two weeks searched).
pub fn free_starts(
    worker: &Worker,
    calendar: &Calendar,
    order: &OrderId,
    window: SearchWindow,
    offset: FixedOffset,
) -> Vec<Slot> {
    let SearchWindow { from, len, horizon, max } = window;
    let end = from.0.saturating_add(horizon);
    let mut out = Vec::new();
    // Every slot a job starting before `end` could occupy, held for another order.
    let reach = Slot(end.saturating_add(len.max(1) - 1));
    let blocked: Vec<i64> = calendar.held_by_others(from, reach, order).map(|s| s.0).collect();
    let mut next = 0;
    let mut s = from.0;
    while s < end && out.len() < max {
        while blocked.get(next).is_some_and(|b| *b < s) {
            next += 1;
        }
        if let Some(&b) = blocked.get(next) {
            if b < s + len {
                s = b + 1;
                continue;
            }
        }
        let range = SlotRange { start: Slot(s), end: Slot(s + len) };
        if worker.hours.covers(&range, offset) {
            out.push(Slot(s));
            // Suggest distinct times: skip past this job's length.
            s += len.max(1);
        } else {
            s += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::WorkingHours;
    use chrono::DateTime;

    fn worker(id: &str, level: u8, lat: f64) -> Worker {
        Worker {
            id: id.into(),
            name: id.into(),
            skills: [(Service::Cleaning, level)].into(),
            home: GeoPoint { lat, lon: 121.47 },
            radius_km: 15.0,
            hours: WorkingHours::default(),
            rating: 4.5,
            rating_count: 10,
            active: true,
        }
    }

    fn cfp() -> CallForProposals {
        let start = DateTime::parse_from_rfc3339("2026-03-06T10:00:00+08:00").unwrap_or_default();
        CallForProposals {
            order: "A1".into(),
            service: Service::Cleaning,
            place: GeoPoint { lat: 31.23, lon: 121.47 },
            range: SlotRange::covering(&start, 120),
            favourites: vec![],
            excluded: vec![],
            radius_factor: 1.0,
        }
    }

    #[test]
    fn skill_outweighs_a_little_distance_by_default() {
        let w = DispatchWeights::default();
        let cal = Calendar::new();
        let tz = crate::default_offset();
        let near_novice = evaluate(&worker("W1", 1, 31.231), &cal, &cfp(), tz);
        let far_expert = evaluate(&worker("W2", 5, 31.26), &cal, &cfp(), tz);
        let ranked = w.rank(near_novice.into_iter().chain(far_expert).collect());
        assert_eq!(ranked.len(), 2);
        assert_eq!(ranked[0].worker.as_str(), "W2");
    }

    #[test]
    fn busy_excluded_or_unskilled_workers_do_not_bid() {
        let tz = crate::default_offset();
        let mut cal = Calendar::new();
        let w = worker("W1", 3, 31.23);
        let mut c = cfp();
        assert!(evaluate(&w, &cal, &c, tz).is_some());
        assert!(cal.hold(c.range, &"A9".into(), true).is_ok());
        assert!(evaluate(&w, &cal, &c, tz).is_none());
        let cal = Calendar::new();
        c.excluded.push("W1".into());
        assert!(evaluate(&w, &cal, &c, tz).is_none());
        let mut c = cfp();
        c.service = Service::Plumbing;
        assert!(evaluate(&w, &cal, &c, tz).is_none());
    }

    #[test]
    fn favourites_win_ties_and_load_spreads_work() {
        let w = DispatchWeights::default();
        let base = Bid {
            worker: "W1".into(),
            name: "a".into(),
            distance_km: 2.0,
            travel_minutes: 5,
            skill_level: 3,
            rating: 4.0,
            load: 0,
            favourite: false,
            fence: None,
        };
        let busy = Bid { worker: "W0".into(), load: 5, ..base.clone() };
        assert!(w.score(&base) > w.score(&busy));
        let fav = Bid { worker: "W2".into(), favourite: true, ..base.clone() };
        assert_eq!(w.rank(vec![base, fav])[0].worker.as_str(), "W2");
    }

    #[test]
    fn free_starts_skip_held_time_and_closed_hours() {
        let tz = crate::default_offset();
        let w = worker("W1", 3, 31.23);
        let mut cal = Calendar::new();
        let c = cfp();
        assert!(cal.hold(c.range, &"A9".into(), true).is_ok());
        let window = SearchWindow { from: c.range.start, len: c.range.len() as i64, horizon: 96, max: 3 };
        let starts = free_starts(&w, &cal, &c.order, window, tz);
        assert_eq!(starts.len(), 3);
        assert_eq!(starts[0], c.range.end);
        for s in starts {
            let r = SlotRange { start: s, end: Slot(s.0 + 4) };
            assert!(!r.overlaps(&c.range) && w.hours.covers(&r, tz));
        }
    }

    /// The plain search `free_starts` must agree with: every start checked
    /// on its own.
    fn free_starts_one_by_one(
        worker: &Worker,
        calendar: &Calendar,
        order: &OrderId,
        window: SearchWindow,
        offset: FixedOffset,
    ) -> Vec<Slot> {
        let SearchWindow { from, len, horizon, max } = window;
        let mut out = Vec::new();
        let mut s = from.0;
        while s < from.0 + horizon && out.len() < max {
            let range = SlotRange { start: Slot(s), end: Slot(s + len) };
            if worker.hours.covers(&range, offset) && calendar.is_free_for(&range, order) {
                out.push(Slot(s));
                s += len.max(1);
            } else {
                s += 1;
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn free_starts_agree_with_checking_every_start(
            holds in proptest::collection::vec((0i64..300, 1i64..10, 0usize..4), 0..25),
            from in 0i64..300,
            len in 0i64..10,
            horizon in 0i64..400,
            max in 0usize..6,
            hours in (0u32..=1440, 0u32..=1440),
        ) {
            let tz = crate::default_offset();
            let mut w = worker("W1", 3, 31.23);
            w.hours.start = hours.0.min(hours.1);
            w.hours.end = hours.0.max(hours.1);
            let base = Slot::containing(&DateTime::parse_from_rfc3339("2026-03-02T00:00:00+08:00").unwrap_or_default()).0;
            let mut cal = Calendar::new();
            for (i, (at, n, who)) in holds.into_iter().enumerate() {
                // Order "A0" is the one searching: its own holds are no obstacle.
                let order = if who == 0 { OrderId::from("A0") } else { OrderId(format!("A{}", i + 1)) };
                let _ = cal.hold(SlotRange { start: Slot(base + at), end: Slot(base + at + n) }, &order, true);
            }
            let window = SearchWindow { from: Slot(base + from), len, horizon, max };
            let me: OrderId = "A0".into();
            proptest::prop_assert_eq!(
                free_starts(&w, &cal, &me, window, tz),
                free_starts_one_by_one(&w, &cal, &me, window, tz)
            );
        }
    }

    #[test]
    fn day_of_follows_local_midnight() {
        let tz = crate::default_offset();
        let t = DateTime::parse_from_rfc3339("2026-03-06T01:00:00+08:00").unwrap_or_default();
        let day = day_of(Slot::containing(&t), tz);
        assert_eq!(day.start.start_at(tz).to_rfc3339(), "2026-03-06T00:00:00+08:00");
        assert_eq!(day.len(), 48);
    }
}
