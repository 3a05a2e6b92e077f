//! Tests of the English parser: booking conventions (DESIGN.md §3), a few
//! Recognizers-shaped values, and robustness on arbitrary input.

use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;

use super::parse;
use crate::time::{TimeEntity, TimeKind};

/// Thursday 2026-03-05 09:00, the reference of most tests.
const THU: &str = "2026-03-05T09:00";

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("test reference")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

fn one(text: &str, reference: &str) -> TimeEntity {
    let got = parse(text, at(reference));
    assert_eq!(got.len(), 1, "{text}: {got:?}");
    got.into_iter().next().expect("one entity")
}

#[test]
fn tomorrow_at_three_is_afternoon() {
    let e = one("clean my kitchen tomorrow at 3pm", THU);
    assert_eq!(e.kind, TimeKind::DateTime);
    assert_eq!(e.text, "tomorrow at 3pm");
    assert_eq!((e.start, e.end), (17, 31));
    assert_eq!(e.domain.start, Some(at("2026-03-06T15:00")));
    assert_eq!(e.domain.date, None);
    let e = one("can someone come tomorrow at 3", THU);
    assert_eq!(e.domain.start, Some(at("2026-03-06T15:00")));
}

#[test]
fn bare_hours_follow_the_booking_rule() {
    assert_eq!(one("friday at 10", THU).domain.start, Some(at("2026-03-06T10:00")));
    assert_eq!(one("friday at 12", THU).domain.start, Some(at("2026-03-06T12:00")));
    assert_eq!(one("see you at 5.", THU).domain.start, Some(at("2026-03-05T17:00")));
}

#[test]
fn a_time_without_a_date_is_the_next_one() {
    assert_eq!(one("come at 10am please", THU).domain.start, Some(at("2026-03-05T10:00")));
    assert_eq!(one("come at 8am please", THU).domain.start, Some(at("2026-03-06T08:00")));
    assert_eq!(one("half past ten works", THU).domain.start, Some(at("2026-03-05T10:30")));
    assert_eq!(one("noon is fine", THU).domain.start, Some(at("2026-03-05T12:00")));
}

#[test]
fn a_date_without_a_time_has_no_start() {
    let e = one("the plumber comes tomorrow", THU);
    assert_eq!(e.kind, TimeKind::Date);
    assert_eq!(e.domain.date, Some(day("2026-03-06")));
    assert_eq!(e.domain.start, None);
    assert_eq!(one("the day after tomorrow is ok", THU).domain.date, Some(day("2026-03-07")));
    assert_eq!(one("book it in 3 days", THU).domain.date, Some(day("2026-03-08")));
    assert_eq!(one("they came 3 days ago", THU).domain.date, Some(day("2026-03-02")));
}

#[test]
fn weeks_run_monday_to_sunday() {
    assert_eq!(one("this Friday please", THU).domain.date, Some(day("2026-03-06")));
    assert_eq!(one("this Monday was busy", THU).domain.date, Some(day("2026-03-02")));
    assert_eq!(one("next Tuesday please", THU).domain.date, Some(day("2026-03-10")));
    assert_eq!(one("next Friday please", THU).domain.date, Some(day("2026-03-13")));
    assert_eq!(one("last week was busy", THU).domain.date, Some(day("2026-02-23")));
}

#[test]
fn this_weekend_is_the_coming_saturday() {
    let e = one("a deep clean this weekend", THU);
    assert_eq!(e.kind, TimeKind::DateRange);
    assert_eq!(e.domain.date, Some(day("2026-03-07")));
    assert_eq!(one("a deep clean this weekend", "2026-03-08T10:00").domain.date, Some(day("2026-03-14")));
}

#[test]
fn month_days_without_a_year_are_the_next_one() {
    assert_eq!(one("on March 20", THU).domain.date, Some(day("2026-03-20")));
    assert_eq!(one("on March 5", THU).domain.date, Some(day("2026-03-05")));
    assert_eq!(one("on March 1", THU).domain.date, Some(day("2027-03-01")));
    assert_eq!(one("on 4th Jan 2027", THU).domain.date, Some(day("2027-01-04")));
}

#[test]
fn end_of_the_month_is_its_last_day() {
    assert_eq!(one("by the end of the month", THU).domain.date, Some(day("2026-03-31")));
    assert_eq!(one("sometime next month", THU).domain.date, Some(day("2026-04-01")));
}

#[test]
fn parts_of_day_take_their_default_hour() {
    assert_eq!(one("tomorrow morning", THU).domain.start, Some(at("2026-03-06T09:00")));
    assert_eq!(one("this afternoon", THU).domain.start, Some(at("2026-03-05T14:00")));
    assert_eq!(one("can you come tonight", THU).domain.start, Some(at("2026-03-05T19:00")));
    assert_eq!(one("in the evening", THU).domain.start, Some(at("2026-03-05T19:00")));
}

#[test]
fn ranges_set_start_end_and_duration() {
    let e = one("9-11am", THU);
    assert_eq!(e.kind, TimeKind::TimeRange);
    assert_eq!(e.domain.start, Some(at("2026-03-06T09:00")));
    assert_eq!(e.domain.end, Some(at("2026-03-06T11:00")));
    assert_eq!(e.domain.duration_minutes, Some(120));
    let e = one("tomorrow from 2 to 4pm", THU);
    assert_eq!(e.kind, TimeKind::DateTimeRange);
    assert_eq!(e.domain.start, Some(at("2026-03-06T14:00")));
    assert_eq!(e.domain.duration_minutes, Some(120));
    let e = one("between 3 and 5 pm", THU);
    assert_eq!(e.domain.start, Some(at("2026-03-05T15:00")));
    assert_eq!(e.domain.end, Some(at("2026-03-05T17:00")));
}

#[test]
fn durations_set_minutes() {
    assert_eq!(one("it takes two hours", THU).domain.duration_minutes, Some(120));
    assert_eq!(one("about 30 minutes", THU).domain.duration_minutes, Some(30));
    assert_eq!(one("for a week", THU).domain.duration_minutes, Some(7 * 24 * 60));
}

#[test]
fn recurring_times_set_a_timex() {
    assert_eq!(one("every Saturday morning", THU).domain.recurring.as_deref(), Some("XXXX-WXX-6TMO"));
    assert_eq!(one("a cleaner daily", THU).domain.recurring.as_deref(), Some("P1D"));
    assert_eq!(one("weekly is fine", THU).domain.recurring.as_deref(), Some("P1W"));
}

#[test]
fn values_follow_recognizers() {
    let e = one("I'll go back on Friday", "2016-11-07T00:00");
    let v: Vec<String> = e.values.iter().map(|v| v["value"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(v, ["2016-11-04", "2016-11-11"]);
    assert_eq!(e.values[0]["timex"], "XXXX-WXX-5");
    let e = one("shall we say 10:30", "2016-11-07T00:00");
    assert_eq!(e.values.len(), 2);
    assert_eq!(e.values[1]["timex"], "T22:30");
}

#[test]
fn words_that_are_not_dates() {
    for text in ["You may go now if you like", "The second round starts", "Sun is shining", "Twenty people came"] {
        let got: Vec<_> = parse(text, at(THU)).into_iter().filter(|e| e.kind != TimeKind::DateTime).collect();
        assert!(got.is_empty(), "{text}: {got:?}");
    }
}

#[test]
fn far_off_lengths_do_not_overflow() {
    for text in [
        "in 999999999 years",
        "999999999.5 years ago",
        "within 999999999 hours",
        "999999999 days from tomorrow",
        "next 999 years",
        "the next 999 decades",
        "in 999999999.5 minutes",
    ] {
        let _ = parse(text, at(THU));
    }
}

proptest! {
    #[test]
    fn spans_are_in_bounds_and_disjoint(text in "\\PC{0,60}") {
        let got = parse(&text, at(THU));
        let len = text.chars().count();
        let mut last_end: Option<usize> = None;
        for e in &got {
            prop_assert!(e.start <= e.end && e.end < len);
            prop_assert!(last_end.is_none_or(|l| e.start > l));
            let slice: String = text.chars().skip(e.start).take(e.end + 1 - e.start).collect();
            prop_assert_eq!(&slice, &e.text);
            last_end = Some(e.end);
        }
    }

    #[test]
    fn date_like_ascii_never_panics(text in "[a-z0-9 :/.,-]{0,40}") {
        let _ = parse(&text, at(THU));
    }
}
