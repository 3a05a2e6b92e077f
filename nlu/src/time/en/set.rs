//! Recurring times: `every Saturday morning`, `daily`, `weekly`, `each monday at 4pm`,
//! `mondays`, `tuesday afternoons`, `once a week`, `19th of every month`.

use super::clock::pod_word;
use super::lex::weekday_plural;
use super::value::{value, TimeV};
use super::{Found, Parser};
use crate::time::{DomainTime, TimeKind};

impl Parser<'_> {
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
        if self.is(i, "any") && self.any(i + 1, &["weekend", "year"]) {
            return Some((i + 2, if self.is(i + 1, "year") { "P1Y" } else { "P1WE" }.to_string()));
        }
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
