//! Workers: who they are, what they can do, where and when they work.

use crate::catalog::Service;
use crate::geo::GeoPoint;
use crate::ids::WorkerId;
use crate::slot::{SlotRange, SLOT_SECONDS};
use crate::DomainError;
use chrono::{FixedOffset, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Skill in one service, 1 (beginner) to 5 (expert).
pub type SkillLevel = u8;

/// When a worker takes jobs, in the platform's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// Days of the week, `mon` … `sun`.
    #[serde(with = "weekdays")]
    pub days: Vec<Weekday>,
    /// First minute of the day a job may start, e.g. 08:00 = 480.
    #[serde(with = "hhmm")]
    pub start: u32,
    /// Minute of the day by which jobs must end, e.g. 20:00 = 1200.
    #[serde(with = "hhmm")]
    pub end: u32,
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self {
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ],
            start: 8 * 60,
            end: 20 * 60,
        }
    }
}

impl WorkingHours {
    /// Whether a job occupying `range` falls inside one working day.
    ///
    /// Integer arithmetic on the slot numbers (no calendar types): this runs
    /// for every bid and for every start a worker considers when suggesting
    /// other times. Same answers as [`Self::covers_by_calendar`] (a property
    /// test checks it).
    pub fn covers(&self, range: &SlotRange, offset: FixedOffset) -> bool {
        const DAY: i64 = 24 * 60 * 60;
        if range.is_empty() {
            return false;
        }
        let shift = offset.local_minus_utc() as i64;
        let first = range.start.0 * SLOT_SECONDS + shift;
        let last_end = range.end.0 * SLOT_SECONDS + shift;
        let (day, start_min) = (first.div_euclid(DAY), first.rem_euclid(DAY) / 60);
        let (end_day, end_min) = (last_end.div_euclid(DAY), last_end.rem_euclid(DAY) / 60);
        // A job ending exactly at midnight ends at minute 1440 of its own day.
        let end_min = match end_day - day {
            0 => end_min,
            1 if end_min == 0 => 24 * 60,
            _ => return false,
        };
        // 1970-01-01 (day 0) was a Thursday: 3 days after a Monday.
        let weekday = (day + 3).rem_euclid(7);
        self.days.iter().any(|d| d.num_days_from_monday() as i64 == weekday)
            && start_min >= self.start as i64
            && end_min <= self.end as i64
    }

    /// [`Self::covers`] through chrono's calendar types: the reference the
    /// fast version is tested against.
    #[cfg(test)]
    fn covers_by_calendar(&self, range: &SlotRange, offset: FixedOffset) -> bool {
        use chrono::{Datelike, Timelike};
        if range.is_empty() {
            return false;
        }
        let first = range.start.start_at(offset);
        let last_end = range.end.start_at(offset);
        let day_start = first.date_naive();
        let start_min = first.hour() * 60 + first.minute();
        let end_min = if last_end.date_naive() == day_start {
            last_end.hour() * 60 + last_end.minute()
        } else if last_end.date_naive() == day_start.succ_opt().unwrap_or(day_start)
            && last_end.hour() == 0
            && last_end.minute() == 0
        {
            24 * 60
        } else {
            return false;
        };
        self.days.contains(&first.weekday()) && start_min >= self.start && end_min <= self.end
    }

    /// Checks the hours make sense.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.days.is_empty() || self.start >= self.end || self.end > 24 * 60 {
            return Err(DomainError::Invalid {
                field: "hours",
                reason: "need at least one day and start before end, within 00:00-24:00".into(),
            });
        }
        Ok(())
    }
}

/// A worker as the dispatcher sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    /// Id, e.g. `W17`.
    pub id: WorkerId,
    /// Display name.
    pub name: String,
    /// Services with skill levels.
    pub skills: BTreeMap<Service, SkillLevel>,
    /// Where the worker starts from.
    pub home: GeoPoint,
    /// How far from home the worker travels, in km.
    pub radius_km: f64,
    /// When the worker takes jobs.
    pub hours: WorkingHours,
    /// Average rating, 0 when unrated.
    pub rating: f64,
    /// Number of ratings behind `rating`.
    pub rating_count: u32,
    /// Inactive workers get no new jobs.
    pub active: bool,
}

impl Worker {
    /// Skill level for `service`, if the worker offers it.
    pub fn skill(&self, service: Service) -> Option<SkillLevel> {
        self.skills.get(&service).copied()
    }

    /// Whether the worker offers `service` at `place`.
    pub fn serves(&self, service: Service, place: &GeoPoint) -> bool {
        self.serves_within(service, place, 1.0)
    }

    /// Whether the worker offers `service` at `place` when travelling
    /// `radius_factor` times their usual radius.
    pub fn serves_within(&self, service: Service, place: &GeoPoint, radius_factor: f64) -> bool {
        self.active && self.skill(service).is_some() && self.home.distance_km(place) <= self.radius_km * radius_factor
    }

    /// Folds one more rating into the average.
    pub fn add_rating(&mut self, stars: u8) {
        let total = self.rating * self.rating_count as f64 + stars as f64;
        self.rating_count += 1;
        self.rating = total / self.rating_count as f64;
    }

    /// Checks every field is within range.
    pub fn validate(&self) -> Result<(), DomainError> {
        let name_len = self.name.chars().count();
        if name_len == 0 || name_len > 64 {
            return Err(DomainError::Invalid { field: "name", reason: "1 to 64 characters".into() });
        }
        if self.skills.is_empty() || self.skills.values().any(|l| !(1..=5).contains(l)) {
            return Err(DomainError::Invalid {
                field: "skills",
                reason: "at least one service, each with a level from 1 to 5".into(),
            });
        }
        if !(self.radius_km.is_finite() && self.radius_km > 0.0 && self.radius_km <= 100.0) {
            return Err(DomainError::Invalid { field: "radius_km", reason: "between 0 and 100 km".into() });
        }
        if !(0.0..=5.0).contains(&self.rating) {
            return Err(DomainError::Invalid { field: "rating", reason: "between 0 and 5".into() });
        }
        self.home.validate()?;
        self.hours.validate()
    }
}

/// A partial update of a worker's profile (`PATCH /v1/workers/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerPatch {
    /// New display name.
    pub name: Option<String>,
    /// New skills (replaces the whole set).
    pub skills: Option<BTreeMap<Service, SkillLevel>>,
    /// New home location.
    pub home: Option<GeoPoint>,
    /// New travel radius.
    pub radius_km: Option<f64>,
    /// New working hours.
    pub hours: Option<WorkingHours>,
    /// Take or stop taking jobs.
    pub active: Option<bool>,
}

impl WorkerPatch {
    /// `worker` with the patch applied, checked.
    pub fn apply(&self, worker: &Worker) -> Result<Worker, DomainError> {
        let mut w = worker.clone();
        if let Some(v) = &self.name {
            w.name = v.clone();
        }
        if let Some(v) = &self.skills {
            w.skills = v.clone();
        }
        if let Some(v) = self.home {
            w.home = v;
        }
        if let Some(v) = self.radius_km {
            w.radius_km = v;
        }
        if let Some(v) = &self.hours {
            w.hours = v.clone();
        }
        if let Some(v) = self.active {
            w.active = v;
        }
        w.validate()?;
        Ok(w)
    }
}

mod weekdays {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(days.iter().map(|d| NAMES[d.num_days_from_monday() as usize]))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut days = Vec::new();
        for n in names {
            let i = NAMES
                .iter()
                .position(|x| x.eq_ignore_ascii_case(&n))
                .ok_or_else(|| serde::de::Error::custom(format!("unknown day {n:?}; use mon, tue, … sun")))?;
            let day = Weekday::try_from(i as u8).map_err(serde::de::Error::custom)?;
            if !days.contains(&day) {
                days.push(day);
            }
        }
        Ok(days)
    }
}

mod hhmm {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", m / 60, m % 60))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let t = String::deserialize(d)?;
        let bad = || serde::de::Error::custom(format!("time {t:?} is not HH:MM"));
        let (h, m) = t.split_once(':').ok_or_else(bad)?;
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m >= 60 || h * 60 + m > 24 * 60 {
            return Err(bad());
        }
        Ok(h * 60 + m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn range(start: &str, minutes: u32) -> SlotRange {
        SlotRange::covering(&DateTime::parse_from_rfc3339(start).unwrap_or_default(), minutes)
    }

    #[test]
    fn working_hours_cover_jobs_inside_the_day_only() {
        let h = WorkingHours::default();
        let tz = crate::default_offset();
        assert!(h.covers(&range("2026-03-06T08:00:00+08:00", 120), tz));
        assert!(h.covers(&range("2026-03-06T18:00:00+08:00", 120), tz));
        assert!(!h.covers(&range("2026-03-06T19:00:00+08:00", 120), tz));
        assert!(!h.covers(&range("2026-03-06T07:30:00+08:00", 60), tz));
        let weekdays = WorkingHours { days: vec![Weekday::Mon], ..WorkingHours::default() };
        // 2026-03-06 is a Friday.
        assert!(!weekdays.covers(&range("2026-03-06T10:00:00+08:00", 60), tz));
    }

    proptest::proptest! {
        #[test]
        fn covers_agrees_with_the_calendar_version(
            start in 0i64..2_000_000,
            len in 0i64..60,
            offset_min in -12i64 * 60..=14 * 60,
            days in proptest::collection::vec(0u8..7, 0..8),
            from in 0u32..=1440,
            until in 0u32..=1440,
        ) {
            let days = days.into_iter().map(|d| Weekday::try_from(d).unwrap_or(Weekday::Mon)).collect();
            let h = WorkingHours { days, start: from, end: until };
            let offset = FixedOffset::east_opt((offset_min * 60) as i32).unwrap_or(crate::default_offset());
            let r = SlotRange { start: crate::Slot(start), end: crate::Slot(start + len) };
            proptest::prop_assert_eq!(h.covers(&r, offset), h.covers_by_calendar(&r, offset));
        }
    }

    #[test]
    fn hours_parse_from_json() {
        let h: WorkingHours =
            serde_json::from_str(r#"{"days":["mon","sat"],"start":"09:30","end":"18:00"}"#).unwrap_or_default();
        assert_eq!(h.start, 570);
        assert_eq!(h.days, vec![Weekday::Mon, Weekday::Sat]);
        assert!(serde_json::from_str::<WorkingHours>(r#"{"days":["xx"],"start":"09:30","end":"18:00"}"#).is_err());
        assert!(serde_json::from_str::<WorkingHours>(r#"{"days":["mon"],"start":"25:00","end":"18:00"}"#).is_err());
    }

    #[test]
    fn ratings_average() {
        let mut w = Worker {
            id: "W1".into(),
            name: "王阿姨".into(),
            skills: [(Service::Cleaning, 4)].into(),
            home: GeoPoint { lat: 31.23, lon: 121.47 },
            radius_km: 10.0,
            hours: WorkingHours::default(),
            rating: 0.0,
            rating_count: 0,
            active: true,
        };
        w.add_rating(5);
        w.add_rating(4);
        assert!((w.rating - 4.5).abs() < 1e-9);
        assert!(w.validate().is_ok());
        assert!(w.serves(Service::Cleaning, &GeoPoint { lat: 31.25, lon: 121.47 }));
        assert!(!w.serves(Service::Plumbing, &GeoPoint { lat: 31.25, lon: 121.47 }));
        assert!(!w.serves(Service::Cleaning, &GeoPoint { lat: 32.25, lon: 121.47 }));
        let patched = WorkerPatch { radius_km: Some(200.0), ..Default::default() }.apply(&w);
        assert!(patched.is_err(), "radius over 100 km is refused");
        let patched =
            WorkerPatch { active: Some(false), ..Default::default() }.apply(&w).unwrap_or_else(|e| panic!("{e}"));
        assert!(!patched.active && patched.name == w.name);
    }
}
