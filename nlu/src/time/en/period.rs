//! Named periods: quarters (`next quarter`, `2017 q1`), halves (`2019 h2`),
//! weeks by number (`week 31`, `3rd week of 2018`, `last week of july`),
//! counted spans with the count first (`5 upcoming years`) and parts of a
//! period (`mid-November`, `end of the month`, `beginning of 2000`).

use chrono::{Datelike, Duration, NaiveDate};

use super::lex::{month_word, ordinal_word};
use super::range::RangeV;
use super::value::{add_months, monday_of, ymd};
use super::Parser;

impl Parser<'_> {
    /// All named periods at `i`, longest first-found.
    pub(super) fn period_expr(&self, i: usize) -> Option<(usize, RangeV)> {
        let mut best: Option<(usize, RangeV)> = None;
        for c in [
            self.quarter_range(i),
            self.week_of_range(i),
            self.count_first_range(i),
            self.part_of_range(i),
            self.earlier_later_range(i),
            self.season_range(i),
            self.same_range(i),
            self.within_range(i),
            self.length_from_range(i),
            self.special_year_range(i),
            self.week_of_day_range(i),
            self.century_range(i),
            self.year_to_date_range(i),
            self.month_of_year_range(i),
            self.decade_range(i),
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

    /// `this quarter`, `last 2 quarters`, `2017 q1`, `q3 2019`, `q1 of 2017`, `2019 h2`, `1st quarter of 2013`.
    fn quarter_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let t = self.today;
        let this_q = NaiveDate::from_ymd_opt(t.year(), (t.month0() / 3) * 3 + 1, 1)?;
        let dir: i32 = match self.w(i) {
            "this" | "current" => 0,
            "next" | "coming" | "following" => 1,
            "last" | "past" | "previous" => -1,
            _ => 9,
        };
        if dir != 9 {
            let (k, n) = match self.count(i + 1) {
                Some((k, n)) if self.any(k, &["quarters", "quarter"]) => (k, n),
                _ => (i + 1, 1),
            };
            if !self.any(k, &["quarter", "quarters"]) {
                return None;
            }
            let (s, e) = match dir {
                0 => (this_q, add_months(this_q, 3)),
                1 => (add_months(this_q, 3), add_months(this_q, 3 + 3 * n as i32)),
                _ => (add_months(this_q, -3 * n as i32), this_q),
            };
            return Some((k + 1, span(s, e, &format!("P{}M", 3 * n))));
        }
        // year first: "2017 q1", "2017-q1", "2019 h2"
        if let Some((k, y)) = self.year(i).filter(|_| self.digits(i) == 4) {
            let k2 = if self.is(k, "-") && self.glued(k) { k + 1 } else { k };
            if let Some((e, first, len)) = self.quarter_word(k2) {
                let s = NaiveDate::from_ymd_opt(y, first, 1)?;
                return Some((e, span(s, add_months(s, len), &format!("P{len}M"))));
            }
            return None;
        }
        // quarter first: "q1 2019", "q1-2019", "q1 of 2017", "1st quarter of 2013", "the first quarter of the year"
        let j = self.opt(i, "the");
        let (k, first, len) = self.quarter_word(j)?;
        let k2 = if self.any(k, &["-", "of", ","]) { k + 1 } else { k };
        if let Some((e, y)) = self.year(k2).filter(|_| self.digits(k2) == 4) {
            let s = NaiveDate::from_ymd_opt(y, first, 1)?;
            return Some((e, span(s, add_months(s, len), &format!("P{len}M"))));
        }
        if self.is(k2, "the") && self.is(k2 + 1, "year") || j == i && self.w(i).starts_with('q') {
            let e = if self.is(k2, "the") { k2 + 2 } else { k };
            let y = t.year();
            let cand = |y: i32| NaiveDate::from_ymd_opt(y, first, 1).map(|s| (s, add_months(s, len)));
            let (past, future) = (cand(y)?, cand(y + 1)?);
            let past = if past.0 <= t { past } else { cand(y - 1)? };
            let future = if cand(y)?.0 > t { cand(y)? } else { future };
            let timex = format!("(XXXX-{:02}-01,XXXX-{:02}-01,P{len}M)", first, add_months(past.0, len).month());
            return Some((e, RangeV { timex, spans: vec![past, future], modifier: None, unresolved: false }));
        }
        None
    }

    /// `q1`…`q4`, `h1`, `h2`, `first quarter`, `1st quarter`: (next token, first month, months).
    fn quarter_word(&self, i: usize) -> Option<(usize, u32, i32)> {
        let w = self.w(i);
        let q = match w {
            "q1" | "q2" | "q3" | "q4" => Some(w[1..].parse::<u32>().ok()?),
            "h1" | "h2" => return Some((i + 1, if w == "h1" { 1 } else { 7 }, 6)),
            "q" if self.glued(i + 1) => {
                let n = self.num(i + 1).filter(|n| (1..=4).contains(n))?;
                return Some((i + 2, 3 * (n - 1) + 1, 3));
            }
            "h" if self.glued(i + 1) => {
                let n = self.num(i + 1).filter(|n| (1..=2).contains(n))?;
                return Some((i + 2, 6 * (n - 1) + 1, 6));
            }
            _ => None,
        };
        if let Some(q) = q {
            return Some((i + 1, 3 * (q - 1) + 1, 3));
        }
        let (k, n) = self.ordinal_or_number(i)?;
        let last = self.w(k - 1);
        let ordinal = ordinal_word(last).is_some() || ["st", "nd", "rd", "th"].contains(&last);
        if !ordinal || !(1..=4).contains(&n) || !self.is(k, "quarter") {
            return None;
        }
        Some((k + 1, 3 * (n - 1) + 1, 3))
    }

    /// `week 31`, `week 3 of 2027`, `first week of 2015`, `3rd week of jan`, `last week of july`.
    fn week_of_range(&self, i: usize) -> Option<(usize, RangeV)> {
        if self.is(i, "week") {
            let n = self.num(i + 1).filter(|n| (1..=53).contains(n))?;
            let (e, y) = match self.year(i + 3).filter(|_| self.is(i + 2, "of")) {
                Some((e, y)) => (e, y),
                None if self.is(i + 2, "of") && self.is(i + 3, "last") && self.is(i + 4, "year") => {
                    (i + 5, self.today.year() - 1)
                }
                None => (i + 2, self.today.year()),
            };
            let s = iso_week_monday(y, n)?;
            return Some((e, RangeV::one(format!("{y:04}-W{n:02}"), s, s + Duration::days(7))));
        }
        let j = self.opt(i, "the");
        let n = match self.w(j) {
            "last" => 5,
            _ => {
                let (k, n) = self.ordinal_or_number(j)?;
                let last = self.w(k - 1);
                let ordinal = ordinal_word(last).is_some() || ["st", "nd", "rd", "th"].contains(&last);
                if !ordinal || k != j + 1 && k != j + 2 {
                    return None;
                }
                n
            }
        };
        let k = if self.w(j) == "last" { j + 1 } else { self.ordinal_or_number(j)?.0 };
        if !self.is(k, "week") || !self.is(k + 1, "of") {
            return None;
        }
        let x = k + 2;
        if let Some((e, y)) = self.year(x).filter(|_| self.digits(x) == 4 && month_word(self.w(x + 1)).is_none()) {
            let wk = if n == 5 { 52 } else { n };
            let s = iso_week_monday(y, wk)?;
            return Some((e, RangeV::one(format!("{y:04}-W{wk:02}"), s, s + Duration::days(7))));
        }
        let (e, r) = self
            .month_range(x)
            .or_else(|| self.range_expr(x).filter(|(_, r)| r.timex.len() == 7 && !r.timex.starts_with('(')))?;
        let spans: Vec<(NaiveDate, NaiveDate)> = r
            .spans
            .iter()
            .map(|(ms, _)| {
                let s = monday_of(*ms) + Duration::days(7 * (n as i64 - 1));
                (s, s + Duration::days(7))
            })
            .collect();
        let timex = format!("{}-W{:02}", r.timex, n);
        Some((e, RangeV { timex, spans, modifier: None, unresolved: false }))
    }

    /// `5 upcoming years`, `2 next days`, `10 previous weeks`, `the 3 next weeks`.
    fn count_first_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let (k, n) = self.count(i).filter(|_| self.num(i).is_some() || !self.any(i, &["a", "an", "one"]))?;
        let dir = match self.w(k) {
            "next" | "upcoming" | "coming" | "following" => 1,
            "past" | "previous" | "last" => -1,
            _ => return None,
        };
        if n > 1 && !self.w(k + 1).ends_with('s') {
            return None;
        }
        Some((k + 2, self.n_units_from_today(n, self.w(k + 1), dir)?))
    }

    /// `earlier this month`, `later this week`, `later in the year`, `earlier previous week`.
    fn earlier_later_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let later = match self.w(i) {
            "earlier" => false,
            "later" => true,
            _ => return None,
        };
        let j = if self.is(i + 1, "in") { i + 2 } else { i + 1 };
        let (e, r) = self.range_expr(j)?;
        if !self.any(j, &["this", "the", "current"]) && !self.any(j + 1, &["week", "month", "year"]) {
            return None;
        }
        let &(s, end) = r.spans.last()?;
        let mid = match (end - s).num_days() {
            7 => s + Duration::days(3),
            365 | 366 => NaiveDate::from_ymd_opt(s.year(), 7, 1)?,
            _ => NaiveDate::from_ymd_opt(s.year(), s.month(), 16)?,
        };
        let t = self.today;
        let current = s <= t && t < end;
        let (span, modifier) = match (current, later) {
            (true, false) => ((s, if mid < t { mid } else { t }), None),
            (true, true) => ((if mid > t { mid } else { t }, end), None),
            (false, false) => ((s, mid), Some("start")),
            (false, true) => ((mid, end), Some("end")),
        };
        Some((e, RangeV { timex: r.timex, spans: vec![span], modifier, unresolved: false }))
    }

    /// `within 9 months`, `within next 10 months`: from today on.
    fn within_range(&self, i: usize) -> Option<(usize, RangeV)> {
        if !self.is(i, "within") {
            return None;
        }
        let j = self.opt(self.opt(i + 1, "the"), "next");
        let (k, n) = self.count(j)?;
        let (code, days, months) = match self.w(k).trim_end_matches('s') {
            "day" => ('D', n as i64, 0),
            "week" => ('W', 7 * n as i64, 0),
            "month" => ('M', 0, n as i32),
            "year" => ('Y', 0, 12 * n as i32),
            _ => return None,
        };
        let s = self.today;
        let e = add_months(s, months) + Duration::days(days);
        Some((k + 1, RangeV::one(format!("({},{},P{n}{code})", ymd(s), ymd(e)), s, e)))
    }

    /// `a week starting tomorrow`, `3 days starting from next monday`, `for 3 days from today`.
    fn length_from_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let j = self.opt(i, "for");
        let (k, n) = self.count(j)?;
        let (code, days, months) = match self.w(k).trim_end_matches('s') {
            "day" => ('D', n as i64, 0),
            "week" => ('W', 7 * n as i64, 0),
            "month" => ('M', 0, n as i32),
            _ => return None,
        };
        let mut x = k + 1;
        if self.is(x, ",") {
            x += 1;
        }
        match self.w(x) {
            "starting" | "beginning" if j == i => {
                x = self.opt(self.opt(x + 1, "from"), "on");
            }
            "from" if j > i => x += 1,
            _ => return None,
        }
        let (e, d) = self.date_expr(x)?;
        let s = if d.ambiguous && d.past.year() == self.today.year() { d.past } else { d.future };
        let end = add_months(s, months) + Duration::days(days);
        Some((e, RangeV::one(format!("({},{},P{n}{code})", ymd(s), ymd(end)), s, end)))
    }

    /// `fiscal year 2008`, `this school year`, `calendar year 2008`, `cy18`, `sy 2008`.
    fn special_year_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let (j, off) = match self.w(i) {
            "this" | "current" => (i + 1, Some(0)),
            "next" => (i + 1, Some(1)),
            "last" | "previous" => (i + 1, Some(-1)),
            _ => (i, None),
        };
        let (k, prefix) = match (self.w(j), self.w(j + 1)) {
            ("fiscal", "year") => (j + 2, "FY"),
            ("school", "year") => (j + 2, "SY"),
            ("calendar", "year") => (j + 2, ""),
            ("fy" | "sy" | "cy", _) => (j + 1, if self.is(j, "cy") { "" } else { "SY" }),
            _ => return None,
        };
        let prefix = if self.is(j, "fy") { "FY" } else { prefix };
        let year = match off {
            Some(o) => Some(self.today.year() + o),
            None => match self.num(k) {
                Some(y) if self.digits(k) == 4 => Some(y as i32),
                Some(y) if self.digits(k) == 2 && self.glued(k) => Some(2000 + y as i32),
                _ => None,
            },
        };
        let e = if off.is_none() && year.is_some() { k + 1 } else { k };
        if year.is_none() && prefix.is_empty() || year.is_none() && k == j + 1 {
            return None;
        }
        let r = match (prefix, year) {
            ("", Some(y)) => {
                RangeV::one(format!("{y}"), NaiveDate::from_ymd_opt(y, 1, 1)?, NaiveDate::from_ymd_opt(y + 1, 1, 1)?)
            }
            (p, y) => RangeV {
                timex: format!("{p}{}", y.map_or("XXXX".to_string(), |y| y.to_string())),
                spans: Vec::new(),
                modifier: None,
                unresolved: true,
            },
        };
        Some((e, r))
    }

    /// `the week of april 10th`, `w/c feb 4`, `the week beginning february 4`, `the week of the 18th`.
    fn week_of_day_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let j = if self.is(i, "w") && self.is(i + 1, "/") && self.is(i + 2, "c") {
            i + 3
        } else {
            let j = self.opt(i, "the");
            if !self.is(j, "week") {
                return None;
            }
            match self.w(j + 1) {
                "of" => j + 2,
                "beginning" | "starting" | "commencing" => self.opt(j + 2, "on"),
                _ => return None,
            }
        };
        let (e, d) = self.date_expr(j).or_else(|| {
            let k = self.opt(j, "the");
            let (e, n) = self.ordinal_day(k)?;
            let t = self.today;
            let this = NaiveDate::from_ymd_opt(t.year(), t.month(), n)?;
            let past = if this <= t { this } else { add_months(this, -1) };
            let future = if this > t { this } else { add_months(this, 1) };
            Some((e, super::value::DateV { timex: format!("XXXX-XX-{n:02}"), past, future, ambiguous: true }))
        })?;
        let spans = d
            .candidates()
            .into_iter()
            .map(|x| {
                let m = monday_of(x);
                (m, m + Duration::days(7))
            })
            .collect();
        Some((e, RangeV { timex: d.timex, spans, modifier: None, unresolved: false }))
    }

    /// `15th century`, `21st century`.
    fn century_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let (k, n) = self.ordinal_or_number(i).filter(|(_, n)| *n <= 21)?;
        if !self.is(k, "century") || n == 0 {
            return None;
        }
        let y = (n as i32 - 1) * 100;
        let (s, e) = (NaiveDate::from_ymd_opt(y, 1, 1)?, NaiveDate::from_ymd_opt(y + 100, 1, 1)?);
        Some((k + 1, RangeV::one(format!("({},{},P100Y)", ymd(s), ymd(e)), s, e)))
    }

    /// `the third month of 2021`, `the 9th month of next year`.
    fn month_of_year_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let j = self.opt(i, "the");
        let (k, n) = self.ordinal_day(j).filter(|(_, n)| (1..=12).contains(n))?;
        if !(self.is(k, "month") && self.is(k + 1, "of")) {
            return None;
        }
        let (e, r) = self.range_expr(k + 2).filter(|(_, r)| r.timex.len() == 4)?;
        let y = r.spans.first()?.0.year();
        let s = NaiveDate::from_ymd_opt(y, n, 1)?;
        Some((e, RangeV::one(format!("{y}-{n:02}"), s, add_months(s, 1))))
    }

    /// `the next decade`, `the next two decades`, `last decade`.
    fn decade_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let j = self.opt(i, "the");
        let dir = match self.w(j) {
            "next" | "coming" | "following" => 1,
            "last" | "previous" | "past" => -1,
            "this" | "current" => 0,
            _ => return None,
        };
        let (k, n) = match self.count(j + 1) {
            Some((k, n)) if self.is(k, "decades") => (k, n as i32),
            _ => (j + 1, 1),
        };
        if !self.any(k, &["decade", "decades"]) {
            return None;
        }
        let this = self.today.year() / 10 * 10;
        let (s, e) = match dir {
            1 => (this + 10, this + 10 + 10 * n),
            -1 => (this - 10 * n, this),
            _ => (this, this + 10),
        };
        let (sd, ed) = (NaiveDate::from_ymd_opt(s, 1, 1)?, NaiveDate::from_ymd_opt(e, 1, 1)?);
        Some((k + 1, RangeV::one(format!("({},{},P{}Y)", ymd(sd), ymd(ed), e - s), sd, ed)))
    }

    /// `year to date`: this year up to today.
    fn year_to_date_range(&self, i: usize) -> Option<(usize, RangeV)> {
        if !(self.is(i, "year") && self.is(i + 1, "to") && self.is(i + 2, "date")) {
            return None;
        }
        let t = self.today;
        Some((i + 3, RangeV::one(format!("{}", t.year()), NaiveDate::from_ymd_opt(t.year(), 1, 1)?, t)))
    }

    /// `summer`, `this winter`, `next spring`.
    fn season_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let (j, year) = match self.w(i) {
            "this" => (i + 1, Some(self.today.year())),
            "next" => (i + 1, Some(self.today.year() + 1)),
            "last" => (i + 1, Some(self.today.year() - 1)),
            _ => (i, None),
        };
        let code = match self.w(j) {
            "summer" => "SU",
            "winter" => "WI",
            "spring" => "SP",
            "fall" | "autumn" => "FA",
            _ => return None,
        };
        let timex = match year {
            Some(y) => format!("{y}-{code}"),
            None => code.to_string(),
        };
        Some((j + 1, RangeV { timex, spans: Vec::new(), modifier: None, unresolved: true }))
    }

    /// `same week`, `same month`, `same year`, `that weekend`: the current one, reference undefined.
    fn same_range(&self, i: usize) -> Option<(usize, RangeV)> {
        if !self.any(i, &["same", "that"]) {
            return None;
        }
        let t = self.today;
        let (timex, s, e) = match self.w(i + 1) {
            "week" if self.is(i, "same") => ("XXXX-WXX", monday_of(t), monday_of(t) + Duration::days(7)),
            "month" if self.is(i, "same") => {
                let s = NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?;
                ("XXXX-XX", s, add_months(s, 1))
            }
            "year" if self.is(i, "same") => {
                ("XXXX", NaiveDate::from_ymd_opt(t.year(), 1, 1)?, NaiveDate::from_ymd_opt(t.year() + 1, 1, 1)?)
            }
            "weekend" if self.is(i, "that") => {
                let sat = monday_of(t) + Duration::days(5);
                ("XXXX-WXX-WE", sat, sat + Duration::days(2))
            }
            _ => return None,
        };
        Some((
            i + 2,
            RangeV { timex: timex.into(), spans: vec![(s, e)], modifier: Some("ref_undef"), unresolved: false },
        ))
    }

    /// `mid-November`, `end of the month`, `beginning of 2000`, `late july`, `end of the week`.
    pub(super) fn part_of_range(&self, i: usize) -> Option<(usize, RangeV)> {
        let j = i;
        let (part, k) = match self.w(j) {
            "early" | "beginning" | "start" => ("start", j + 1),
            "mid" | "middle" => ("mid", j + 1),
            "late" | "end" => ("end", j + 1),
            "eoy" => {
                let y = self.today.year();
                let s = NaiveDate::from_ymd_opt(y, 7, 1)?;
                let r = RangeV {
                    timex: format!("{y}"),
                    spans: vec![(s, NaiveDate::from_ymd_opt(y + 1, 1, 1)?)],
                    modifier: Some("end"),
                    unresolved: false,
                };
                return Some((j + 1, r));
            }
            _ => return None,
        };
        let k = if self.is(k, "-") || self.is(k, "of") { k + 1 } else { k };
        let k = self.opt(k, "the");
        let explicit_year = self.digits(k) == 4;
        let bare = matches!(self.w(k), "month" | "year" | "week");
        let (e, r) = if bare {
            let t = self.today;
            let r = match self.w(k) {
                "month" => RangeV::one(
                    format!("{:04}-{:02}", t.year(), t.month()),
                    NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?,
                    add_months(NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?, 1),
                ),
                "year" => RangeV::one(
                    format!("{}", t.year()),
                    NaiveDate::from_ymd_opt(t.year(), 1, 1)?,
                    NaiveDate::from_ymd_opt(t.year() + 1, 1, 1)?,
                ),
                _ => {
                    let m = monday_of(t);
                    RangeV::one(super::value::week_timex(t), m, m + Duration::days(7))
                }
            };
            (k + 1, r)
        } else {
            self.range_expr(k)?
        };
        if r.modifier.is_some() || r.unresolved || r.timex.starts_with('(') {
            return None;
        }
        let spans = r.spans.iter().filter_map(|(s, e)| part_span(*s, *e, part, explicit_year)).collect();
        Some((e, RangeV { timex: r.timex, spans, modifier: Some(part), unresolved: false }))
    }
}

/// The part (`start`, `mid`, `end`) of a span of days.
fn part_span(s: NaiveDate, e: NaiveDate, part: &str, explicit_year: bool) -> Option<(NaiveDate, NaiveDate)> {
    let days = (e - s).num_days();
    let d = |y: i32, m: u32, day: u32| NaiveDate::from_ymd_opt(y, m, day);
    Some(match days {
        7 => match part {
            "start" => (s, s + Duration::days(3)),
            "mid" => (s + Duration::days(2), s + Duration::days(5)),
            _ => (s + Duration::days(3), e),
        },
        365 | 366 => {
            let y = s.year();
            match part {
                "start" => (s, d(y, if explicit_year { 5 } else { 7 }, 1)?),
                "mid" => (d(y, 5, 1)?, d(y, 9, 1)?),
                _ => (d(y, if explicit_year { 9 } else { 7 }, 1)?, e),
            }
        }
        28..=31 => {
            let (y, m) = (s.year(), s.month());
            match part {
                "start" => (s, d(y, m, 11)?),
                "mid" => (d(y, m, 10)?, d(y, m, 21)?),
                _ => (d(y, m, 16)?, e),
            }
        }
        _ => return None,
    })
}

/// The Monday of ISO week `n` of year `y`.
fn iso_week_monday(y: i32, n: u32) -> Option<NaiveDate> {
    NaiveDate::from_isoywd_opt(y, n, chrono::Weekday::Mon)
}

fn span(s: NaiveDate, e: NaiveDate, dur: &str) -> RangeV {
    RangeV::one(format!("({},{},{dur})", ymd(s), ymd(e)), s, e)
}
