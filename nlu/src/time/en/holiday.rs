//! Holidays with a fixed or computable date (`christmas`, `easter 2018`, `black friday`).

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::value::DateV;
use super::Parser;

/// A holiday's date in a year.
type Rule = fn(i32) -> Option<NaiveDate>;

impl Parser<'_> {
    /// A holiday, optionally with a year (`easter 2018`) or `of this year`, or `next`/`last` before it.
    pub(super) fn holiday(&self, i: usize) -> Option<(usize, DateV)> {
        let (j, rel) = match self.w(i) {
            "next" | "following" => (i + 1, 1),
            "last" | "previous" => (i + 1, -1),
            "this" => (i + 1, 0),
            _ => (i, 9),
        };
        let (k, rule) = self.holiday_name(j)?;
        let t = self.today;
        let at = |y: i32| rule(y);
        if let Some((e, y)) = self.year(k).filter(|_| self.digits(k) == 4) {
            return Some((e, DateV::exact(at(y)?)));
        }
        if self.is(k, "of") && self.any(k + 1, &["this", "next", "last"]) && self.is(k + 2, "year") {
            let off = match self.w(k + 1) {
                "next" => 1,
                "last" => -1,
                _ => 0,
            };
            return Some((k + 3, DateV::exact(at(t.year() + off)?)));
        }
        let this = at(t.year())?;
        let past = if this <= t { this } else { at(t.year() - 1)? };
        let future = if this > t { this } else { at(t.year() + 1)? };
        match rel {
            1 => Some((k, DateV::exact(future))),
            -1 => Some((k, DateV::exact(if this < t { this } else { at(t.year() - 1)? }))),
            0 => Some((k, DateV::exact(this))),
            _ => {
                let timex = format!("XXXX-{:02}-{:02}", past.month(), past.day());
                Some((k, DateV { timex, past, future, ambiguous: true }))
            }
        }
    }

    fn holiday_name(&self, i: usize) -> Option<(usize, Rule)> {
        let w = self.w(i);
        let next = self.w(i + 1);
        let two = |rule: Rule| Some((i + 2, rule));
        let one = |rule: Rule| Some((i + 1, rule));
        match (w, next) {
            ("christmas", "eve") => two(|y| NaiveDate::from_ymd_opt(y, 12, 24)),
            ("christmas" | "xmas", "day") => two(|y| NaiveDate::from_ymd_opt(y, 12, 25)),
            ("christmas" | "xmas", _) => one(|y| NaiveDate::from_ymd_opt(y, 12, 25)),
            ("new", "year") if self.is(i + 2, "day") => Some((i + 3, |y| NaiveDate::from_ymd_opt(y, 1, 1))),
            ("new", "year") if self.is(i + 2, "'") && self.is(i + 3, "s") && self.is(i + 4, "day") => {
                Some((i + 5, |y| NaiveDate::from_ymd_opt(y, 1, 1)))
            }
            ("new", "year") => two(|y| NaiveDate::from_ymd_opt(y, 1, 1)),
            ("independence", "day") => two(|y| NaiveDate::from_ymd_opt(y, 7, 4)),
            ("earth", "day") => two(|y| NaiveDate::from_ymd_opt(y, 4, 22)),
            ("freedom" | "jubilee", "day") => two(|y| NaiveDate::from_ymd_opt(y, 6, 19)),
            ("international", "workers") if self.is(i + 2, "'") && self.is(i + 3, "day") => {
                Some((i + 4, |y| NaiveDate::from_ymd_opt(y, 5, 1)))
            }
            ("saint" | "st", "patrick") => {
                let k = if self.is(i + 2, "'") && self.is(i + 3, "s") { i + 4 } else { i + 2 };
                let k = if self.is(k, "day") { k + 1 } else { k };
                Some((k, |y| NaiveDate::from_ymd_opt(y, 3, 17)))
            }
            ("juneteenth", _) => one(|y| NaiveDate::from_ymd_opt(y, 6, 19)),
            ("halloween", _) => one(|y| NaiveDate::from_ymd_opt(y, 10, 31)),
            ("valentine", _) | ("valentines", _) => {
                let mut k = i + 1;
                if self.is(k, "'") {
                    k += 1;
                }
                if self.is(k, "s") {
                    k += 1;
                }
                if self.is(k, "day") {
                    k += 1;
                }
                Some((k, |y| NaiveDate::from_ymd_opt(y, 2, 14)))
            }
            ("easter", "monday") => two(|y| easter(y).map(|d| d + Duration::days(1))),
            ("easter", _) => one(easter),
            ("black", "friday") => two(|y| thanksgiving(y).map(|d| d + Duration::days(1))),
            ("thanksgiving", _) => one(thanksgiving),
            _ => None,
        }
    }
}

/// Easter Sunday (Gregorian computus).
fn easter(y: i32) -> Option<NaiveDate> {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(y, month as u32, day as u32)
}

/// The fourth Thursday of November.
fn thanksgiving(y: i32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(y, 11, Weekday::Thu, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_holidays() {
        assert_eq!(easter(2018), NaiveDate::from_ymd_opt(2018, 4, 1));
        assert_eq!(easter(2019), NaiveDate::from_ymd_opt(2019, 4, 21));
        assert_eq!(thanksgiving(2010).map(|d| d.day()), Some(25));
    }
}
