//! Date expressions: their types, and the relative ones (`今天`, `下周三`, `下个月5号`, `上半年`, `下个季度`);
//! the written ones (`2016年11月`, `3月5日`, `八十年代`) are read in `written`.

use chrono::{Datelike, Duration, NaiveDate};

use super::scan::{weekday, Text};
use super::written::{decade, holiday, nth_weekday_after_month, numeric_date, year_based};
use crate::time::common::{
    add_months, first_of_month_offset, fmt_date, last_of_month, monday_of, weekday_in_week, ymd,
};

/// Year, month and day as written; what is missing is unknown (`XXXX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spec {
    /// The year, when said.
    pub year: Option<i32>,
    /// The month, when said.
    pub month: Option<u32>,
    /// The day of the month, when said.
    pub day: Option<u32>,
    /// A lunar date (`农历`, `正月`, `初一`).
    pub lunar: bool,
}

/// A span of days that resolves by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Period {
    /// A whole year.
    Year(i32),
    /// `今年`: from January 1st up to the reference day.
    YearToDate(i32, NaiveDate),
    /// A calendar week (Monday to the next Monday), or its weekend.
    Week { monday: NaiveDate, weekend: bool },
    /// The n-th week of a month of no particular year (`九月的第二周`).
    MonthWeek { month: u32, week: u32 },
    /// Explicit bounds (end exclusive) with their timex.
    Span { start: NaiveDate, end: NaiveDate, timex: String },
    /// A decade; `century` unknown for `八十年代`.
    Decade { century: Option<i32>, decade: i32 },
    /// A span that Recognizers leaves unresolved (`今年秋天`).
    Unresolved(String),
}

/// The n-th weekday of a month: `weekday` 1 = Monday … 7 = Sunday, `nth` `None` for the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NthWeekday {
    /// The month.
    pub month: u32,
    /// The weekday.
    pub weekday: u32,
    /// Which one (1–5), or the last.
    pub nth: Option<u32>,
}

impl NthWeekday {
    /// The day in `year`, when the month has it.
    pub fn in_year(&self, year: i32) -> Option<NaiveDate> {
        let first = ymd(year, self.month, 1)?;
        let offset = (self.weekday + 7 - 1 - first.weekday().num_days_from_monday()) % 7;
        let first_match = first + Duration::days(offset as i64);
        let day = match self.nth {
            Some(n) => first_match + Duration::weeks(n as i64 - 1),
            None => {
                let weeks = (last_of_month(first)? - first_match).num_days() / 7;
                first_match + Duration::weeks(weeks)
            }
        };
        (day.month() == self.month).then_some(day)
    }

    /// The timex of the day found in a year (`XXXX-04-WXX-1-#5`: the fifth Monday of April).
    pub fn timex(&self, day: NaiveDate) -> String {
        format!("XXXX-{:02}-WXX-{}-#{}", self.month, self.weekday, (day.day() - 1) / 7 + 1)
    }
}

/// A date expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateTerm {
    /// As written (possibly without a year or month).
    Spec(Spec),
    /// A day resolved against the reference (`今天`, `下周三`, `本月八日`).
    Exact(NaiveDate),
    /// A weekday of no particular week (`周三`).
    Weekday(u32),
    /// The n-th (or last) weekday of a month of no particular year (`五月的最后一个星期五`).
    NthWeekday(NthWeekday),
    /// A span of days.
    Period(Period),
}

impl DateTerm {
    /// Whether the term names one day (so a time of day can follow it).
    pub fn is_day(&self) -> bool {
        match self {
            DateTerm::Spec(s) => s.day.is_some(),
            DateTerm::Exact(_) | DateTerm::Weekday(_) | DateTerm::NthWeekday(_) => true,
            DateTerm::Period(_) => false,
        }
    }
}

/// The Saturday a booking means by the weekend of the week starting `monday`: that week's,
/// or the next one's when it is the current week and today is already Saturday or Sunday.
pub fn weekend_day(monday: NaiveDate, today: NaiveDate) -> NaiveDate {
    let saturday = monday + Duration::days(5);
    if monday == monday_of(today) && today.weekday().num_days_from_monday() >= 5 {
        saturday + Duration::days(7)
    } else {
        saturday
    }
}

/// Days relative to the reference.
const RELATIVE_DAYS: &[(&str, i64)] = &[
    ("今天", 0),
    ("今日", 0),
    ("最近", 0),
    ("明天", 1),
    ("明日", 1),
    ("后天", 2),
    ("大后天", 3),
    ("昨天", -1),
    ("昨日", -1),
    ("前天", -2),
    ("大前天", -3),
];

/// Words that start with a relative day but are names (`今日头条`, `《明日之后》`).
const NOT_DAYS: &[&str] = &["今日头条", "明日之后"];

/// The longest date expression at `at`.
pub fn date_term(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    if !t.is_boundary(at) {
        return None;
    }
    let candidates = [
        relative_day(t, at, today),
        relative_week(t, at, today),
        relative_month(t, at, today),
        half_of_month_or_week(t, at, today),
        year_based(t, at, today),
        numeric_date(t, at),
        decade(t, at, today),
        relative_quarter(t, at, today),
        holiday(t, at),
    ];
    // The longest wins; on a tie, the first in the list.
    let (term, end) = candidates.into_iter().flatten().fold(None, |best: Option<(DateTerm, usize)>, c| match best {
        Some(b) if b.1 >= c.1 => Some(b),
        _ => Some(c),
    })?;
    let end = weekday_after_day(t, end, &term);
    Some((term, end))
}

/// Skips `,星期一` after a day (`6月3号,星期二`).
fn weekday_after_day(t: &Text, end: usize, term: &DateTerm) -> usize {
    if !matches!(term, DateTerm::Spec(s) if s.day.is_some()) {
        return end;
    }
    let i = if matches!(t.at(end), Some(',' | '、')) { end + 1 } else { end };
    let i = t.skip_spaces(i);
    match t.longest(i, &["星期", "周", "礼拜"]).and_then(|(_, e)| weekday(t, e)) {
        Some((_, e)) => e,
        None => end,
    }
}

fn relative_day(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    if NOT_DAYS.iter().any(|w| t.lit(at, w).is_some()) {
        return None;
    }
    let (k, end) = t.longest(at, RELATIVE_DAYS)?;
    Some((DateTerm::Exact(today + Duration::days(RELATIVE_DAYS[k].1)), end))
}

/// Week prefixes and their offset in weeks.
const WEEK_PREFIXES: &[(&str, i64)] = &[
    ("这", 0),
    ("这个", 0),
    ("本", 0),
    ("下", 1),
    ("下个", 1),
    ("上", -1),
    ("上个", -1),
    ("下下", 2),
    ("下下个", 2),
    ("上上", -2),
    ("上上个", -2),
];

/// `下周三`, `这周六`, `上上个周末`, `上上周`, `周三`, `周末`.
fn relative_week(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    let (offset, i) = match t.longest(at, WEEK_PREFIXES) {
        Some((k, end)) => (Some(WEEK_PREFIXES[k].1), end),
        None => (None, at),
    };
    // `3周` is a duration, but in `周6周日` the digit before is a weekday.
    let after_count = at > 0 && t.at(at - 1).is_some_and(|c| c.is_ascii_digit());
    let after_weekday = at > 1 && matches!(t.at(at - 2), Some('周' | '期' | '拜'));
    if offset.is_none() && after_count && !after_weekday {
        return None;
    }
    let (_, i) = t.longest(i, &["周", "星期", "礼拜"])?;
    if let Some((day, end)) = weekday(t, i) {
        return Some(match offset {
            Some(w) => (DateTerm::Exact(weekday_in_week(today, day, w)), end),
            None => (DateTerm::Weekday(day), end),
        });
    }
    if let Some(end) = t.lit(i, "末") {
        let weeks = offset.unwrap_or(0);
        let monday = monday_of(today) + Duration::days(weeks * 7);
        return Some((DateTerm::Period(Period::Week { monday, weekend: true }), end));
    }
    let weeks = offset?;
    let monday = monday_of(today) + Duration::days(weeks * 7);
    Some((DateTerm::Period(Period::Week { monday, weekend: false }), i))
}

/// Month prefixes and their offset in months.
const MONTH_WORDS: &[(&str, i32)] = &[
    ("本月", 0),
    ("这个月", 0),
    ("这月", 0),
    ("当月", 0),
    ("下个月", 1),
    ("下月", 1),
    ("下下个月", 2),
    ("上个月", -1),
    ("上月", -1),
    ("月", 0),
];

/// `本月八日`, `下个月5号`, `上个月`, `月底`, `下个月底`.
fn relative_month(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    let (k, i) = t.longest(at, MONTH_WORDS)?;
    let first = first_of_month_offset(today, MONTH_WORDS[k].1)?;
    if let Some(end) = t.lit(i, "底").or_else(|| t.lit(i, "末")) {
        return Some((DateTerm::Exact(last_of_month(first)?), end));
    }
    if let Some(end) = t.lit(i, "初") {
        return Some((DateTerm::Exact(first), end));
    }
    if let Some((day, end)) = day_of_month(t, i) {
        return Some((DateTerm::Exact(ymd(first.year(), first.month(), day)?), end));
    }
    if let Some((nth, weekday, end)) = nth_weekday_after_month(t, i).filter(|_| MONTH_WORDS[k].0 != "月") {
        let day = NthWeekday { month: first.month(), weekday, nth }.in_year(first.year())?;
        return Some((DateTerm::Exact(day), end));
    }
    if MONTH_WORDS[k].0 == "月" {
        return None;
    }
    let spec = Spec { year: Some(first.year()), month: Some(first.month()), ..Spec::default() };
    Some((DateTerm::Spec(spec), i))
}

/// `N日`, `N号`: (day, end).
pub(super) fn day_of_month(t: &Text, at: usize) -> Option<(u32, usize)> {
    let (day, end, n) = t.digits(at)?;
    let end = t.lit(end, "日").or_else(|| t.lit(end, "号"))?;
    // `3号楼`, `5号线`, `2号床` are places, not days.
    let place = t.ends_with(end, "号") && t.at(end).is_some_and(|c| "楼房线门床院机位车店键码字桌台室厅柜".contains(c));
    (n <= 2 && (1..=31).contains(&day) && !place).then_some((day, end))
}

/// `上半月`, `下半月`, `上半周`, `下半周` (and the halves of this year) of the current month or week.
fn half_of_month_or_week(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    const WORDS: &[&str] =
        &["上半月", "下半月", "上半周", "下半周", "上个半年", "下个半年", "上半年", "下半年", "前半年", "后半年"];
    let (k, end) = t.longest(at, WORDS)?;
    let span = |start: NaiveDate, end: NaiveDate, unit: &str| {
        let n = match unit {
            "M" => (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32,
            _ => (end - start).num_days() as i32,
        };
        let timex = format!("({},{},P{n}{unit})", fmt_date(start), fmt_date(end));
        DateTerm::Period(Period::Span { start, end, timex })
    };
    let first = ymd(today.year(), today.month(), 1)?;
    let monday = monday_of(today);
    let jan = ymd(today.year(), 1, 1)?;
    let term = match k {
        0 => span(first, first + Duration::days(15), "D"),
        1 => span(first + Duration::days(15), first_of_month_offset(today, 1)?, "D"),
        2 => span(monday, monday + Duration::days(3), "D"),
        3 => span(monday + Duration::days(3), monday + Duration::days(7), "D"),
        4 | 6 | 8 => span(jan, add_months(jan, 6)?, "M"),
        _ => span(add_months(jan, 6)?, add_months(jan, 12)?, "M"),
    };
    Some((term, end))
}

/// Quarter `n` (1–4) of year `y`.
pub(super) fn quarter(y: i32, n: u32) -> Option<DateTerm> {
    let start = ymd(y, 3 * n - 2, 1)?;
    let end = add_months(start, 3)?;
    let timex = format!("({},{},P3M)", fmt_date(start), fmt_date(end));
    Some(DateTerm::Period(Period::Span { start, end, timex }))
}

/// `本季度`, `上个季度`, `下季度`.
fn relative_quarter(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    const WORDS: &[(&str, i32)] = &[
        ("本季度", 0),
        ("这个季度", 0),
        ("这季度", 0),
        ("上季度", -1),
        ("上个季度", -1),
        ("下季度", 1),
        ("下个季度", 1),
    ];
    let (k, end) = t.longest(at, WORDS)?;
    let index = today.year() * 4 + (today.month0() / 3) as i32 + WORDS[k].1;
    Some((quarter(index.div_euclid(4), index.rem_euclid(4) as u32 + 1)?, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(s: &str, today: NaiveDate) -> Option<(DateTerm, usize)> {
        let chars: Vec<char> = s.chars().collect();
        date_term(&Text::new(&chars), 0, today)
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        ymd(y, m, day).expect("valid test date")
    }

    #[test]
    fn relative_days_and_weeks() {
        let today = d(2026, 3, 5); // Thursday
        assert_eq!(term("明天", today), Some((DateTerm::Exact(d(2026, 3, 6)), 2)));
        assert_eq!(term("下周3", today), Some((DateTerm::Exact(d(2026, 3, 11)), 3)));
        assert_eq!(term("这周6", today), Some((DateTerm::Exact(d(2026, 3, 7)), 3)));
        assert_eq!(term("周3", today), Some((DateTerm::Weekday(3), 2)));
        assert_eq!(term("月底", today), Some((DateTerm::Exact(d(2026, 3, 31)), 2)));
        assert_eq!(term("下个月5号", today), Some((DateTerm::Exact(d(2026, 4, 5)), 5)));
        assert_eq!(term("下个月第1个周6", today), Some((DateTerm::Exact(d(2026, 4, 4)), 8)));
        assert_eq!(term("2019年4月的最后1个星期1", today), Some((DateTerm::Exact(d(2019, 4, 29)), 15)));
    }

    #[test]
    fn written_dates() {
        let today = d(2026, 3, 5);
        let spec = |y, m, day| DateTerm::Spec(Spec { year: y, month: m, day, lunar: false });
        assert_eq!(term("2016年11月", today), Some((spec(Some(2016), Some(11), None), 8)));
        assert_eq!(term("3月5日", today), Some((spec(None, Some(3), Some(5)), 4)));
        assert_eq!(term("2010/01/29", today), Some((spec(Some(2010), Some(1), Some(29)), 10)));
        assert!(term("888-000-9999", today).is_none());
        assert!(term("3号楼", today).is_none());
        assert_eq!(term("国庆节后", today), Some((spec(None, Some(10), Some(1)), 3)));
    }
}
