//! Spans between two bounds (`from March to May`, `2014-2018`, `Nov 18-Dec 19, 2015`)
//! and open-ended spans (`since August`, `before 2018`, `after 3pm`, `2018 or later`).

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};

use super::lex::month_word;
use super::range::RangeV;
use super::value::{hms, value, ymd};
use super::{Found, Parser};
use crate::time::{DomainTime, TimeKind};

/// How fine a bound is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Grain {
    Day,
    Month,
    Year,
}

/// One bound of a span: its first day, year-less or not.
#[derive(Debug, Clone, Copy)]
struct Bound {
    /// Month and day of the first day.
    month: u32,
    day: u32,
    /// The year when written (or implied by `this`, `next`).
    year: Option<i32>,
    grain: Grain,
}

impl Bound {
    fn date(&self, y: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, self.month, self.day)
    }

    fn timex(&self, y: Option<i32>) -> String {
        match y {
            Some(y) => format!("{y:04}-{:02}-{:02}", self.month, self.day),
            None => format!("XXXX-{:02}-{:02}", self.month, self.day),
        }
    }
}

/// A Recognizers `Mod` of an open span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Before,
    After,
    Since,
    Until,
}

impl Open {
    fn name(self) -> &'static str {
        match self {
            Open::Before => "before",
            Open::After => "after",
            Open::Since => "since",
            Open::Until => "until",
        }
    }
}

impl Parser<'_> {
    /// `from X to Y`, `between X and Y`, `X - Y` with days, months or years.
    pub(super) fn span_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let (j, joiners): (usize, &[&str]) = match self.w(i) {
            "from" => (i + 1, &["to", "till", "until", "through", "-", "~", "thru"]),
            "between" => (i + 1, &["and", "-", "~", "through", "to"]),
            "in" => (i + 1, &["through", "thru"]),
            _ => (i, &["to", "till", "until", "through", "-", "~", "thru"]),
        };
        let (k, a) = self.bound(j)?;
        if !self.any(k, joiners) {
            return None;
        }
        let (e, mut b) = self
            .bound(k + 1)
            .or_else(|| self.dash_date_bound(k + 1))
            .or_else(|| self.bare_day_bound(k + 1, a))
            .or_else(|| self.bare_weekday_bound(j, k + 1))?;
        let mut a = a;
        let mut e = e;
        if b.year.is_none() && a.year.is_none() {
            if let Some((e2, y)) = self.year_suffix(e) {
                a.year = Some(y);
                b.year = Some(y);
                e = e2;
            }
        }
        if self.is(i, "in") && b.grain != Grain::Year {
            return None;
        }
        self.span_of(a, b).map(|r| (e, r))
    }

    /// `11/7` right after `-` (`10/1-11/7`).
    fn dash_date_bound(&self, i: usize) -> Option<(usize, Bound)> {
        if !(i > 0 && self.is(i - 1, "-")) {
            return None;
        }
        let (k, d) = self.numeric_date_after_dash(i)?;
        let year = (!d.timex.starts_with("XXXX")).then_some(d.future.year());
        Some((k, Bound { month: d.future.month(), day: d.future.day(), year, grain: Grain::Day }))
    }

    /// `friday` after `next monday to`: that day of the first bound's week.
    fn bare_weekday_bound(&self, a_at: usize, i: usize) -> Option<(usize, Bound)> {
        let wd = super::lex::weekday_word(self.w(i))?;
        let (_, a) = self.date_expr(a_at)?;
        if a.ambiguous {
            return None;
        }
        let d = super::value::monday_of(a.future) + chrono::Duration::days(wd as i64 - 1);
        Some((i + 1, Bound { month: d.month(), day: d.day(), year: Some(d.year()), grain: Grain::Day }))
    }

    /// The second bound as a day of the first bound's month (`November 18-19`, `april 9th through 17th`).
    fn bare_day_bound(&self, i: usize, a: Bound) -> Option<(usize, Bound)> {
        if a.grain != Grain::Day {
            return None;
        }
        let j = self.opt(i, "the");
        let (k, d) = self.day_number(j)?;
        if self.digits(j) == 0 && self.ordinal_day(j).is_none() {
            return None;
        }
        if self.any(k, &[":", "am", "pm", "o", "oclock"]) || self.is(k, "/") {
            return None;
        }
        let (k, year) = match self.year_suffix(k) {
            Some((k2, y)) => (k2, Some(y)),
            None => (k, a.year),
        };
        Some((k, Bound { day: d, year, ..a }))
    }

    /// `, 2015` or ` 2015` after a bound.
    fn year_suffix(&self, i: usize) -> Option<(usize, i32)> {
        let j = if self.any(i, &[",", "in", "of"]) { i + 1 } else { i };
        self.year(j).filter(|_| self.digits(j) == 4)
    }

    /// One bound: a day, a month or a year.
    fn bound(&self, i: usize) -> Option<(usize, Bound)> {
        let mut best: Option<(usize, Bound)> = None;
        let mut consider = |c: Option<(usize, Bound)>| {
            if let Some(c) = c {
                if best.as_ref().is_none_or(|b| c.0 > b.0) {
                    best = Some(c);
                }
            }
        };
        if let Some((k, d)) = self.date_expr(i) {
            if d.timex.starts_with("XXXX-") && !d.timex.contains('W') && d.timex.len() == 10 {
                let (m, day) = (d.future.month(), d.future.day());
                consider(Some((k, Bound { month: m, day, year: None, grain: Grain::Day })));
            } else if !d.timex.contains('X') {
                let f = d.future;
                consider(Some((k, Bound { month: f.month(), day: f.day(), year: Some(f.year()), grain: Grain::Day })));
            }
        }
        if let Some((k, r)) = self.month_range(i) {
            if let Some(&(s, _)) = r.spans.last() {
                let year = (!r.timex.starts_with("XXXX")).then_some(s.year());
                consider(Some((k, Bound { month: s.month(), day: 1, year, grain: Grain::Month })));
            }
        }
        if let Some((k, y)) = self.year(i).filter(|_| self.digits(i) == 4) {
            consider(Some((k, Bound { month: 1, day: 1, year: Some(y), grain: Grain::Year })));
        }
        // "the end of 2008" ends where 2008 ends; "the middle of March" is the 16th
        if let Some((k, r)) = self.part_of_range(self.opt(i, "the")) {
            if let Some(&(s, e)) = r.spans.last() {
                let d = match r.modifier {
                    Some("end") => e,
                    Some("start") => s,
                    _ if (e - s).num_days() > 100 => NaiveDate::from_ymd_opt(s.year(), 7, 2).unwrap_or(s),
                    _ => NaiveDate::from_ymd_opt(s.year(), s.month(), 16).unwrap_or(s),
                };
                let year = (!r.timex.starts_with("XXXX")).then_some(d.year());
                consider(Some((k, Bound { month: d.month(), day: d.day(), year, grain: Grain::Month })));
            }
        }
        if let Some((k, r)) = self.period_expr(i).filter(|(_, r)| r.timex.starts_with('(') && r.spans.len() == 1) {
            if let Some(&(s, _)) = r.spans.first().filter(|_| !r.timex.contains('X')) {
                consider(Some((k, Bound { month: s.month(), day: 1, year: Some(s.year()), grain: Grain::Month })));
            }
        }
        if self.is(i, "now") || self.is(i, "date") && i > 0 && self.any(i - 1, &["to", "till"]) {
            let t = self.today;
            consider(Some((i + 1, Bound { month: t.month(), day: t.day(), year: Some(t.year()), grain: Grain::Day })));
        }
        best
    }

    /// Whether a bound is today (`now`, `to date`), whose year does not carry over to the other bound.
    fn is_now_bound(&self, b: Bound) -> bool {
        let t = self.today;
        b.grain == Grain::Day && b.year == Some(t.year()) && b.month == t.month() && b.day == t.day()
    }

    /// The span from the first day of `a` to the first day of `b`.
    fn span_of(&self, a: Bound, b: Bound) -> Option<RangeV> {
        let (ya, yb) = match (a.year, b.year) {
            (Some(x), Some(y)) => (Some(x), Some(y)),
            (None, Some(y)) if self.is_now_bound(b) => {
                let this = a.date(y)?;
                (Some(if this <= self.today { y } else { y - 1 }), Some(y))
            }
            (None, Some(y)) => {
                let back = (a.month, a.day) > (b.month, b.day);
                (Some(if back { y - 1 } else { y }), Some(y))
            }
            (Some(x), None) if self.is_now_bound(a) => {
                let this = b.date(x)?;
                (Some(x), Some(if this >= self.today { x } else { x + 1 }))
            }
            (Some(x), None) => {
                let fwd = (b.month, b.day) < (a.month, a.day);
                (Some(x), Some(if fwd { x + 1 } else { x }))
            }
            (None, None) => (None, None),
        };
        let grain = a.grain.max(b.grain).min(if a.grain == Grain::Day || b.grain == Grain::Day {
            Grain::Day
        } else {
            Grain::Year
        });
        let unit = |s: NaiveDate, e: NaiveDate| -> Option<String> {
            match grain {
                Grain::Year if a.grain == Grain::Year && b.grain == Grain::Year => {
                    Some(format!("P{}Y", e.year() - s.year()))
                }
                Grain::Day => Some(format!("P{}D", (e - s).num_days())),
                _ => Some(format!("P{}M", (e.year() - s.year()) * 12 + e.month() as i32 - s.month() as i32)),
            }
        };
        match (ya, yb) {
            (Some(ya), Some(yb)) => {
                let (s, e) = (a.date(ya)?, b.date(yb)?);
                if e <= s {
                    return None;
                }
                let keep_a = a.year.is_none() && a.grain == Grain::Day && self.is_now_bound(b);
                let keep_b = b.year.is_none() && b.grain == Grain::Day && self.is_now_bound(a);
                let sa = if keep_a { a.timex(None) } else { ymd(s) };
                let sb = if keep_b { b.timex(None) } else { ymd(e) };
                let timex = format!("({sa},{sb},{})", unit(s, e)?);
                Some(RangeV { timex, spans: vec![(s, e)], modifier: None, unresolved: false })
            }
            _ => {
                let t = self.today;
                let mut spans = Vec::new();
                for y in [t.year() - 1, t.year(), t.year() + 1] {
                    let s = a.date(y)?;
                    let e = if (b.month, b.day) > (a.month, a.day) { b.date(y)? } else { b.date(y + 1)? };
                    spans.push((s, e));
                }
                // past: the latest span starting on or before today; future: the first ending after today
                let past = spans.iter().rev().find(|(s, _)| *s <= t).copied()?;
                let future = spans.iter().find(|(_, e)| *e > t).copied()?;
                let timex = format!("({},{},{})", a.timex(None), b.timex(None), unit(future.0, future.1)?);
                let spans = if past == future { vec![future] } else { vec![past, future] };
                Some(RangeV { timex, spans, modifier: None, unresolved: false })
            }
        }
    }

    /// Open spans: `since August`, `before 2018`, `after 3pm`, `as late as tomorrow`, `2018 or later`.
    pub(super) fn open_at(&self, i: usize) -> Option<Found> {
        if let Some(f) = self.more_less_offset_at(i).or_else(|| self.to_date_at(i)).or_else(|| self.time_or_later_at(i))
        {
            return Some(f);
        }
        if let Some((j, open)) = self.open_prefix(i) {
            if self.is(j, "around") {
                let mut f = self.open_target(j + 1, open, None)?;
                for v in &mut f.values {
                    v.insert("Mod".into(), format!("{}-approx", open.name()).into());
                }
                return Some(f);
            }
            return self.open_target(j, open, None);
        }
        // suffix forms: "2018 or later", "1/1/2016 and after", "year 2016 and greater"
        let j = self.opt(i, "year");
        let (k, _) = self.range_expr(j).map(|(k, _)| (k, ())).or_else(|| self.date_expr(j).map(|(k, _)| (k, ())))?;
        let followed = self.is(k + 2, "than") || self.time_expr(k + 2).is_some();
        let joined = self.any(k, &["or", "and"]) && self.any(k + 1, &["later", "after", "greater"]);
        let later = (joined && !followed).then_some(k + 2)?;
        self.open_target(i, Open::Since, Some(later))
    }

    /// `more than 2 weeks before today`, `less than 3 days after tomorrow`.
    pub(super) fn more_less_offset_at(&self, i: usize) -> Option<Found> {
        let more = match self.w(i) {
            "more" => true,
            "less" => false,
            _ => return None,
        };
        if !self.is(i + 1, "than") {
            return None;
        }
        let (k, n) = self.count(i + 2)?;
        let days = match self.w(k).trim_end_matches('s') {
            "day" => n as i64,
            "week" => 7 * n as i64,
            _ => return None,
        };
        let after = match self.w(k + 1) {
            "after" => true,
            "before" => false,
            _ => return None,
        };
        let (e, base) = self.relative_day_at(k + 2)?;
        let shift = if after { days } else { -days };
        let point = base + chrono::Duration::days(shift);
        let v = if more {
            let key = if after { "start" } else { "end" };
            let mut v = value(&ymd(point), "daterange", &[(key, ymd(point))]);
            v.insert("Mod".into(), (if after { "after" } else { "before" }).into());
            v
        } else {
            let (s, e) = if after { (base, point) } else { (point, base) };
            value(&format!("({},{},P{days}D)", ymd(s), ymd(e)), "daterange", &[("start", ymd(s)), ("end", ymd(e))])
        };
        Some(Found {
            kind: TimeKind::DateRange,
            end: e,
            values: vec![v],
            domain: DomainTime { date: Some(point), ..Default::default() },
        })
    }

    fn relative_day_at(&self, i: usize) -> Option<(usize, NaiveDate)> {
        let t = self.today;
        let d = match self.w(i) {
            "today" => t,
            "tomorrow" => t + chrono::Duration::days(1),
            "yesterday" => t - chrono::Duration::days(1),
            _ => return None,
        };
        Some((i + 1, d))
    }

    /// `to date`, `till date`: up to today.
    pub(super) fn to_date_at(&self, i: usize) -> Option<Found> {
        if !(self.any(i, &["to", "till"]) && self.is(i + 1, "date")) || i > 0 && self.is(i - 1, "up") {
            return None;
        }
        if self.toks.get(i + 2).is_some_and(|t| t.kind != super::lex::TokKind::Punct) {
            return None;
        }
        let mut v = value("PRESENT_REF", "daterange", &[("end", ymd(self.today))]);
        v.insert("Mod".into(), "before".into());
        Some(Found {
            kind: TimeKind::DateRange,
            end: i + 2,
            values: vec![v],
            domain: DomainTime { date: Some(self.today), ..Default::default() },
        })
    }

    /// `3 pm or later`: a time and everything after it.
    pub(super) fn time_or_later_at(&self, i: usize) -> Option<Found> {
        let (k, t) = self.time_expr(i)?;
        if !(self.is(k, "or") && self.is(k + 1, "later")) || self.any(k + 2, &["on", "than"]) {
            return None;
        }
        let values = t
            .candidates()
            .iter()
            .map(|c| {
                let mut v = value(&c.timex(), "timerange", &[("start", hms(c.naive()))]);
                v.insert("Mod".into(), "since".into());
                v.insert("sourceEntity".into(), "datetimepoint".into());
                v
            })
            .collect();
        let start = self.next_occurrence(t.booking());
        Some(Found {
            kind: TimeKind::TimeRange,
            end: k + 2,
            values,
            domain: DomainTime { start: Some(start), ..Default::default() },
        })
    }

    fn open_prefix(&self, i: usize) -> Option<(usize, Open)> {
        let w = self.w(i);
        Some(match w {
            "before" | "prior" => (if self.is(i + 1, "to") { i + 2 } else { i + 1 }, Open::Before),
            "until" | "till" if !self.is(i + 1, "date") => (i + 1, Open::Before),
            "after" => (i + 1, Open::After),
            "by" if self.any(i + 1, &["end", "the"]) => (i + 1, Open::Before),
            "since" => (i + 1, Open::Since),
            "starting" | "beginning" => (self.opt(i + 1, "on"), Open::Since),
            "no" if self.is(i + 1, "later") && self.is(i + 2, "than") => (i + 3, Open::Before),
            "later" | "greater" if self.is(i + 1, "than") => (i + 2, Open::After),
            "year" if self.is(i + 1, "greater") && self.is(i + 2, "than") => (i + 3, Open::After),
            "as" if self.is(i + 1, "early") && self.is(i + 2, "as") => (i + 3, Open::Since),
            "as" if self.is(i + 1, "late") && self.is(i + 2, "as") => (i + 3, Open::Until),
            "any" if self.is(i + 1, "time") && self.is(i + 2, "from") => (i + 3, Open::Since),
            ">" if self.is(i + 1, "=") => (i + 2, Open::Since),
            "<" if self.is(i + 1, "=") => (i + 2, Open::Until),
            _ => return None,
        })
    }

    /// The open span over what follows `i` (or over `i..end` when the modifier came after).
    fn open_target(&self, i: usize, open: Open, end: Option<usize>) -> Option<Found> {
        let mut best: Option<Found> = None;
        let j = if self.is(i, "the") && self.is(i + 1, "year") {
            i + 2
        } else if self.is(i, "the") && !self.any(i + 1, &["week", "month", "year", "weekend", "day"]) {
            i + 1
        } else {
            i
        };
        if let Some((k, r)) = self.range_expr(j) {
            best = Some(self.open_range(end.unwrap_or(k), open, &r));
        }
        if let Some((k, d)) = self.date_expr(j) {
            if best.as_ref().is_none_or(|b| end.is_none() && k > b.end) {
                let spans: Vec<(NaiveDate, NaiveDate)> = d.candidates().into_iter().map(|x| (x, x)).collect();
                let r = RangeV { timex: d.timex.clone(), spans, modifier: None, unresolved: false };
                best = Some(self.open_point(end.unwrap_or(k), open, &r));
            }
        }
        if end.is_none() {
            if let Some((k, t)) = self.time_expr(j) {
                if best.as_ref().is_none_or(|b| k > b.end) {
                    let values = t
                        .candidates()
                        .iter()
                        .map(|c| {
                            let key = if matches!(open, Open::Before | Open::Until) { "end" } else { "start" };
                            let mut v = value(&c.timex(), "timerange", &[(key, hms(c.naive()))]);
                            v.insert("Mod".into(), open.name().into());
                            v.insert("sourceEntity".into(), "datetimepoint".into());
                            v
                        })
                        .collect();
                    let start = self.next_occurrence(t.booking());
                    best = Some(Found {
                        kind: TimeKind::TimeRange,
                        end: k,
                        values,
                        domain: DomainTime { start: Some(start), ..Default::default() },
                    });
                }
            }
        }
        best
    }

    /// An open span bounded by a span of days (`before 2018`: ends where 2018 starts).
    fn open_range(&self, end: usize, open: Open, r: &RangeV) -> Found {
        let values = r
            .spans
            .iter()
            .map(|(s, e)| {
                let part = r.modifier;
                let (key, d) = match open {
                    Open::Before if part == Some("end") => ("end", *e),
                    Open::Before => ("end", *s),
                    Open::After if part == Some("start") => ("start", *s),
                    Open::After => ("start", *e),
                    Open::Since => ("start", *s),
                    Open::Until => ("end", *e),
                };
                let mut v = open_value(&r.timex, open, key, d, "datetimerange");
                if let Some(p) = part {
                    v.insert("Mod".into(), format!("{}-{p}", open.name()).into());
                }
                v
            })
            .collect();
        let last_day = |e: NaiveDate| e.pred_opt().unwrap_or(e);
        let date = r.spans.last().map(|(s, e)| if r.modifier == Some("end") { last_day(*e) } else { *s });
        Found { kind: TimeKind::DateRange, end, values, domain: DomainTime { date, ..Default::default() } }
    }

    /// An open span bounded by a day.
    fn open_point(&self, end: usize, open: Open, r: &RangeV) -> Found {
        let values = r
            .spans
            .iter()
            .map(|(d, _)| {
                let key = if matches!(open, Open::Before | Open::Until) { "end" } else { "start" };
                open_value(&r.timex, open, key, *d, "datetimepoint")
            })
            .collect();
        let date = r.spans.last().map(|(s, _)| *s);
        Found { kind: TimeKind::DateRange, end, values, domain: DomainTime { date, ..Default::default() } }
    }

    /// `M d1-d2` handled by [`Self::span_range`]; `d1 to d2 of M` here.
    pub(super) fn days_of_month_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let (j, joiners): (usize, &[&str]) = match self.w(i) {
            "from" => (i + 1, &["to", "till", "until", "through", "-"]),
            "between" => (i + 1, &["and", "-"]),
            _ => (i, &["to", "till", "until", "through", "-"]),
        };
        let a0 = self.opt(j, "the");
        let (k, d1) = self.day_number(a0)?;
        if !self.any(k, joiners) {
            return None;
        }
        let b0 = self.opt(k + 1, "the");
        let (k2, d2) = self.day_number(b0)?;
        let k3 = if self.is(k2, "of") { k2 + 1 } else { k2 };
        let m = month_word(self.w(k3))?;
        let (e, year) = match self.year_suffix(k3 + 1) {
            Some((e, y)) => (e, Some(y)),
            None => (k3 + 1, None),
        };
        let a = Bound { month: m, day: d1, year, grain: Grain::Day };
        let b = Bound { month: m, day: d2, year, grain: Grain::Day };
        self.span_of(a, b).map(|r| (e, r))
    }
}

fn open_value(timex: &str, open: Open, key: &str, d: NaiveDate, source: &str) -> Map<String, Value> {
    let mut v = value(timex, "daterange", &[(key, ymd(d))]);
    v.insert("Mod".into(), open.name().into());
    v.insert("sourceEntity".into(), source.into());
    v
}
