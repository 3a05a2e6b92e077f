//! Calendar arithmetic and Recognizers-Text formatting shared by the Chinese parser.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use serde_json::{Map, Value};

/// Days in `month` of `year` (0 for an invalid month).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Whether `year` is a leap year (proleptic Gregorian).
pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The date, when it exists.
pub fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The first day of the month `months` after (or before) the month of `date`.
pub fn first_of_month_offset(date: NaiveDate, months: i32) -> Option<NaiveDate> {
    let index = i64::from(date.year()) * 12 + i64::from(date.month0()) + i64::from(months);
    ymd(i32::try_from(index.div_euclid(12)).ok()?, index.rem_euclid(12) as u32 + 1, 1)
}

/// `date` shifted by whole months, the day clamped to the month's length.
pub fn add_months(date: NaiveDate, months: i32) -> Option<NaiveDate> {
    let first = first_of_month_offset(date, months)?;
    let day = date.day().min(days_in_month(first.year(), first.month()));
    ymd(first.year(), first.month(), day)
}

/// The last day of the month of `date`.
pub fn last_of_month(date: NaiveDate) -> Option<NaiveDate> {
    ymd(date.year(), date.month(), days_in_month(date.year(), date.month()))
}

/// The Monday of the week (Monday–Sunday) holding `date`.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(date.weekday().num_days_from_monday() as i64)
}

/// Day `weekday` (1 = Monday … 7 = Sunday) of the week holding `date`, `weeks` weeks later.
pub fn weekday_in_week(date: NaiveDate, weekday: u32, weeks: i64) -> NaiveDate {
    monday_of(date) + Duration::days(weeks * 7 + weekday.clamp(1, 7) as i64 - 1)
}

/// The Monday starting ISO week 1 of `year`.
pub fn iso_week_one(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_isoywd_opt(year, 1, Weekday::Mon)
}

/// The first Monday on or after the first day of `month`.
pub fn first_monday_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let first = ymd(year, month, 1)?;
    let offset = (7 - first.weekday().num_days_from_monday()) % 7;
    Some(first + Duration::days(offset as i64))
}

/// `YYYY-MM-DD` (years zero-padded to four digits, as timex writes them).
pub fn fmt_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// `YYYY-MM-DD HH:MM:SS`.
pub fn fmt_datetime(dt: NaiveDateTime) -> String {
    format!("{} {}", fmt_date(dt.date()), fmt_time(dt.time()))
}

/// `HH:MM:SS`.
pub fn fmt_time(t: NaiveTime) -> String {
    t.format("%H:%M:%S").to_string()
}

/// `YYYY-MM-DDTHH:MM:SS` (timex of a reference-relative range bound).
pub fn timex_datetime_full(dt: NaiveDateTime) -> String {
    format!("{}T{}", fmt_date(dt.date()), fmt_time(dt.time()))
}

/// A number as timex writes it: `3`, `0.5`, `3.5`.
pub fn fmt_number(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A time span as an ISO duration of hours, minutes and seconds (`PT2H30M`, `PT37M39S`).
pub fn timex_clock_span(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out += &format!("{h}H");
    }
    if m > 0 {
        out += &format!("{m}M");
    }
    if s > 0 || out.len() == 2 {
        out += &format!("{s}S");
    }
    out
}

/// A JSON object from string pairs (the shape of a Recognizers-Text resolution value).
pub fn value_map(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        ymd(y, m, day).expect("valid test date")
    }

    #[test]
    fn month_arithmetic_clamps() {
        assert_eq!(add_months(d(2026, 1, 31), 1), Some(d(2026, 2, 28)));
        assert_eq!(add_months(d(2026, 1, 15), -2), Some(d(2025, 11, 15)));
        assert_eq!(last_of_month(d(2024, 2, 3)), Some(d(2024, 2, 29)));
        assert_eq!(add_months(d(2024, 2, 3), i32::MAX), None);
    }

    #[test]
    fn weeks_run_monday_to_sunday() {
        // 2026-03-05 is a Thursday.
        assert_eq!(monday_of(d(2026, 3, 5)), d(2026, 3, 2));
        assert_eq!(weekday_in_week(d(2026, 3, 5), 7, 0), d(2026, 3, 8));
        assert_eq!(weekday_in_week(d(2026, 3, 5), 3, 1), d(2026, 3, 11));
        assert_eq!(iso_week_one(2021), Some(d(2021, 1, 4)));
        assert_eq!(first_monday_of_month(2017, 10), Some(d(2017, 10, 2)));
    }

    #[test]
    fn formats_like_timex() {
        assert_eq!(fmt_date(d(705, 11, 1)), "0705-11-01");
        assert_eq!(fmt_number(3.5), "3.5");
        assert_eq!(fmt_number(2.0), "2");
        assert_eq!(timex_clock_span(2 * 3600 + 30 * 60), "PT2H30M");
        assert_eq!(timex_clock_span(37 * 60 + 39), "PT37M39S");
    }
}
