//! Dates as written: years (`2016年`, `06年`, `明年`, `康熙三年`), months and days
//! (`3月5日`, `正月初一`, `八月十五`), what follows a year (`上半年`, `第一季度`,
//! `的前2周`), numeric dates (`2024/03/18`, `21.6.2024`), holidays and decades.

use chrono::{Datelike, Duration, NaiveDate};

use super::date::{day_of_month, quarter, DateTerm, NthWeekday, Period, Spec};
use super::scan::{weekday, Text};
use crate::time::common::{add_months, fmt_date, iso_week_one, ymd};

/// `的第2个星期六`, `最后一个周一` after a month: (which one, weekday, end).
pub(super) fn nth_weekday_after_month(t: &Text, at: usize) -> Option<(Option<u32>, u32, usize)> {
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

/// A year: `2016年`, `06年`, `明年`, `康熙三年`: (year, relative word?, end).
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
        // `大年初一`, `大年初五`: only with a day (checked by the caller).
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

/// Dates built on a year, a month or a day: `2016年11月`, `3月5日`, `27日`, `后年上半年`, `农历…`.
pub(super) fn year_based(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
    let (lunar_prefix, start) = match t.lit(at, "农历") {
        Some(e) => (true, e),
        None => (false, at),
    };
    let mut spec = Spec { lunar: lunar_prefix, ..Spec::default() };
    let mut i = start;
    let mut relative_year = false;
    if let Some((y, relative, end)) = year(t, i, today) {
        spec.year = Some(y);
        relative_year = relative;
        i = end;
        if let Some(e) = t.lit(i, "农历") {
            spec.lunar = true;
            i = e;
        }
    }
    let month_at = t.skip_spaces(i);
    let this_month = t.longest(month_at, &["本月", "这个月"]).filter(|_| spec.year.is_some());
    let month = match this_month {
        Some((_, end)) => Some((today.month(), false, end)),
        None => month(t, month_at),
    };
    match (month, spec.year) {
        (Some((m, lunar, end)), _) => {
            spec.month = Some(m);
            spec.lunar |= lunar;
            after_month(t, end, spec)
        }
        (None, Some(y)) => {
            let this_year = relative_year && y == today.year() && t.lit(start, "今年").is_some();
            Some(after_year(t, i, spec, this_year, today))
        }
        // A day alone: `27日`, `15号` (see `range::is_lone_day_number` for when it is not a date).
        (None, None) => {
            let (d, end) = day_of_month(t, start)?;
            (!lunar_prefix).then_some((DateTerm::Spec(Spec { day: Some(d), ..Spec::default() }), end))
        }
    }
}

/// What follows a year ending at `i`: a holiday, a part of the year, or nothing (the whole year;
/// `今年` alone runs up to today).
fn after_year(t: &Text, i: usize, spec: Spec, this_year: bool, today: NaiveDate) -> (DateTerm, usize) {
    if let Some((DateTerm::Spec(h), end)) = holiday(t, i) {
        return (DateTerm::Spec(Spec { year: spec.year, ..h }), end);
    }
    let y = spec.year.unwrap_or(today.year());
    if let Some(found) = year_part(t, i, y) {
        return found;
    }
    if this_year {
        return (DateTerm::Period(Period::YearToDate(y, today)), i);
    }
    (DateTerm::Spec(spec), i)
}

/// What follows a month ending at `i`: a day, the n-th weekday, the n-th week, or nothing.
fn after_month(t: &Text, i: usize, mut spec: Spec) -> Option<(DateTerm, usize)> {
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
    Some((DateTerm::Spec(spec), i))
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

/// `九月的第二周`.
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

/// Numeric dates: year first (`2024/03/18`, `2024.03.18`, `2012-01-01`, `2024 03 18`, `24-03-18`,
/// `24-3-8`), day first (`5/6/2024`, `21.6.2024`, `8-9-06`, `09/11/93`), or month/day (`12/1`).
/// Dots need a four-digit year (`1.5.2` is a version), spaces a leading one.
pub(super) fn numeric_date(t: &Text, at: usize) -> Option<(DateTerm, usize)> {
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
pub(super) fn holiday(t: &Text, at: usize) -> Option<(DateTerm, usize)> {
    let (k, end) = t.longest(at, HOLIDAYS)?;
    let (_, (month, day, lunar)) = HOLIDAYS[k];
    Some((DateTerm::Spec(Spec { month: Some(month), day: Some(day), lunar, ..Spec::default() }), end))
}

/// `八十年代`, `二十世纪八十年代`, `上世纪80年代`.
pub(super) fn decade(t: &Text, at: usize, today: NaiveDate) -> Option<(DateTerm, usize)> {
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
