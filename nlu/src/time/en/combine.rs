//! Expressions built from pieces: a day with a time (`tomorrow at 3pm`), a day
//! with a span (`next Monday 1-3 pm`, `tomorrow night`, `today before 4pm`),
//! `now`, offsets (`in 3 days`, `3 days ago`) and windows (`next hour`).

use chrono::{Duration, NaiveDateTime};

use super::clock::{clock_pairs, pod_word, span_minutes, TRange};
use super::date::date_found;
use super::duration::Dur;
use super::value::{minutes_timex, value, ymd_hms, DateV, Pod, TimeV};
use super::{Found, Parser};
use crate::time::{DomainTime, TimeKind};

impl Parser<'_> {
    /// A day with a time of day (`tomorrow at 3pm`, `8am this morning`, `now`, `in 5 minutes`).
    pub(super) fn datetime_at(&self, i: usize) -> Option<Found> {
        if let Some(f) = self.now_at(i) {
            return Some(f);
        }
        if let Some(f) = self.offset_at(i) {
            return Some(f);
        }
        if let Some(f) = self.end_of_day_at(i) {
            return Some(f);
        }
        let (end, d, t) = self.date_then_time(i).or_else(|| self.time_then_date(i))?;
        Some(self.datetime_found(end, &d, t))
    }

    fn datetime_found(&self, end: usize, d: &DateV, t: TimeV) -> Found {
        let mut values = Vec::new();
        for c in t.candidates() {
            for day in d.candidates() {
                let timex = format!("{}{}", d.timex, c.timex());
                values.push(value(&timex, "datetime", &[("value", ymd_hms(day.and_time(c.naive())))]));
            }
        }
        let start = d.future.and_time(t.booking());
        Found { kind: TimeKind::DateTime, end, values, domain: DomainTime { start: Some(start), ..Default::default() } }
    }

    fn date_then_time(&self, i: usize) -> Option<(usize, DateV, TimeV)> {
        if let Some((j, d, pod)) = self.date_pod(i) {
            if self.any(j, &["at", "around"]) {
                let (e, t) = self.time_expr(j + 1).or_else(|| self.bare_hour_after_at(j + 1, true))?;
                return Some((e, d, if t.ambiguous { t.with_meridiem(pod.is_pm(t.h)) } else { t }));
            }
        }
        if self.holiday(i).is_some() {
            return None;
        }
        let (j, d) = self.date_expr(i)?;
        let k = if self.any(j, &["at", "on", ",", "for", "@", "around"]) { j + 1 } else { j };
        let k = if self.is(k, "at") { k + 1 } else { k };
        let at = k > j && self.any(k - 1, &["at", "around", "@"]);
        let words = || {
            let word_hour = self.digits(k) == 0 && super::lex::unit_word(self.w(k)).is_some();
            self.hour_minutes_pub(k).filter(|(_, t)| t.m.is_some() && word_hour)
        };
        let (e, t) = self
            .time_expr(k)
            .or_else(|| self.dotted_after_at(k, at))
            .or_else(|| self.bare_hour_after_at(k, at))
            .or_else(words)?;
        Some((e, d, t))
    }

    /// `2.30` after `at`.
    pub(super) fn dotted_after_at(&self, i: usize, at: bool) -> Option<(usize, TimeV)> {
        if !at || !self.is(i + 1, ".") || self.digits(i + 2) != 2 || !self.glued(i + 1) || !self.glued(i + 2) {
            return None;
        }
        let (h, m) = (self.num(i).filter(|h| *h <= 23)?, self.num(i + 2).filter(|m| *m < 60)?);
        Some((i + 3, TimeV { h, m: Some(m), s: None, ambiguous: (1..=12).contains(&h) }))
    }

    fn bare_hour_after_at(&self, i: usize, after_at: bool) -> Option<(usize, TimeV)> {
        let h = self.num(i).filter(|h| *h <= 24 && after_at && self.digits(i) <= 2)?;
        if self.any(i + 1, &["-", ":"]) {
            return None;
        }
        Some((i + 1, TimeV { h, m: None, s: None, ambiguous: (1..=12).contains(&h) }))
    }

    fn time_then_date(&self, i: usize) -> Option<(usize, DateV, TimeV)> {
        let dotted = self.is(i + 2, ".") && self.num(i + 3).is_some();
        if self.is(i, "at") && !dotted {
            return None;
        }
        let k = if self.is(i, "at") { i + 1 } else { i };
        let (j, t) = self.time_expr(k).or_else(|| self.bare_hour_after_at(k, true).filter(|_| self.is(k + 1, ",")))?;
        let j2 = if self.any(j, &["on", ","]) { j + 1 } else { j };
        if let Some((e, d, pod)) = self.date_pod(j2) {
            let t = if t.ambiguous { t.with_meridiem(pod.is_pm(t.h)) } else { t };
            return Some((e, d, t));
        }
        let (e, d) = self.date_expr(j2)?;
        Some((e, d, t))
    }

    /// `end of the day`, `end of tomorrow`, `end of this sunday`, `the eod`: the day at 23:59:59.
    fn end_of_day_at(&self, i: usize) -> Option<Found> {
        let j = self.opt(i, "the");
        let (e, d) = if self.is(j, "eod") {
            (j + 1, DateV::exact(self.today))
        } else {
            if !(self.is(j, "end") && self.is(j + 1, "of")) {
                return None;
            }
            let k = j + 2;
            let k2 = self.opt(k, "the");
            if self.is(k2, "day") {
                (k2 + 1, DateV::exact(self.today))
            } else {
                let (e, d) = self.date_expr(k).or_else(|| self.date_expr(k2))?;
                if d.timex.len() > 10 && !d.timex.contains('W') {
                    return None;
                }
                (e, d)
            }
        };
        let t = TimeV { h: 23, m: Some(59), s: Some(59), ambiguous: false };
        Some(self.datetime_found(e, &d, t))
    }

    /// `now`, `right now`, `at the moment`.
    fn now_at(&self, i: usize) -> Option<Found> {
        let end = match self.w(i) {
            "now" => i + 1,
            "right" if self.is(i + 1, "now") => i + 2,
            "at" if self.is(i + 1, "the") && self.any(i + 2, &["moment", "minute"]) => i + 3,
            "at" if self.is(i + 1, "present") => i + 2,
            "at" if self.is(i + 1, "the") && self.is(i + 2, "present") && self.is(i + 3, "time") => i + 4,
            "at" if self.is(i + 1, "this") && self.is(i + 2, "time") => i + 3,
            _ => return None,
        };
        let values = vec![value("PRESENT_REF", "datetime", &[("value", ymd_hms(self.now))])];
        Some(Found {
            kind: TimeKind::DateTime,
            end,
            values,
            domain: DomainTime { start: Some(self.now), ..Default::default() },
        })
    }

    /// `next hour`, `5 coming minutes`, `13 last minutes`, `last minute`, `within 2h`: a window from now.
    fn clock_window_at(&self, i: usize) -> Option<Found> {
        let (n, unit_at, dir) = match self.w(i) {
            "next" | "coming" | "upcoming" => (1, i + 1, 1),
            "last" | "past" | "previous" => (1, i + 1, -1),
            "within" => {
                let (j, d) = self.duration_expr(i + 1)?;
                if !matches!(d.unit, 'H' | 'm' | 'S') || d.amount.fract() != 0.0 {
                    return None;
                }
                return self.window_found(j, d.amount as i64, d.unit, 1);
            }
            _ => {
                let (k, n) = self.count(i)?;
                let dir = match self.w(k) {
                    "next" | "coming" | "upcoming" | "following" => 1,
                    "last" | "past" | "previous" => -1,
                    _ => return None,
                };
                (n as i64, k + 1, dir)
            }
        };
        let unit = match self.w(unit_at) {
            "hour" | "hours" => 'H',
            "minute" | "minutes" => 'm',
            _ => return None,
        };
        if n == 1 && self.w(unit_at).ends_with('s') || n > 1 && !self.w(unit_at).ends_with('s') {
            return None;
        }
        self.window_found(unit_at + 1, n, unit, dir)
    }

    fn window_found(&self, end: usize, n: i64, unit: char, dir: i64) -> Option<Found> {
        let len = if unit == 'H' { Duration::try_hours(n) } else { Duration::try_minutes(n) }?;
        let (s, e) = if dir > 0 {
            (self.now, self.now.checked_add_signed(len)?)
        } else {
            (self.now.checked_sub_signed(len)?, self.now)
        };
        let f = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let dur = if unit == 'H' { format!("PT{n}H") } else { format!("PT{n}M") };
        let timex = format!("({},{},{dur})", f(s), f(e));
        let values = vec![value(&timex, "datetimerange", &[("start", ymd_hms(s)), ("end", ymd_hms(e))])];
        let mins = (e - s).num_minutes();
        let domain =
            DomainTime { start: Some(s), end: Some(e), duration_minutes: Some(mins as u32), ..Default::default() };
        Some(Found { kind: TimeKind::DateTimeRange, end, values, domain })
    }

    /// `in 3 days`, `3 days ago`, `in 5 minutes`, `2 weeks from today`, `30 minutes later`.
    fn offset_at(&self, i: usize) -> Option<Found> {
        let (j, d, sign) = if self.is(i, "in") {
            let (j, d) = self.duration_expr(i + 1)?;
            if self.any(j, &["from", "after", "before", "since"]) {
                return None;
            }
            (j, d, 1)
        } else {
            let (j, d) = self.duration_expr(i)?;
            match self.w(j) {
                "ago" => (j + 1, d, -1),
                "later" if !self.any(j + 1, &["this", "in", "that", "today"]) => (j + 1, d, 1),
                "from" if self.is(j + 1, "now") || self.is(j + 1, "today") && !matches!(d.unit, 'H' | 'm' | 'S') => {
                    (j + 2, d, 1)
                }
                "from" if self.any(j + 1, &["tomorrow", "tmrw"]) => {
                    let base = self.now + Duration::days(1);
                    return self.offset_found(j + 2, d, base, 1);
                }
                "from" | "after" | "before" if !self.any(j + 1, &["today", "now", "yesterday"]) => {
                    let (e, base) = self.date_expr(j + 1)?;
                    let sign = if self.is(j, "before") { -1 } else { 1 };
                    let t = d.add_to(base.future.and_time(chrono::NaiveTime::MIN), sign)?;
                    return Some(date_found(&DateV::exact(t.date()), e, self.today));
                }
                "after" if self.is(j + 1, "today") => (j + 2, d, 1),
                "before" if self.is(j + 1, "today") => (j + 2, d, -1),
                "before" if self.is(j + 1, "yesterday") => {
                    let base = self.now - Duration::days(1);
                    return self.offset_found(j + 2, d, base, -1);
                }
                _ => return None,
            }
        };
        self.offset_found(j, d, self.now, sign)
    }

    fn offset_found(&self, end: usize, d: Dur, base: NaiveDateTime, sign: i64) -> Option<Found> {
        let t = d.add_to(base, sign)?;
        if matches!(d.unit, 'H' | 'm' | 'S') {
            let timex = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            let values = vec![value(&timex, "datetime", &[("value", ymd_hms(t))])];
            Some(Found {
                kind: TimeKind::DateTime,
                end,
                values,
                domain: DomainTime { start: Some(t), ..Default::default() },
            })
        } else {
            Some(date_found(&DateV::exact(t.date()), end, self.today))
        }
    }

    /// `later this afternoon`, `late this morning`, `early this evening`.
    fn date_pod_mod_at(&self, i: usize) -> Option<Found> {
        let part = match self.w(i) {
            "early" => "start",
            "late" | "later" => "end",
            _ => return None,
        };
        let (end, d, pod) = self.date_pod(i + 1)?;
        let (s, e) = pod.bounds();
        let (s, e) = if part == "start" { (s, s + Duration::hours(2)) } else { (e - Duration::hours(2), e) };
        let timex = format!("{}T{}", d.timex, pod.code());
        let mut v = value(
            &timex,
            "datetimerange",
            &[("start", ymd_hms(d.future.and_time(s))), ("end", ymd_hms(d.future.and_time(e)))],
        );
        v.insert("Mod".into(), part.into());
        let start = Some(d.future.and_time(s));
        Some(Found {
            kind: TimeKind::DateTimeRange,
            end,
            values: vec![v],
            domain: DomainTime { start, ..Default::default() },
        })
    }

    /// A day with a span of the day: `tomorrow night`, `this evening`, `next Monday 1-3 pm`, `tonight`.
    pub(super) fn datetime_range_at(&self, i: usize) -> Option<Found> {
        if let Some(f) = self.date_pod_mod_at(i).or_else(|| self.clock_window_at(i)) {
            return Some(f);
        }
        let pod = self.date_pod(i).map(|(end, d, pod)| self.pod_found(end, &d, pod));
        let open = self.date_open_time(i);
        let ranged = self.date_then_range(i).or_else(|| self.range_then_date(i)).map(|(end, d, r)| match r {
            TRange::Part(pod) => self.pod_found(end, &d, pod),
            TRange::Clock(a, b) => self.clock_range_found(end, &d, a, b),
        });
        [ranged, open, pod].into_iter().flatten().fold(None, |best: Option<Found>, f| match best {
            Some(b) if b.end >= f.end => Some(b),
            _ => Some(f),
        })
    }

    /// `today before 4pm`, `next wednesday later than 10 in the morning`, `feb 1st no later than 6:00`.
    fn date_open_time(&self, i: usize) -> Option<Found> {
        let (j, d) = self.date_expr(i)?;
        let (k, before) = match self.w(j) {
            "before" | "by" => (j + 1, true),
            "after" => (j + 1, false),
            "no" if self.is(j + 1, "later") && self.is(j + 2, "than") => (j + 3, true),
            "later" if self.is(j + 1, "than") => (j + 2, false),
            _ => return None,
        };
        let (e, t) = self.time_expr(k).or_else(|| self.bare_hour_after_at(k, true))?;
        let mut values = Vec::new();
        for c in t.candidates() {
            for day in d.candidates() {
                let timex = format!("{}{}", d.timex, c.timex());
                let key = if before { "end" } else { "start" };
                let mut v = value(&timex, "datetimerange", &[(key, ymd_hms(day.and_time(c.naive())))]);
                v.insert("Mod".into(), (if before { "before" } else { "after" }).into());
                values.push(v);
            }
        }
        let start = d.future.and_time(t.booking());
        Some(Found {
            kind: TimeKind::DateTimeRange,
            end: e,
            values,
            domain: DomainTime { start: Some(start), ..Default::default() },
        })
    }

    fn date_pod(&self, i: usize) -> Option<(usize, DateV, Pod)> {
        let t = self.today;
        let today = DateV::exact(t);
        match self.w(i) {
            "tonight" | "tonite" => return Some((i + 1, today, Pod::Night)),
            "this" | "today" => {
                if let Some(p) = pod_word(self.w(i + 1)).filter(|_| !self.w(i + 1).ends_with('s')) {
                    return Some((i + 2, today, p));
                }
            }
            "last" | "next" => {
                if let Some(p) = pod_word(self.w(i + 1)).filter(|_| !self.w(i + 1).ends_with('s')) {
                    let shift = if self.is(i, "last") { -1 } else { 1 };
                    return Some((i + 2, DateV::exact(t + Duration::days(shift)), p));
                }
            }
            _ => {}
        }
        let (j, d) = self.date_expr(i)?;
        let k = if self.is(j, "in") && self.is(j + 1, "the") { j + 2 } else { j };
        let w = self.w(k);
        if matches!(w, "am" | "pm") && matches!(self.w(i), "today" | "tomorrow" | "yesterday") {
            return Some((k + 1, d, if w == "am" { Pod::Morning } else { Pod::Afternoon }));
        }
        let p = pod_word(w).filter(|_| !w.ends_with('s'))?;
        // "wednesday evening next week": the weekday of that week
        let wd = super::lex::weekday_word(self.w(i)).filter(|_| d.ambiguous && self.is(k + 2, "week"));
        let week = match (wd, self.w(k + 1)) {
            (Some(wd), "next") => Some((wd, 7)),
            (Some(wd), "this") => Some((wd, 0)),
            (Some(wd), "last") => Some((wd, -7)),
            _ => None,
        };
        if let Some((wd, shift)) = week {
            let day = super::value::monday_of(self.today) + Duration::days(shift + wd as i64 - 1);
            return Some((k + 3, DateV::exact(day), p));
        }
        Some((k + 1, d, p))
    }

    fn pod_found(&self, end: usize, d: &DateV, pod: Pod) -> Found {
        let (s, e) = pod.bounds();
        let timex = format!("{}T{}", d.timex, pod.code());
        let values = d
            .candidates()
            .iter()
            .map(|day| {
                value(
                    &timex,
                    "datetimerange",
                    &[("start", ymd_hms(day.and_time(s))), ("end", ymd_hms(day.and_time(e)))],
                )
            })
            .collect();
        let start = d.future.and_hms_opt(pod.default_hour(), 0, 0);
        Found { kind: TimeKind::DateTimeRange, end, values, domain: DomainTime { start, ..Default::default() } }
    }

    fn clock_range_found(&self, end: usize, d: &DateV, a: TimeV, b: TimeV) -> Found {
        let mut values = Vec::new();
        for (x, y) in clock_pairs(a, b) {
            let mins = span_minutes(&x, &y);
            let timex = format!("({}{},{}{},{})", d.timex, x.timex(), d.timex, y.timex(), minutes_timex(mins));
            for day in d.candidates() {
                let s = day.and_time(x.naive());
                values.push(value(
                    &timex,
                    "datetimerange",
                    &[("start", ymd_hms(s)), ("end", ymd_hms(s + Duration::minutes(mins)))],
                ));
            }
        }
        let s = d.future.and_time(a.booking());
        let mut e = d.future.and_time(b.booking());
        if e <= s {
            e += Duration::hours(12);
        }
        let mins = (e - s).num_minutes();
        let domain =
            DomainTime { start: Some(s), end: Some(e), duration_minutes: Some(mins as u32), ..Default::default() };
        Found { kind: TimeKind::DateTimeRange, end, values, domain }
    }

    fn date_then_range(&self, i: usize) -> Option<(usize, DateV, TRange)> {
        if let Some((j, d, pod)) = self.date_pod(i) {
            let k = if self.any(j, &["at", ","]) { j + 1 } else { j };
            if let Some((e, TRange::Clock(a, b))) = self.time_range_expr(k).or_else(|| self.loose_clock_range(k)) {
                return Some((e, d, TRange::Clock(apply_pod(a, pod), apply_pod(b, pod))));
            }
        }
        let (j, d) = self.date_expr(i)?;
        let k = if self.any(j, &["at", ","]) { j + 1 } else { j };
        if self.is(j, ",") && self.is(k, "between") {
            return None; // "Friday, between 9-6 PT": a list, not one span
        }
        let (e, r) = self.time_range_expr(k).or_else(|| self.loose_clock_range(k))?;
        Some((e, d, r))
    }

    /// `12-4`, `3-8` after a day: a range of bare hours.
    fn loose_clock_range(&self, i: usize) -> Option<(usize, TRange)> {
        let a = self.num(i).filter(|h| *h <= 12 && self.digits(i) <= 2)?;
        if !self.is(i + 1, "-") {
            return None;
        }
        let b = self.num(i + 2).filter(|h| *h <= 12 && self.digits(i + 2) <= 2)?;
        let t = |h| TimeV { h, m: None, s: None, ambiguous: true };
        Some((i + 3, TRange::Clock(t(a), t(b))))
    }

    fn range_then_date(&self, i: usize) -> Option<(usize, DateV, TRange)> {
        let (j, r) = self.time_range_expr(i).or_else(|| self.loose_clock_range(i))?;
        let k = if self.any(j, &["on", ","]) { j + 1 } else { j };
        if let (Some((e, d, pod)), TRange::Clock(a, b)) = (self.date_pod(k), r) {
            return Some((e, d, TRange::Clock(apply_pod(a, pod), apply_pod(b, pod))));
        }
        let (e, d) = self.date_expr(k)?;
        Some((e, d, r))
    }
}

/// Settles an ambiguous hour by the part of day it sits in.
fn apply_pod(t: TimeV, pod: Pod) -> TimeV {
    if t.ambiguous {
        t.with_meridiem(pod.is_pm(t.h))
    } else {
        t
    }
}
