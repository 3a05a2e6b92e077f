//! Days: relative (`tomorrow`, `the day after tomorrow`), weekdays (`next Tuesday`),
//! month days (`Jan 4th 2019`, `04th Jan 2019`), numeric (`11/07/2016`) and `the 3rd`.

use chrono::{Datelike, Duration, NaiveDate};

use super::lex::{month_word, ordinal_word, weekday_word};
use super::value::{add_months, monday_of, value, ymd, DateV};
use super::{Found, Parser};
use crate::time::{DomainTime, TimeKind};

impl Parser<'_> {
    /// A day as a found `date` entity.
    pub(super) fn date_at(&self, i: usize) -> Option<Found> {
        let (end, d) = self.date_expr(i)?;
        Some(date_found(&d, end, self.today))
    }

    /// A day: relative words, weekdays, month-day forms, numeric forms.
    pub(super) fn date_expr(&self, i: usize) -> Option<(usize, DateV)> {
        if let Some(Some(known)) = self.dates.borrow().get(i) {
            return known.clone();
        }
        let found = self.date_expr_uncached(i);
        if let Some(slot) = self.dates.borrow_mut().get_mut(i) {
            *slot = Some(found.clone());
        }
        found
    }

    fn date_expr_uncached(&self, i: usize) -> Option<(usize, DateV)> {
        let mut best: Option<(usize, DateV)> = None;
        for c in [
            self.relative_day(i),
            self.weekday_date(i),
            self.month_day(i),
            self.numeric_date(i),
            self.nth_day(i),
            self.this_next_date(i),
            self.holiday(i),
            self.day_of_period(i),
        ]
        .into_iter()
        .flatten()
        {
            if best.as_ref().is_none_or(|b| c.0 > b.0) {
                best = Some(c);
            }
        }
        if let Some(r) = self.week_then_weekday(i) {
            if best.as_ref().is_none_or(|b| r.0 > b.0) {
                best = Some(r);
            }
        }
        let (end, d) = best?;
        if let Some(r) = self.weekday_then_date(i, end) {
            return Some(r);
        }
        // "monday the 27th", "friday 23": a weekday followed by a day of month.
        if d.timex.contains("WXX") || weekday_word(self.w(i)).is_some() {
            if let Some(r) = self.weekday_then_day(i, end, &d) {
                return Some(r);
            }
        }
        Some((end, d))
    }

    /// `tue may 9`, `friday 7/6`, `tuesday, jan 15`: a weekday then a full date (the date wins).
    fn weekday_then_date(&self, i: usize, end: usize) -> Option<(usize, DateV)> {
        weekday_word(self.w(end - 1))?;
        let rel = if end == i + 2 && self.any(i, &["this", "next"]) { Some(self.w(i)) } else { None };
        if end != i + 1 && rel.is_none() {
            return None;
        }
        let j = if self.is(end, ",") { end + 1 } else { end };
        let dashed = || {
            let (a, b) = (self.num(j).filter(|a| *a <= 12)?, self.num(j + 2)?);
            (self.is(j + 1, "-") && self.glued(j + 1) && self.glued(j + 2) && !self.is(j + 3, "-"))
                .then(|| self.month_day_value(a, b, None))
                .flatten()
                .map(|d| (j + 3, d))
        };
        let wd = weekday_word(self.w(end - 1))?;
        let near = |x: &NaiveDate| (*x - self.today).num_days().abs() <= 7;
        let matches = |d: &DateV| [d.past, d.future].iter().any(|x| x.weekday().number_from_monday() == wd && near(x));
        let (k, d) =
            self.month_day(j).or_else(|| self.numeric_date(j)).or_else(|| dashed().filter(|(_, d)| matches(d)))?;
        if rel.is_some() && d.ambiguous {
            let this = NaiveDate::from_ymd_opt(self.today.year(), d.future.month(), d.future.day())?;
            return Some((k, DateV { past: this, future: this, ambiguous: false, ..d }));
        }
        Some((k, d))
    }

    /// `the 15th day of next month`, `twenty third day of september`, `the thirty-first day of the month`.
    fn day_of_period(&self, i: usize) -> Option<(usize, DateV)> {
        let j = self.opt(i, "the");
        let (k, d) = self.ordinal_day(j)?;
        if !(self.is(k, "day") && self.is(k + 1, "of")) {
            return None;
        }
        let x = k + 2;
        if let Some(m) = month_word(self.w(x)) {
            if j > i {
                return None; // Recognizers leaves "the" out here
            }
            return Some((x + 1, self.month_day_value(m, d, None)?));
        }
        let t = self.today;
        let first = NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?;
        let (e, month) = match (self.w(x), self.w(x + 1)) {
            ("the" | "this", "month") => (x + 2, first),
            ("next", "month") => (x + 2, add_months(first, 1)),
            ("last" | "previous", "month") => (x + 2, add_months(first, -1)),
            _ => return None,
        };
        let day = NaiveDate::from_ymd_opt(month.year(), month.month(), d)?;
        Some((e, DateV::exact(day)))
    }

    /// `this 5/12`, `next 6th of april`: a year-less day in this or next year (one value).
    fn this_next_date(&self, i: usize) -> Option<(usize, DateV)> {
        let next = match self.w(i) {
            "this" => false,
            "next" => true,
            _ => return None,
        };
        let (k, d) = self.month_day(i + 1).or_else(|| self.numeric_date(i + 1))?;
        if !d.ambiguous || !d.timex.starts_with("XXXX-") || d.timex.contains('W') {
            return None;
        }
        let y = self.today.year() + next as i32;
        let x = NaiveDate::from_ymd_opt(y, d.future.month(), d.future.day())?;
        Some((k, DateV { past: x, future: x, ambiguous: false, ..d }))
    }

    /// `next week wednesday`, `this week monday`, `next week on tuesday`, `monday of next week`.
    fn week_then_weekday(&self, i: usize) -> Option<(usize, DateV)> {
        let off = |w: &str| -> Option<i64> {
            match w {
                "this" => Some(0),
                "next" | "following" | "coming" => Some(1),
                "last" | "previous" => Some(-1),
                _ => None,
            }
        };
        let t = self.today;
        let at_week = |o: i64, wd: u32| DateV::exact(monday_of(t) + Duration::days(7 * o + wd as i64 - 1));
        if let Some(o) = off(self.w(i)).filter(|_| self.is(i + 1, "week")) {
            let j = if self.any(i + 2, &["on", "-", ","]) { i + 3 } else { i + 2 };
            let wd = weekday_word(self.w(j))?;
            return Some((j + 1, at_week(o, wd)));
        }
        let j = self.opt(i, "on");
        let wd = weekday_word(self.w(j))?;
        if !self.is(j + 1, "of") {
            return None;
        }
        let k = self.opt(j + 2, "the");
        let o = off(self.w(k)).filter(|_| self.is(k + 1, "week"))?;
        if j > i && o < 0 {
            return None; // "on tuesday of last week": the match starts at the weekday
        }
        Some((k + 2, at_week(o, wd)))
    }

    fn relative_day(&self, i: usize) -> Option<(usize, DateV)> {
        let t = self.today;
        let day = |n: i64| DateV::exact(t + Duration::days(n));
        let j = self.opt(i, "the");
        match self.w(j) {
            "today" if j == i => Some((i + 1, day(0))),
            "tomorrow" | "tmrw" | "tmr" if j == i => Some((i + 1, day(1))),
            "yesterday" if j == i => Some((i + 1, day(-1))),
            "day" if self.is(j + 1, "after") && self.any(j + 2, &["tomorrow", "tmrw"]) => Some((j + 3, day(2))),
            "day" if self.is(j + 1, "before") && self.is(j + 2, "yesterday") => Some((j + 3, day(-2))),
            "day" if j > i && self.is(j + 1, "before") => Some((j + 2, day(-1))),
            "day" if j > i && self.is(j + 1, "after") => Some((j + 2, day(1))),
            "day" if j > i && !self.any(j + 1, &["of", "off"]) => Some((j + 1, day(0))),
            _ => None,
        }
    }

    /// `friday`, `this friday`, `next tuesday`, `last wednesday`, `this past wednesday`.
    fn weekday_date(&self, i: usize) -> Option<(usize, DateV)> {
        let (j, rel) = match self.w(i) {
            "this" if self.any(i + 1, &["past", "coming", "upcoming"]) => (i + 2, self.w(i + 1)),
            "this" | "next" | "last" | "previous" | "coming" | "following" | "upcoming" | "past" => (i + 1, self.w(i)),
            _ => (i, ""),
        };
        let wd = weekday_word(self.w(j))?;
        if !self.weekday_is_date(j) && rel.is_empty() {
            return None;
        }
        let t = self.today;
        let this_week = monday_of(t) + Duration::days(wd as i64 - 1);
        let d = match rel {
            "" => {
                let ahead = (wd as i64 - t.weekday().number_from_monday() as i64).rem_euclid(7);
                let future = t + Duration::days(ahead);
                let dv = DateV {
                    timex: format!("XXXX-WXX-{wd}"),
                    past: future - Duration::days(7),
                    future,
                    ambiguous: true,
                };
                return Some((j + 1, dv));
            }
            "this" => this_week,
            "next" | "following" | "coming" => this_week + Duration::days(7),
            "last" | "previous" => this_week - Duration::days(7),
            "past" => {
                let back = (t.weekday().number_from_monday() as i64 - wd as i64).rem_euclid(7);
                t - Duration::days(if back == 0 { 7 } else { back })
            }
            _ => {
                let ahead = (wd as i64 - t.weekday().number_from_monday() as i64).rem_euclid(7);
                t + Duration::days(if ahead == 0 { 7 } else { ahead })
            }
        };
        Some((j + 1, DateV::exact(d)))
    }

    /// Whether a weekday word at `i` names a day (short forms like `sun`, `sat`, `wed` need context).
    fn weekday_is_date(&self, i: usize) -> bool {
        let w = self.w(i);
        if w.len() > 4 {
            return true;
        }
        let prev = if i > 0 { self.w(i - 1) } else { "" };
        matches!(prev, "on" | "this" | "next" | "last" | "," | "or" | "and")
            || self.num(i + 1).is_some()
            || month_word(self.w(i + 1)).is_some()
            || self.any(i + 1, &["at", "morning", "afternoon", "evening", "night", "the", ","])
            || w == "mon"
            || w == "tue"
            || w == "tues"
            || w == "thu"
            || w == "fri"
    }

    /// `friday the 26th`, `monday 21`: a weekday followed by a day of the month.
    fn weekday_then_day(&self, i: usize, end: usize, d: &DateV) -> Option<(usize, DateV)> {
        let wd = weekday_word(self.w(end - 1))?;
        let j = self.opt(end, "the");
        let (k, day) = self.day_number(j)?;
        if j == end && self.digits(j) == 0 && self.ordinal_day(j).is_none() {
            return None; // "monday two weeks from now"
        }
        if self.any(k, &["days", "weeks", "months", "years", "day", "week", "month", "year"]) {
            return None;
        }
        let joined = self.any(k, &["/", ":", ".", "-"]) && self.glued(k + 1) && self.num(k + 1).is_some();
        if month_word(self.w(k)).is_some() || joined || self.is(k, "-") {
            return None;
        }
        if j == end && self.any(k, &["am", "pm", "a", "p", "oclock"]) {
            return None;
        }
        let _ = i;
        let here = NaiveDate::from_ymd_opt(self.today.year(), self.today.month(), day);
        let is_wd = |x: &NaiveDate| x.weekday().number_from_monday() == wd;
        match here {
            Some(x) if is_wd(&x) && (j > end || x == self.today) => Some((k, DateV::exact(x))),
            _ if j > end => Some((k, d.clone())),
            _ => {
                // "mon 13th": the nearest months whose 13th is a Monday, either side of today
                let first = NaiveDate::from_ymd_opt(self.today.year(), self.today.month(), 1)?;
                let at =
                    |n: i32| NaiveDate::from_ymd_opt(add_months(first, n).year(), add_months(first, n).month(), day);
                let past = (0..=72).filter_map(|n| at(-n)).find(|x| is_wd(x) && *x < self.today)?;
                let future = (0..=72).filter_map(at).find(|x| is_wd(x) && *x > self.today)?;
                Some((k, DateV { timex: d.timex.clone(), past, future, ambiguous: true }))
            }
        }
    }

    /// A day in a month without a year, with past/future candidates.
    pub(super) fn month_day_value(&self, m: u32, d: u32, y: Option<i32>) -> Option<DateV> {
        if let Some(y) = y {
            return NaiveDate::from_ymd_opt(y, m, d).map(DateV::exact);
        }
        let ry = self.today.year();
        if (m, d) == (2, 29) {
            let leap = |y: i32| NaiveDate::from_ymd_opt(y, 2, 29);
            let past = (ry - 8..=ry).rev().filter_map(leap).find(|x| *x <= self.today)?;
            let future = (ry..=ry + 8).filter_map(leap).find(|x| *x > self.today)?;
            return Some(DateV { timex: "XXXX-02-29".into(), past, future, ambiguous: true });
        }
        let this = NaiveDate::from_ymd_opt(ry, m, d)?;
        let past = if this <= self.today { this } else { NaiveDate::from_ymd_opt(ry - 1, m, d)? };
        let future = if this > self.today { this } else { NaiveDate::from_ymd_opt(ry + 1, m, d)? };
        Some(DateV { timex: format!("XXXX-{m:02}-{d:02}"), past, future, ambiguous: true })
    }

    /// An optional year after a day: `, 2016`, ` 2019`, ` of 1995`, ` in 2020`.
    fn trailing_year(&self, i: usize) -> (usize, Option<i32>) {
        for skip in [0usize, 1] {
            let j = i + skip;
            if skip == 1 && !self.any(i, &[",", "of", "in", "-", "/", "."]) {
                continue;
            }
            if let Some((k, y)) = self.year(j) {
                if !(self.is(k, ":") || self.is(k, "-") && self.num(k + 1).is_some()) {
                    return (k, Some(y));
                }
            }
        }
        (i, None)
    }

    /// `jan 4th 2019`, `04th jan 2019`, `second of aug`, `may twenty nine`, `oct/2`, `05-aug-2016`.
    fn month_day(&self, i: usize) -> Option<(usize, DateV)> {
        // month first
        if let Some(m) = month_word(self.w(i)) {
            let mut j = i + 1;
            if self.is(j, ".") {
                j += 1;
            }
            if self.any(j, &["/", "-", ","]) {
                j += 1;
            }
            j = self.opt(j, "the");
            let (k, d) = self.day_number(j)?;
            if self.is(k, ":") || (self.digits(j) > 0 && self.any(k, &["am", "pm"])) {
                return None;
            }
            if self.w(i) == "may"
                && self.digits(j) == 0
                && ordinal_word(self.w(k - 1)).is_none()
                && k - j < 2
                && !self.month_context(i)
            {
                return None;
            }
            let (k2, y) = self.trailing_year(k);
            return Some((k2, self.month_day_value(m, d, y)?));
        }
        // day first
        if i > 0 && self.is(i - 1, "$") {
            return None;
        }
        let j0 = self.opt(i, "the");
        let (k, d) = self.day_number(j0)?;
        let ordinal = self.ordinal_day(j0).is_some();
        let mut j = k;
        if self.any(j, &["-", "/"]) || ((ordinal || self.digits(j0) > 0) && self.is(j, "of")) {
            j += 1;
        } else if j0 != i && !ordinal {
            return None;
        }
        let m = month_word(self.w(j))?;
        if m == 5 && self.digits(j0) == 0 && !ordinal && !self.any(j + 1, &[",", "-", "/"]) {
            return None;
        }
        let mut e = j + 1;
        if self.is(e, ".") && self.w(j).len() <= 4 && (self.is(e + 1, ",") || self.num(e + 1).is_some()) {
            e += 1;
        }
        let (e2, y) = self.trailing_year(e);
        Some((e2, self.month_day_value(m, d, y)?))
    }

    /// Whether `may` at `i` reads as the month (after a preposition or determiner).
    pub(super) fn month_context(&self, i: usize) -> bool {
        i > 0
            && self.any(
                i - 1,
                &[
                    "in", "of", "since", "before", "after", "next", "last", "early", "mid", "late", "from", "to",
                    "until", "till", "by", "during", "on", "through", "-",
                ],
            )
    }

    /// `11/07/2016`, `5/3/18`, `22/04`, `2015-3-1`, `23.04.2022`, `20161016`, `2016 10 16`.
    fn numeric_date(&self, i: usize) -> Option<(usize, DateV)> {
        let after_word_dash =
            i > 0 && self.is(i - 1, "-") && (i < 2 || !self.glued(i - 1) || self.num(i - 2).is_none());
        if i > 0 && (self.glued(i) && self.any(i - 1, &["/", "-", ".", ":"]) && !after_word_dash || self.is(i - 1, "$"))
        {
            return None;
        }
        self.numeric_date_after_dash(i)
    }

    /// [`Self::numeric_date`] without the check of what comes before (the second bound of `10/1-11/7`).
    pub(super) fn numeric_date_after_dash(&self, i: usize) -> Option<(usize, DateV)> {
        if self.digits(i) == 8 {
            let s = &self.toks[i].text;
            let (y, m, d) = (s[0..4].parse().ok()?, s[4..6].parse().ok()?, s[6..8].parse().ok()?);
            return Some((i + 1, DateV::exact(NaiveDate::from_ymd_opt(y, m, d)?)));
        }
        let a = self.num(i)?;
        let sep = self.w(i + 1);
        if !matches!(sep, "/" | "-" | ".") || !self.glued(i + 1) || !self.glued(i + 2) {
            if self.digits(i) == 4 && self.digits(i + 1) > 0 && self.digits(i + 2) > 0 {
                let (m, d) = (self.num(i + 1)?, self.num(i + 2)?);
                return Some((i + 3, DateV::exact(NaiveDate::from_ymd_opt(a as i32, m, d)?)));
            }
            return None;
        }
        // year first: 2015-03-01, 2019/aug/01
        if self.digits(i) == 4 {
            let m = self.num(i + 2).or_else(|| month_word(self.w(i + 2)))?;
            if self.is(i + 3, sep) && self.glued(i + 3) {
                let d = self.num(i + 4)?;
                if self.is(i + 5, sep) && self.num(i + 6).is_some() {
                    return None;
                }
                return Some((i + 5, DateV::exact(NaiveDate::from_ymd_opt(a as i32, m, d)?)));
            }
            return None;
        }
        if self.digits(i) > 2 {
            return None;
        }
        let b = self.num(i + 2).or_else(|| month_word(self.w(i + 2)).map(|m| m + 100))?;
        let mut end = i + 3;
        let mut year = None;
        if self.is(end, sep) && self.glued(end) && self.num(end + 1).is_some() {
            let yd = self.digits(end + 1);
            let y = self.num(end + 1)? as i32;
            year = Some(match yd {
                4 => y,
                2 if y < 30 => 2000 + y,
                2 if y >= 40 => 1900 + y,
                2 => {
                    // 30–39: either century (Recognizers writes `XX30`)
                    let (m, d) = if b > 100 {
                        (b - 100, a)
                    } else if a > 12 {
                        (b, a)
                    } else {
                        (a, b)
                    };
                    let past = NaiveDate::from_ymd_opt(1900 + y, m, d)?;
                    let future = NaiveDate::from_ymd_opt(2000 + y, m, d)?;
                    let timex = format!("XX{y:02}-{m:02}-{d:02}");
                    return Some((end + 2, DateV { timex, past, future, ambiguous: true }));
                }
                _ => return None,
            });
            end += 2;
            if self.is(end, sep) && self.num(end + 1).is_some() && sep != "-" {
                return None;
            }
        } else if sep == "." && self.digits(i + 2) != 0 && !(1..=12).contains(&a) {
            return None;
        }
        let (m, d) = if b > 100 {
            (b - 100, a)
        } else if a > 12 {
            (b, a)
        } else {
            (a, b)
        };
        if sep == "-" && year.is_none() && b < 100 {
            return None;
        }
        Some((end, self.month_day_value(m, d, year)?))
    }

    /// `on the 18th`, `29th` after `on`: a day of the current month.
    fn nth_day(&self, i: usize) -> Option<(usize, DateV)> {
        let prev = if i > 0 { self.w(i - 1) } else { "" };
        let j = self.opt(i, "the");
        let cardinal = prev == "on" && j > i && self.digits(j) > 0 && self.any(j + 1, &["from", "between", "at"]);
        let (k, d) = if cardinal { self.day_number(j)? } else { self.ordinal_day(j)? };
        if prev != "on" && !(j > i && self.any(k, &["of"])) || self.is(k, "day") && self.is(k + 1, "of") {
            return None;
        }
        if self.digits(j) == 0 && j <= i {
            return None;
        }
        let t = self.today;
        let this = NaiveDate::from_ymd_opt(t.year(), t.month(), d)?;
        let past = if this <= t { this } else { add_months(this, -1) };
        let future = if this >= t { this } else { add_months(this, 1) };
        Some((k, DateV { timex: format!("XXXX-XX-{d:02}"), past, future, ambiguous: true }))
    }
}

/// The found `date` entity of a day.
pub fn date_found(d: &DateV, end: usize, today: NaiveDate) -> Found {
    let values = d.candidates().into_iter().map(|x| value(&d.timex, "date", &[("value", ymd(x))])).collect();
    // a year-less day that is today books today (Recognizers' future candidate is then next year's)
    let booking = if d.ambiguous && d.past == today { today } else { d.future };
    Found { kind: TimeKind::Date, end, values, domain: DomainTime { date: Some(booking), ..Default::default() } }
}
