//! Resolved pieces (dates, times, ranges) and how they are written out:
//! Recognizers-Text values (timex, past/future candidates) and the booking
//! conventions of DESIGN.md §3.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::{Map, Value};

/// A day: its timex and the past/future candidates (equal when the timex is definite).
#[derive(Debug, Clone, PartialEq)]
pub struct DateV {
    /// `2016-11-08`, `XXXX-10-02`, `XXXX-WXX-5`…
    pub timex: String,
    /// The candidate on or before the reference.
    pub past: NaiveDate,
    /// The candidate on or after the reference (the booking date).
    pub future: NaiveDate,
    /// Whether both candidates are listed.
    pub ambiguous: bool,
}

impl DateV {
    /// A definite day.
    pub fn exact(d: NaiveDate) -> DateV {
        DateV { timex: d.format("%Y-%m-%d").to_string(), past: d, future: d, ambiguous: false }
    }

    /// The candidates to write out (past first).
    pub fn candidates(&self) -> Vec<NaiveDate> {
        if self.ambiguous {
            vec![self.past, self.future]
        } else {
            vec![self.future]
        }
    }
}

/// A time of day as written: hour, minutes and seconds when given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeV {
    /// Hour 0–23 (as written when ambiguous: 1–12).
    pub h: u32,
    /// Minutes, when written.
    pub m: Option<u32>,
    /// Seconds, when written.
    pub s: Option<u32>,
    /// No am/pm known: both halves of the day are candidates.
    pub ambiguous: bool,
}

impl TimeV {
    /// An unambiguous hour.
    pub fn hour(h: u32) -> TimeV {
        TimeV { h, m: None, s: None, ambiguous: false }
    }

    /// The timex part after the date (`T15`, `T15:30`, `T07:56:30`).
    pub fn timex(&self) -> String {
        let mut t = format!("T{:02}", self.h);
        if let Some(m) = self.m {
            t.push_str(&format!(":{m:02}"));
            if let Some(s) = self.s {
                t.push_str(&format!(":{s:02}"));
            }
        }
        t
    }

    /// The clock time (`15:30:00`).
    pub fn naive(&self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.h % 24, self.m.unwrap_or(0), self.s.unwrap_or(0)).unwrap_or(NaiveTime::MIN)
    }

    /// The candidates to write out: the hour as written, then the other half of the day.
    pub fn candidates(&self) -> Vec<TimeV> {
        if !self.ambiguous {
            return vec![*self];
        }
        let other = if self.h == 12 { 0 } else { self.h + 12 };
        let fixed = TimeV { ambiguous: false, ..*self };
        vec![fixed, TimeV { h: other, ..fixed }]
    }

    /// With am/pm applied (`pm` true for p.m.).
    pub fn with_meridiem(self, pm: bool) -> TimeV {
        let h = match (pm, self.h) {
            (true, h) if h < 12 => h + 12,
            (false, 12) => 0,
            (_, h) => h,
        };
        TimeV { h, ambiguous: false, ..self }
    }

    /// The hour the booking conventions give (1–6 afternoon, 7–11 morning, 12 noon).
    pub fn booking(&self) -> NaiveTime {
        let t = if self.ambiguous && (1..=6).contains(&self.h) { self.with_meridiem(true) } else { *self };
        t.naive()
    }
}

/// A part of day (`TMO`, `TAF`, `TEV`, `TNI`, `TDT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pod {
    /// Morning, 08–12.
    Morning,
    /// Afternoon, 12–16.
    Afternoon,
    /// Evening, 16–20.
    Evening,
    /// Night, 20–24.
    Night,
    /// Daytime.
    Daytime,
}

impl Pod {
    /// Timex code.
    pub fn code(self) -> &'static str {
        match self {
            Pod::Morning => "MO",
            Pod::Afternoon => "AF",
            Pod::Evening => "EV",
            Pod::Night => "NI",
            Pod::Daytime => "DT",
        }
    }

    /// Recognizers bounds (start, end) as times.
    pub fn bounds(self) -> (NaiveTime, NaiveTime) {
        let hm = |h, m, s| NaiveTime::from_hms_opt(h, m, s).unwrap_or(NaiveTime::MIN);
        match self {
            Pod::Morning => (hm(8, 0, 0), hm(12, 0, 0)),
            Pod::Afternoon => (hm(12, 0, 0), hm(16, 0, 0)),
            Pod::Evening => (hm(16, 0, 0), hm(20, 0, 0)),
            Pod::Night => (hm(20, 0, 0), hm(23, 59, 59)),
            Pod::Daytime => (hm(8, 0, 0), hm(18, 0, 0)),
        }
    }

    /// Default booking hour of the part of day.
    pub fn default_hour(self) -> u32 {
        match self {
            Pod::Morning => 9,
            Pod::Afternoon => 14,
            Pod::Evening | Pod::Night => 19,
            Pod::Daytime => 9,
        }
    }

    /// Whether an ambiguous hour falls in the afternoon half for this part of day.
    pub fn is_pm(self, h: u32) -> bool {
        match self {
            Pod::Morning => false,
            Pod::Night => !(h == 12 || h <= 4),
            _ => h != 12,
        }
    }
}

/// Formats a date as `YYYY-MM-DD`.
pub fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Formats a date-time as `YYYY-MM-DD HH:MM:SS`.
pub fn ymd_hms(d: NaiveDateTime) -> String {
    d.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Formats a time as `HH:MM:SS`.
pub fn hms(t: NaiveTime) -> String {
    t.format("%H:%M:%S").to_string()
}

/// One resolution value: `timex`, `type` and the given keys.
pub fn value(timex: &str, kind: &str, rest: &[(&str, String)]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("timex".into(), Value::String(timex.to_string()));
    m.insert("type".into(), Value::String(kind.to_string()));
    for (k, v) in rest {
        m.insert((*k).to_string(), Value::String(v.clone()));
    }
    m
}

/// The ISO-8601 duration of a number of minutes (`PT2H`, `PT1H30M`, `PT40M`).
pub fn minutes_timex(mins: i64) -> String {
    let (h, m) = (mins / 60, mins % 60);
    match (h, m) {
        (0, m) => format!("PT{m}M"),
        (h, 0) => format!("PT{h}H"),
        (h, m) => format!("PT{h}H{m}M"),
    }
}

/// Adds months, clamping the day to the month's length.
pub fn add_months(d: NaiveDate, months: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + months;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let mut day = d.day();
    loop {
        if let Some(x) = NaiveDate::from_ymd_opt(y, m, day) {
            return x;
        }
        if day <= 28 {
            return d;
        }
        day -= 1;
    }
}

/// The Monday of the week of `d`.
pub fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

/// The ISO week timex of the week of `d` (`2016-W46`).
pub fn week_timex(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// First day of the month after `d`'s.
pub fn next_month_start(y: i32, m: u32) -> NaiveDate {
    let (y2, m2) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    NaiveDate::from_ymd_opt(y2, m2, 1).unwrap_or(NaiveDate::MIN)
}
