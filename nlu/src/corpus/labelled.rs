//! The hand-written test set: JSON lines with span texts, resolved to char offsets.

use autoglm_core::catalog::{Room, Service};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::Example;
use crate::model::SlotSpan;
use crate::{Intent, Lang, SlotKind};

/// The slots a case expects, under the conventions of DESIGN.md §3.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The service named.
    #[serde(default)]
    pub service: Option<Service>,
    /// Rooms (`whole_home` for a cleaning booking that names none).
    #[serde(default)]
    pub rooms: Vec<Room>,
    /// Start, RFC 3339 with offset (`2026-03-06T10:00:00+08:00`).
    #[serde(default)]
    pub start: Option<String>,
    /// A date without a time of day (`YYYY-MM-DD`).
    #[serde(default)]
    pub date: Option<String>,
    /// End of a range, RFC 3339.
    #[serde(default)]
    pub end: Option<String>,
    /// A length of time in minutes.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// An order id without `#`.
    #[serde(default)]
    pub order_id: Option<String>,
    /// A rating 1–5.
    #[serde(default)]
    pub rating: Option<u8>,
    /// An address, as written.
    #[serde(default)]
    pub address: Option<String>,
    /// A phone, digits only.
    #[serde(default)]
    pub phone: Option<String>,
    /// A worker named.
    #[serde(default)]
    pub worker: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpan {
    kind: SlotKind,
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    text: String,
    reference: String,
    intent: Intent,
    #[serde(default)]
    spans: Vec<RawSpan>,
    expect: Expect,
}

/// One hand-written case.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// Line number in the file (1-based).
    pub line: usize,
    /// The utterance.
    pub text: String,
    /// Its language (detected).
    pub lang: Lang,
    /// "Now" for resolving times (customer's wall clock).
    pub reference: NaiveDateTime,
    /// The intent.
    pub intent: Intent,
    /// Slot spans, char offsets, in order of position.
    pub spans: Vec<SlotSpan>,
    /// The slots expected.
    pub expect: Expect,
}

impl Labelled {
    /// The case as a training/eval [`Example`].
    pub fn example(&self) -> Example {
        Example { text: self.text.clone(), lang: self.lang, intent: self.intent, spans: self.spans.clone() }
    }
}

/// Parses a JSONL test set: one case per non-blank line, each span text resolved to char offsets.
///
/// A span text is looked for at its first occurrence that does not overlap an earlier span. Errors
/// name the line: bad JSON, an unknown label, a span text not in the utterance, an invalid expectation.
pub fn load_labelled(jsonl: &str) -> Result<Vec<Labelled>, String> {
    jsonl
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            parse_line(l)
                .map(|mut c| {
                    c.line = i + 1;
                    c
                })
                .map_err(|e| format!("line {}: {e}", i + 1))
        })
        .collect()
}

fn parse_line(line: &str) -> Result<Labelled, String> {
    let raw: RawCase = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let reference = NaiveDateTime::parse_from_str(&raw.reference, "%Y-%m-%dT%H:%M:%S")
        .map_err(|e| format!("reference {:?}: {e}", raw.reference))?;
    check_expect(&raw.expect)?;
    let chars: Vec<char> = raw.text.chars().collect();
    let mut spans: Vec<SlotSpan> = Vec::new();
    for span in &raw.spans {
        let (start, end) = locate(&chars, &span.text, &spans)
            .ok_or_else(|| format!("{} span {:?} is not in the text {:?}", span.kind, span.text, raw.text))?;
        spans.push(SlotSpan { kind: span.kind, start, end });
    }
    spans.sort_by_key(|s| (s.start, s.end));
    Ok(Labelled {
        line: 0,
        lang: Lang::detect(&raw.text),
        text: raw.text,
        reference,
        intent: raw.intent,
        spans,
        expect: raw.expect,
    })
}

/// First occurrence of `needle` in `chars` that overlaps none of `taken`.
fn locate(chars: &[char], needle: &str, taken: &[SlotSpan]) -> Option<(usize, usize)> {
    let needle: Vec<char> = needle.chars().collect();
    if needle.is_empty() || needle.len() > chars.len() {
        return None;
    }
    (0..=chars.len() - needle.len())
        .filter(|&s| chars[s..s + needle.len()] == needle[..])
        .map(|s| (s, s + needle.len()))
        .find(|&(s, e)| taken.iter().all(|t| e <= t.start || t.end <= s))
}

fn check_expect(e: &Expect) -> Result<(), String> {
    for (name, value) in [("start", &e.start), ("end", &e.end)] {
        if let Some(v) = value {
            DateTime::parse_from_rfc3339(v).map_err(|err| format!("expect.{name} {v:?}: {err}"))?;
        }
    }
    if let Some(d) = &e.date {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|err| format!("expect.date {d:?}: {err}"))?;
    }
    if let Some(r) = e.rating.filter(|r| !(1..=5).contains(r)) {
        return Err(format!("expect.rating {r} is not 1–5"));
    }
    if let Some(id) = e.order_id.as_ref().filter(|id| id.starts_with('#') || id.is_empty()) {
        return Err(format!("expect.order_id {id:?} must be non-empty and without '#'"));
    }
    if let Some(p) = e.phone.as_ref().filter(|p| !p.chars().all(|c| c.is_ascii_digit())) {
        return Err(format!("expect.phone {p:?} must be digits only"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"text": "明天上午10点来打扫厨房", "reference": "2026-03-05T09:00:00", "intent": "book_service", "spans": [{"kind": "time", "text": "明天上午10点"}, {"kind": "room", "text": "厨房"}, {"kind": "service", "text": "打扫"}], "expect": {"service": "cleaning", "rooms": ["kitchen"], "start": "2026-03-06T10:00:00+08:00", "date": null, "end": null, "duration_minutes": null, "order_id": null, "rating": null}}"#;

    #[test]
    fn resolves_span_texts_to_char_offsets() {
        let cases = load_labelled(&format!("{LINE}\n\n")).expect("parses");
        assert_eq!(cases.len(), 1);
        let c = &cases[0];
        assert_eq!(c.lang, Lang::Zh);
        assert_eq!(c.spans[0], SlotSpan { kind: SlotKind::Time, start: 0, end: 7 });
        assert_eq!(c.spans[1], SlotSpan { kind: SlotKind::Service, start: 8, end: 10 });
        assert_eq!(c.spans[2], SlotSpan { kind: SlotKind::Room, start: 10, end: 12 });
        assert_eq!(c.expect.rooms, vec![Room::Kitchen]);
    }

    #[test]
    fn errors_name_the_line() {
        let bad_span = LINE.replace(r#""text": "厨房""#, r#""text": "卧室""#);
        let err = load_labelled(&format!("{LINE}\n{bad_span}")).unwrap_err();
        assert!(err.starts_with("line 2:") && err.contains("卧室"), "{err}");
        let bad_intent = LINE.replace("book_service", "book");
        assert!(load_labelled(&bad_intent).unwrap_err().contains("line 1"));
        let bad_rating = LINE.replace(r#""rating": null"#, r#""rating": 7"#);
        assert!(load_labelled(&bad_rating).unwrap_err().contains("rating"));
        let hash_id = LINE.replace(r#""order_id": null"#, r##""order_id": "#A1""##);
        assert!(load_labelled(&hash_id).unwrap_err().contains("order_id"));
        assert!(load_labelled("{not json").is_err());
        assert_eq!(load_labelled(&format!("\u{feff}{LINE}\r\n")).map(|c| c.len()), Ok(1));
    }

    #[test]
    fn repeated_span_texts_take_successive_occurrences() {
        let line = r#"{"text": "厨房和厨房", "reference": "2026-03-05T09:00:00", "intent": "provide_info", "spans": [{"kind": "room", "text": "厨房"}, {"kind": "room", "text": "厨房"}], "expect": {}}"#;
        let c = &load_labelled(line).expect("parses")[0];
        assert_eq!((c.spans[0].start, c.spans[1].start), (0, 3));
    }
}
