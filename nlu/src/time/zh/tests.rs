//! Booking conventions of DESIGN.md §3 and robustness of the Chinese parser.

use chrono::{NaiveDate, NaiveDateTime};

use super::parse;
use crate::time::{TimeEntity, TimeKind};

/// Thursday 2026-03-05 09:00.
fn reference() -> NaiveDateTime {
    at("2026-03-05T09:00")
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("test datetime")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

fn one(text: &str) -> TimeEntity {
    let found = parse(text, reference());
    assert_eq!(found.len(), 1, "{text}: {found:#?}");
    found.into_iter().next().expect("one entity")
}

#[test]
fn date_and_time_of_day_give_a_start() {
    let e = one("明天上午10点来打扫厨房");
    assert_eq!((e.start, e.end, e.kind), (0, 6, TimeKind::DateTime));
    assert_eq!(e.domain.start, Some(at("2026-03-06T10:00")));
    assert_eq!(e.domain.date, None);
}

#[test]
fn bare_hours_follow_the_booking_rule() {
    assert_eq!(one("后天下午三点").domain.start, Some(at("2026-03-07T15:00")));
    assert_eq!(one("后天三点").domain.start, Some(at("2026-03-07T15:00")));
    assert_eq!(one("后天十点半").domain.start, Some(at("2026-03-07T10:30")));
    assert_eq!(one("后天两点一刻").domain.start, Some(at("2026-03-07T14:15")));
    assert_eq!(one("后天八点三刻").domain.start, Some(at("2026-03-07T08:45")));
}

#[test]
fn a_time_without_a_date_is_the_next_one() {
    // 08:00 has passed at 09:00, so tomorrow; 10:00 is still ahead.
    assert_eq!(one("早上8点").domain.start, Some(at("2026-03-06T08:00")));
    assert_eq!(one("10点左右").domain.start, Some(at("2026-03-05T10:00")));
}

#[test]
fn parts_of_day_take_their_default_hour() {
    assert_eq!(one("明天上午过来").domain.start, Some(at("2026-03-06T09:00")));
    assert_eq!(one("明天下午").domain.start, Some(at("2026-03-06T14:00")));
    assert_eq!(one("今晚").domain.start, Some(at("2026-03-05T19:00")));
    assert_eq!(one("明天早上吧").domain.start, Some(at("2026-03-06T08:00")));
}

#[test]
fn days_without_time_give_a_date() {
    let e = one("下周三");
    assert_eq!(e.domain.date, Some(day("2026-03-11")));
    assert_eq!(e.domain.start, None);
    assert_eq!(one("这周六").domain.date, Some(day("2026-03-07")));
    assert_eq!(one("月底").domain.date, Some(day("2026-03-31")));
    assert_eq!(one("周末").domain.date, Some(day("2026-03-07")));
    assert_eq!(one("3月1号上门").domain.date, Some(day("2027-03-01")));
    assert_eq!(one("3月8号上门").domain.date, Some(day("2026-03-08")));
    assert_eq!(one("下个月5号").domain.date, Some(day("2026-04-05")));
}

#[test]
fn weekend_on_a_weekend_is_next_week() {
    let found = parse("周末来", at("2026-03-07T10:00"));
    assert_eq!(found.first().and_then(|e| e.domain.date), Some(day("2026-03-14")));
}

#[test]
fn ranges_set_start_end_and_duration() {
    let e = one("下午2点到4点");
    assert_eq!(e.domain.start, Some(at("2026-03-05T14:00")));
    assert_eq!(e.domain.end, Some(at("2026-03-05T16:00")));
    assert_eq!(e.domain.duration_minutes, Some(120));
    let e = one("明天9点-11点");
    assert_eq!(e.domain.start, Some(at("2026-03-06T09:00")));
    assert_eq!(e.domain.duration_minutes, Some(120));
}

#[test]
fn weekday_ranges_and_weekend_times() {
    let e = one("下周一到周三都可以");
    assert_eq!((e.kind, e.text.as_str()), (TimeKind::DateRange, "下周一到周三"));
    assert_eq!(e.domain.date, Some(day("2026-03-09")));
    assert_eq!(one("周末上午来").domain.start, Some(at("2026-03-07T09:00")));
    assert_eq!(one("周三下午2:30-4:30").domain.end, Some(at("2026-03-11T16:30")));
    let e = one("周一到周五都行");
    assert_eq!((e.text.as_str(), e.domain.date), ("周一到周五", Some(day("2026-03-09"))));
    let e = one("15号到20号都在家");
    assert_eq!((e.kind, e.domain.date), (TimeKind::DateRange, Some(day("2026-03-15"))));
    assert_eq!(one("九点前到").domain.end, Some(at("2026-03-06T09:00")));
    assert_eq!(one("每月1号").domain.recurring.as_deref(), Some("XXXX-XX-01"));
    assert_eq!(one("每两周一次").domain.recurring.as_deref(), Some("P2W"));
    assert_eq!(one("下周二10点来修空调").domain.start, Some(at("2026-03-10T10:00")));
    assert_eq!(one("周五晚上七点以后").domain.start, Some(at("2026-03-06T19:00")));
    assert_eq!(parse("周六周日都可以", reference()).len(), 2);
    assert_eq!(one("明天 3pm").domain.start, Some(at("2026-03-06T15:00")));
    assert_eq!(one("2026-03-08 10:00").domain.start, Some(at("2026-03-08T10:00")));
    let e = one("下午3点以后5点以前都行");
    assert_eq!((e.text.as_str(), e.domain.duration_minutes), ("下午3点以后5点以前", Some(120)));
    let e = one("十点到十二点");
    assert_eq!(e.domain.duration_minutes, Some(120));
    assert_eq!(e.values[0].get("timex").and_then(|v| v.as_str()), Some("(T10,T12,PT2H)"));
}

#[test]
fn mixed_width_and_scripts() {
    assert_eq!(one("明天下午３：３０").domain.start, Some(at("2026-03-06T15:30")));
    assert_eq!(one("週六上午十點").domain.start, Some(at("2026-03-07T10:00")));
    assert_eq!(one("tomorrow 明天10am").domain.start, Some(at("2026-03-06T10:00")));
    assert_eq!(one("国庆节来打扫").domain.date, Some(day("2026-10-01")));
}

#[test]
fn durations_and_recurring_times() {
    assert_eq!(one("大概要3个小时").domain.duration_minutes, Some(180));
    assert_eq!(one("大约半小时能到").domain.duration_minutes, Some(30));
    assert_eq!(one("两天").domain.duration_minutes, Some(2 * 24 * 60));
    assert_eq!(one("每周六上午").domain.recurring.as_deref(), Some("XXXX-WXX-6TMO"));
    assert_eq!(one("每天").domain.recurring.as_deref(), Some("P1D"));
    assert_eq!(one("每个周末").domain.recurring.as_deref(), Some("XXXX-WXX-WE"));
    assert_eq!(one("每周二下午三点").domain.recurring.as_deref(), Some("XXXX-WXX-2T15"));
}

#[test]
fn spans_point_into_the_original_text() {
    let e = one("麻烦 二十三号 下午 三点 过来");
    assert_eq!(e.text, "二十三号 下午 三点");
    assert_eq!((e.start, e.end), (3, 12));
    let e = one("後天下午三點");
    assert_eq!(e.domain.start, Some(at("2026-03-07T15:00")));
}

#[test]
fn words_that_are_not_times() {
    for text in [
        "我们一起打扫",
        "等一下",
        "万一下雨",
        "快一点",
        "一定要干净",
        "十分感谢",
        "我家3号楼",
        "座位是15号",
        "三室一厅",
        "一百二十块",
    ] {
        assert!(parse(text, reference()).is_empty(), "{text}");
    }
}

proptest::proptest! {
    #[test]
    fn never_panics_and_spans_are_valid(
        s in "[0-9一二三四五六七八九十百千万两零半点号月年日天周星期上下午晚早明后今去每个小时分钟刻到至从自之前后以或及开始起间和第的世纪代康熙农历初最末底还剩过去:/. ａ１：a-z-]{0,30}"
    ) {
        let found = parse(&s, reference());
        let len = s.chars().count();
        let mut last_end: Option<usize> = None;
        for e in &found {
            proptest::prop_assert!(e.start <= e.end && e.end < len);
            proptest::prop_assert!(last_end.is_none_or(|l| e.start > l));
            let text: String = s.chars().skip(e.start).take(e.end + 1 - e.start).collect();
            proptest::prop_assert_eq!(&text, &e.text);
            last_end = Some(e.end);
        }
    }
}

#[test]
fn extreme_numbers_do_not_panic() {
    let texts = [
        "999999999个月前",
        "999999999年后",
        "过去999999999年",
        "之后999999999小时",
        "还剩999999999周",
        "康熙300年",
        "30世纪90年代",
        "9999年的第53周",
        "9999年的最后366天",
        "9999年12月31日到1月1日",
        "9999年12月31日晚上11点到1点",
        "0年",
        "00年",
        "24:59",
        "24点",
        "0点0分0秒",
        "99/99/9999",
        "1.5.2",
        "0.000000001天",
    ];
    for text in texts {
        for reference in [reference(), at("9999-12-31T23:59"), at("0001-01-01T00:00")] {
            let _ = parse(text, reference);
        }
    }
}

fn timex(text: &str) -> String {
    let e = one(text);
    e.values.first().and_then(|v| v.get("timex")).and_then(|v| v.as_str()).unwrap_or_default().to_string()
}

#[test]
fn spans_of_the_calendar() {
    assert_eq!(timex("今年第三季度的活动"), "(2026-07-01,2026-10-01,P3M)");
    assert_eq!(timex("下个季度"), "(2026-04-01,2026-07-01,P3M)");
    assert_eq!(timex("上世纪80年代的老房子"), "(1980-01-01,1990-01-01,P10Y)");
    assert_eq!(timex("近3年"), "(2023-03-05,2026-03-05,P3Y)");
    assert_eq!(timex("未来3小时"), "(2026-03-05T09:00:00,2026-03-05T12:00:00,PT3H)");
    assert_eq!(timex("下半年再说"), "(2026-07-01,2027-01-01,P6M)");
}

#[test]
fn numeric_date_forms() {
    assert_eq!(timex("21.6.2024"), "2024-06-21");
    assert_eq!(timex("8-9-06"), "2006-09-08");
    assert_eq!(timex("09/11/93"), "1993-11-09");
    assert_eq!(timex("2024 03 18"), "2024-03-18");
    assert!(parse("版本1.5.2", reference()).is_empty());
}

#[test]
fn lunar_dates_have_no_booking_day() {
    let e = one("中秋节那天上门");
    assert_eq!(e.domain.date, None);
    assert!(!e.values.is_empty());
    assert_eq!(one("晚8点").domain.start, Some(at("2026-03-05T20:00")));
}
