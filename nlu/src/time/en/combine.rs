//! Expressions built from pieces: a day with a time (`tomorrow at 3pm`), a day
//! with a span (`next Monday 1-3 pm`, `tomorrow night`), lengths of time
//! (`two hours`), offsets (`in 3 days`, `3 days ago`) and recurring times
//! (`every Saturday morning`, `daily`).

use chrono::{Duration, NaiveDateTime};

use super::clock::{clock_pairs, pod_word, span_minutes, TRange};
use super::date::date_found;
use super::lex::weekday_plural;
use super::value::{add_months, minutes_timex, value, ymd_hms, DateV, Pod, TimeV};
use super::{Found, Parser};
use crate::time::{DomainTime, TimeKind};

/// A length of time: amount and unit letter (`Y`, `M`, `W`, `D`, `H`, `m` for minutes, `S`).
#[derive(Debug, Clone, Copy)]
struct Dur {
    amount: f64,
    unit: char,
}

impl Dur {
    fn seconds(&self) -> f64 {
        let unit = match self.unit {
            'Y' => 365.0 * 86400.0,
            'M' => 30.0 * 86400.0,
            'W' => 7.0 * 86400.0,
            'D' => 86400.0,
            'E' => 2.0 * 86400.0,
            'H' => 3600.0,
            'm' => 60.0,
            _ => 1.0,
        };
        self.amount * unit
    }

    fn timex(&self) -> String {
        let n = fmt_num(self.amount);
        match self.unit {
            'H' => format!("PT{n}H"),
            'm' => format!("PT{n}M"),
            'S' => format!("PT{n}S"),
            'E' => format!("P{n}WE"),
            u => format!("P{n}{u}"),
        }
    }

    /// Adds the length to a date-time (months and years by calendar).
    fn add_to(&self, t: NaiveDateTime, sign: i64) -> NaiveDateTime {
        let whole = self.amount as i64 * sign;
        match self.unit {
            'Y' if self.amount.fract() == 0.0 => add_months(t.date(), 12 * whole as i32).and_time(t.time()),
            'M' if self.amount.fract() == 0.0 => add_months(t.date(), whole as i32).and_time(t.time()),
            _ => t + Duration::milliseconds((self.seconds() * 1000.0) as i64 * sign),
        }
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Parser<'_> {
    /// A length of time: `two hours`, `3h`, `30 minutes`, `a week`, `half an hour`.
    pub(super) fn duration_at(&self, i: usize) -> Option<Found> {
        let modifier = match self.w(i) {
            "more" | "over" if self.is(i + 1, "than") => Some("more"),
            "less" | "fewer" if self.is(i + 1, "than") => Some("less"),
            _ => None,
        };
        let from = if modifier.is_some() { i + 2 } else { i };
        let (end, d) = self.duration_expr(from)?;
        let (end, d) = match (self.is(end, "and"), self.duration_expr(end + 1)) {
            (true, Some((e2, d2))) if d.unit == 'H' && d2.unit == 'm' => {
                (e2, Dur { amount: d.amount * 60.0 + d2.amount, unit: 'm' })
            }
            _ => (end, d),
        };
        let timex = if d.unit == 'm' && d.amount >= 60.0 && d.amount.fract() == 0.0 {
            minutes_timex(d.amount as i64)
        } else {
            d.timex()
        };
        let mut v = value(&timex, "duration", &[("value", fmt_num(d.seconds()))]);
        if let Some(m) = modifier {
            v.insert("Mod".into(), m.into());
        }
        let values = vec![v];
        let mins = (d.seconds() / 60.0).round() as u32;
        Some(Found {
            kind: TimeKind::Duration,
            end,
            values,
            domain: DomainTime { duration_minutes: Some(mins), ..Default::default() },
        })
    }

    fn duration_expr(&self, i: usize) -> Option<(usize, Dur)> {
        if self.is(i, "half") && self.any(i + 1, &["an", "a"]) && self.any(i + 2, &["hour", "hr"]) {
            return Some((i + 3, Dur { amount: 0.5, unit: 'H' }));
        }
        if self.is(i, "another") && self.is(i + 1, "day") {
            return Some((i + 2, Dur { amount: 1.0, unit: 'D' }));
        }
        if self.is(i, "½") && self.any(i + 1, &["hour", "hr"]) {
            return Some((i + 2, Dur { amount: 0.5, unit: 'H' }));
        }
        if self.is(i, "all") && self.any(i + 1, &["day", "week", "month", "year"]) {
            let unit = self.w(i + 1).chars().next().map_or('D', |c| c.to_ascii_uppercase());
            return Some((i + 2, Dur { amount: 1.0, unit }));
        }
        let (j, amount) = self.amount(i)?;
        let unit = self.w(j);
        let glued = self.glued(j) && self.digits(j - 1) > 0;
        let u = match unit {
            "year" | "years" | "yr" | "yrs" => 'Y',
            "month" | "months" => 'M',
            "week" | "weeks" => 'W',
            "day" | "days" | "night" | "nights" => 'D',
            "weekend" | "weekends" => 'E',
            "hour" | "hours" | "hr" | "hrs" => 'H',
            "minute" | "minutes" | "min" | "mins" => 'm',
            "second" | "seconds" | "sec" | "secs" => 'S',
            "h" if glued => 'H',
            "d" if glued => 'D',
            "y" if glued => 'Y',
            "w" if glued => 'W',
            "m" if glued => 'm',
            "s" if glued => 'S',
            _ => return None,
        };
        if u == 'S' && unit == "second" && self.is(i, "a") {
            return None;
        }
        let mut end = j + 1;
        let mut amount = amount;
        if self.is(end, "and") {
            let k = self.opt(end + 1, "a");
            match self.w(k) {
                "half" => (amount, end) = (amount + 0.5, k + 1),
                "quarter" => (amount, end) = (amount + 0.25, k + 1),
                _ => {}
            }
        }
        Some((end, Dur { amount, unit: u }))
    }

    /// An amount: digits with decimals, number words, `a`, `an`, `few`, `one and a half`.
    fn amount(&self, i: usize) -> Option<(usize, f64)> {
        if self.num(i).is_some() && self.is(i + 1, ".") && self.glued(i + 1) && self.glued(i + 2) {
            let s = format!("{}.{}", self.w(i), self.w(i + 2));
            return Some((i + 3, s.parse().ok()?));
        }
        let (j, n) = self.count(i)?;
        if self.is(j, "and") {
            let k = self.opt(j + 1, "a");
            match self.w(k) {
                "half" => return Some((k + 1, n as f64 + 0.5)),
                "quarter" => return Some((k + 1, n as f64 + 0.25)),
                _ => {}
            }
        }
        Some((j, n as f64))
    }

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
    fn dotted_after_at(&self, i: usize, at: bool) -> Option<(usize, TimeV)> {
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
                return Some(self.window_found(j, d.amount as i64, d.unit, 1));
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
        Some(self.window_found(unit_at + 1, n, unit, dir))
    }

    fn window_found(&self, end: usize, n: i64, unit: char, dir: i64) -> Found {
        let len = if unit == 'H' { Duration::hours(n) } else { Duration::minutes(n) };
        let (s, e) = if dir > 0 { (self.now, self.now + len) } else { (self.now - len, self.now) };
        let f = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let dur = if unit == 'H' { format!("PT{n}H") } else { format!("PT{n}M") };
        let timex = format!("({},{},{dur})", f(s), f(e));
        let values = vec![value(&timex, "datetimerange", &[("start", ymd_hms(s)), ("end", ymd_hms(e))])];
        let mins = (e - s).num_minutes();
        let domain =
            DomainTime { start: Some(s), end: Some(e), duration_minutes: Some(mins as u32), ..Default::default() };
        Found { kind: TimeKind::DateTimeRange, end, values, domain }
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
                "from" if self.any(j + 1, &["now", "today"]) => (j + 2, d, 1),
                "from" if self.any(j + 1, &["tomorrow", "tmrw"]) => {
                    let base = self.now + Duration::days(1);
                    return Some(self.offset_found(j + 2, d, base, 1));
                }
                "from" | "after" | "before" if !self.any(j + 1, &["today", "now", "yesterday"]) => {
                    let (e, base) = self.date_expr(j + 1)?;
                    let sign = if self.is(j, "before") { -1 } else { 1 };
                    let t = d.add_to(base.future.and_time(chrono::NaiveTime::MIN), sign);
                    return Some(date_found(&DateV::exact(t.date()), e, self.today));
                }
                "after" if self.is(j + 1, "today") => (j + 2, d, 1),
                "before" if self.is(j + 1, "today") => (j + 2, d, -1),
                "before" if self.is(j + 1, "yesterday") => {
                    let base = self.now - Duration::days(1);
                    return Some(self.offset_found(j + 2, d, base, -1));
                }
                _ => return None,
            }
        };
        Some(self.offset_found(j, d, self.now, sign))
    }

    fn offset_found(&self, end: usize, d: Dur, base: NaiveDateTime, sign: i64) -> Found {
        let t = d.add_to(base, sign);
        if matches!(d.unit, 'H' | 'm' | 'S') {
            let timex = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            let values = vec![value(&timex, "datetime", &[("value", ymd_hms(t))])];
            Found { kind: TimeKind::DateTime, end, values, domain: DomainTime { start: Some(t), ..Default::default() } }
        } else {
            date_found(&DateV::exact(t.date()), end, self.today)
        }
    }

    /// A day with a span of the day: `tomorrow night`, `this evening`, `next Monday 1-3 pm`, `tonight`.
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

    /// Recurring times: `every Saturday morning`, `daily`, `weekly`, `each monday at 4pm`, `mondays`.
    pub(super) fn set_at(&self, i: usize) -> Option<Found> {
        let (end, timex) = self.set_expr(i)?;
        let values = vec![value(&timex, "set", &[("value", "not resolved".into())])];
        Some(Found {
            kind: TimeKind::Set,
            end,
            values,
            domain: DomainTime { recurring: Some(timex), ..Default::default() },
        })
    }

    fn set_expr(&self, i: usize) -> Option<(usize, String)> {
        if self.any(i, &["once", "one"]) && self.is(i + 1, "a") {
            let t = match self.w(i + 2) {
                "day" => "P1D",
                "week" => "P1W",
                "month" => "P1M",
                "year" => "P1Y",
                _ => return None,
            };
            return Some((i + 3, t.to_string()));
        }
        if self.is(i, "semi") && self.is(i + 1, "-") && self.any(i + 2, &["annually", "annual"]) {
            return Some((i + 3, "P0.5Y".into()));
        }
        if self.is(i, "bi") && self.is(i + 1, "-") && self.is(i + 2, "monthly") {
            return Some((i + 3, "P2M".into()));
        }
        let simple = match self.w(i) {
            "semiannual" | "semiannually" => Some("P0.5Y"),
            "daily" | "everyday" => Some("P1D"),
            "weekly" => Some("P1W"),
            "monthly" => Some("P1M"),
            "annually" | "yearly" | "annual" => Some("P1Y"),
            "quarterly" => Some("P3M"),
            "biweekly" => Some("P2W"),
            _ => None,
        };
        if let Some(t) = simple {
            if let Some((j, time)) = self.time_expr(i + 1) {
                return Some((j, time.timex()));
            }
            return Some((i + 1, t.to_string()));
        }
        if let Some(wd) = weekday_plural(self.w(i)) {
            return Some(self.set_weekday_suffix(i + 1, format!("XXXX-WXX-{wd}")));
        }
        if let Some(wd) = super::lex::weekday_word(self.w(i)) {
            let p = pod_word(self.w(i + 1)).filter(|_| self.w(i + 1).ends_with('s'))?;
            return Some((i + 2, format!("XXXX-WXX-{wd}T{}", p.code())));
        }
        if self.w(i).ends_with('s') && i > 0 && !self.is(i - 1, "the") {
            if let Some(p) = pod_word(self.w(i)) {
                return Some((i + 1, format!("T{}", p.code())));
            }
            if self.is(i, "weekends") {
                return Some((i + 1, "P1WE".into()));
            }
        }
        if let Some((k, d)) = self.day_number(i).filter(|_| self.is(i + 2, "of") || self.is(i + 1, "of")) {
            if self.is(k, "of") && self.any(k + 1, &["every", "each"]) && self.is(k + 2, "month") {
                return Some((k + 3, format!("XXXX-XX-{d:02}")));
            }
        }
        if !self.any(i, &["every", "each"]) {
            // "3pm each day", "6am everyday"
            let (j, t) = self.time_expr(i)?;
            if self.is(j, "everyday") || (self.any(j, &["every", "each"]) && self.is(j + 1, "day")) {
                let e = if self.is(j, "everyday") { j + 1 } else { j + 2 };
                return Some((e, t.timex()));
            }
            return None;
        }
        let j =
            if self.is(i + 1, "other") && super::lex::weekday_word(self.w(i + 2)).is_some() { i + 2 } else { i + 1 };
        let w = self.w(j);
        if w == "quarter" {
            return Some((j + 1, "P3M".into()));
        }
        if let Some(wd) = super::lex::weekday_word(w) {
            return Some(self.set_weekday_suffix(j + 1, format!("XXXX-WXX-{wd}")));
        }
        if let Some(p) = pod_word(w) {
            if let Some((k, t)) = self.at_time(j + 1) {
                return Some((k, t.timex()));
            }
            return Some((j + 1, format!("T{}", p.code())));
        }
        let (k, n) = if self.is(j, "other") { (j + 1, 2) } else { self.count(j).unwrap_or((j, 1)) };
        let unit = match self.w(k) {
            "day" | "days" => "D",
            "week" | "weeks" => "W",
            "month" | "months" => "M",
            "year" | "years" => "Y",
            "weekend" | "weekends" => "WE",
            "weekday" => "WD",
            _ => return None,
        };
        if unit == "D" {
            if let Some((e, t)) = self.at_time(k + 1) {
                return Some((e, t.timex()));
            }
        }
        Some((k + 1, format!("P{n}{unit}")))
    }

    /// `at 4pm` / `4pm` after a recurring day.
    fn at_time(&self, i: usize) -> Option<(usize, TimeV)> {
        let k = self.opt(i, "at");
        self.time_expr(k).or_else(|| self.dotted_after_at(k, k > i))
    }

    fn set_weekday_suffix(&self, i: usize, day: String) -> (usize, String) {
        if let Some((k, t)) = self.at_time(i) {
            return (k, format!("{day}{}", t.timex()));
        }
        if let Some(p) = pod_word(self.w(i)) {
            return (i + 1, format!("{day}T{}", p.code()));
        }
        (i, day)
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
