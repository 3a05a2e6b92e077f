//! Chinese date-time expressions.
//!
//! The sentence is [normalized](crate::normalize) first (digits for Chinese
//! numerals, simplified characters, half-width punctuation); hand-written
//! scanners then read it left to right, taking at each position the longest
//! expression that starts there:
//!
//! - a *term*: a date (`date`), a clock time or part of day (`clock`), or a
//!   day with a time (`明天下午4:30`, `明天上午`);
//! - terms joined into a range (`下午2点到4点`, `从三月二日到九日`,
//!   `2020年和2023年之间`) or given a modifier (`2021年以前`, `自2024年5月1日起`);
//! - a `duration`, alone or relative to now (`3天前`, `之后10分钟`, `过去五年`);
//! - a recurring time (`每周六上午`).
//!
//! Each is resolved twice (`resolve`, `range`): the Recognizers-Text values
//! and the booking conventions of DESIGN.md §3. Spans are mapped back to the
//! original text through the normalizer's offset map.
//!
//! Booking resolution, beyond DESIGN.md §3: a date without a year, a weekday
//! without a week (`周三`) and a holiday take the next one on or after today; a
//! span of days (`下周`, `下个月`, `15号到20号`) gives its first day as `date`;
//! `九点前` sets `end`, `九点以后` sets `start`; `凌晨` defaults to 05:00 and
//! `夜里` to 22:00; lunar dates (`正月初一`, `中秋节`) get no booking day, as
//! there is no lunar calendar here.

mod clock;
mod date;
mod duration;
mod range;
mod resolve;
mod scan;
mod written;

use chrono::{NaiveDateTime, NaiveTime};

use self::clock::{Clock, Part};
use self::date::DateTerm;
use self::resolve::Resolved;
use self::scan::Text;
use super::{DomainTime, TimeEntity, TimeKind};
use crate::normalize::normalize;
use crate::time::common::value_map;

/// Finds the Chinese date-time expressions of `text` (see [`super::parse`]).
pub fn parse(text: &str, reference: NaiveDateTime) -> Vec<TimeEntity> {
    let normalized = normalize(text);
    let t = Text::new(normalized.chars());
    let original: Vec<char> = text.chars().collect();
    let mut entities = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let Some((end, resolved)) = expression(&t, i, reference) else {
            i += 1;
            continue;
        };
        let (start, stop) = normalized.original_span(i, end);
        if stop > start && !resolved.values.is_empty() {
            entities.push(TimeEntity {
                text: original[start..stop].iter().collect(),
                kind: resolved.kind,
                start,
                end: stop - 1,
                values: resolved.values,
                domain: resolved.domain,
            });
        }
        i = end.max(i + 1);
    }
    entities
}

/// The longest expression starting at `at`: (end, resolution).
fn expression(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    if !t.is_boundary(at) {
        return None;
    }
    let candidates =
        [recurring(t, at), relative(t, at, reference), range::ranged(t, at, reference), duration_alone(t, at)];
    candidates.into_iter().flatten().fold(None, |best: Option<(usize, Resolved)>, c| match best {
        Some(b) if b.0 >= c.0 => Some(b),
        _ => Some(c),
    })
}

/// A date, a time, or both.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A day or a span of days.
    Date(DateTerm),
    /// A clock time.
    Time(Clock),
    /// A part of day alone (`上午`).
    Part(Part),
    /// A day and a clock time.
    DateTime(DateTerm, Clock),
    /// A day and a part of day (`明天上午`, `今晚`).
    DatePart(DateTerm, Part),
}

/// Words that are a day and a part of day at once: (word, days from today, part).
const DAY_PARTS: &[(&str, i64, Part)] = &[
    ("今晚", 0, Part::Evening),
    ("今夜", 0, Part::Night),
    ("今早", 0, Part::Morning),
    ("今晨", 0, Part::Morning),
    ("明晚", 1, Part::Evening),
    ("明早", 1, Part::Morning),
    ("昨晚", -1, Part::Evening),
    ("昨夜", -1, Part::Night),
];

/// A term at `at`: (term, end).
pub fn term(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(Term, usize)> {
    let today = reference.date();
    if let Some((k, end)) = t.longest(at, DAY_PARTS) {
        let (_, days, part) = DAY_PARTS[k];
        let day = DateTerm::Exact(today + chrono::Duration::days(days));
        return Some(match clock::bare_clock(t, end) {
            Some((mut c, e)) => {
                c.part = Some(part);
                (Term::DateTime(day, c), e)
            }
            None => (Term::DatePart(day, part), end),
        });
    }
    if let Some((day, end)) = date::date_term(t, at, today) {
        // `周末上午`: the weekend's booking day with a time of day.
        let day = match day {
            DateTerm::Period(date::Period::Week { monday, weekend: true }) if followed_by_time(t, end) => {
                DateTerm::Exact(date::weekend_day(monday, today))
            }
            other => other,
        };
        if day.is_day() {
            let i = about(t, t.skip_spaces(end));
            if let Some((c, e)) = clock::clock(t, i) {
                return Some((Term::DateTime(day, c), e));
            }
            if let Some((p, e)) = clock::part(t, i, true) {
                return Some((Term::DatePart(day, p), e));
            }
        }
        return Some((Term::Date(day), end));
    }
    if let Some((c, e)) = clock::clock(t, about(t, at)) {
        return Some((Term::Time(c), e));
    }
    clock::part(t, at, false).map(|(p, e)| (Term::Part(p), e))
}

/// Skips `大约` / `大概` / `约` ("about") before a time.
fn about(t: &Text, at: usize) -> usize {
    t.longest(at, &["大约", "大概", "约"]).map_or(at, |(_, e)| e)
}

/// Whether a clock time or a part of day starts at `at`.
fn followed_by_time(t: &Text, at: usize) -> bool {
    let i = t.skip_spaces(at);
    clock::clock(t, i).is_some() || clock::part(t, i, false).is_some()
}

/// Resolves a term alone.
pub fn resolve_term(term: &Term, reference: NaiveDateTime) -> Resolved {
    let today = reference.date();
    match term {
        Term::Date(d) => resolve::date(d, today),
        Term::Time(c) => resolve::time(c, reference),
        Term::Part(p) => resolve::part_of_day(*p, reference),
        Term::DateTime(d, c) => resolve::date_time(d, c, today),
        Term::DatePart(d, p) => resolve::date_part(d, *p, today),
    }
}

/// A length of time alone (`3个小时`).
fn duration_alone(t: &Text, at: usize) -> Option<(usize, Resolved)> {
    let (dur, end) = duration::duration(t, at)?;
    let seconds = dur.seconds();
    let values = vec![value_map(&[
        ("timex", &dur.timex()),
        ("type", "duration"),
        ("value", &crate::time::common::fmt_number(seconds)),
    ])];
    let domain = DomainTime { duration_minutes: Some((seconds / 60.0).round() as u32), ..DomainTime::default() };
    Some((end, Resolved { kind: TimeKind::Duration, values, domain }))
}

/// Expressions relative to now: `马上`, `下个小时`, `之后10分钟`, `还剩3小时`, `过去五年`, `3天前`, `3小时后`.
fn relative(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    now_word(t, at, reference)
        .or_else(|| hour_from_now(t, at, reference))
        .or_else(|| duration_from_now(t, at, reference))
        .or_else(|| span_before_or_after_now(t, at, reference))
        .or_else(|| duration_ago_or_later(t, at, reference))
}

/// `马上`, `立刻` (the near future), `现在` (now).
fn now_word(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    let (k, end) = t.longest(at, &["马上", "立刻", "立即", "现在"])?;
    let timex = if k < 3 { "FUTURE_REF" } else { "PRESENT_REF" };
    let value = crate::time::common::fmt_datetime(reference);
    let values = vec![value_map(&[("timex", timex), ("type", "datetime"), ("value", &value)])];
    let domain = DomainTime { start: Some(reference), ..DomainTime::default() };
    Some((end, Resolved { kind: TimeKind::DateTime, values, domain }))
}

/// `上个小时`, `下个小时`: the hour before or after now.
fn hour_from_now(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    let (k, end) = t.longest(at, &["上个小时", "下个小时"])?;
    let hour = chrono::Duration::hours(1);
    let (a, b) = if k == 0 { (reference - hour, reference) } else { (reference, reference + hour) };
    Some((end, range::moment_span(a, b, "PT1H")))
}

/// `之后10分钟`, `之前2小时`, `还剩5分钟`: the moments between now and a length of time away.
fn duration_from_now(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    let (k, i) = t.longest(at, &["还剩", "之后", "以后", "之前", "以前"])?;
    let (dur, end) = duration::duration(t, t.skip_spaces(i))?;
    if k == 0 && dur.is_compound() {
        return None; // `还剩8天20小时` is a length of time
    }
    let forward = k < 3;
    let other = dur.shift(reference, forward)?;
    let (a, b) = if forward { (reference, other) } else { (other, reference) };
    Some((end, range::moment_span(a, b, &dur.timex())))
}

/// `过去五年`, `前2周`, `近3年`, `上3个月`, `后2年`, `未来3小时`.
fn span_before_or_after_now(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    // `最后`, `之前`, `以后`… end in these words without meaning "the last n".
    let inside_word = at.checked_sub(1).and_then(|p| t.at(p)).is_some_and(|c| "最之以然往落".contains(c));
    if inside_word {
        return None;
    }
    let (k, i) = t.longest(at, SPAN_WORDS)?;
    let i = t.skip_spaces(t.lit(i, "的").unwrap_or(i));
    // `上3个月` is a span, `上半年` a half of this year.
    if SPAN_WORDS[k].0 == "上" && !t.at(i).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let (dur, end) = duration::duration(t, i)?;
    span_from_now(&dur, SPAN_WORDS[k].1, reference).map(|r| (end, r))
}

/// `3天前` (a date), `3小时后` (a moment; its timex is the day, as Recognizers writes it).
fn duration_ago_or_later(t: &Text, at: usize, reference: NaiveDateTime) -> Option<(usize, Resolved)> {
    let (dur, i) = duration::duration(t, at)?;
    let (k, end) = t.longest(i, &["前", "之前", "以前", "后", "之后", "以后"])?;
    let moment = dur.shift(reference, k >= 3)?;
    let date = crate::time::common::fmt_date(moment.date());
    let resolved = if dur.is_calendar() {
        let values = vec![value_map(&[("timex", &date), ("type", "date"), ("value", &date)])];
        let domain = DomainTime { date: Some(moment.date()), ..DomainTime::default() };
        Resolved { kind: TimeKind::Date, values, domain }
    } else {
        let value = crate::time::common::fmt_datetime(moment);
        let values = vec![value_map(&[("timex", &date), ("type", "datetime"), ("value", &value)])];
        let domain = DomainTime { start: Some(moment), ..DomainTime::default() };
        Resolved { kind: TimeKind::DateTime, values, domain }
    };
    Some((end, resolved))
}

/// Words before a duration that make it the span just before or after now: (word, forward).
const SPAN_WORDS: &[(&str, bool)] =
    &[("过去", false), ("前", false), ("近", false), ("最近", false), ("上", false), ("后", true), ("未来", true)];

/// The span of `dur` before or after now: whole days for calendar units (`过去五年`, `后2年`
/// starts tomorrow), exact moments for hours and minutes (`未来3小时`).
fn span_from_now(dur: &duration::Dur, forward: bool, reference: NaiveDateTime) -> Option<Resolved> {
    if !dur.is_calendar() {
        let other = dur.shift(reference, forward)?;
        let (a, b) = if forward { (reference, other) } else { (other, reference) };
        return Some(range::moment_span(a, b, &dur.timex()));
    }
    let today = reference.date().and_time(NaiveTime::MIN);
    let (a, b) = if forward {
        let a = today + chrono::Duration::days(1);
        (a, dur.shift(a, true)?)
    } else {
        (dur.shift(today, false)?, today)
    };
    Some(range::day_span(a.date(), b.date(), &dur.timex()))
}

/// `每2周`, `每3天`: every n units (`P2W`).
fn every_n(t: &Text, at: usize) -> Option<(usize, Resolved)> {
    if !t.at(at).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let (dur, end) = duration::duration(t, at).filter(|(d, _)| !d.is_compound())?;
    let timex = dur.timex();
    let values = vec![value_map(&[("timex", &timex), ("type", "set"), ("value", "not resolved")])];
    let domain = DomainTime { recurring: Some(timex), ..DomainTime::default() };
    Some((end, Resolved { kind: TimeKind::Set, values, domain }))
}

/// Recurring times: `每天`, `每周`, `每个月`, `每年`, `每周二`, `每周六上午`, `每周二下午七点`.
fn recurring(t: &Text, at: usize) -> Option<(usize, Resolved)> {
    let i = t.lit(at, "每")?;
    if let Some(found) = every_n(t, i) {
        return Some(found);
    }
    let i = t.lit(i, "个").unwrap_or(i);
    let (base, mut end) = if let Some(e) = t.lit(i, "周末") {
        ("XXXX-WXX-WE".to_string(), e)
    } else if let Some((_, e)) = t.longest(i, &["周", "星期", "礼拜"]) {
        match scan::weekday(t, e) {
            Some((d, e)) => (format!("XXXX-WXX-{d}"), e),
            None => ("P1W".to_string(), e),
        }
    } else if let Some((_, e)) = t.longest(i, &["天", "日"]) {
        ("P1D".to_string(), e)
    } else if let Some(e) = t.lit(i, "月") {
        // `每月1号` → `XXXX-XX-01`.
        match t.digits(e).and_then(|(d, de, _)| t.longest(de, &["号", "日"]).map(|(_, x)| (d, x))) {
            Some((d @ 1..=31, x)) => (format!("XXXX-XX-{d:02}"), x),
            _ => ("P1M".to_string(), e),
        }
    } else if let Some(e) = t.lit(i, "年") {
        ("P1Y".to_string(), e)
    } else {
        let e = t.lit(i, "小时")?;
        ("PT1H".to_string(), e)
    };
    // A time of day after a day-based set: `每周二下午七点` → `XXXX-WXX-2T19`, `每天早上8点` → `T08`.
    let mut timex = base.clone();
    if base.starts_with("XXXX") || base == "P1D" {
        let day = if base == "P1D" { "" } else { base.as_str() };
        if let Some((c, e)) = clock::clock(t, end) {
            timex = format!("{day}{}", c.timex_at(c.hour24()));
            end = e;
        } else if let Some((p, e)) = clock::part(t, end, false) {
            timex = format!("{day}T{}", p.timex());
            end = e;
        }
    }
    let values = vec![value_map(&[("timex", &timex), ("type", "set"), ("value", "not resolved")])];
    let domain = DomainTime { recurring: Some(timex), ..DomainTime::default() };
    Some((end, Resolved { kind: TimeKind::Set, values, domain }))
}

#[cfg(test)]
mod tests;
