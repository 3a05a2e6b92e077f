use std::collections::HashSet;

use super::*;
use crate::SlotKind;

fn span_text(text: &str, s: &SlotSpan) -> String {
    text.chars().skip(s.start).take(s.end - s.start).collect()
}

#[test]
fn same_seed_same_corpus() {
    assert_eq!(generate(42, 500), generate(42, 500));
    assert_ne!(generate(42, 500), generate(43, 500));
    assert_eq!(generate(7, 0).len(), 0);
}

#[test]
fn spans_are_in_bounds_ordered_and_trimmed() {
    for ex in generate(1, 5000) {
        let n = ex.text.chars().count();
        assert!(n > 0, "{ex:?}");
        let mut last_end = 0;
        for s in &ex.spans {
            assert!(s.start < s.end && s.end <= n, "{ex:?}");
            assert!(s.start >= last_end, "overlap in {ex:?}");
            last_end = s.end;
            let t = span_text(&ex.text, s);
            assert_eq!(t.trim(), t, "{ex:?}");
        }
        assert_eq!(Lang::detect(&ex.text), ex.lang, "{ex:?}");
    }
}

#[test]
fn order_ids_and_phones_agree_with_the_rules() {
    let lexicon = Lexicon::builtin();
    for ex in generate(2, 3000) {
        let found = crate::rules::extract(&ex.text, &lexicon).spans();
        for s in ex.spans.iter().filter(|s| matches!(s.kind, SlotKind::OrderId | SlotKind::Phone)) {
            assert!(found.contains(s), "{:?} not found by rules in {:?}", s, ex.text);
        }
    }
}

#[test]
fn covers_every_intent_slot_kind_and_language() {
    let corpus = generate(3, 20_000);
    let intents: HashSet<Intent> = corpus.iter().map(|e| e.intent).collect();
    let kinds: HashSet<SlotKind> = corpus.iter().flat_map(|e| e.spans.iter().map(|s| s.kind)).collect();
    let langs: HashSet<Lang> = corpus.iter().map(|e| e.lang).collect();
    assert_eq!(intents.len(), Intent::ALL.len());
    assert_eq!(kinds.len(), SlotKind::ALL.len());
    assert_eq!(langs.len(), 2);
    for intent in Intent::ALL {
        let share = corpus.iter().filter(|e| e.intent == *intent).count() as f64 / corpus.len() as f64;
        assert!((0.03..=0.3).contains(&share), "{intent}: {share}");
    }
    let distinct: HashSet<&str> = corpus.iter().map(|e| e.text.as_str()).collect();
    assert!(distinct.len() >= 5000, "only {} distinct texts", distinct.len());
}

#[test]
fn split_is_stable_and_keeps_duplicates_together() {
    let corpus = generate(4, 4000);
    let (train, held) = split(corpus.clone(), 0.2, 9);
    assert_eq!(train.len() + held.len(), corpus.len());
    let share = held.len() as f64 / corpus.len() as f64;
    assert!((0.1..0.3).contains(&share), "{share}");
    assert_eq!(split(corpus.clone(), 0.2, 9), (train.clone(), held.clone()));
    let held_texts: HashSet<&str> = held.iter().map(|e| e.text.as_str()).collect();
    assert!(train.iter().all(|e| !held_texts.contains(e.text.as_str())));
    assert!(split(corpus.clone(), 0.0, 1).1.is_empty());
    assert!(split(corpus, 1.0, 1).0.is_empty());
}

#[test]
fn handwritten_set_loads_and_is_valid() {
    let cases = load_labelled(HANDWRITTEN).expect("handwritten.jsonl parses");
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let intents: HashSet<Intent> = cases.iter().map(|c| c.intent).collect();
    assert_eq!(intents.len(), Intent::ALL.len(), "every intent is covered");
    let zh = cases.iter().filter(|c| c.lang == Lang::Zh).count() as f64 / cases.len() as f64;
    assert!((0.5..=0.7).contains(&zh), "zh share {zh}");
    let generated: HashSet<String> = generate(0, 20_000).into_iter().map(|e| e.text).collect();
    let copied = cases.iter().filter(|c| generated.contains(&c.text)).count();
    assert!(copied * 10 < cases.len(), "{copied} hand-written texts are generator outputs");
    for c in &cases {
        check_expect_matches_spans(c);
    }
}

/// The expectation agrees with the spans: each value given has a span of its kind that says it.
fn check_expect_matches_spans(c: &Labelled) {
    let texts = |kind: SlotKind| -> Vec<String> {
        c.spans.iter().filter(|s| s.kind == kind).map(|s| span_text(&c.text, s)).collect()
    };
    let line = c.line;
    if let Some(id) = &c.expect.order_id {
        assert!(texts(SlotKind::OrderId).contains(id), "line {line}: order id {id} has no span");
    }
    if let Some(phone) = &c.expect.phone {
        let digits: Vec<String> =
            texts(SlotKind::Phone).iter().map(|t| t.chars().filter(char::is_ascii_digit).collect()).collect();
        assert!(digits.contains(phone), "line {line}: phone {phone} has no span");
    }
    for (value, kind) in [(&c.expect.address, SlotKind::Address), (&c.expect.worker, SlotKind::Worker)] {
        if let Some(v) = value {
            assert!(texts(kind).contains(v), "line {line}: {kind} {v} has no span");
        }
    }
    assert_eq!(c.expect.rating.is_some(), !texts(SlotKind::Rating).is_empty(), "line {line}: rating vs spans");
    let times = !texts(SlotKind::Time).is_empty();
    let resolved = c.expect.start.is_some() || c.expect.date.is_some() || c.expect.duration_minutes.is_some();
    assert!(!resolved || times, "line {line}: a resolved time needs a time span");
    let named_rooms = !texts(SlotKind::Room).is_empty();
    let default_room = c.expect.rooms == [autoglm_core::catalog::Room::WholeHome] && c.intent == Intent::BookService;
    assert!(c.expect.rooms.is_empty() || named_rooms || default_room, "line {line}: rooms without a room span");
    if let Some(start) = &c.expect.start {
        assert!(start.ends_with("+08:00"), "line {line}: start {start} is not in +08:00");
    }
    let lexicon = Lexicon::builtin();
    let known: Vec<_> = texts(SlotKind::Service)
        .iter()
        .filter_map(|t| match lexicon.lookup(t) {
            Some(crate::lexicon::LexLabel::Service(s)) => Some(s),
            _ => None,
        })
        .collect();
    if let Some(service) = c.expect.service {
        assert!(known.is_empty() || known.contains(&service), "line {line}: spans say {known:?}, expect {service}");
    } else {
        assert!(known.is_empty(), "line {line}: service spans {known:?} but no service expected");
    }
}
