//! Ranges (`下午2点到4点`, `从三月二日到九日`, `2020年和2023年之间`) and modifiers
//! (`2021年以前`, `自2024年5月1日起`, `2022-03-01之后`, `下午四点之前`).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::clock::{Clock, Precision};
use super::date::{DateTerm, NthWeekday, Spec};
use super::resolve::{self, clock_hours, day_candidates, month_years, next_occurrence, range_value, Resolved, Values};
use super::scan::Text;
use super::{resolve_term, term, Term};
use crate::time::common::{
    fmt_date, fmt_datetime, fmt_time, timex_clock_span, timex_datetime_full, value_map, weekday_in_week, ymd,
};
use crate::time::{DomainTime, TimeKind};

/// A modifier of a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mod {
    /// `之前`: up to, excluded.
    Before,
    /// `之后`: from, excluded.
    After,
    /// `开始`, `起`, `或之后`: from, included.
    Since,
    /// `或之前`, `及以前`: up to, included.
    Until,
}

impl Mod {
    fn name(self) -> &'static str {
        match self {
            Mod::Before => "before",
            Mod::After => "after",
            Mod::Since => "since",
            Mod::Until => "until",
        }
    }
}

/// Words before a term: `从` (a range or `开始` follows), `自`/`自从` (since), `截止到` (before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    From,
    Since,
    Before,
}

const PREFIXES: &[(&str, Prefix)] = &[
    ("从", Prefix::From),
    ("自", Prefix::Since),
    ("自从", Prefix::Since),
    ("截止到", Prefix::Before),
    ("截至", Prefix::Before),
    ("截止", Prefix::Before),
];

const SUFFIXES: &[(&str, Mod)] = &[
    ("或之前", Mod::Until),
    ("或以前", Mod::Until),
    ("及以前", Mod::Until),
    ("及之前", Mod::Until),
    ("或之后", Mod::Since),
    ("或以后", Mod::Since),
    ("及以后", Mod::Since),
    ("及之后", Mod::Since),
    ("之前", Mod::Before),
    ("以前", Mod::Before),
    ("之后", Mod::After),
    ("以后", Mod::After),
    ("开始", Mod::Since),
    ("以来", Mod::Since),
    ("起", Mod::Since),
];

/// A term, possibly a range or modified: (end, resolution).
pub fn ranged(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    let (prefix, i) = match t.longest(at, PREFIXES) {
        Some((k, e)) => (Some(PREFIXES[k].1), e),
        None => (None, at),
    };
    if let Some(found) = bare_number_range(t, i, reference) {
        return Some(found);
    }
    let (t1, j) = term(t, i, reference)?;
    if let Some(found) = joined(t, &t1, j, reference) {
        return Some(found);
    }
    let suffix = modifier_after(t, &t1, j);
    let (m, end) = match (prefix, suffix) {
        (None, Some((m, e))) => (m, e),
        (None, None) if is_lone_day_number(t, &t1, j) => return None,
        (None, None) => return Some((j, resolve_term(&t1, reference))),
        (Some(Prefix::From | Prefix::Since), Some((Mod::Since, e))) if prefix_opens_clause(t, at, &t1, e) => {
            (Mod::Since, e)
        }
        (Some(Prefix::Since), None) => (Mod::Since, j),
        (Some(Prefix::Before), None) => (Mod::Before, j),
        _ => return None,
    };
    if let Some(found) = after_then_before(t, &t1, m, end, reference) {
        return Some(found);
    }
    match modified(&t1, m, reference) {
        Some(r) => Some((end, r)),
        None if prefix.is_none() => Some((j, resolve_term(&t1, reference))),
        None => None,
    }
}

/// `t1` joined to a second term ending at `j`: `…到…`, `…-…`, `…和…之间`.
fn joined(t: &Text, t1: &Term, j: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    if let Some((t2, e)) = connector(t, j).and_then(|k| term(t, k, reference)) {
        if let Some(r) = range(t1, &t2, reference) {
            let e = t.longest(e, &["之间", "间"]).map_or(e, |(_, x)| x);
            return Some((e, r));
        }
    }
    let (_, k) = t.longest(j, &["和", "与"])?;
    let (t2, e) = term(t, k, reference)?;
    let (_, e) = t.longest(e, &["之间", "间"])?;
    range(t1, &t2, reference).map(|r| (e, r))
}

/// A modifier after a term ending at `j`: (modifier, end).
fn modifier_after(t: &Text, t1: &Term, j: usize) -> Option<(Mod, usize)> {
    if let Some((k, e)) = t.longest(t.skip_spaces(j), SUFFIXES) {
        return Some((SUFFIXES[k].1, e));
    }
    // A bare `前`/`后` after a year (`2015年前`) or a clock time (`九点前到`); after a day it
    // would swallow `前天`/`后天`.
    let year_only = matches!(t1, Term::Date(DateTerm::Spec(Spec { year: Some(_), month: None, day: None, .. })));
    let clock = matches!(t1, Term::Time(_) | Term::DateTime(..));
    let (k, e) = t.longest(j, &["前", "后"]).filter(|_| year_only || clock)?;
    if clock && t.is(e, '天') {
        return None;
    }
    Some((if k == 0 { Mod::Before } else { Mod::After }, e))
}

/// `3点以后5点以前`, `2010年之后2018年之前`: a lower bound right followed by an upper one is a range.
fn after_then_before(t: &Text, t1: &Term, m: Mod, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    if !matches!(m, Mod::After | Mod::Since) {
        return None;
    }
    let (t2, j) = term(t, at, reference)?;
    let (m2, end) = modifier_after(t, &t2, j)?;
    if !matches!(m2, Mod::Before | Mod::Until) {
        return None;
    }
    range(t1, &t2, reference).map(|r| (end, r))
}

/// Whether `从`/`自` at `at` belongs to a `…开始`/`…起` expression: Recognizers keeps it when it
/// opens a clause (sentence start, after `或`/`在`/punctuation), but not before a year with `起`.
fn prefix_opens_clause(t: &Text, at: usize, term: &Term, end: usize) -> bool {
    let year_only = matches!(term, Term::Date(DateTerm::Spec(Spec { month: None, day: None, .. })));
    if year_only && t.ends_with(end, "起") {
        return false;
    }
    at.checked_sub(1).and_then(|p| t.at(p)).is_none_or(|c| "或在、,，;；。 ".contains(c))
}

/// `15号` alone at the end of a clause is too often a number (a house, a seat) to be a date;
/// with company (`15号上午`, `15号来`, `15号到20号`) it is one.
fn is_lone_day_number(t: &Text, term: &Term, end: usize) -> bool {
    let day_only = matches!(term, Term::Date(DateTerm::Spec(Spec { year: None, month: None, day: Some(_), .. })));
    day_only && t.ends_with(end, "号") && t.at(end).is_none_or(|c| c.is_ascii_punctuation() || "，。！？".contains(c))
}

/// A range connector after a term (spaces allowed around `-`): the position after it.
fn connector(t: &Text, at: usize) -> Option<usize> {
    let i = t.skip_spaces(at);
    let (_, e) = t.longest(i, &["到", "至", "-", "~"])?;
    Some(t.skip_spaces(e))
}

/// `2001-2004年`, `早上七到八点`: a bare number that takes the unit of the term after it.
fn bare_number_range(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    let (part, i) = match super::clock::part(t, at, false) {
        Some((p, e)) => (Some(p), e),
        None => (None, at),
    };
    let (n, j, digits) = t.digits(i)?;
    if !t.is_boundary(i) {
        return None;
    }
    let k = connector(t, j)?;
    let (t2, end) = term(t, k, reference)?;
    let t1 = match &t2 {
        Term::Date(DateTerm::Spec(s)) if digits == 4 && s.month.is_none() && s.day.is_none() && part.is_none() => {
            Term::Date(DateTerm::Spec(Spec { year: Some(n as i32), ..Spec::default() }))
        }
        Term::Time(c) if digits <= 2 && n <= 24 => {
            Term::Time(Clock { hour: n, minute: 0, second: 0, precision: Precision::Hour, part, meridiem: c.meridiem })
        }
        _ => return None,
    };
    let t2 = match t2 {
        Term::Time(mut c) => {
            c.part = c.part.or(part);
            Term::Time(c)
        }
        other => other,
    };
    range(&t1, &t2, reference).map(|r| (end, r))
}

/// Resolves a range of two terms.
fn range(t1: &Term, t2: &Term, reference: NaiveDateTime) -> Option<Resolved> {
    match (t1, t2) {
        (Term::Date(a @ DateTerm::Exact(first)), Term::Date(DateTerm::Weekday(w))) => {
            // `下周一到周三`: the end weekday is in the week of the start (or the one after).
            let mut last = weekday_in_week(*first, *w, 0);
            if last < *first {
                last += Duration::days(7);
            }
            date_range(a, &DateTerm::Exact(last), reference.date())
        }
        (Term::Date(DateTerm::NthWeekday(n)), Term::Date(b)) => nth_weekday_range(n, b, reference.date()),
        (Term::Date(DateTerm::Weekday(w)), Term::Date(b @ DateTerm::Weekday(_))) => {
            // `周一到周五`: from the next such weekday.
            let first = resolve::day_candidates(&DateTerm::Weekday(*w), reference.date()).booking?;
            range(&Term::Date(DateTerm::Exact(first)), &Term::Date(b.clone()), reference)
        }
        (Term::Date(DateTerm::Spec(a)), Term::Date(DateTerm::Spec(b))) if a.month.is_none() && a.year.is_none() => {
            // `15号到20号`: days of the month the start falls in next.
            let first = resolve::day_candidates(&DateTerm::Spec(*a), reference.date()).booking?;
            let last = Spec { year: Some(first.year()), month: b.month.or(Some(first.month())), ..*b };
            date_range(&DateTerm::Exact(first), &DateTerm::Spec(last), reference.date())
        }
        (Term::Date(a), Term::Date(b)) => date_range(a, b, reference.date()),
        (Term::Time(a), Term::Time(b)) => Some(time_range(a, b, reference)),
        (Term::DateTime(d, a), Term::Time(b)) => datetime_range(d, a, None, b, reference),
        (Term::Time(a), Term::DateTime(d, b)) => {
            // `3点-明天5点`: the start is today.
            datetime_range(&DateTerm::Exact(reference.date()), a, Some(d), b, reference)
        }
        (Term::DateTime(d1, a), Term::DateTime(d2, b)) => datetime_range(d1, a, Some(d2), b, reference),
        _ => None,
    }
}

/// A term as year/month/day fields (a resolved day has all three).
fn as_spec(d: &DateTerm) -> Option<Spec> {
    match d {
        DateTerm::Spec(s) => Some(*s),
        DateTerm::Exact(day) => {
            Some(Spec { year: Some(day.year()), month: Some(day.month()), day: Some(day.day()), lunar: false })
        }
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Grain {
    Year,
    Month,
    Day,
}

/// The first day an endpoint stands for in `year` (`None` when it does not exist).
fn endpoint(s: &Spec, year: i32, grain: Grain) -> Option<NaiveDate> {
    match grain {
        Grain::Year => ymd(year, 1, 1),
        Grain::Month => ymd(year, s.month?, 1),
        Grain::Day => ymd(year, s.month?, s.day?),
    }
}

fn endpoint_timex(s: &Spec, year: Option<i32>) -> String {
    let y = year.map_or("XXXX".to_string(), |y| format!("{y:04}"));
    format!("{y}-{:02}-{:02}", s.month.unwrap_or(1), s.day.unwrap_or(1))
}

fn grain_span(a: NaiveDate, b: NaiveDate, grain: Grain) -> String {
    match grain {
        Grain::Year => format!("P{}Y", b.year() - a.year()),
        Grain::Month => format!("P{}M", (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32),
        Grain::Day => format!("P{}D", (b - a).num_days()),
    }
}

/// `从三月二日到九日`, `2001-2004年`, `六月到八月`, `2024年3月1日-3月15日`.
fn date_range(a: &DateTerm, b: &DateTerm, today: NaiveDate) -> Option<Resolved> {
    let sa = as_spec(a)?;
    let mut sb = as_spec(b)?;
    // After a relative day (`上周四到十月一日`) an end without a year keeps `XXXX` in its timex.
    let end_year_written = sb.year.is_some() || !matches!(a, DateTerm::Exact(_));
    if sb.month.is_none() && sb.day.is_some() {
        sb.month = sa.month;
    }
    if sb.year.is_none() && (sb.month.is_some() || sa.month.is_none()) {
        sb.year = sa.year;
    }
    let grain = match (sa.month, sb.month, sa.day, sb.day) {
        (None, None, None, None) => Grain::Year,
        (Some(_), Some(_), None, None) => Grain::Month,
        (Some(_), Some(_), Some(_), Some(_)) => Grain::Day,
        _ => return None,
    };
    let mut values = Values::new();
    match (sa.year, sb.year) {
        (Some(ya), Some(yb)) => match (endpoint(&sa, ya, grain), endpoint(&sb, yb, grain)) {
            (Some(x), Some(y)) => {
                let end_timex = if end_year_written { fmt_date(y) } else { endpoint_timex(&sb, None) };
                let timex = format!("({},{},{})", fmt_date(x), end_timex, grain_span(x, y, grain));
                values.push(range_value(&timex, x, y));
            }
            _ => {
                let timex = format!("({},{},PXD)", endpoint_timex(&sa, Some(ya)), endpoint_timex(&sb, Some(yb)));
                values.push(value_map(&[("timex", &timex), ("type", "daterange"), ("value", "not resolved")]));
            }
        },
        (None, None) if grain != Grain::Year => {
            let wraps = (sb.month, sb.day) < (sa.month, sa.day);
            let bounds = |y: i32| Some((endpoint(&sa, y, grain)?, endpoint(&sb, y + wraps as i32, grain)?));
            let years =
                if grain == Grain::Month { month_years(sa.month?, sb.month?, today) } else { day_years(bounds, today) };
            for y in years {
                let (x, e) = bounds(y)?;
                let timex = format!(
                    "({},{},{})",
                    endpoint_timex(&sa, None),
                    endpoint_timex(&sb, None),
                    grain_span(x, e, grain)
                );
                values.push(range_value(&timex, x, e));
            }
        }
        _ => return None,
    }
    let date = values.last().and_then(|v| v.get("start")).and_then(|s| s.as_str()).and_then(|s| s.parse().ok());
    Some(Resolved { kind: TimeKind::DateRange, values, domain: DomainTime { date, ..DomainTime::default() } })
}

/// The past and future years of a span of days of no particular year: the latest whose start
/// is not after today, the earliest whose end is not before it.
fn day_years(bounds: impl Fn(i32) -> Option<(NaiveDate, NaiveDate)>, today: NaiveDate) -> Vec<i32> {
    let past = (0..10).map(|k| today.year() + 1 - k).find(|&y| bounds(y).is_some_and(|(x, _)| x <= today));
    let future = (0..10).map(|k| today.year() - 1 + k).find(|&y| bounds(y).is_some_and(|(_, e)| e >= today));
    let mut years: Vec<i32> = past.into_iter().chain(future).collect();
    years.dedup();
    years
}

/// `从五月的最后一个星期五到九月一日`.
fn nth_weekday_range(n: &NthWeekday, b: &DateTerm, today: NaiveDate) -> Option<Resolved> {
    let sb = as_spec(b).filter(|s| s.year.is_none() && s.month.is_some() && s.day.is_some())?;
    let wraps = sb.month < Some(n.month);
    let bounds = |y: i32| Some((n.in_year(y)?, endpoint(&sb, y + wraps as i32, Grain::Day)?));
    let values: Values = day_years(bounds, today)
        .into_iter()
        .filter_map(|y| {
            let (x, e) = bounds(y)?;
            let timex = format!("({},{},{})", n.timex(x), endpoint_timex(&sb, None), grain_span(x, e, Grain::Day));
            Some(range_value(&timex, x, e))
        })
        .collect();
    let date = values.last().and_then(|v| v.get("start")).and_then(|s| s.as_str()).and_then(|s| s.parse().ok());
    Some(Resolved { kind: TimeKind::DateRange, values, domain: DomainTime { date, ..DomainTime::default() } })
}

/// The end hour of a range whose start hour is `start`: an end without a part of day follows
/// an afternoon start (`下午5点到6点` ends at 18:00).
fn end_hour(b: &Clock, start: u32) -> u32 {
    if b.part.is_some() || b.meridiem.is_some() {
        return b.hour24();
    }
    if start >= 12 && b.hour < 12 && b.hour + 12 >= start {
        b.hour + 12
    } else {
        b.hour % 24
    }
}

/// The booking end hour: a bare end hour reads as the booking hour, pushed past the start.
fn booking_end_hour(b: &Clock, start: u32) -> u32 {
    if b.part.is_some() || b.meridiem.is_some() {
        return b.hour24();
    }
    let h = b.booking_hour();
    if h <= start && b.hour < 12 && h + 12 < 24 {
        h + 12
    } else {
        h
    }
}

/// Seconds from `a` to `b`, through midnight when `b` is earlier.
fn clock_seconds(a: NaiveTime, b: NaiveTime) -> i64 {
    let s = (b - a).num_seconds();
    if s <= 0 {
        s + 86_400
    } else {
        s
    }
}

/// (start hour, end hour) readings of a clock range, as Recognizers lists them.
fn hour_readings(a: &Clock, b: &Clock) -> Vec<(u32, u32)> {
    if a.is_ambiguous() && b.is_ambiguous() {
        // Morning and evening readings; `10点到12点` ends at noon in the morning one.
        let (x, y) = (a.hour % 12, b.hour % 12);
        let morning_end = if b.hour == 12 && x > 0 { 12 } else { y };
        vec![(x, morning_end), (x + 12, (y + 12) % 24)]
    } else {
        let h = a.hour24();
        vec![(h, end_hour(b, h))]
    }
}

/// `下午2点到4点`, `09:15:30-10:05:00`, `7:00到8:00`.
fn time_range(a: &Clock, b: &Clock, reference: NaiveDateTime) -> Resolved {
    let values = hour_readings(a, b)
        .into_iter()
        .map(|(x, y)| {
            let (s, e) = (a.time_at(x), b.time_at(y));
            let timex = format!("({},{},{})", a.timex_at(x), b.timex_at(y), timex_clock_span(clock_seconds(s, e)));
            value_map(&[("timex", &timex), ("type", "timerange"), ("start", &fmt_time(s)), ("end", &fmt_time(e))])
        })
        .collect();
    let start_hour = a.booking_hour();
    let (s, e) = (a.time_at(start_hour), b.time_at(booking_end_hour(b, start_hour)));
    let start = next_occurrence(s, reference);
    Resolved {
        kind: TimeKind::TimeRange,
        values,
        domain: span_domain(start, start + Duration::seconds(clock_seconds(s, e))),
    }
}

fn span_domain(start: NaiveDateTime, end: NaiveDateTime) -> DomainTime {
    let minutes = u32::try_from((end - start).num_minutes()).ok();
    DomainTime { start: Some(start), end: Some(end), duration_minutes: minutes, ..DomainTime::default() }
}

/// `明天上午10点到12点`, `从今天下午三点到后天五点`, `3月2号9点和3月4号6点之间`.
fn datetime_range(
    d1: &DateTerm,
    a: &Clock,
    d2: Option<&DateTerm>,
    b: &Clock,
    reference: NaiveDateTime,
) -> Option<Resolved> {
    let today = reference.date();
    let first = day_candidates(d1, today);
    let mut values = Values::new();
    match d2 {
        None => {
            for day in &first.days {
                for (x, y) in hour_readings(a, b) {
                    let s = day.and_time(a.time_at(x));
                    let e = s + Duration::seconds(clock_seconds(a.time_at(x), b.time_at(y)));
                    let span = timex_clock_span((e - s).num_seconds());
                    let timex = format!("({}{},{}{},{span})", first.timex, a.timex_at(x), first.timex, b.timex_at(y));
                    values.push(datetime_range_value(&timex, s, e));
                }
            }
        }
        Some(d2) => {
            let second = day_candidates(d2, today);
            let (x, y) = (a.hour24(), end_hour_of_own_day(b));
            let s = first.booking?.and_time(a.time_at(x));
            let e = second.booking?.and_time(b.time_at(y));
            let span = timex_clock_span((e - s).num_seconds().max(0));
            let timex = format!("({}{},{}{},{span})", first.timex, a.timex_at(x), second.timex, b.timex_at(y));
            values.push(datetime_range_value(&timex, s, e));
        }
    }
    let start_hour = a.booking_hour();
    let start = first.booking?.and_time(a.time_at(start_hour));
    let end = match d2 {
        None => {
            let (s, e) = (a.time_at(start_hour), b.time_at(booking_end_hour(b, start_hour)));
            start + Duration::seconds(clock_seconds(s, e))
        }
        Some(d2) => day_candidates(d2, today).booking?.and_time(b.time_at(b.booking_hour())),
    };
    Some(Resolved { kind: TimeKind::DateTimeRange, values, domain: span_domain(start, end) })
}

fn end_hour_of_own_day(b: &Clock) -> u32 {
    if b.part.is_some() || b.meridiem.is_some() {
        b.hour24()
    } else {
        b.hour % 24
    }
}

fn datetime_range_value(timex: &str, s: NaiveDateTime, e: NaiveDateTime) -> serde_json::Map<String, serde_json::Value> {
    value_map(&[("timex", timex), ("type", "datetimerange"), ("start", &fmt_datetime(s)), ("end", &fmt_datetime(e))])
}

/// A span between two moments relative to now (`之后10分钟`, `下个小时`).
pub fn moment_span(a: NaiveDateTime, b: NaiveDateTime, duration_timex: &str) -> Resolved {
    let timex = format!("({},{},{duration_timex})", timex_datetime_full(a), timex_datetime_full(b));
    Resolved {
        kind: TimeKind::DateTimeRange,
        values: vec![datetime_range_value(&timex, a, b)],
        domain: span_domain(a, b),
    }
}

/// A span of days relative to today (`过去五年`, `前2周`).
pub fn day_span(a: NaiveDate, b: NaiveDate, duration_timex: &str) -> Resolved {
    let timex = format!("({},{},{duration_timex})", fmt_date(a), fmt_date(b));
    let domain = DomainTime { date: Some(a), ..DomainTime::default() };
    Resolved { kind: TimeKind::DateRange, values: vec![range_value(&timex, a, b)], domain }
}

/// A booking bound: `九点前` ends at 09:00, `九点以后` starts then.
fn bound_domain(moment: Option<NaiveDateTime>, m: Mod) -> DomainTime {
    match m {
        Mod::Before | Mod::Until => DomainTime { end: moment, ..DomainTime::default() },
        Mod::After | Mod::Since => DomainTime { start: moment, ..DomainTime::default() },
    }
}

/// Resolves a modified term (`2021年以前`, `下午四点之前`, `2023-06-01及以后`).
fn modified(term: &Term, m: Mod, reference: NaiveDateTime) -> Option<Resolved> {
    let today = reference.date();
    let bound_key = if matches!(m, Mod::Before | Mod::Until) { "end" } else { "start" };
    let entry = |timex: &str, kind: &str, source: &str, bound: &str| {
        value_map(&[("timex", timex), ("Mod", m.name()), ("type", kind), ("sourceEntity", source), (bound_key, bound)])
    };
    match term {
        Term::Date(DateTerm::Spec(Spec { year: Some(y), month: None, day: None, .. })) => {
            let bound = if matches!(m, Mod::After | Mod::Until) { y + 1 } else { *y };
            let bound = ymd(bound, 1, 1)?;
            let values = vec![entry(&format!("{y:04}"), "daterange", "datetimerange", &fmt_date(bound))];
            Some(Resolved {
                kind: TimeKind::DateRange,
                values,
                domain: DomainTime { date: Some(bound), ..DomainTime::default() },
            })
        }
        Term::Date(d) if d.is_day() => {
            let c = day_candidates(d, today);
            let values =
                c.days.iter().map(|day| entry(&c.timex, "daterange", "datetimepoint", &fmt_date(*day))).collect();
            let domain = DomainTime { date: c.booking, ..DomainTime::default() };
            Some(Resolved { kind: TimeKind::DateRange, values, domain })
        }
        Term::Time(c) => {
            let values = clock_hours(c)
                .into_iter()
                .map(|h| entry(&c.timex_at(h), "timerange", "datetimepoint", &fmt_time(c.time_at(h))))
                .collect();
            let mut r = resolve::time(c, reference);
            r.kind = TimeKind::TimeRange;
            r.values = values;
            r.domain = bound_domain(r.domain.start, m);
            Some(r)
        }
        Term::DateTime(d, c) => {
            let days = day_candidates(d, today);
            let h = c.hour24();
            let timex = format!("{}{}", days.timex, c.timex_at(h));
            let values = days
                .days
                .iter()
                .map(|day| entry(&timex, "datetimerange", "datetimepoint", &fmt_datetime(day.and_time(c.time_at(h)))))
                .collect();
            let moment = days.booking.map(|day| day.and_time(c.time_at(c.booking_hour())));
            Some(Resolved { kind: TimeKind::DateTimeRange, values, domain: bound_domain(moment, m) })
        }
        _ => None,
    }
}
