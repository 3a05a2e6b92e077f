//! Lengths of time: `3个小时`, `半小时`, `两天`, `一周`, `两年半`, `8天又20个小时`.

use chrono::{Duration, NaiveDateTime};

use super::scan::Text;
use crate::time::common::{add_months, fmt_number};

/// Units of a duration, in timex order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    /// 年.
    Year,
    /// 个月.
    Month,
    /// 周, 星期.
    Week,
    /// 天.
    Day,
    /// 小时, 钟头.
    Hour,
    /// 分钟.
    Minute,
    /// 秒.
    Second,
}

const UNITS: [Unit; 7] = [Unit::Year, Unit::Month, Unit::Week, Unit::Day, Unit::Hour, Unit::Minute, Unit::Second];

impl Unit {
    fn code(self) -> &'static str {
        match self {
            Unit::Year => "Y",
            Unit::Month | Unit::Minute => "M",
            Unit::Week => "W",
            Unit::Day => "D",
            Unit::Hour => "H",
            Unit::Second => "S",
        }
    }

    /// Seconds in the unit (a year is 365 days, a month 30, as Recognizers counts).
    fn seconds(self) -> f64 {
        match self {
            Unit::Year => 31_536_000.0,
            Unit::Month => 2_592_000.0,
            Unit::Week => 604_800.0,
            Unit::Day => 86_400.0,
            Unit::Hour => 3_600.0,
            Unit::Minute => 60.0,
            Unit::Second => 1.0,
        }
    }

    /// Whether the unit is part of a day (written after `T` in a timex).
    pub fn is_clock(self) -> bool {
        self >= Unit::Hour
    }
}

/// Unit words; `first` tells whether the word may start a duration (`20时` only follows another unit).
const UNIT_WORDS: &[(&str, Unit, bool)] = &[
    ("年", Unit::Year, true),
    ("个月", Unit::Month, true),
    ("周", Unit::Week, true),
    ("个星期", Unit::Week, true),
    ("星期", Unit::Week, true),
    ("个礼拜", Unit::Week, true),
    ("礼拜", Unit::Week, true),
    ("个周", Unit::Week, true),
    ("天", Unit::Day, true),
    ("个小时", Unit::Hour, true),
    ("小时", Unit::Hour, true),
    ("个钟头", Unit::Hour, true),
    ("钟头", Unit::Hour, true),
    ("时", Unit::Hour, false),
    ("分钟", Unit::Minute, true),
    ("刻钟", Unit::Minute, true),
    ("分", Unit::Minute, false),
    ("秒钟", Unit::Second, true),
    ("秒", Unit::Second, true),
];

/// A length of time, per unit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dur {
    amounts: [f64; 7],
}

impl Dur {
    fn add(&mut self, unit: Unit, n: f64) {
        self.amounts[unit as usize] += n;
    }

    /// Whether more than one unit is used (`2天5小时`).
    pub fn is_compound(&self) -> bool {
        self.amounts.iter().filter(|n| **n != 0.0).count() > 1
    }

    /// The ISO 8601 timex (`P1Y3M20DT8H50M20S`, `PT0.5H`).
    pub fn timex(&self) -> String {
        let mut out = String::from("P");
        let mut in_time = false;
        for u in UNITS {
            let n = self.amounts[u as usize];
            if n == 0.0 {
                continue;
            }
            if u.is_clock() && !in_time {
                out.push('T');
                in_time = true;
            }
            out += &fmt_number(n);
            out += u.code();
        }
        out
    }

    /// Total seconds (calendar units at fixed lengths).
    pub fn seconds(&self) -> f64 {
        UNITS.iter().map(|u| self.amounts[*u as usize] * u.seconds()).sum()
    }

    /// Whether every unit is a day or longer.
    pub fn is_calendar(&self) -> bool {
        UNITS.iter().all(|u| self.amounts[*u as usize] == 0.0 || !u.is_clock())
    }

    /// `from` shifted by the duration, forward or back (months and years on the calendar).
    pub fn shift(&self, from: NaiveDateTime, forward: bool) -> Option<NaiveDateTime> {
        let sign = if forward { 1.0 } else { -1.0 };
        let months = self.amounts[Unit::Year as usize] * 12.0 + self.amounts[Unit::Month as usize];
        let whole_months = months.trunc();
        let calendar_seconds = self.amounts[Unit::Year as usize] * Unit::Year.seconds()
            + self.amounts[Unit::Month as usize] * Unit::Month.seconds();
        let rest_seconds = self.seconds() - calendar_seconds + (months - whole_months) * Unit::Month.seconds();
        if whole_months.abs() > 1e6 || rest_seconds.abs() > 1e12 {
            return None; // beyond any calendar
        }
        let date = add_months(from.date(), (sign * whole_months) as i32)?;
        let shifted = date.and_time(from.time());
        shifted.checked_add_signed(Duration::try_seconds((sign * rest_seconds).round() as i64)?)
    }
}

/// A duration at `at`: (duration, end).
pub fn duration(t: &Text, at: usize) -> Option<(Dur, usize)> {
    let mut dur = Dur::default();
    let mut end = at;
    let mut groups = 0;
    loop {
        let start =
            if groups == 0 { end } else { t.longest(end, &["又", "多", "余", "零"]).map_or(end, |(_, e)| e) };
        match group(t, start, groups == 0) {
            Some((unit, n, e)) => {
                dur.add(unit, n);
                end = e;
                groups += 1;
            }
            None => break,
        }
    }
    (groups > 0).then_some((dur, end))
}

/// One `number unit` group: `3个小时`, `半个月`, `两年半`, `1个半小时`.
fn group(t: &Text, at: usize, first: bool) -> Option<(Unit, f64, usize)> {
    let (n, i) = match t.lit(at, "半") {
        Some(e) => (0.5, e),
        None => {
            if t.is(at, '0') && t.at(at + 1).is_some_and(|c| c.is_ascii_digit()) {
                return None; // `07年` is a year
            }
            let (n, e) = t.number(at)?;
            (n, t.skip_spaces(e))
        }
    };
    // `1个半小时`: the half sits between the measure word and the unit.
    let (extra, i) = match t.lit(i, "个半") {
        Some(e) if n >= 1.0 => (0.5, e),
        _ => (0.0, i),
    };
    let (k, mut end) = t.longest(i, UNIT_WORDS)?;
    let (_, unit, may_start) = UNIT_WORDS[k];
    if first && !may_start {
        return None;
    }
    if extra > 0.0 && !matches!(unit, Unit::Hour | Unit::Minute | Unit::Day | Unit::Year) {
        return None;
    }
    if unit == Unit::Year && (t.lit(end, "代").is_some() || n >= 100.0) {
        return None; // `90年代`, `2009年`
    }
    if t.is(end, '岁') {
        return None; // `18周岁` is an age
    }
    let mut n = n + extra;
    if UNIT_WORDS[k].0 == "刻钟" {
        n *= 15.0; // a quarter of an hour
    }
    // `两年半`, `五年半` (not `2天半小时`).
    if n != 0.5 && t.is(end, '半') && !matches!(t.at(end + 1), Some('小' | '个' | '天' | '年' | '月' | '钟')) {
        n += 0.5;
        end += 1;
    }
    Some((unit, n, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timex(s: &str) -> Option<(String, usize)> {
        let chars: Vec<char> = s.chars().collect();
        duration(&Text::new(&chars), 0).map(|(d, e)| (d.timex(), e))
    }

    #[test]
    fn reads_durations() {
        assert_eq!(timex("3个小时"), Some(("PT3H".into(), 4)));
        assert_eq!(timex("半小时"), Some(("PT0.5H".into(), 3)));
        assert_eq!(timex("2天"), Some(("P2D".into(), 2)));
        assert_eq!(timex("1周"), Some(("P1W".into(), 2)));
        assert_eq!(timex("3年半"), Some(("P3.5Y".into(), 3)));
        assert_eq!(timex("1个半小时"), Some(("PT1.5H".into(), 5)));
        assert_eq!(timex("8天又20个小时"), Some(("P8DT20H".into(), 8)));
        assert_eq!(timex("2天又1个月"), Some(("P1M2D".into(), 6)));
        assert_eq!(timex("20时"), None);
        assert_eq!(timex("1刻钟"), Some(("PT15M".into(), 3)));
    }
}
