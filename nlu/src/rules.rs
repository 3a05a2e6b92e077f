//! Rule extractor: services, rooms, order ids, ratings, phones, addresses, workers and an intent guess.
//!
//! [`extract`] runs the [`Lexicon`] finder and the pattern finders over a
//! sentence; every finding carries its char span. The intent guess is a
//! fallback and a feature for the merger: cue words first, then context (a
//! service with no other cue is a booking, bare details are `provide_info`).
//!
//! Expects normalized text (half-width digits and letters, see [`crate::normalize`]); spans are char
//! offsets into the text given.

use autoglm_core::catalog::{Room, Service};

use crate::lexicon::{LexKind, LexLabel, LexMatch, Lexicon};
use crate::model::SlotSpan;
use crate::{Intent, Lang, NluEntity, SlotKind, Slots};

mod address;
mod patterns;

/// A value found in the text, with its char span (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    /// The value (normalized: an order id without `#`, a phone as digits).
    pub value: T,
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

/// The rules' guess at the intent.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentGuess {
    /// The intent.
    pub intent: Intent,
    /// How sure the rules are, 0–1 (a cue word ≈ 0.8–0.95, context only ≈ 0.5–0.7, nothing 0.3).
    pub score: f32,
    /// The cue words behind the guess, as char spans.
    pub cues: Vec<(usize, usize)>,
}

/// Everything the rules found in one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFindings {
    /// Language detected.
    pub lang: Lang,
    /// Every lexicon match (services, rooms, intent cues, no-service words).
    pub lexicon: Vec<LexMatch>,
    /// Services named, in order.
    pub services: Vec<Found<Service>>,
    /// Rooms named, in order (only from room words).
    pub rooms: Vec<Found<Room>>,
    /// Order ids, without `#`.
    pub order_ids: Vec<Found<String>>,
    /// Ratings 1–5.
    pub ratings: Vec<Found<u8>>,
    /// Mobile numbers, digits only.
    pub phones: Vec<Found<String>>,
    /// Addresses, as written.
    pub addresses: Vec<Found<String>>,
    /// Workers named (王阿姨, `Ms. Wang`, `W17`).
    pub workers: Vec<Found<String>>,
    /// Spans of words hinting at a date or time (not resolved; the time parser does that).
    pub time_hints: Vec<(usize, usize)>,
    /// The intent guess.
    pub intent: IntentGuess,
}

impl RuleFindings {
    /// The service meant: the first specific one (擦玻璃 over 打扫), else the first.
    pub fn service(&self) -> Option<Service> {
        self.services.iter().find(|f| f.value != Service::Cleaning).or(self.services.first()).map(|f| f.value)
    }

    /// Distinct rooms, in order of mention.
    pub fn rooms(&self) -> Vec<Room> {
        let mut rooms: Vec<Room> = Vec::new();
        for r in &self.rooms {
            if !rooms.contains(&r.value) {
                rooms.push(r.value);
            }
        }
        rooms
    }

    /// The first order id.
    pub fn order_id(&self) -> Option<&str> {
        self.order_ids.first().map(|f| f.value.as_str())
    }

    /// The first rating.
    pub fn rating(&self) -> Option<u8> {
        self.ratings.first().map(|f| f.value)
    }

    /// The first phone number.
    pub fn phone(&self) -> Option<&str> {
        self.phones.first().map(|f| f.value.as_str())
    }

    /// The first address.
    pub fn address(&self) -> Option<&str> {
        self.addresses.first().map(|f| f.value.as_str())
    }

    /// The first worker named.
    pub fn worker(&self) -> Option<&str> {
        self.workers.first().map(|f| f.value.as_str())
    }

    /// The slots the rules can fill (service, rooms, order id, rating, address, phone, worker).
    ///
    /// No defaults: `whole_home` for a cleaning booking without a room is the merger's call, since it
    /// depends on the final intent.
    pub fn slots(&self) -> Slots {
        Slots {
            service: self.service(),
            rooms: self.rooms(),
            order_id: self.order_id().map(str::to_string),
            rating: self.rating(),
            address: self.address().map(str::to_string),
            phone: self.phone().map(str::to_string),
            worker: self.worker().map(str::to_string),
            ..Slots::default()
        }
    }

    /// The spans behind [`Self::slots`] as API entities, in order of position (`text` is the original text).
    pub fn entities(&self, text: &str) -> Vec<NluEntity> {
        let chars: Vec<char> = text.chars().collect();
        self.spans()
            .into_iter()
            .filter(|s| s.end <= chars.len())
            .map(|s| NluEntity {
                kind: s.kind.as_str().to_string(),
                text: chars[s.start..s.end].iter().collect(),
                start: s.start,
                end: s.end,
            })
            .collect()
    }

    /// All slot spans the rules found (every kind but `time`), in order of position.
    pub fn spans(&self) -> Vec<SlotSpan> {
        fn add<T>(out: &mut Vec<SlotSpan>, kind: SlotKind, found: &[Found<T>]) {
            out.extend(found.iter().map(|f| SlotSpan { kind, start: f.start, end: f.end }));
        }
        let mut out = Vec::new();
        add(&mut out, SlotKind::Service, &self.services);
        add(&mut out, SlotKind::Room, &self.rooms);
        add(&mut out, SlotKind::OrderId, &self.order_ids);
        add(&mut out, SlotKind::Rating, &self.ratings);
        add(&mut out, SlotKind::Phone, &self.phones);
        add(&mut out, SlotKind::Address, &self.addresses);
        add(&mut out, SlotKind::Worker, &self.workers);
        out.sort_by_key(|s| (s.start, s.end));
        out
    }
}

/// Runs the lexicon and the pattern finders over `text`.
pub fn extract(text: &str, lexicon: &Lexicon) -> RuleFindings {
    let chars: Vec<char> = text.chars().collect();
    let time_hints = patterns::time_hints(&chars);
    // A cue inside a time word is no cue (星 in 星期三).
    let inside_time = |m: &LexMatch| time_hints.iter().any(|&(s, e)| s <= m.start && m.end <= e);
    let lexicon: Vec<LexMatch> =
        lexicon.find(text).into_iter().filter(|m| m.kind() != LexKind::IntentCue || !inside_time(m)).collect();

    let mut taken = vec![false; chars.len()];
    let phones = claim(&mut taken, |t| patterns::phones(&chars, t));
    let order_ids = claim(&mut taken, |t| patterns::order_ids(&chars, t));
    let workers = claim(&mut taken, |t| patterns::workers(&chars, t));
    let ratings = claim(&mut taken, |t| {
        let mut found = patterns::ratings_zh(&chars, t);
        found.extend(patterns::ratings_en(&chars, t));
        found.sort_by_key(|f| f.start);
        found
    });

    let mut blocked = taken.clone();
    for (s, e) in lexicon.iter().map(|m| (m.start, m.end)).chain(time_hints.iter().copied()) {
        blocked[s..e].iter_mut().for_each(|b| *b = true);
    }
    let addresses = address::addresses(&chars, &blocked);

    let services = lexicon
        .iter()
        .filter_map(|m| match m.label {
            LexLabel::Service(s) => Some(Found { value: s, start: m.start, end: m.end }),
            _ => None,
        })
        .collect();
    let rooms = lexicon
        .iter()
        .filter_map(|m| match m.label {
            LexLabel::Room(r) => Some(Found { value: r, start: m.start, end: m.end }),
            _ => None,
        })
        .collect();
    let mut findings = RuleFindings {
        lang: Lang::detect(text),
        lexicon,
        services,
        rooms,
        order_ids,
        ratings,
        phones,
        addresses,
        workers,
        time_hints,
        intent: IntentGuess { intent: Intent::Other, score: 0.0, cues: Vec::new() },
    };
    findings.intent = guess_intent(&findings, &chars);
    findings
}

/// Runs a finder over the chars not yet taken, marks what it found as taken and returns it.
fn claim<T>(taken: &mut [bool], finder: impl FnOnce(&[bool]) -> Vec<Found<T>>) -> Vec<Found<T>> {
    let found = finder(taken);
    for f in &found {
        taken[f.start..f.end].iter_mut().for_each(|t| *t = true);
    }
    found
}

/// Intents a cue word decides on its own, strongest first (a tie goes to the earlier one).
const DECISIVE: &[Intent] = &[
    Intent::ChangeWorker,
    Intent::RescheduleOrder,
    Intent::CancelOrder,
    Intent::RateOrder,
    Intent::PayOrder,
    Intent::QueryOrder,
];

fn guess_intent(f: &RuleFindings, chars: &[char]) -> IntentGuess {
    let cues = live_cues(f, chars);
    let of = |intent: Intent| cues.iter().filter(move |m| m.label == LexLabel::IntentCue(intent));
    let spans = |intent: Intent| of(intent).map(|m| (m.start, m.end)).collect::<Vec<_>>();
    let has = |intent: Intent| of(intent).next().is_some();
    let count = |intent: Intent| of(intent).count() + usize::from(intent == Intent::RateOrder && !f.ratings.is_empty());
    // Most cues wins; a tie goes to the intent named first (customers lead with what they want).
    let first_cue = |intent: Intent| of(intent).map(|m| m.start).min().unwrap_or(usize::MAX);
    let best = DECISIVE.iter().map(|&i| (i, count(i))).filter(|(_, n)| *n > 0).max_by_key(|(i, n)| {
        let rank = DECISIVE.len() - DECISIVE.iter().position(|d| d == i).unwrap_or(0);
        (*n, std::cmp::Reverse(first_cue(*i)), rank)
    });
    if let Some((intent, n)) = best {
        let support =
            usize::from(!f.order_ids.is_empty() || (intent == Intent::RescheduleOrder && !f.time_hints.is_empty()));
        let score = (0.75 + 0.07 * (n - 1 + support) as f32).min(0.95);
        return IntentGuess { intent, score, cues: spans(intent) };
    }
    let short = is_short(chars, f.lang);
    // A time word inside a cue (`not now`) is part of the cue, not a detail given.
    let time_given = f.time_hints.iter().any(|&(s, e)| !f.lexicon.iter().any(|m| m.start < e && s < m.end));
    let info = time_given
        || !f.addresses.is_empty()
        || !f.phones.is_empty()
        || !f.order_ids.is_empty()
        || !f.rooms.is_empty()
        || !f.workers.is_empty();
    let service = !f.services.is_empty();
    let (intent, score) = if has(Intent::Deny) {
        if info || service {
            (Intent::ProvideInfo, 0.55)
        } else {
            (Intent::Deny, if short { 0.85 } else { 0.6 })
        }
    } else if has(Intent::Confirm) && short && !info && !service {
        (Intent::Confirm, 0.85)
    } else if service {
        let bonus = 0.08 * f32::from(u8::from(!f.time_hints.is_empty()) + u8::from(has(Intent::BookService)));
        (Intent::BookService, 0.75 + bonus)
    } else if has(Intent::BookService) && !has(Intent::Other) {
        (Intent::BookService, 0.6)
    } else if has(Intent::Other) && !has(Intent::ProvideInfo) && f.addresses.is_empty() && f.phones.is_empty() {
        (Intent::Other, 0.7)
    } else if has(Intent::ProvideInfo) || info {
        (Intent::ProvideInfo, if has(Intent::ProvideInfo) { 0.8 } else { 0.65 })
    } else if has(Intent::Confirm) {
        (Intent::Confirm, 0.5)
    } else {
        (Intent::Other, 0.3)
    };
    IntentGuess { intent, score, cues: spans(intent) }
}

/// The intent cues that count: a one-char Chinese reply cue (好, 行, 对, 别) only in a very short turn or
/// standing alone at the start (`行 就按这个来`); elsewhere it is part of a word (你好, 银行, 特别).
/// One-char cues of decisive intents (查, 星) always count.
fn live_cues<'a>(f: &'a RuleFindings, chars: &[char]) -> Vec<&'a LexMatch> {
    let tiny = chars.iter().filter(|c| c.is_alphanumeric()).count() <= 4;
    let leads = |m: &LexMatch| {
        chars[..m.start].iter().all(|c| !c.is_alphanumeric()) && chars.get(m.end).is_none_or(|c| !c.is_alphanumeric())
    };
    f.lexicon
        .iter()
        .filter(|m| m.kind() == LexKind::IntentCue)
        .filter(|m| {
            let decisive = matches!(m.label, LexLabel::IntentCue(i) if DECISIVE.contains(&i));
            decisive || m.end - m.start > 1 || chars[m.start].is_ascii() || tiny || leads(m)
        })
        .collect()
}

/// A short turn: at most 8 Chinese chars or 5 English words (confirm/deny replies are short).
fn is_short(chars: &[char], lang: Lang) -> bool {
    match lang {
        Lang::Zh => chars.iter().filter(|c| c.is_alphanumeric()).count() <= 8,
        Lang::En => patterns::words(chars).len() <= 5,
    }
}

#[cfg(test)]
mod tests;
