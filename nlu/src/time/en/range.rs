//! Spans of days: months (`May`, `April 2017`), weeks, weekends and years
//! relative to today (`next week`, `this weekend`), years (`2015`, `1990s`)
//! and counted spans (`next 3 days`).

use chrono::{Datelike, Duration, NaiveDate};

use super::lex::month_word;
use super::value::{add_months, monday_of, next_month_start, value, week_timex, ymd};
use super::{Found, Parser};
use crate::time::{DomainTime, TimeKind};

/// A span of days: its timex and candidate (start, end-exclusive) pairs.
#[derive(Debug, Clone)]
pub struct RangeV {
    /// `2016-W46`, `XXXX-05`, `(2016-11-08,2016-11-11,P3D)`…
    pub timex: String,
    /// Candidates, past first.
    pub spans: Vec<(NaiveDate, NaiveDate)>,
    /// A Recognizers `Mod` (`end`, `start`, `mid`…).
    pub modifier: Option<&'static str>,
    /// Written as `value: not resolved` (seasons).
    pub unresolved: bool,
}

impl RangeV {
    pub(super) fn one(timex: String, start: NaiveDate, end: NaiveDate) -> RangeV {
        RangeV { timex, spans: vec![(start, end)], modifier: None, unresolved: false }
    }

    /// A whole month (`2016-10` or `XXXX-10` with two candidates).
    fn month(p: &Parser, y: Option<i32>, m: u32) -> Option<RangeV> {
        let span = |y: i32| Some((NaiveDate::from_ymd_opt(y, m, 1)?, next_month_start(y, m)));
        match y {
            Some(y) => Some(RangeV::one(format!("{y:04}-{m:02}"), span(y)?.0, span(y)?.1)),
            None => {
                let ry = p.today.year();
                let past = if m <= p.today.month() { ry } else { ry - 1 };
                let future = if m >= p.today.month() { ry } else { ry + 1 };
                Some(RangeV {
                    timex: format!("XXXX-{m:02}"),
                    spans: vec![span(past)?, span(future)?],
                    modifier: None,
                    unresolved: false,
                })
            }
        }
    }

    /// A whole year.
    fn year(y: i32) -> Option<RangeV> {
        Some(RangeV::one(format!("{y:04}"), NaiveDate::from_ymd_opt(y, 1, 1)?, NaiveDate::from_ymd_opt(y + 1, 1, 1)?))
    }

    /// The week (Monday–Sunday) of `d`.
    fn week(d: NaiveDate) -> RangeV {
        let mon = monday_of(d);
        RangeV::one(week_timex(d), mon, mon + Duration::days(7))
    }

    /// The found entity for this range.
    pub fn found(&self, end: usize) -> Found {
        let values = if self.unresolved {
            vec![value(&self.timex, "daterange", &[("value", "not resolved".into())])]
        } else {
            self.spans
                .iter()
                .map(|(s, e)| {
                    let mut v = value(&self.timex, "daterange", &[("start", ymd(*s)), ("end", ymd(*e))]);
                    if let Some(m) = self.modifier {
                        v.insert("Mod".into(), m.into());
                    }
                    v
                })
                .collect()
        };
        let date =
            self.spans.last().map(|(s, e)| if self.modifier == Some("end") { *e - Duration::days(1) } else { *s });
        Found { kind: TimeKind::DateRange, end, values, domain: DomainTime { date, ..Default::default() } }
    }
}

impl Parser<'_> {
    /// A span of days as a found entity.
    pub(super) fn date_range_at(&self, i: usize) -> Option<Found> {
        let (end, r) = self.range_expr(i)?;
        let mut found = r.found(end);
        // booking convention: "this weekend" said on a weekend means next week's
        let weekend_day = self.today.weekday().number_from_monday() >= 6;
        if weekend_day && r.timex.ends_with("-WE") && self.is(end - 1, "weekend") && !self.any(i, &["last", "next"]) {
            found.domain.date = Some(monday_of(self.today) + Duration::days(12));
        }
        Some(found)
    }

    /// A span of days.
    pub(super) fn range_expr(&self, i: usize) -> Option<(usize, RangeV)> {
        if let Some(Some(known)) = self.ranges.borrow().get(i) {
            return known.clone();
        }
        let found = self.range_expr_uncached(i);
        if let Some(slot) = self.ranges.borrow_mut().get_mut(i) {
            *slot = Some(found.clone());
        }
        found
    }

    fn range_expr_uncached(&self, i: usize) -> Option<(usize, RangeV)> {
        let mut best: Option<(usize, RangeV)> = None;
        for c in [
            self.month_range(i),
            self.relative_range(i),
            self.year_range(i),
            self.next_n_range(i),
            self.span_range(i),
            self.days_of_month_range(i),
            self.period_expr(i),
        ]
        .into_iter()
        .flatten()
        {
            if best.as_ref().is_none_or(|b| c.0 > b.0) {
                best = Some(c);
            }
        }
        best
    }

    /// `may`, `this september`, `april 2017`, `2017 april`, `dec-2018`, `june of 1992`.
    pub(super) fn month_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let dashed = self.is(i + 1, "-")
            && self.glued(i + 1)
            && self.glued(i + 2)
            && !(self.is(i + 3, "-") && self.glued(i + 3));
        if let (true, Some(a), Some(b)) = (dashed, self.num(i), self.num(i + 2)) {
            let ym = match (self.digits(i), self.digits(i + 2)) {
                (4, 1 | 2) if (1..=12).contains(&b) => Some((a as i32, b)),
                (1 | 2, 4) if (1..=12).contains(&a) => Some((b as i32, a)),
                _ => None,
            };
            if let Some((y, m)) = ym.filter(|(y, _)| (1900..2100).contains(y)) {
                return Some((i + 3, RangeV::month(self, Some(y), m)?));
            }
        }
        if let Some((k, y)) = self.year(i) {
            let m = month_word(self.w(k))?;
            return Some((k + 1, RangeV::month(self, Some(y), m)?));
        }
        let (j, rel) = match self.w(i) {
            "this" | "next" | "last" => (i + 1, self.w(i)),
            _ => (i, ""),
        };
        let w = self.w(j);
        let m = month_word(w)?;
        let may_ok =
            if rel.is_empty() { self.month_context(j) } else { i > 0 && self.any(i - 1, &["from", "in", "since"]) };
        if w == "may" && !may_ok && self.year_after_month(j + 1).is_none() {
            return None;
        }
        if w.len() == 3 && i > 0 && self.is(i - 1, "$") {
            return None;
        }
        if let Some((k, y)) = self.year_after_month(j + 1) {
            return Some((k, RangeV::month(self, Some(y), m)?));
        }
        let y = self.today.year();
        match rel {
            "this" => Some((j + 1, RangeV::month(self, Some(y), m)?)),
            "next" => Some((j + 1, RangeV::month(self, Some(y + 1), m)?)),
            "last" => Some((j + 1, RangeV::month(self, Some(y - 1), m)?)),
            _ => Some((j + 1, RangeV::month(self, None, m)?)),
        }
    }

    fn year_after_month(&self, i: usize) -> Option<(usize, i32)> {
        let j = if self.any(i, &["-", "/", ",", "of", "in"]) { i + 1 } else { i };
        let (k, y) = self.year(j)?;
        (!self.is(k, "-") || self.num(k + 1).is_none()).then_some((k, y))
    }

    /// `next week`, `this month`, `last year`, `the weekend`, `this weekend`.
    fn relative_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let (j, rel) = match self.w(i) {
            "this" | "next" | "last" | "previous" | "coming" | "following" | "the" | "current" | "past" => {
                (i + 1, self.w(i))
            }
            _ => (i, ""),
        };
        let off: i64 = match rel {
            "next" | "coming" | "following" => 1,
            "last" | "previous" | "past" => -1,
            _ => 0,
        };
        let t = self.today;
        let to_date = self.is(j + 1, "to") && self.is(j + 2, "date");
        if rel == "the" && (self.num(j + 1).is_some() || self.is(j + 1, "of") || to_date) {
            return None;
        }
        if rel == "the" && self.is(j, "week") && self.is(j + 1, "after") && self.is(j + 2, "next") {
            return Some((j + 3, RangeV::week(t + Duration::days(14))));
        }
        let r = match self.w(j) {
            "week" if !rel.is_empty() => RangeV::week(t + Duration::days(7 * off)),
            "workweek" | "working" if !rel.is_empty() => {
                let e = if self.is(j, "working") && self.is(j + 1, "week") { j + 2 } else { j + 1 };
                if e == j + 1 && self.is(j, "working") {
                    return None;
                }
                // a work week runs Monday to Friday (end exclusive: Saturday)
                let mut r = RangeV::week(t + Duration::days(7 * off));
                r.spans = r.spans.iter().map(|(s, _)| (*s, *s + Duration::days(5))).collect();
                return Some((e, r));
            }
            "fortnight" if !rel.is_empty() && rel != "this" => {
                let mon = monday_of(t);
                let s = match rel {
                    "next" | "coming" | "following" => mon + Duration::days(14),
                    "last" | "previous" | "past" => mon - Duration::days(14),
                    _ => mon,
                };
                let e = s + Duration::days(14);
                return Some((j + 1, RangeV::one(format!("({},{},P2W)", ymd(s), ymd(e)), s, e)));
            }
            "weekend" if rel != "past" => {
                let sat = monday_of(t) + Duration::days(5 + 7 * off);
                let w = sat.iso_week();
                RangeV::one(format!("{}-W{:02}-WE", w.year(), w.week()), sat, sat + Duration::days(2))
            }
            "month" if !rel.is_empty() => {
                let d = add_months(NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?, off as i32);
                RangeV::month(self, Some(d.year()), d.month())?
            }
            "year" if !rel.is_empty() => RangeV::year(t.year() + off as i32)?,
            _ => return None,
        };
        Some((j + 1, r))
    }

    /// `2015`, `year 2008`, `the year 2008`, `1990s`, `1990 s`.
    fn year_range(&self, i: usize) -> Option<(usize, RangeV)> {
        if self.digits(i) == 4 && self.is(i + 1, "s") && self.num(i).is_some_and(|y| y % 10 == 0) {
            let y = self.num(i)? as i32;
            let (s, e) = (NaiveDate::from_ymd_opt(y, 1, 1)?, NaiveDate::from_ymd_opt(y + 10, 1, 1)?);
            return Some((i + 2, RangeV::one(format!("({},{},P10Y)", ymd(s), ymd(e)), s, e)));
        }
        let j = if self.is(i, "year") { i + 1 } else { i };
        let (k, y) = self.year(j)?;
        if self.digits(j) == 4 {
            let before_bad = i > 0 && (self.any(i - 1, &["-", "+", "$", "/", ".", ":"]) && self.glued(i));
            let after_bad = self.any(k, &["-", "/", ".", ":"]) && self.glued(k) && self.num(k + 1).is_some();
            let dash_before = i > 1 && self.is(i - 1, "-") && self.num(i - 2).is_some();
            let dash_after = self.is(k, "-") && self.num(k + 1).is_some();
            if before_bad || after_bad || dash_before || dash_after || self.any(k, &["people", "students"]) {
                return None;
            }
        }
        Some((k, RangeV::year(y)?))
    }

    /// `next 3 days`, `last two weeks`, `past 5 years`.
    fn next_n_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let dir: i64 = match self.w(i) {
            "next" | "coming" | "following" | "upcoming" => 1,
            "last" | "past" | "previous" => -1,
            _ => return None,
        };
        let (k, n) = self.count(i + 1)?;
        Some((k + 1, self.n_units_from_today(n, self.w(k), dir)?))
    }

    /// `n` days/weeks/months/years after today (`dir` > 0, starting tomorrow)
    /// or before it (ending today), as a range with a `P<n><unit>` timex.
    pub(super) fn n_units_from_today(&self, n: u32, unit: &str, dir: i64) -> Option<RangeV> {
        let (code, days, months) = match unit.trim_end_matches('s') {
            "day" => ('D', i64::from(n), 0),
            "week" => ('W', 7 * i64::from(n), 0),
            "month" => ('M', 0, i32::try_from(n).ok()?),
            "year" => ('Y', 0, i32::try_from(n).ok()?.checked_mul(12)?),
            _ => return None,
        };
        let t = self.today;
        let (s, e) = if dir > 0 {
            let s = t + Duration::days(1);
            (s, add_months(s, months) + Duration::days(days))
        } else {
            (add_months(t, -months) - Duration::days(days), t)
        };
        Some(RangeV::one(format!("({},{},P{n}{code})", ymd(s), ymd(e)), s, e))
    }
}
