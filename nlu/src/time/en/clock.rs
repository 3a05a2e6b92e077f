//! Times of day (`10am`, `10:30`, `half past ten`, `noon`) and spans within a
//! day (`9-11am`, `from 2 to 4pm`, `in the morning`).

use chrono::{Duration, NaiveDateTime, NaiveTime, Timelike};

use super::lex::unit_word;
use super::value::{hms, minutes_timex, value, Pod, TimeV};
use super::{Found, Parser};
use crate::time::{DomainTime, TimeKind};

/// A span within a day: both ends, or a part of day.
#[derive(Debug, Clone, Copy)]
pub enum TRange {
    /// Two clock times (am/pm may still be open).
    Clock(TimeV, TimeV),
    /// A part of day.
    Part(Pod),
}

impl Parser<'_> {
    /// A time of day as a found `time` entity.
    pub(super) fn time_at(&self, i: usize) -> Option<Found> {
        let (end, t) = self.time_expr(i).or_else(|| self.time_after_at(i))?;
        let values = t.candidates().iter().map(|c| value(&c.timex(), "time", &[("value", hms(c.naive()))])).collect();
        let start = self.next_occurrence(t.booking());
        Some(Found {
            kind: TimeKind::Time,
            end,
            values,
            domain: DomainTime { start: Some(start), ..Default::default() },
        })
    }

    /// `at 6.45` (the `at` is part of it) or a bare hour after `at` at the end of a clause (`at 6.`).
    fn time_after_at(&self, i: usize) -> Option<(usize, TimeV)> {
        if self.is(i, "at") && self.is(i + 2, ".") && self.digits(i + 3) == 2 && self.glued(i + 2) && self.glued(i + 3)
        {
            let (h, m) = (self.num(i + 1).filter(|h| *h <= 12)?, self.num(i + 3).filter(|m| *m < 60)?);
            if self.any(i + 4, &["percent", "%"]) {
                return None;
            }
            return Some((i + 4, TimeV { h, m: Some(m), s: None, ambiguous: true }));
        }
        let h = self.num(i).filter(|h| (1..=12).contains(h) && self.digits(i) <= 2)?;
        let end_of_clause =
            i + 1 >= self.toks.len() || (self.any(i + 1, &[".", ",", "!", "?", ";"]) && self.num(i + 2).is_none());
        (i > 0 && self.is(i - 1, "at") && end_of_clause)
            .then_some((i + 1, TimeV { h, m: None, s: None, ambiguous: true }))
    }

    /// Today at `t` if still ahead of the reference, else tomorrow.
    pub(super) fn next_occurrence(&self, t: NaiveTime) -> NaiveDateTime {
        let today = self.today.and_time(t);
        if today > self.now {
            today
        } else {
            today + Duration::days(1)
        }
    }

    /// A clock time with its suffixes (`am`, `o'clock`, `in the evening`).
    pub(super) fn time_expr(&self, i: usize) -> Option<(usize, TimeV)> {
        // "early morning at 8:00", "late evening at 10:00", "8:00 early morning"
        if self.any(i, &["early", "late"]) {
            let pod = pod_word(self.w(i + 1))?;
            let k = self.opt(i + 2, "at");
            let (e, t) = self.clock(k)?;
            return Some((e, if t.ambiguous { t.with_meridiem(pod.is_pm(t.h)) } else { t }));
        }
        if let Some((j, t)) = self.clock(i).filter(|(j, _)| self.any(*j, &["early", "late"])) {
            if let Some(pod) = pod_word(self.w(j + 1)) {
                return Some((j + 2, if t.ambiguous { t.with_meridiem(pod.is_pm(t.h)) } else { t }));
            }
        }
        if let Some((TRange::Part(pod), j)) = self.pod_expr(i).map(|(j, r)| (r, j)) {
            if self.pod_expr(i).is_some() && self.w(i) == "in" {
                let k = self.opt(j, "at");
                if let Some((e, t)) = self.clock(k).or_else(|| self.hour_minutes(k).map(|(e, t, _)| (e, t))) {
                    let t = if t.ambiguous { t.with_meridiem(pod.is_pm(t.h)) } else { t };
                    return Some((e, t));
                }
            }
        }
        let clock = self.clock(i);
        if clock.is_none() {
            let (j, t, _) = self.hour_minutes(i)?;
            let (k, pod) = self.pod_suffix(j)?;
            return Some((k, if t.ambiguous { t.with_meridiem(pod.is_pm(t.h)) } else { t }));
        }
        let (j, t) = clock?;
        if let Some((k, pod)) = self.pod_suffix(j) {
            if t.ambiguous {
                return Some((k, t.with_meridiem(pod.is_pm(t.h))));
            }
        }
        Some((j, t))
    }

    /// `in the morning`, `in the evening`, `at night` after a time.
    fn pod_suffix(&self, i: usize) -> Option<(usize, Pod)> {
        let j = if self.is(i, "in") && self.is(i + 1, "the") {
            i + 2
        } else if self.is(i, "at") && self.is(i + 1, "night") {
            i + 1
        } else {
            return None;
        };
        Some((j + 1, pod_word(self.w(j))?))
    }

    /// A bare clock time with am/pm and o'clock.
    fn clock(&self, i: usize) -> Option<(usize, TimeV)> {
        if let Some(r) = self.special_time(i) {
            return Some(r);
        }
        if let Some(r) = self.past_to(i) {
            return Some(r);
        }
        let (j, t, explicit) = self.hour_minutes(i)?;
        if let Some((k, pm)) = self.meridiem(j) {
            if t.h == 0 || t.h > 12 {
                return Some((k, t));
            }
            return Some((k, t.with_meridiem(pm)));
        }
        if self.is(j, "oclock") || (self.is(j, "o") && self.is(j + 1, "'") && self.is(j + 2, "clock")) {
            let k = if self.is(j, "oclock") { j + 1 } else { j + 3 };
            return Some((k, t));
        }
        if self.glued(j) && self.is(j, "ish") {
            return Some((j + 1, TimeV { ambiguous: false, ..t }));
        }
        if explicit {
            return Some((j, t));
        }
        None
    }

    /// `noon`, `midnight`, `12 noon`, `noonish`.
    fn special_time(&self, i: usize) -> Option<(usize, TimeV)> {
        let j = if self.num(i) == Some(12) && self.is(i + 1, "noon") { i + 1 } else { i };
        match self.w(j) {
            "noon" | "noonish" | "midday" => Some((j + 1, TimeV::hour(12))),
            "midnight" => Some((j + 1, TimeV::hour(0))),
            _ => None,
        }
    }

    /// `half past ten`, `quarter to nine`, `20 min past eight`.
    fn past_to(&self, i: usize) -> Option<(usize, TimeV)> {
        let (j, mins) = match self.w(i) {
            "half" => (i + 1, 30),
            "quarter" => (i + 1, 15),
            "a" if self.is(i + 1, "quarter") => (i + 2, 15),
            _ => {
                let (j, n) = self.ordinal_or_number(i)?;
                if self.any(j, &["min", "mins", "minute", "minutes"]) {
                    (j + 1, n)
                } else if self.is(j, "past") {
                    (j, n)
                } else {
                    return None;
                }
            }
        };
        if mins >= 60 {
            return None;
        }
        let past = match self.w(j) {
            "past" | "after" => true,
            "to" | "before" if self.w(i) != "half" => false,
            _ => return None,
        };
        let (k, h) = self.hour_word_or_num(j + 1)?;
        let t = if past {
            TimeV { h, m: Some(mins), s: None, ambiguous: true }
        } else {
            let h = if h == 1 { 12 } else { h - 1 };
            TimeV { h, m: Some(60 - mins), s: None, ambiguous: true }
        };
        let k = if self.is(k, "oclock") { k + 1 } else { k };
        let k = if self.is(k, "o") && self.is(k + 1, "'") && self.is(k + 2, "clock") { k + 3 } else { k };
        if let Some((k2, pm)) = self.meridiem(k) {
            return Some((k2, t.with_meridiem(pm)));
        }
        Some((k, t))
    }

    fn hour_word_or_num(&self, i: usize) -> Option<(usize, u32)> {
        if let Some(n) = self.num(i).filter(|n| (1..=12).contains(n) && self.digits(i) <= 2) {
            return Some((i + 1, n));
        }
        unit_word(self.w(i)).filter(|n| (1..=12).contains(n)).map(|n| (i + 1, n))
    }

    /// Hours and minutes: `10`, `10:30`, `7:56:30`, `8.30`, `1140`, `0730`, `ten`, `seven twenty-seven`.
    /// The flag says whether the form alone reads as a time (has minutes after a colon).
    fn hour_minutes(&self, i: usize) -> Option<(usize, TimeV, bool)> {
        if let Some(h) = self.num(i) {
            let d = self.digits(i);
            if d == 4 || d == 3 {
                let (h, m) = (h / 100, h % 100);
                if h > 23 || m > 59 || !self.any(i + 1, &["am", "pm", "a", "p"]) {
                    return None;
                }
                return Some((i + 1, TimeV { h, m: Some(m), s: None, ambiguous: h <= 12 }, false));
            }
            if d > 2 || h > 24 {
                return None;
            }
            let sep = self.w(i + 1);
            if (sep == ":" || sep == ".") && self.glued(i + 1) && self.glued(i + 2) && self.digits(i + 2) == 2 {
                let m = self.num(i + 2)?;
                if m > 59 {
                    return None;
                }
                let mut t = TimeV { h, m: Some(m), s: None, ambiguous: (1..=12).contains(&h) };
                let mut j = i + 3;
                if sep == ":" && self.is(j, ":") && self.digits(j + 1) == 2 {
                    t.s = self.num(j + 1).filter(|s| *s < 60);
                    j += 2;
                }
                return Some((j, t, sep == ":"));
            }
            if sep == ":" {
                return None;
            }
            return Some((i + 1, TimeV { h, m: None, s: None, ambiguous: (1..=12).contains(&h) }, false));
        }
        let h = unit_word(self.w(i)).filter(|h| (1..=12).contains(h))?;
        // "seven twenty-seven", "nine thirty", "six forty-three minutes", "five-thirty"
        let mi = if self.is(i + 1, "-") && self.glued(i + 1) { i + 2 } else { i + 1 };
        if let Some((j, m)) = self.ordinal_or_number(mi).filter(|(_, m)| *m >= 10 && *m < 60) {
            if self.digits(mi) == 0 && super::lex::ordinal_word(self.w(j - 1)).is_none() {
                let j = if self.any(j, &["minutes", "minute"]) { j + 1 } else { j };
                return Some((j, TimeV { h, m: Some(m), s: None, ambiguous: h <= 12 }, false));
            }
        }
        Some((i + 1, TimeV { h, m: None, s: None, ambiguous: true }, false))
    }

    /// [`Self::hour_minutes`] without the flag.
    pub(super) fn hour_minutes_pub(&self, i: usize) -> Option<(usize, TimeV)> {
        self.hour_minutes(i).map(|(j, t, _)| (j, t))
    }

    /// `am`, `pm`, `a.m.`, `p . m .`, `a`, `p`, `a m`.
    pub(super) fn meridiem(&self, i: usize) -> Option<(usize, bool)> {
        let w = self.w(i);
        let (j, pm) = match w {
            "am" | "pm" => (i + 1, w == "pm"),
            "a" | "p" => {
                let pm = w == "p";
                if self.is(i + 1, ".") && self.is(i + 2, "m") {
                    (if self.is(i + 3, ".") { i + 4 } else { i + 3 }, pm)
                } else if self.is(i + 1, "m") {
                    (i + 2, pm)
                } else if self.glued(i) || !self.toks.get(i + 1).is_some_and(|t| t.kind == super::lex::TokKind::Word) {
                    (i + 1, pm)
                } else {
                    return None;
                }
            }
            "." if self.glued(i) && self.any(i + 1, &["am", "pm"]) => (i + 2, self.is(i + 1, "pm")),
            _ => return None,
        };
        Some((j, pm))
    }

    /// A span within a day as a found `timerange` entity.
    pub(super) fn time_range_at(&self, i: usize) -> Option<Found> {
        if let Some(f) = self.pod_mod_at(i).or_else(|| self.approx_at(i)).or_else(|| self.meal_at(i)) {
            return Some(f);
        }
        let (end, r) = self.time_range_expr(i)?;
        Some(self.time_range_found(end, r))
    }

    /// `early morning`, `late afternoon`, `later in the evening`.
    fn pod_mod_at(&self, i: usize) -> Option<Found> {
        let part = match self.w(i) {
            "early" => "start",
            "late" | "later" => "end",
            _ => return None,
        };
        let j = if self.is(i + 1, "in") && self.is(i + 2, "the") { i + 3 } else { i + 1 };
        let pod = pod_word(self.w(j)).filter(|_| !self.w(j).ends_with('s'))?;
        let (s, e) = pod.bounds();
        let (s, e) = if part == "start" { (s, s + Duration::hours(2)) } else { (e - Duration::hours(2), e) };
        let mut v = value(&format!("T{}", pod.code()), "timerange", &[("start", hms(s)), ("end", hms(e))]);
        v.insert("Mod".into(), part.into());
        let start = self.next_occurrence(s);
        Some(Found {
            kind: TimeKind::TimeRange,
            end: j + 1,
            values: vec![v],
            domain: DomainTime { start: Some(start), ..Default::default() },
        })
    }

    /// `after breakfast`, `before lunch`, `around dinner`, `at lunch`, `lunchtime`.
    fn meal_at(&self, i: usize) -> Option<Found> {
        let (j, modifier) = match self.w(i) {
            "after" => (i + 1, Some("after")),
            "before" => (i + 1, Some("before")),
            "around" => (i + 1, Some("approx")),
            "at" => (i + 1, None),
            _ => (i, None),
        };
        let w = self.w(j);
        let (code, s, e) = match w {
            "breakfast" => ("TMEB", 8, 12),
            "lunch" | "lunchtime" => ("TMEL", 11, 13),
            "dinner" | "dinnertime" => ("TMED", 16, 20),
            _ => return None,
        };
        if j == i && w != "lunchtime" {
            return None;
        }
        let hm = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
        let keys: Vec<(&str, String)> = match modifier {
            Some("after") => vec![("start", hms(hm(e)))],
            Some("before") => vec![("end", hms(hm(s)))],
            _ => vec![("start", hms(hm(s))), ("end", hms(hm(e)))],
        };
        let mut v = value(code, "timerange", &keys);
        if let Some(m) = modifier {
            v.insert("Mod".into(), m.into());
        }
        let start = self.next_occurrence(hm(s));
        Some(Found {
            kind: TimeKind::TimeRange,
            end: j + 1,
            values: vec![v],
            domain: DomainTime { start: Some(start), ..Default::default() },
        })
    }

    /// `from 9 for 2.5 hrs`, `for 3 hours from 10 am`: a start and a length.
    pub(super) fn for_length_range(&self, i: usize) -> Option<(usize, TRange)> {
        let start_then_len = |k: usize| -> Option<(usize, TimeV, f64)> {
            let (j, t) = self.range_clock(k)?;
            if !self.is(j, "for") {
                return None;
            }
            let (e, mins) = self.length_minutes(j + 1)?;
            Some((e, t, mins))
        };
        let (e, t, mins) = if self.is(i, "from") {
            start_then_len(i + 1)?
        } else if self.is(i, "for") {
            let (j, mins) = self.length_minutes(i + 1)?;
            if !self.is(j, "from") {
                return None;
            }
            let (e, t) = self.range_clock(j + 1)?;
            (e, t, mins)
        } else {
            return None;
        };
        let a = TimeV { ambiguous: false, ..t };
        let end = a.naive() + Duration::minutes(mins as i64);
        let b = TimeV { h: end.hour(), m: Some(end.minute()), s: Some(0), ambiguous: false };
        Some((e, TRange::Clock(a, b)))
    }

    /// `2.5 hrs`, `3 hours 30 minutes`, `7 hours`: a length in minutes.
    fn length_minutes(&self, i: usize) -> Option<(usize, f64)> {
        let (j, n) = if self.num(i).is_some() && self.is(i + 1, ".") && self.glued(i + 1) && self.glued(i + 2) {
            (i + 3, format!("{}.{}", self.w(i), self.w(i + 2)).parse::<f64>().ok()?)
        } else {
            let (j, n) = self.ordinal_or_number(i)?;
            (j, n as f64)
        };
        let per = match self.w(j) {
            "hour" | "hours" | "hr" | "hrs" | "h" => 60.0,
            "minute" | "minutes" | "min" | "mins" => 1.0,
            _ => return None,
        };
        let mut total = n * per;
        let mut e = j + 1;
        if per == 60.0 {
            if let Some((k, m)) = self.ordinal_or_number(e) {
                if self.any(k, &["minutes", "minute", "min", "mins"]) {
                    total += m as f64;
                    e = k + 1;
                }
            }
        }
        Some((e, total))
    }

    /// `around 1pm`, `circa 5 in the morning`: a time with `Mod: approx`.
    fn approx_at(&self, i: usize) -> Option<Found> {
        if !self.any(i, &["around", "circa", "about", "approximately"]) {
            return None;
        }
        let (end, t) = self.time_expr(i + 1)?;
        if t.ambiguous && t.m.is_none() && !self.any(end - 1, &["oclock", "clock"]) {
            return None;
        }
        let values = t
            .candidates()
            .iter()
            .map(|c| {
                let mut v = value(&c.timex(), "timerange", &[("value", hms(c.naive()))]);
                v.insert("Mod".into(), "approx".into());
                v
            })
            .collect();
        let start = self.next_occurrence(t.booking());
        Some(Found {
            kind: TimeKind::Time,
            end,
            values,
            domain: DomainTime { start: Some(start), ..Default::default() },
        })
    }

    /// The found entity of a time span.
    fn time_range_found(&self, end: usize, r: TRange) -> Found {
        match r {
            TRange::Part(pod) => {
                let (s, e) = pod.bounds();
                let code = format!("T{}", pod.code());
                let values = vec![value(&code, "timerange", &[("start", hms(s)), ("end", hms(e))])];
                let start = self.next_occurrence(NaiveTime::from_hms_opt(pod.default_hour(), 0, 0).unwrap_or(s));
                Found {
                    kind: TimeKind::TimeRange,
                    end,
                    values,
                    domain: DomainTime { start: Some(start), ..Default::default() },
                }
            }
            TRange::Clock(a, b) => {
                let values = clock_pairs(a, b)
                    .iter()
                    .map(|(x, y)| {
                        let mins = span_minutes(x, y);
                        let timex = format!("({},{},{})", x.timex(), y.timex(), minutes_timex(mins));
                        value(&timex, "timerange", &[("start", hms(x.naive())), ("end", hms(y.naive()))])
                    })
                    .collect();
                let (bs, be) = booking_pair(a, b);
                let start = self.next_occurrence(bs);
                let mins = span_minutes_t(bs, be);
                let domain = DomainTime {
                    start: Some(start),
                    end: Some(start + Duration::minutes(mins)),
                    duration_minutes: Some(mins as u32),
                    ..Default::default()
                };
                Found { kind: TimeKind::TimeRange, end, values, domain }
            }
        }
    }

    /// A span within a day: `9-11am`, `from 2 to 4pm`, `between 3 and 5 pm`, `in the morning`.
    pub(super) fn time_range_expr(&self, i: usize) -> Option<(usize, TRange)> {
        if let Some(r) = self.pod_expr(i).or_else(|| self.for_length_range(i)).or_else(|| self.four_digit_range(i)) {
            return Some(r);
        }
        let (j, joiners): (usize, &[&str]) = match self.w(i) {
            "from" => (i + 1, &["to", "till", "until", "-", "~"]),
            "between" => (i + 1, &["and", "-", "to"]),
            _ => (i, &["to", "till", "until", "-", "~"]),
        };
        let (k, a) = self.range_clock(j)?;
        if !self.any(k, joiners) {
            return None;
        }
        let (e, b) = self.range_clock(k + 1)?;
        let (e, a, b) = match self.pod_suffix(e) {
            Some((e2, pod)) => {
                let fix = |t: TimeV| if t.ambiguous { t.with_meridiem(pod.is_pm(t.h)) } else { t };
                (e2, fix(a), fix(b))
            }
            None => (e, a, b),
        };
        // "five to seven" alone is not a range of times unless a bound is clearly a time
        let (a, b) = merge_meridiem(a, b);
        if j == i && !self.any(k, &["-", "~"]) && a.m.is_none() && b.m.is_none() && a.ambiguous && b.ambiguous {
            return None;
        }
        if self.any(k, &["-"]) && j == i && a.ambiguous && b.ambiguous && a.m.is_none() && b.m.is_none() {
            return None;
        }
        Some((e, TRange::Clock(a, b)))
    }

    /// `between 0730-0930`: military-style times.
    fn four_digit_range(&self, i: usize) -> Option<(usize, TRange)> {
        let j = self.opt(i, "between");
        if self.digits(j) != 4 || !self.is(j + 1, "-") || self.digits(j + 2) != 4 {
            return None;
        }
        let t = |n: u32| TimeV { h: n / 100, m: Some(n % 100), s: None, ambiguous: n / 100 <= 12 && n / 100 > 0 };
        let (a, b) = (t(self.num(j)?), t(self.num(j + 2)?));
        if a.h > 23 || b.h > 23 || a.m > Some(59) || b.m > Some(59) {
            return None;
        }
        Some((j + 3, TRange::Clock(a, b)))
    }

    /// One bound of a clock range: a time or a bare hour.
    fn range_clock(&self, i: usize) -> Option<(usize, TimeV)> {
        if let Some(r) = self.time_expr(i) {
            return Some(r);
        }
        let (j, t, _) = self.hour_minutes(i)?;
        Some((j, t))
    }

    /// `morning`, `in the afternoon`, `the evening`.
    fn pod_expr(&self, i: usize) -> Option<(usize, TRange)> {
        let j = if self.is(i, "in") && self.is(i + 1, "the") {
            i + 2
        } else if self.is(i, "in") {
            i + 1
        } else {
            i
        };
        let w = self.w(j);
        let pod = pod_word(w)?;
        if w.ends_with('s') && j == i {
            return None;
        }
        if j == i && i > 0 && self.any(i - 1, &["good", "this", "tomorrow", "yesterday", "last", "next"]) {
            return None;
        }
        Some((j + 1, TRange::Part(pod)))
    }
}

/// The part of day a word names.
pub fn pod_word(w: &str) -> Option<Pod> {
    Some(match w {
        "morning" | "mornings" => Pod::Morning,
        "afternoon" | "afternoons" => Pod::Afternoon,
        "evening" | "evenings" => Pod::Evening,
        "night" | "nights" => Pod::Night,
        "daytime" => Pod::Daytime,
        _ => return None,
    })
}

/// Lets a known am/pm on one end decide an ambiguous other end (`5 to 6pm`).
pub fn merge_meridiem(a: TimeV, b: TimeV) -> (TimeV, TimeV) {
    match (a.ambiguous, b.ambiguous) {
        (true, false) => {
            let pm = b.h >= 12;
            let a2 = a.with_meridiem(pm);
            let a2 = if a2.naive() > b.naive() { a.with_meridiem(!pm) } else { a2 };
            (a2, b)
        }
        (false, true) => {
            let pm = a.h >= 12;
            let b2 = b.with_meridiem(pm);
            let b2 = if b2.naive() < a.naive() { b.with_meridiem(!pm) } else { b2 };
            (a, b2)
        }
        _ => (a, b),
    }
}

/// The candidate (start, end) pairs of a clock range.
pub fn clock_pairs(a: TimeV, b: TimeV) -> Vec<(TimeV, TimeV)> {
    if a.ambiguous && b.ambiguous {
        let (a0, b0) = (a.with_meridiem(false), b.with_meridiem(false));
        let (a1, b1) = (a.with_meridiem(true), b.with_meridiem(true));
        let a0 = TimeV { h: if a.h == 12 { 0 } else { a.h }, ..a0 };
        let b0 = TimeV { h: if b.h == 12 { 0 } else { b.h }, ..b0 };
        let a1 = TimeV { h: if a.h == 12 { 12 } else { a1.h }, ..a1 };
        let b1 = TimeV { h: if b.h == 12 { 12 } else { b1.h }, ..b1 };
        if b0.naive() < a0.naive() {
            return vec![(a0, TimeV { h: b0.h + 12, ..b0 })];
        }
        vec![(a0, b0), (a1, b1)]
    } else {
        vec![(TimeV { ambiguous: false, ..a }, TimeV { ambiguous: false, ..b })]
    }
}

/// The booking (start, end) of a clock range: bare hours follow the 1–6 afternoon rule.
fn booking_pair(a: TimeV, b: TimeV) -> (NaiveTime, NaiveTime) {
    if a.ambiguous && b.ambiguous {
        let s = a.booking();
        let mut e = b.booking();
        if e <= s && b.h < 12 {
            e = b.with_meridiem(true).naive();
        }
        (s, e)
    } else {
        (a.naive(), b.naive())
    }
}

/// Minutes from `a` to `b`, wrapping past midnight.
pub fn span_minutes(a: &TimeV, b: &TimeV) -> i64 {
    span_minutes_t(a.naive(), b.naive())
}

fn span_minutes_t(a: NaiveTime, b: NaiveTime) -> i64 {
    let m = (b - a).num_minutes();
    if m <= 0 {
        m + 24 * 60
    } else {
        m
    }
}
