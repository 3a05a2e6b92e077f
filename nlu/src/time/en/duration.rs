//! Lengths of time (`two hours`, `3h`, `half an hour`, `one and a half hours`,
//! `more than 4 days`).

use chrono::{Duration, NaiveDateTime};

use super::value::{add_months, minutes_timex, value};
use super::{Found, Parser};
use crate::time::{DomainTime, TimeKind};

/// A length of time: amount and unit letter (`Y`, `M`, `W`, `D`, `H`, `m` for minutes, `S`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Dur {
    pub(super) amount: f64,
    pub(super) unit: char,
}

impl Dur {
    pub(super) fn seconds(&self) -> f64 {
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

    pub(super) fn timex(&self) -> String {
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
    pub(super) fn add_to(&self, t: NaiveDateTime, sign: i64) -> Option<NaiveDateTime> {
        // far-off lengths ("in 999999999 years") resolve to nothing rather than overflow
        if !(0.0..=100_000.0).contains(&self.amount) {
            return None;
        }
        let whole = self.amount as i32 * sign as i32;
        match self.unit {
            'Y' if self.amount.fract() == 0.0 => Some(add_months(t.date(), 12 * whole).and_time(t.time())),
            'M' if self.amount.fract() == 0.0 => Some(add_months(t.date(), whole).and_time(t.time())),
            _ => {
                let delta = Duration::try_milliseconds((self.seconds() * 1000.0) as i64 * sign)?;
                t.checked_add_signed(delta)
            }
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

    pub(super) fn duration_expr(&self, i: usize) -> Option<(usize, Dur)> {
        if self.is(i, "half") && self.any(i + 1, &["an", "a"]) && self.any(i + 2, &["hour", "hr"]) {
            return Some((i + 3, Dur { amount: 0.5, unit: 'H' }));
        }
        if self.is(i, "the") && self.is(i + 1, "hour") {
            return Some((i + 2, Dur { amount: 1.0, unit: 'H' }));
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
            "fortnight" | "fortnights" => 'F',
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
        let (mut amount, u) = if u == 'F' { (amount * 2.0, 'W') } else { (amount, u) };
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
}
