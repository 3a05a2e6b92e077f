//! Resolving parsed expressions: Recognizers-Text values and the booking conventions.
//!
//! Dates without a year (or weekdays without a week) have two Recognizers
//! candidates, the past and the future one; the booking resolution takes the
//! future one (on or after today).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::{Map, Value};

use super::clock::{Clock, Part};
use super::date::{DateTerm, Period, Spec};
use crate::time::common::{first_monday_of_month, fmt_date, fmt_datetime, fmt_time, value_map, weekday_in_week, ymd};
use crate::time::{DomainTime, TimeKind};

/// One Recognizers-Text resolution value.
pub type Values = Vec<Map<String, Value>>;

/// A resolved expression: its type, Recognizers values and booking resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Recognizers-Text type.
    pub kind: TimeKind,
    /// Recognizers-Text values.
    pub values: Values,
    /// Booking conventions.
    pub domain: DomainTime,
}

/// A day with its timex: the candidates Recognizers lists and the one a booking takes.
#[derive(Debug, Clone, PartialEq)]
pub struct DayCandidates {
    /// Timex of the day (`2016-11-08`, `XXXX-01-19`, `XXXX-WXX-1`).
    pub timex: String,
    /// Candidate days (past first); empty when the day does not exist.
    pub days: Vec<NaiveDate>,
    /// The day a booking means (the next on or after today).
    pub booking: Option<NaiveDate>,
    /// A lunar date.
    pub lunar: bool,
}

/// The candidate days of a day-level term.
pub fn day_candidates(term: &DateTerm, today: NaiveDate) -> DayCandidates {
    match term {
        DateTerm::Exact(d) => DayCandidates { timex: fmt_date(*d), days: vec![*d], booking: Some(*d), lunar: false },
        DateTerm::Weekday(w) => {
            let this = weekday_in_week(today, *w, 0);
            let future = if this >= today { this } else { this + Duration::days(7) };
            let past = if this <= today { this } else { this - Duration::days(7) };
            DayCandidates {
                timex: format!("XXXX-WXX-{w}"),
                days: dedup(vec![past, future]),
                booking: Some(future),
                lunar: false,
            }
        }
        DateTerm::Spec(s) => spec_candidates(s, today),
        DateTerm::NthWeekday(n) => {
            let past = (0..3).map(|k| today.year() - k).find_map(|y| n.in_year(y).filter(|d| *d <= today));
            let future = (0..3).map(|k| today.year() + k).find_map(|y| n.in_year(y).filter(|d| *d >= today));
            let timex = future.or(past).map(|d| n.timex(d)).unwrap_or_default();
            DayCandidates {
                timex,
                days: dedup(past.into_iter().chain(future).collect()),
                booking: future,
                lunar: false,
            }
        }
        DateTerm::Period(_) => DayCandidates { timex: String::new(), days: Vec::new(), booking: None, lunar: false },
    }
}

fn dedup(mut days: Vec<NaiveDate>) -> Vec<NaiveDate> {
    days.dedup();
    days
}

fn spec_candidates(s: &Spec, today: NaiveDate) -> DayCandidates {
    let day = s.day.unwrap_or(1);
    let timex = format!(
        "{}-{}-{:02}",
        s.year.map_or("XXXX".to_string(), |y| format!("{y:04}")),
        s.month.map_or("XX".to_string(), |m| format!("{m:02}")),
        day
    );
    let days = match (s.year, s.month) {
        (Some(y), Some(m)) => ymd(y, m, day).into_iter().collect(),
        (None, Some(m)) => {
            let past = (0..8).map(|k| today.year() - k).find_map(|y| ymd(y, m, day).filter(|d| *d <= today));
            let future = (0..8).map(|k| today.year() + k).find_map(|y| ymd(y, m, day).filter(|d| *d >= today));
            past.into_iter().chain(future).collect()
        }
        _ => {
            let month_at = |k: i32| crate::time::common::first_of_month_offset(today, k);
            let found = |d: &NaiveDate| d.day() == day;
            let past = (0..12)
                .filter_map(|k| month_at(-k))
                .find_map(|f| ymd(f.year(), f.month(), day).filter(|d| found(d) && *d <= today));
            let future = (0..12)
                .filter_map(month_at)
                .find_map(|f| ymd(f.year(), f.month(), day).filter(|d| found(d) && *d >= today));
            past.into_iter().chain(future).collect()
        }
    };
    let days = dedup(days);
    // A lunar date is not a calendar (solar) date: no booking day without a lunar calendar.
    let booking = if s.lunar { None } else { days.last().copied() };
    DayCandidates { timex, days, booking, lunar: s.lunar }
}

fn with_lunar(mut m: Map<String, Value>, lunar: bool) -> Map<String, Value> {
    if lunar {
        m.insert("isLunar".into(), Value::String("True".into()));
    }
    m
}

/// The values of a date (`type: date`).
fn date_values(c: &DayCandidates) -> Values {
    if c.days.is_empty() {
        return vec![value_map(&[("timex", &c.timex), ("type", "date"), ("value", "not resolved")])];
    }
    c.days
        .iter()
        .map(|d| with_lunar(value_map(&[("timex", &c.timex), ("type", "date"), ("value", &fmt_date(*d))]), c.lunar))
        .collect()
}

/// A daterange value.
pub fn range_value(timex: &str, start: NaiveDate, end: NaiveDate) -> Map<String, Value> {
    value_map(&[("timex", timex), ("type", "daterange"), ("start", &fmt_date(start)), ("end", &fmt_date(end))])
}

/// Resolves a date term alone.
pub fn date(term: &DateTerm, today: NaiveDate) -> Resolved {
    match term {
        DateTerm::Period(p) => period(p, today),
        DateTerm::Spec(s) if s.day.is_none() => month_or_year(s, today),
        _ => {
            let c = day_candidates(term, today);
            let domain = DomainTime { date: c.booking, ..DomainTime::default() };
            Resolved { kind: TimeKind::Date, values: date_values(&c), domain }
        }
    }
}

/// The past and future years of a month span of no particular year (`3月`, `六月到八月`).
///
/// Past: the latest year whose start month is not after the reference month; future: the
/// earliest whose end month is not before it.
pub fn month_years(start_month: u32, end_month: u32, today: NaiveDate) -> Vec<i32> {
    let now = today.year() * 12 + today.month() as i32;
    let wraps = end_month < start_month;
    let start_index = |y: i32| y * 12 + start_month as i32;
    let end_index = |y: i32| (y + wraps as i32) * 12 + end_month as i32;
    let past = (0..3).map(|k| today.year() + 1 - k).find(|&y| start_index(y) <= now);
    let future = (0..3).map(|k| today.year() - 1 + k).find(|&y| end_index(y) >= now);
    let mut years: Vec<i32> = past.into_iter().chain(future).collect();
    years.dedup();
    years
}

fn month_or_year(s: &Spec, today: NaiveDate) -> Resolved {
    let values = match (s.year, s.month) {
        (Some(y), None) => year_values(y),
        (Some(y), Some(m)) => month_value(&format!("{y:04}-{m:02}"), y, m).into_iter().collect(),
        (None, Some(m)) => {
            month_years(m, m, today).into_iter().filter_map(|y| month_value(&format!("XXXX-{m:02}"), y, m)).collect()
        }
        (None, None) => Vec::new(),
    };
    range_resolved(values)
}

fn year_values(y: i32) -> Values {
    match (ymd(y, 1, 1), ymd(y + 1, 1, 1)) {
        (Some(a), Some(b)) => vec![range_value(&format!("{y:04}"), a, b)],
        _ => Vec::new(),
    }
}

fn month_value(timex: &str, y: i32, m: u32) -> Option<Map<String, Value>> {
    let start = ymd(y, m, 1)?;
    let end = crate::time::common::first_of_month_offset(start, 1)?;
    Some(range_value(timex, start, end))
}

/// A daterange resolution whose booking date is the start of the last (future) candidate.
fn range_resolved(values: Values) -> Resolved {
    let date = values
        .last()
        .and_then(|v| v.get("start"))
        .and_then(Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    Resolved { kind: TimeKind::DateRange, values, domain: DomainTime { date, ..DomainTime::default() } }
}

fn period(p: &Period, today: NaiveDate) -> Resolved {
    match p {
        Period::Year(y) => range_resolved(year_values(*y)),
        Period::YearToDate(y, to) => {
            range_resolved(ymd(*y, 1, 1).map(|a| range_value(&format!("{y:04}"), a, *to)).into_iter().collect())
        }
        Period::Week { monday, weekend } => {
            let iso = monday.iso_week();
            let mut timex = format!("{:04}-W{:02}", iso.year(), iso.week());
            let mut start = *monday;
            if *weekend {
                timex += "-WE";
                start = *monday + Duration::days(5);
            }
            let mut r = range_resolved(vec![range_value(&timex, start, *monday + Duration::days(7))]);
            if *weekend {
                r.domain.date = Some(super::date::weekend_day(*monday, today));
            }
            r
        }
        Period::MonthWeek { month, week } => {
            let timex = format!("XXXX-{month:02}-W{week:02}");
            let values = month_years(*month, *month, today)
                .into_iter()
                .filter_map(|y| {
                    let start = first_monday_of_month(y, *month)? + Duration::weeks(*week as i64 - 1);
                    Some(range_value(&timex, start, start + Duration::weeks(1)))
                })
                .collect();
            range_resolved(values)
        }
        Period::Span { start, end, timex } => range_resolved(vec![range_value(timex, *start, *end)]),
        Period::Decade { century: Some(c), decade } => {
            let y = (c - 1) * 100 + decade;
            let values = match (ymd(y, 1, 1), ymd(y + 10, 1, 1)) {
                (Some(a), Some(b)) => vec![range_value(&format!("({},{},P10Y)", fmt_date(a), fmt_date(b)), a, b)],
                _ => Vec::new(),
            };
            range_resolved(values)
        }
        Period::Decade { century: None, decade } => {
            let timex = format!("(XX{:02}-01-01,XX{:02}-01-01,P10Y)", decade % 100, (decade + 10) % 100);
            let base = today.year() - today.year().rem_euclid(100);
            let past = if base + decade <= today.year() { base + decade } else { base - 100 + decade };
            let future = if base + decade >= today.year() { base + decade } else { base + 100 + decade };
            let mut years = vec![past, future];
            years.dedup();
            let values = years
                .into_iter()
                .filter_map(|y| Some(range_value(&timex, ymd(y, 1, 1)?, ymd(y + 10, 1, 1)?)))
                .collect();
            range_resolved(values)
        }
        Period::Unresolved(timex) => Resolved {
            kind: TimeKind::DateRange,
            values: vec![value_map(&[("timex", timex), ("type", "daterange"), ("value", "not resolved")])],
            domain: DomainTime::default(),
        },
    }
}

/// The clock hours Recognizers lists for a clock (morning and evening when ambiguous).
pub fn clock_hours(c: &Clock) -> Vec<u32> {
    if c.is_ambiguous() {
        vec![c.hour % 12, c.hour % 12 + 12]
    } else {
        vec![c.hour24()]
    }
}

/// Today if `time` is still ahead of `reference`, else tomorrow (booking convention).
pub fn next_occurrence(time: NaiveTime, reference: NaiveDateTime) -> NaiveDateTime {
    let today = reference.date().and_time(time);
    if today > reference {
        today
    } else {
        today + Duration::days(1)
    }
}

/// Resolves a clock time alone.
pub fn time(c: &Clock, reference: NaiveDateTime) -> Resolved {
    let values = clock_hours(c)
        .into_iter()
        .map(|h| value_map(&[("timex", &c.timex_at(h)), ("type", "time"), ("value", &fmt_time(c.time_at(h)))]))
        .collect();
    let start = next_occurrence(c.time_at(c.booking_hour()), reference);
    Resolved { kind: TimeKind::Time, values, domain: DomainTime { start: Some(start), ..DomainTime::default() } }
}

/// Resolves a part of day alone (`上午` → 08:00–12:00).
pub fn part_of_day(p: Part, reference: NaiveDateTime) -> Resolved {
    let (a, b) = p.span();
    let timex = format!("T{}", p.timex());
    let values =
        vec![value_map(&[("timex", &timex), ("type", "timerange"), ("start", &fmt_time(a)), ("end", &fmt_time(b))])];
    let hour = NaiveTime::from_hms_opt(p.default_hour(), 0, 0).unwrap_or(NaiveTime::MIN);
    let start = next_occurrence(hour, reference);
    Resolved { kind: TimeKind::TimeRange, values, domain: DomainTime { start: Some(start), ..DomainTime::default() } }
}

/// Resolves a day with a clock time (`明天下午4:30`).
pub fn date_time(term: &DateTerm, c: &Clock, today: NaiveDate) -> Resolved {
    let days = day_candidates(term, today);
    let mut values = Vec::new();
    for d in &days.days {
        for h in clock_hours(c) {
            let timex = format!("{}{}", days.timex, c.timex_at(h));
            let value = fmt_datetime(d.and_time(c.time_at(h)));
            values
                .push(with_lunar(value_map(&[("timex", &timex), ("type", "datetime"), ("value", &value)]), days.lunar));
        }
    }
    if days.days.is_empty() {
        let timex = format!("{}{}", days.timex, c.timex_at(c.hour24()));
        values.push(value_map(&[("timex", &timex), ("type", "datetime"), ("value", "not resolved")]));
    }
    let start = days.booking.map(|d| d.and_time(c.time_at(c.booking_hour())));
    Resolved { kind: TimeKind::DateTime, values, domain: DomainTime { start, ..DomainTime::default() } }
}

/// Resolves a day with a part of day (`明天上午` → 08:00–12:00 that day).
pub fn date_part(term: &DateTerm, p: Part, today: NaiveDate) -> Resolved {
    let days = day_candidates(term, today);
    let (a, b) = p.span();
    let timex = format!("{}T{}", days.timex, p.timex());
    let values = days
        .days
        .iter()
        .map(|d| {
            let (s, e) = (fmt_datetime(d.and_time(a)), fmt_datetime(d.and_time(b)));
            value_map(&[("timex", &timex), ("type", "datetimerange"), ("start", &s), ("end", &e)])
        })
        .collect();
    let hour = NaiveTime::from_hms_opt(p.default_hour(), 0, 0).unwrap_or(NaiveTime::MIN);
    let start = days.booking.map(|d| d.and_time(hour));
    Resolved { kind: TimeKind::DateTimeRange, values, domain: DomainTime { start, ..DomainTime::default() } }
}
