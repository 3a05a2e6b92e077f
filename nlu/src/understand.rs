//! Merging the rule extractor, the model and the time parser into one [`NluResult`].
//!
//! - **Intent**: the model's probabilities blended with the rule guess (cue
//!   words carry a score); without a model, the rule guess alone.
//! - **Service, rooms, order id, rating, phone, address, worker**: the rules
//!   (lexicon and patterns) first, as they are exact; the model's tagged spans
//!   fill what the rules missed (a span's text is looked up in the lexicon
//!   for services and rooms).
//! - **Time**: the time parser's booking resolution ([`DomainTime`]). For a
//!   reschedule the last time mentioned is the new one; otherwise the first.
//! - A `cleaning`/`deep_cleaning` booking that names no room gets `whole_home`.

use autoglm_core::catalog::{Room, Service};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, NaiveTime, TimeZone};

use crate::lexicon::{LexLabel, Lexicon};
use crate::model::{ModelOutput, SlotSpan};
use crate::normalize;
use crate::rules::{self, RuleFindings};
use crate::time::{self, DomainTime, TimeEntity};
use crate::{Intent, Lang, NluEntity, NluResult, SlotKind, Slots};

/// How much the model weighs against the rules when both are present.
const MODEL_WEIGHT: f32 = 0.6;

/// Understands one utterance. `reference` is "now" in the customer's time
/// zone; `lang` is detected when not given; `model` is the intent+slot model's
/// output for this text, when a model answered.
pub fn understand(
    text: &str,
    lang: Option<Lang>,
    reference: DateTime<FixedOffset>,
    lexicon: &Lexicon,
    model: Option<&ModelOutput>,
) -> NluResult {
    let lang = lang.unwrap_or_else(|| Lang::detect(text));
    let times = time::parse(text, lang, reference.naive_local());
    // Rules and lexicon read the folded text (half width, simplified); it has
    // the same chars at the same offsets, so every span still points into `text`.
    let folded = normalize::fold(text);
    let rules = rules::extract(&folded, lexicon);
    let (intent, confidence) = decide_intent(&rules, model);
    let chars: Vec<char> = text.chars().collect();
    let folded_chars: Vec<char> = folded.chars().collect();
    let model_spans = model.map(|m| m.spans.as_slice()).unwrap_or_default();

    let mut slots = Slots {
        service: rules.service().or_else(|| model_service(&folded_chars, model_spans, lexicon)),
        rooms: rules.rooms(),
        order_id: rules.order_id().map(str::to_string).or_else(|| model_text(&chars, model_spans, SlotKind::OrderId)),
        rating: rules.rating(),
        phone: rules.phone().map(str::to_string),
        address: rules.address().map(str::to_string).or_else(|| model_text(&chars, model_spans, SlotKind::Address)),
        worker: rules.worker().map(str::to_string).or_else(|| model_text(&chars, model_spans, SlotKind::Worker)),
        ..Slots::default()
    };
    if slots.rooms.is_empty() {
        slots.rooms = model_rooms(&folded_chars, model_spans, lexicon);
    }
    let order_id = slots.order_id.take();
    slots.order_id = order_id.map(|id| id.trim_start_matches('#').to_string()).filter(|id| !id.is_empty());
    fill_time(&mut slots, &times, intent, reference);
    if intent == Intent::BookService
        && slots.rooms.is_empty()
        && slots.service.is_some_and(Service::defaults_to_whole_home)
    {
        slots.rooms.push(Room::WholeHome);
    }

    let confidence = (f64::from(confidence) * 1000.0).round() / 1000.0;
    NluResult { text: text.to_string(), lang, intent, confidence, slots, entities: entities(&chars, &times, &rules) }
}

/// Blends the model's intent probabilities with the rule guess.
fn decide_intent(rules: &RuleFindings, model: Option<&ModelOutput>) -> (Intent, f32) {
    let guess = &rules.intent;
    let Some(model) = model.filter(|m| m.intent_probs.len() == Intent::ALL.len()) else {
        return (guess.intent, guess.score.clamp(0.0, 1.0));
    };
    let others = (1.0 - guess.score.clamp(0.0, 1.0)) / (Intent::ALL.len() - 1) as f32;
    let blended = Intent::ALL.iter().map(|&intent| {
        let rule_p = if intent == guess.intent { guess.score.clamp(0.0, 1.0) } else { others };
        (intent, MODEL_WEIGHT * model.intent_probs[intent.index()] + (1.0 - MODEL_WEIGHT) * rule_p)
    });
    blended.fold((Intent::Other, f32::MIN), |best, next| if next.1 > best.1 { next } else { best })
}

/// The text of the first model span of `kind`.
fn model_text(chars: &[char], spans: &[SlotSpan], kind: SlotKind) -> Option<String> {
    spans.iter().find(|s| s.kind == kind).map(|s| span_text(chars, s.start, s.end)).filter(|t| !t.trim().is_empty())
}

fn model_service(chars: &[char], spans: &[SlotSpan], lexicon: &Lexicon) -> Option<Service> {
    spans.iter().filter(|s| s.kind == SlotKind::Service).find_map(|s| {
        match lexicon.lookup(&span_text(chars, s.start, s.end)) {
            Some(LexLabel::Service(service)) => Some(service),
            _ => None,
        }
    })
}

fn model_rooms(chars: &[char], spans: &[SlotSpan], lexicon: &Lexicon) -> Vec<Room> {
    let mut rooms = Vec::new();
    for span in spans.iter().filter(|s| s.kind == SlotKind::Room) {
        if let Some(LexLabel::Room(room)) = lexicon.lookup(&span_text(chars, span.start, span.end)) {
            if !rooms.contains(&room) {
                rooms.push(room);
            }
        }
    }
    rooms
}

fn span_text(chars: &[char], start: usize, end: usize) -> String {
    chars.get(start..end.min(chars.len())).map(|c| c.iter().collect()).unwrap_or_default()
}

/// Sets start/end/date/duration from the time entities.
fn fill_time(slots: &mut Slots, times: &[TimeEntity], intent: Intent, reference: DateTime<FixedOffset>) {
    let offset = *reference.offset();
    let now = reference.naive_local();
    let points: Vec<DomainTime> = times
        .iter()
        .filter(|t| bookable(t, intent, now))
        .map(|t| with_first_occurrence(&t.domain, now))
        .filter(|d| d.start.is_some() || d.date.is_some())
        .collect();
    let chosen = if intent == Intent::RescheduleOrder { points.last() } else { points.first() };
    if let Some(d) = chosen {
        slots.start = d.start.and_then(|t| rfc3339(t, offset));
        slots.end = d.end.and_then(|t| rfc3339(t, offset));
        slots.date = if d.start.is_none() { d.date.map(|d| d.format("%Y-%m-%d").to_string()) } else { None };
        slots.duration_minutes = d.duration_minutes;
    }
    if slots.duration_minutes.is_none() {
        slots.duration_minutes = times.iter().find_map(|t| t.domain.duration_minutes);
    }
}

/// Whether a time entity can fill the time slots: "now" (现在) only when
/// booking (现在付款 is no appointment), and nothing more than two years from
/// now (a bare number read as a year, 1200 Century Avenue).
fn bookable(t: &TimeEntity, intent: Intent, now: NaiveDateTime) -> bool {
    let present = t.values.iter().any(|v| v.get("timex").and_then(|x| x.as_str()) == Some("PRESENT_REF"));
    if present && intent != Intent::BookService {
        return false;
    }
    let day = t.domain.start.map(|s| s.date()).or(t.domain.date);
    day.is_none_or(|d| (d - now.date()).num_days().abs() <= MAX_DAYS_AWAY)
}

/// How far from today a time may be and still be meant for an order.
const MAX_DAYS_AWAY: i64 = 2 * 366;

/// A weekly recurring time (`XXXX-WXX-6TMO`, 每周六上午) also gets its first
/// occurrence on or after `now` as start (or date), so a booking can begin.
fn with_first_occurrence(domain: &DomainTime, now: NaiveDateTime) -> DomainTime {
    let mut d = domain.clone();
    if d.start.is_some() || d.date.is_some() {
        return d;
    }
    let Some((weekday, time)) = d.recurring.as_deref().and_then(weekly) else { return d };
    let today = now.date();
    let ahead = (7 + weekday - today.weekday().number_from_monday()) % 7;
    let mut day = today + chrono::Duration::days(i64::from(ahead));
    match time {
        Some(t) => {
            if day.and_time(t) <= now {
                day += chrono::Duration::days(7);
            }
            d.start = Some(day.and_time(t));
        }
        None => d.date = Some(day),
    }
    d
}

/// Weekday (1 = Monday) and time of day of a weekly timex: `XXXX-WXX-6`, `-6TMO`, `-6T10`, `-6T10:30`.
fn weekly(timex: &str) -> Option<(u32, Option<NaiveTime>)> {
    let rest = timex.strip_prefix("XXXX-WXX-")?;
    let (day, time) = match rest.split_once('T') {
        Some((day, time)) => (day, Some(time)),
        None => (rest, None),
    };
    let weekday: u32 = day.parse().ok().filter(|d| (1..=7).contains(d))?;
    let time = match time {
        None => None,
        Some("MO") => NaiveTime::from_hms_opt(9, 0, 0),
        Some("MI") => NaiveTime::from_hms_opt(12, 0, 0),
        Some("AF") => NaiveTime::from_hms_opt(14, 0, 0),
        Some("EV") | Some("NI") => NaiveTime::from_hms_opt(19, 0, 0),
        Some(clock) => {
            let (h, m) = clock.split_once(':').unwrap_or((clock, "0"));
            NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
        }
    };
    Some((weekday, time))
}

/// `2026-03-06T10:00:00+08:00`.
fn rfc3339(local: NaiveDateTime, offset: FixedOffset) -> Option<String> {
    offset.from_local_datetime(&local).single().map(|t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

/// The spans behind the slots, in order of position (end exclusive).
fn entities(chars: &[char], times: &[TimeEntity], rules: &RuleFindings) -> Vec<NluEntity> {
    let mut out: Vec<NluEntity> = times
        .iter()
        .map(|t| NluEntity { kind: "time".into(), text: t.text.clone(), start: t.start, end: t.end + 1 })
        .collect();
    out.extend(rules.spans().into_iter().map(|s| NluEntity {
        kind: s.kind.as_str().to_string(),
        text: span_text(chars, s.start, s.end),
        start: s.start,
        end: s.end,
    }));
    out.sort_by_key(|e| (e.start, e.end));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).expect("test reference")
    }

    fn parse(text: &str) -> NluResult {
        understand(text, None, at("2026-03-05T09:00:00+08:00"), &Lexicon::builtin(), None)
    }

    #[test]
    fn books_a_kitchen_cleaning_with_a_time() {
        let r = parse("明天上午10点来打扫厨房");
        assert_eq!(r.lang, Lang::Zh);
        assert_eq!(r.intent, Intent::BookService);
        assert_eq!(r.slots.service, Some(Service::Cleaning));
        assert_eq!(r.slots.rooms, vec![Room::Kitchen]);
        assert_eq!(r.slots.start.as_deref(), Some("2026-03-06T10:00:00+08:00"));
        assert_eq!(r.slots.date, None);
        let time = r.entities.iter().find(|e| e.kind == "time").expect("time entity");
        assert_eq!((time.text.as_str(), time.start, time.end), ("明天上午10点", 0, 7));
    }

    #[test]
    fn cleaning_without_a_room_is_the_whole_home_and_a_bare_date_is_a_date() {
        let r = parse("后天来做个保洁");
        assert_eq!(r.intent, Intent::BookService);
        assert_eq!(r.slots.rooms, vec![Room::WholeHome]);
        assert_eq!(r.slots.start, None);
        assert_eq!(r.slots.date.as_deref(), Some("2026-03-07"));
    }

    #[test]
    fn english_booking() {
        let r = parse("clean my kitchen tomorrow at 3pm");
        assert_eq!(r.lang, Lang::En);
        assert_eq!(r.intent, Intent::BookService);
        assert_eq!(r.slots.service, Some(Service::Cleaning));
        assert_eq!(r.slots.rooms, vec![Room::Kitchen]);
        assert_eq!(r.slots.start.as_deref(), Some("2026-03-06T15:00:00+08:00"));
    }

    #[test]
    fn order_ids_and_ratings() {
        let r = parse("取消订单#A1023");
        assert_eq!(r.intent, Intent::CancelOrder);
        assert_eq!(r.slots.order_id.as_deref(), Some("A1023"));
        let r = parse("给阿姨打个满分");
        assert_eq!(r.intent, Intent::RateOrder);
        assert_eq!(r.slots.rating, Some(5));
        assert_eq!(r.slots.service, None, "阿姨 names no service");
    }

    #[test]
    fn a_confident_model_decides_the_intent_and_fills_what_rules_missed() {
        let mut probs = vec![0.0; Intent::ALL.len()];
        probs[Intent::QueryOrder.index()] = 0.95;
        let model = ModelOutput {
            intent: Intent::QueryOrder,
            confidence: 0.95,
            intent_probs: probs,
            spans: vec![SlotSpan { kind: SlotKind::Worker, start: 0, end: 3 }],
        };
        let r =
            understand("小张师傅今天几点到", None, at("2026-03-05T09:00:00+08:00"), &Lexicon::builtin(), Some(&model));
        assert_eq!(r.intent, Intent::QueryOrder);
        assert!(r.confidence > 0.5);
        assert!(r.slots.worker.is_some());
    }

    #[test]
    fn a_weekly_booking_starts_at_its_first_occurrence() {
        let r = parse("每周六上午帮我打扫卫生间");
        assert_eq!(r.slots.start.as_deref(), Some("2026-03-07T09:00:00+08:00"));
        let r = parse("clean the kitchen every Thursday at 8am");
        assert_eq!(r.slots.start.as_deref(), Some("2026-03-12T08:00:00+08:00"), "today's 8am has passed");
    }

    #[test]
    fn now_is_a_time_only_for_bookings_and_far_years_are_no_time() {
        assert_eq!(parse("保洁的钱我现在付一下").slots.start, None);
        let r = parse("my address is 1200 Century Avenue");
        assert_eq!((r.slots.date, r.slots.start), (None, None));
    }

    #[test]
    fn reschedule_takes_the_last_time() {
        let r = parse("把明天的保洁改到后天下午3点");
        assert_eq!(r.intent, Intent::RescheduleOrder);
        assert_eq!(r.slots.start.as_deref(), Some("2026-03-07T15:00:00+08:00"));
    }
}
