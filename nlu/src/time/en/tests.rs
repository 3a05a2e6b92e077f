//! Tests of the English parser: booking conventions and robustness.

use chrono::{NaiveDate, NaiveDateTime};

use super::parse;
use crate::time::{TimeEntity, TimeKind};

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("test reference")
}

fn one(text: &str, reference: &str) -> TimeEntity {
    let got = parse(text, at(reference));
    assert_eq!(got.len(), 1, "{text}: {got:?}");
    got.into_iter().next().expect("one entity")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

#[test]
fn tomorrow_at_three_is_afternoon() {
    let e = one("clean my kitchen tomorrow at 3pm", "2026-03-05T09:00");
    assert_eq!(e.kind, TimeKind::DateTime);
    assert_eq!(e.text, "tomorrow at 3pm");
    assert_eq!(e.domain.start, Some(at("2026-03-06T15:00")));
    let e = one("can someone come tomorrow at 3", "2026-03-05T09:00");
    assert_eq!(e.domain.start, Some(at("2026-03-06T15:00")));
}
