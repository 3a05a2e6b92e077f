//! Dates and spans of days: `今天`, `下周三`, `2016年11月`, `3月5日`, `今年上半年`, `九十年代`…

use chrono::{Datelike, Duration, NaiveDate};

use super::scan::{weekday, Text};
use crate::time::common::{
    add_months, first_of_month_offset, fmt_date, iso_week_one, last_of_month, monday_of, weekday_in_week, ymd,
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
    /// The n-th week of a month of no particular year (`十月的第一周`).
    MonthWeek { month: u32, week: u32 },
    /// Explicit bounds (end exclusive) with their timex.
    Span { start: NaiveDate, end: NaiveDate, timex: String },
    /// A decade; `century` unknown for `九十年代`.
    Decade { century: Option<i32>, decade: i32 },
    /// A span that Recognizers leaves unresolved (`今年夏天`).
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

/// `的第2个星期六`, `最后一个周一` after a month: (which one, weekday, end).
fn nth_weekday_after_month(t: &Text, at: usize) -> Option<(Option<u32>, u32, usize)> {
    let i = t.lit(at, "的").unwrap_or(at);
    let (nth, i) = if let Some(j) = t.lit(i, "第") {
        let (n, j, _) = t.digits(j).filter(|(n, _, _)| (1..=5).contains(n))?;
        (Some(n), j)
    } else {
        let (_, j) = t.longest(i, &["最后", "最末"])?;
        (None, t.lit(j, "1").unwrap_or(j))
    };
    let i = t.lit(i, "个").unwrap_or(i);
    let (_, i) = t.longest(i, &["星期", "周", "礼拜"])?;
    let (weekday, end) = weekday(t, i)?;
    Some((nth, weekday, end))
}

/// A date expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateTerm {
    /// As written (possibly without a year or month).
    Spec(Spec),
    /// A day resolved against the reference (`今天`, `下周三`, `本月十日`).
    Exact(NaiveDate),
    /// A weekday of no particular week (`周三`).
    Weekday(u32),
    /// The n-th (or last) weekday of a month of no particular year (`四月的最后一个星期一`).
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

/// Skips `,星期一` after a day (`10月12号,星期一`).
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

/// `下周三`, `这周六`, `上上个周末`, `下下周`, `周三`, `周末`.
fn relative_week(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    let (offset, i) = match t.longest(at, WEEK_PREFIXES) {
        Some((k, end)) => (Some(WEEK_PREFIXES[k].1), end),
        None => (None, at),
    };
    if offset.is_none() && at > 0 && t.at(at - 1).is_some_and(|c| c.is_ascii_digit()) {
        return None; // `3周` is a duration
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

/// `本月十日`, `下个月5号`, `上个月`, `月底`, `下个月底`.
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
fn day_of_month(t: &Text, at: usize) -> Option<(u32, usize)> {
    let (day, end, n) = t.digits(at)?;
    let end = t.lit(end, "日").or_else(|| t.lit(end, "号"))?;
    // `3号楼`, `5号线`, `2号床` are places, not days.
    let place = t.ends_with(end, "号") && t.at(end).is_some_and(|c| "楼房线门床院机位车店键码字桌台室厅柜".contains(c));
    (n <= 2 && (1..=31).contains(&day) && !place).then_some((day, end))
}

/// `上半月`, `下半月`, `上半周`, `下半周` of the current month or week.
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

/// Reign eras and their first year.
const ERAS: &[(&str, i32)] = &[
    ("神龙", 705),
    ("康熙", 1662),
    ("雍正", 1723),
    ("乾隆", 1736),
    ("嘉庆", 1796),
    ("道光", 1821),
    ("光绪", 1875),
    ("民国", 1912),
];

/// Relative year words.
const YEAR_WORDS: &[(&str, i32)] = &[("今年", 0), ("明年", 1), ("去年", -1), ("前年", -2), ("后年", 2)];

/// A year: `2016年`, `08年`, `明年`, `康熙三年`: (year, relative word?, end).
fn year(t: &Text, at: usize, today: NaiveDate) -> Option<(i32, bool, usize)> {
    if let Some((k, end)) = t.longest(at, YEAR_WORDS) {
        return Some((today.year() + YEAR_WORDS[k].1, true, end));
    }
    if let Some((k, i)) = t.longest(at, ERAS) {
        let (n, i) = match t.lit(i, "元") {
            Some(e) => (1, e),
            None => t.digits(i).filter(|(n, _, _)| *n <= 300).map(|(n, e, _)| (n as i32, e))?,
        };
        return Some((ERAS[k].1 + n - 1, false, t.lit(i, "年")?));
    }
    let (n, i, digits) = t.digits(at)?;
    let end = t.lit(t.skip_spaces(i), "年")?;
    if t.lit(end, "代").is_some() {
        return None;
    }
    let year = match digits {
        3 | 4 => n as i32,
        2 if n < 50 => 2000 + n as i32,
        2 => 1900 + n as i32,
        _ => return None,
    };
    Some((year, false, end))
}

/// A month: `3月`, `十二月`, `正月`, `腊月`: (month, lunar, end).
fn month(t: &Text, at: usize) -> Option<(u32, bool, usize)> {
    if let Some(end) = t.lit(at, "正月") {
        return Some((1, true, end));
    }
    if let Some(end) = t.lit(at, "腊月") {
        return Some((12, true, end));
    }
    if let Some(end) = t.lit(at, "大年") {
        // `大年初一`, `大年三十`: only with a day (checked by the caller).
        return Some((1, true, end));
    }
    let (m, i, n) = t.digits(at)?;
    let end = t.lit(i, "月")?;
    if n > 2 || !(1..=12).contains(&m) {
        return None;
    }
    Some((m, false, end))
}

/// A day after a month: `5日`, `5号`, `初一`, `十五` (digits alone, `八月十五`).
fn day_after_month(t: &Text, at: usize) -> Option<(u32, bool, usize)> {
    if let Some(r) = day_of_month(t, at) {
        return Some((r.0, false, r.1));
    }
    if let Some(i) = t.lit(at, "初") {
        let (d, end, 1..=2) = t.digits(i)? else { return None };
        return (1..=10).contains(&d).then_some((d, true, end));
    }
    let (d, end, 1..=2) = t.digits(at)? else { return None };
    let glued = t.at(end).is_some_and(|c| {
        matches!(c, '点' | '时' | '分' | '天' | '个' | '年' | '月' | '周' | '小' | '.' | ':' | '/' | '-' | '%')
            || c.is_ascii_alphanumeric()
    });
    ((1..=31).contains(&d) && !glued).then_some((d, false, end))
}

/// Dates built on a year, a month or a day: `2016年11月`, `3月5日`, `29日`, `明年下半年`, `农历…`.
fn year_based(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    let (lunar_prefix, at) = match t.lit(at, "农历") {
        Some(e) => (true, e),
        None => (false, at),
    };
    let mut spec = Spec { lunar: lunar_prefix, ..Spec::default() };
    let mut i = at;
    let mut relative_year = false;
    if let Some((y, relative, end)) = year(t, i, today) {
        spec.year = Some(y);
        relative_year = relative;
        i = end;
    }
    if let Some(e) = t.lit(i, "农历").filter(|_| spec.year.is_some()) {
        spec.lunar = true;
        i = e;
    }
    let month_at = t.skip_spaces(i);
    let this_month = t.longest(month_at, &["本月", "这个月"]).filter(|_| spec.year.is_some());
    if let Some((_, end)) = this_month {
        spec.month = Some(today.month());
        i = end;
    } else if let Some((m, lunar, end)) = month(t, month_at) {
        spec.month = Some(m);
        spec.lunar |= lunar;
        i = end;
    } else if spec.year.is_some() {
        if let Some((DateTerm::Spec(h), end)) = holiday(t, i) {
            return Some((DateTerm::Spec(Spec { year: spec.year, ..h }), end));
        }
        let y = spec.year?;
        if let Some(found) = year_part(t, i, y) {
            return Some(found);
        }
        if relative_year && y == today.year() && t.lit(at, "今年").is_some() {
            return Some((DateTerm::Period(Period::YearToDate(y, today)), i));
        }
        return Some((DateTerm::Spec(spec), i));
    }
    if spec.month.is_some() {
        if let Some((d, lunar, end)) = day_after_month(t, i) {
            spec.day = Some(d);
            spec.lunar |= lunar;
            return Some((DateTerm::Spec(spec), end));
        }
        if t.ends_with(i, "大年") {
            return None;
        }
        if let Some((nth, weekday, end)) = nth_weekday_after_month(t, i) {
            let n = NthWeekday { month: spec.month?, weekday, nth };
            return Some(match spec.year {
                Some(y) => (DateTerm::Exact(n.in_year(y)?), end),
                None => (DateTerm::NthWeekday(n), end),
            });
        }
        if spec.year.is_none() {
            if let Some(found) = month_week(t, i, spec.month?) {
                return Some(found);
            }
        }
        return Some((DateTerm::Spec(spec), i));
    }
    // A day alone: `29日`; `12号` alone is too often not a date (a house number), so it needs company.
    let (d, end) = day_of_month(t, at)?;
    let lone_hao =
        t.ends_with(end, "号") && t.at(end).is_none_or(|c| c.is_ascii_punctuation() || "，。！？".contains(c));
    (!lone_hao && !lunar_prefix).then_some((DateTerm::Spec(Spec { day: Some(d), ..Spec::default() }), end))
}

/// What follows a year: halves, seasons, the n-th week or month, the first or last n weeks/months/days.
fn year_part(t: &Text, at: usize, y: i32) -> Option<(DateTerm, usize)> {
    let jan = ymd(y, 1, 1)?;
    let next_jan = ymd(y + 1, 1, 1)?;
    let mid = ymd(y, 7, 1)?;
    let span = |start: NaiveDate, end: NaiveDate, timex: String| DateTerm::Period(Period::Span { start, end, timex });
    let half = |start, end| span(start, end, format!("({},{},P6M)", fmt_date(start), fmt_date(end)));
    if let Some((k, end)) = t.longest(at, &["上半年", "前半年", "下半年", "后半年"]) {
        return Some((if k < 2 { half(jan, mid) } else { half(mid, next_jan) }, end));
    }
    const SEASONS: &[(&str, &str)] = &[
        ("春天", "SP"),
        ("春季", "SP"),
        ("夏天", "SU"),
        ("夏季", "SU"),
        ("秋天", "FA"),
        ("秋季", "FA"),
        ("冬天", "WI"),
        ("冬季", "WI"),
    ];
    if let Some((k, end)) = t.longest(at, SEASONS) {
        return Some((DateTerm::Period(Period::Unresolved(format!("{y:04}-{}", SEASONS[k].1))), end));
    }
    let i = t.lit(at, "的").unwrap_or(at);
    if let Some(j) = t.lit(i, "第") {
        let (n, j, _) = t.digits(j)?;
        if let Some(end) = t.lit(j, "季度") {
            return (1..=4).contains(&n).then_some((quarter(y, n)?, end));
        }
        if let Some(end) = t.lit(j, "周").or_else(|| t.lit(j, "个星期")) {
            if !(1..=53).contains(&n) {
                return None;
            }
            let start = iso_week_one(y)? + Duration::weeks(n as i64 - 1);
            return Some((span(start, start + Duration::weeks(1), format!("{y:04}-W{n:02}")), end));
        }
        let end = t.lit(j, "个月").or_else(|| t.lit(j, "月"))?;
        return (1..=12)
            .contains(&n)
            .then_some((DateTerm::Spec(Spec { year: Some(y), month: Some(n), ..Spec::default() }), end));
    }
    let (first, j) = match t.longest(i, &["前", "最后", "最末"]) {
        Some((k, j)) => (k == 0, j),
        None => return None,
    };
    let j = t.skip_spaces(j);
    let (n, j, _) = t.digits(j).filter(|(n, _, _)| (1..=366).contains(n))?;
    let j = t.skip_spaces(j);
    let (unit, end) = t.longest(j, &["周", "个星期", "个月", "天"])?;
    let n = n as i64;
    let (start, stop, code) = match (unit, first) {
        (0 | 1, true) => (iso_week_one(y)?, iso_week_one(y)? + Duration::weeks(n), format!("P{n}W")),
        (0 | 1, false) => (iso_week_one(y + 1)? - Duration::weeks(n), iso_week_one(y + 1)?, format!("P{n}W")),
        (2, true) => (jan, add_months(jan, n as i32)?, format!("P{n}M")),
        (2, false) => (add_months(next_jan, -(n as i32))?, next_jan, format!("P{n}M")),
        (_, true) => (jan, jan + Duration::days(n), format!("P{n}D")),
        (_, false) => (next_jan - Duration::days(n), next_jan, format!("P{n}D")),
    };
    Some((span(start, stop, format!("({},{},{code})", fmt_date(start), fmt_date(stop))), end))
}

/// Quarter `n` (1–4) of year `y`.
fn quarter(y: i32, n: u32) -> Option<DateTerm> {
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

/// `十月的第一周`.
fn month_week(t: &Text, at: usize, month: u32) -> Option<(DateTerm, usize)> {
    let i = t.lit(at, "的").unwrap_or(at);
    let i = t.lit(i, "第")?;
    let (n, i, _) = t.digits(i)?;
    let end = t.lit(i, "周").or_else(|| t.lit(i, "个星期"))?;
    (1..=5).contains(&n).then_some((DateTerm::Period(Period::MonthWeek { month, week: n }), end))
}

/// A two-digit year: 20xx below 50, else 19xx.
fn full_year(y: u32, digits: usize) -> u32 {
    match digits {
        1 | 2 if y < 50 => 2000 + y,
        1 | 2 => 1900 + y,
        _ => y,
    }
}

/// Numeric dates: year first (`2010/01/29`, `2010.01.29`, `2012-01-01`, `2010 01 29`, `12-11-10`,
/// `27-7-3`), day first (`1/2/2020`, `13.5.2015`, `3-7-07`, `05/05/89`), or month/day (`12/1`).
/// Dots need a four-digit year (`1.5.2` is a version), spaces a leading one.
fn numeric_date(t: &Text, at: usize) -> Option<(DateTerm, usize)> {
    let (a, i, na) = t.digits(at)?;
    let sep = t.at(i).filter(|c| matches!(c, '/' | '.' | '-' | ' '))?;
    let (b, j, nb) = t.digits(i + 1)?;
    let glued = |end: usize| t.at(end).is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | '/' | ':'));
    let Some((c, end, nc)) = t.digits(j + 1).filter(|_| t.is(j, sep)) else {
        let month_day = sep == '/' && na <= 2 && nb <= 2 && !glued(j) && (1..=12).contains(&a) && (1..=31).contains(&b);
        return month_day.then_some((DateTerm::Spec(Spec { month: Some(a), day: Some(b), ..Spec::default() }), j));
    };
    if glued(end) || nb > 2 {
        return None;
    }
    let (y, m, d) = match (na, nc) {
        (4, 1..=2) => (a, b, c),
        (1..=2, 4) if sep != ' ' => (c, b, a),
        (1..=2, 1..=2) if matches!(sep, '/' | '-') => {
            let year_first = nc == 1 || (na == 2 && c <= 31 && sep == '-');
            if year_first {
                (full_year(a, na), b, c)
            } else {
                (full_year(c, nc), b, a)
            }
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&m) && (1..=31).contains(&d);
    valid.then_some((DateTerm::Spec(Spec { year: Some(y as i32), month: Some(m), day: Some(d), lunar: false }), end))
}

/// Fixed-date holidays: (name, month, day, lunar).
const HOLIDAYS: &[(&str, (u32, u32, bool))] = &[
    ("元旦", (1, 1, false)),
    ("元旦节", (1, 1, false)),
    ("新年", (1, 1, false)),
    ("情人节", (2, 14, false)),
    ("女生节", (3, 7, false)),
    ("妇女节", (3, 8, false)),
    ("植树节", (3, 12, false)),
    ("愚人节", (4, 1, false)),
    ("清明", (4, 4, false)),
    ("清明节", (4, 4, false)),
    ("劳动节", (5, 1, false)),
    ("五一", (5, 1, false)),
    ("青年节", (5, 4, false)),
    ("儿童节", (6, 1, false)),
    ("建党节", (7, 1, false)),
    ("建军节", (8, 1, false)),
    ("教师节", (9, 10, false)),
    ("国庆节", (10, 1, false)),
    ("国庆", (10, 1, false)),
    ("万圣节", (10, 31, false)),
    ("光棍节", (11, 11, false)),
    ("双十一", (11, 11, false)),
    ("平安夜", (12, 24, false)),
    ("圣诞节", (12, 25, false)),
    ("春节", (1, 1, true)),
    ("元宵节", (1, 15, true)),
    ("端午", (5, 5, true)),
    ("端午节", (5, 5, true)),
    ("中秋", (8, 15, true)),
    ("中秋节", (8, 15, true)),
    ("重阳节", (9, 9, true)),
];

/// `国庆节`, `五一`, `中秋节` (lunar): a day of no particular year.
fn holiday(t: &Text, at: usize) -> Option<(DateTerm, usize)> {
    let (k, end) = t.longest(at, HOLIDAYS)?;
    let (_, (month, day, lunar)) = HOLIDAYS[k];
    Some((DateTerm::Spec(Spec { month: Some(month), day: Some(day), lunar, ..Spec::default() }), end))
}

/// `九十年代`, `十九世纪七十年代`, `上世纪90年代`.
fn decade(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    let current = today.year().div_euclid(100) + 1;
    let century_digits = t.digits(at).filter(|(c, _, _)| (1..=30).contains(c));
    let (century, i) = match century_digits.and_then(|(c, e, _)| t.lit(e, "世纪").map(|e| (c, e))) {
        Some((c, e)) => (Some(c as i32), e),
        None => match t.longest(at, &["上世纪", "本世纪", "这世纪", "上个世纪", "这个世纪"]) {
            Some((k, e)) => (Some(if k == 0 || k == 3 { current - 1 } else { current }), e),
            None => (None, at),
        },
    };
    let (d, i, 2) = t.digits(i)? else { return None };
    let end = t.lit(i, "年代")?;
    (d % 10 == 0).then_some((DateTerm::Period(Period::Decade { century, decade: d as i32 }), end))
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
        assert!(term("12号", today).is_none());
        assert!(term("3号楼", today).is_none());
        assert_eq!(term("国庆节", today), Some((spec(None, Some(10), Some(1)), 3)));
    }
}
