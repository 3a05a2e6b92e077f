//! The dialogue policy: from what was understood in one turn and what the
//! conversation holds so far, decide what to ask, what to do and what to say.
//!
//! Pure: the chat service (actors) loads the [`DialogueState`], calls
//! [`decide`], performs the [`Action`] it may return against the engine, then
//! calls [`after`] with the outcome, and stores the state again. The state is
//! plain data (serde) so it can live in Redis between turns.
//!
//! The rules, as a customer sees them:
//! - a booking asks for exactly what is missing, one question at a time
//!   (service, then time, then address when the profile has none), sums up,
//!   and is placed only after an explicit confirmation;
//! - a later turn replaces only what it names (`不对，改成后天` moves the date
//!   and keeps the hour; "actually make it 3pm" moves the hour and keeps the day);
//! - cancel / reschedule / change worker / pay / rate / query act on the order
//!   named, else the order this conversation last touched, else the only one
//!   that fits, and ask which one when several fit;
//! - small talk gets a polite answer and repeats the pending question.

pub mod reply;

#[cfg(test)]
mod tests;

use autoglm_core::catalog::{Room, Service};
use autoglm_core::policy::Policies;
use autoglm_core::state::{OrderEvent, OrderState};
use autoglm_core::{DomainError, Order};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike};
use serde::{Deserialize, Serialize};

use crate::time::{self, TimeKind};
use crate::{Intent, Lang, NluResult};
use reply::BadTime;

/// Settings of the dialogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialogueConfig {
    /// Hour a bare 上午 / "morning" stands for.
    pub morning_hour: u32,
    /// Hour a bare 下午 / "afternoon" stands for.
    pub afternoon_hour: u32,
    /// Hour a bare 晚上 / "evening" stands for.
    pub evening_hour: u32,
}

impl Default for DialogueConfig {
    fn default() -> Self {
        Self { morning_hour: 9, afternoon_hour: 14, evening_hour: 19 }
    }
}

impl DialogueConfig {
    /// Checks the hours are hours of their part of the day.
    pub fn validate(&self) -> Result<(), String> {
        let check = |name: &str, h: u32, range: std::ops::RangeInclusive<u32>| {
            if range.contains(&h) {
                Ok(())
            } else {
                Err(format!("{name} must be within {}..={}, got {h}", range.start(), range.end()))
            }
        };
        check("morning_hour", self.morning_hour, 5..=11)?;
        check("afternoon_hour", self.afternoon_hour, 12..=17)?;
        check("evening_hour", self.evening_hour, 17..=22)
    }
}

/// What a conversation remembers between turns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DialogueState {
    /// The language the customer writes in.
    pub lang: Option<Lang>,
    /// A booking being put together.
    pub booking: Option<Booking>,
    /// An order action waiting for something (which order, a new time, a rating).
    pub pending: Option<Pending>,
    /// The order this conversation placed or acted on last.
    pub last_order: Option<String>,
    /// Turns so far.
    pub turns: u32,
}

/// A booking in progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    /// What is known so far.
    pub draft: Draft,
    /// The last question asked.
    pub asked: Option<Missing>,
    /// Whether the summary was shown and a yes is awaited.
    pub confirming: bool,
}

/// The slots of a booking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// Service.
    pub service: Option<Service>,
    /// Rooms (cleaning).
    pub rooms: Vec<Room>,
    /// Day.
    pub date: Option<NaiveDate>,
    /// Time of day.
    pub time: Option<NaiveTime>,
    /// Length asked for.
    pub duration_minutes: Option<u32>,
    /// Address text, when the customer gave one in the chat.
    pub address: Option<String>,
}

impl Draft {
    /// The start, when both day and time of day are known.
    pub fn start(&self) -> Option<NaiveDateTime> {
        Some(self.date?.and_time(self.time?))
    }
}

/// Something the dialogue still needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Which service.
    Service,
    /// When (day and time of day).
    Time,
    /// Where.
    Address,
    /// Which order.
    Order,
    /// How many stars.
    Rating,
    /// The new time of a reschedule.
    NewTime,
}

/// An order action the customer asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Cancel the order.
    Cancel,
    /// Move it.
    Reschedule,
    /// Another worker.
    ChangeWorker,
    /// How is it going.
    Query,
    /// Pay for it.
    Pay,
    /// Rate it.
    Rate,
}

impl ActionKind {
    fn from_intent(intent: Intent) -> Option<ActionKind> {
        Some(match intent {
            Intent::CancelOrder => ActionKind::Cancel,
            Intent::RescheduleOrder => ActionKind::Reschedule,
            Intent::ChangeWorker => ActionKind::ChangeWorker,
            Intent::QueryOrder => ActionKind::Query,
            Intent::PayOrder => ActionKind::Pay,
            Intent::RateOrder => ActionKind::Rate,
            _ => return None,
        })
    }

    /// Whether this action can apply to `order` now: the order state machine of `core` decides.
    fn fits(self, order: &Order) -> bool {
        let event = match self {
            ActionKind::Query => return true,
            ActionKind::Cancel => OrderEvent::Cancel,
            ActionKind::Reschedule => OrderEvent::Reschedule,
            ActionKind::ChangeWorker => OrderEvent::Reassign,
            ActionKind::Pay => OrderEvent::Pay,
            ActionKind::Rate if order.rating.is_some() => return false,
            ActionKind::Rate => OrderEvent::Rate,
        };
        order.state.apply(event).is_ok()
    }
}

/// An order action waiting for more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// What to do.
    pub kind: ActionKind,
    /// The order, once known.
    pub order_id: Option<String>,
    /// Orders offered to choose from, in the order shown.
    pub choices: Vec<String>,
    /// The new start (reschedule), once known.
    pub start: Option<DateTime<FixedOffset>>,
    /// Stars (rate), once known.
    pub rating: Option<u8>,
}

/// What the policy knows about the customer and the clock for one turn.
#[derive(Debug, Clone, Copy)]
pub struct Turn<'a> {
    /// What the NLU understood.
    pub nlu: &'a NluResult,
    /// Now, in the customer's time zone.
    pub now: DateTime<FixedOffset>,
    /// The address on the customer's profile, if any.
    pub profile_address: Option<&'a str>,
    /// The customer's recent orders, newest first.
    pub orders: &'a [Order],
    /// Booking rules (lead time, horizon, durations, prices).
    pub policies: &'a Policies,
}

/// A booking ready to be placed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBooking {
    /// Service.
    pub service: Service,
    /// Rooms (empty for services without rooms).
    pub rooms: Vec<Room>,
    /// Start.
    pub start: DateTime<FixedOffset>,
    /// Duration asked for (the service default when `None`).
    pub duration_minutes: Option<u32>,
    /// Address text.
    pub address: String,
}

/// What the chat service should do for the customer.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Place the booking.
    Place(NewBooking),
    /// Act on an existing order.
    Order {
        /// What.
        kind: ActionKind,
        /// Which order.
        order_id: String,
        /// New start (reschedule).
        start: Option<DateTime<FixedOffset>>,
        /// Stars (rate).
        rating: Option<u8>,
    },
}

impl Action {
    fn kind(&self) -> Option<ActionKind> {
        match self {
            Action::Place(_) => None,
            Action::Order { kind, .. } => Some(*kind),
        }
    }
}

/// What the customer should expect to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// A missing slot.
    Slot,
    /// Yes or no to a summary.
    Confirmation,
    /// One of the offered orders.
    Choice,
}

/// What to say.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    /// The text.
    pub text: String,
    /// Everything still missing, most urgent first.
    pub missing: Vec<Missing>,
    /// What kind of answer is expected, if any.
    pub expect: Option<Expect>,
    /// Orders to choose from.
    pub choices: Vec<String>,
    /// The order the reply is about.
    pub order_id: Option<String>,
}

/// The next step of a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Only answer.
    Reply(Reply),
    /// Do this, then call [`after`].
    Act(Action),
}

/// How an action went.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// Done; the order as it is now.
    Done(&'a Order),
    /// The engine said no (a rule, a state that does not allow it); the reason in the customer's words where possible.
    Refused(&'a str),
}

/// Decides the step for one turn.
pub fn decide(state: &DialogueState, turn: &Turn<'_>, cfg: &DialogueConfig) -> (DialogueState, Step) {
    let mut next = state.clone();
    next.turns = next.turns.saturating_add(1);
    let lang = turn_lang(state, turn.nlu);
    next.lang = Some(lang);
    let nlu = turn.nlu;
    let times = TimeInfo::read(nlu, turn.now, cfg);
    let action = ActionKind::from_intent(nlu.intent);

    // An order action waiting for its missing piece.
    if let Some(pending) = next.pending.take() {
        if nlu.intent == Intent::Deny && !times.any() && nlu.slots.order_id.is_none() {
            return reply_only(next, reply::action_dropped(lang));
        }
        let fresh_start = matches!(nlu.intent, Intent::BookService) || action.is_some_and(|k| k != pending.kind);
        if !fresh_start {
            if let Some(b) = next.booking.as_mut() {
                b.confirming = false;
            }
            return continue_action(next, pending, turn, &times, lang);
        }
    }

    if let Some(kind) = action {
        // In a booking, "reschedule" words and a bare "cancel" are about the draft.
        if let Some(booking) = next.booking.as_ref() {
            let names_order = nlu.slots.order_id.is_some();
            if kind == ActionKind::Reschedule && !names_order {
                return continue_booking(next, turn, &times, lang);
            }
            if kind == ActionKind::Cancel && !names_order && !booking_is_empty(booking) {
                next.booking = None;
                return reply_only(next, reply::booking_dropped(lang));
            }
        }
        // A yes after this turn is no longer a yes to the summary.
        if let Some(b) = next.booking.as_mut() {
            b.confirming = false;
        }
        let pending = Pending {
            kind,
            order_id: nlu.slots.order_id.clone(),
            choices: Vec::new(),
            start: None,
            rating: nlu.slots.rating.filter(|r| (1..=5).contains(r)),
        };
        return continue_action(next, pending, turn, &times, lang);
    }

    let has_booking_slots = nlu.slots.service.is_some() || !nlu.slots.rooms.is_empty() || times.any();
    match (nlu.intent, next.booking.is_some()) {
        (Intent::BookService, _) => {
            if next.booking.is_none() {
                next.booking = Some(Booking::default());
            }
            continue_booking(next, turn, &times, lang)
        }
        (_, true) => continue_booking(next, turn, &times, lang),
        (Intent::ProvideInfo, false) if has_booking_slots && nlu.slots.service.is_some() => {
            next.booking = Some(Booking::default());
            continue_booking(next, turn, &times, lang)
        }
        _ => reply_only(next, reply::small_talk(lang, None)),
    }
}

/// Records how the action went and says so.
pub fn after(state: &DialogueState, action: &Action, outcome: Outcome<'_>) -> (DialogueState, Reply) {
    let mut next = state.clone();
    let lang = state.lang.unwrap_or(Lang::Zh);
    match outcome {
        Outcome::Refused(reason) => {
            if let Action::Place(_) = action {
                // Keep the draft: the customer may change what was refused.
                if let Some(b) = next.booking.as_mut() {
                    b.confirming = false;
                }
            }
            let text = reply::refused(action.kind(), reason, lang);
            (next, Reply { text, ..Reply::default() })
        }
        Outcome::Done(order) => {
            next.last_order = Some(order.id.to_string());
            let text = match action {
                Action::Place(_) => {
                    let draft = next.booking.take().map(|b| b.draft).unwrap_or_default();
                    if order.state == OrderState::Unassignable {
                        // Nobody free: keep what we know and ask for another time.
                        next.booking = Some(Booking {
                            draft: Draft { time: None, ..draft },
                            asked: Some(Missing::Time),
                            confirming: false,
                        });
                    }
                    reply::placed(order, lang)
                }
                Action::Order { kind, .. } => reply::done(*kind, order, lang),
            };
            let mut reply = Reply { text, order_id: Some(order.id.to_string()), ..Reply::default() };
            if next.booking.is_some() {
                reply.missing = vec![Missing::Time];
                reply.expect = Some(Expect::Slot);
            }
            (next, reply)
        }
    }
}

fn reply_only(state: DialogueState, text: String) -> (DialogueState, Step) {
    (state, Step::Reply(Reply { text, ..Reply::default() }))
}

fn booking_is_empty(b: &Booking) -> bool {
    b.draft == Draft::default()
}

/// The language of this turn: Chinese text is Chinese; a short Latin answer
/// ("ok", "3pm") keeps the conversation's language.
fn turn_lang(state: &DialogueState, nlu: &NluResult) -> Lang {
    if nlu.lang == Lang::Zh {
        return Lang::Zh;
    }
    let words = nlu.text.split_whitespace().count();
    match state.lang {
        Some(lang) if words <= 2 && !nlu.text.chars().any(|c| c.is_ascii_alphabetic() && nlu.text.len() > 12) => lang,
        _ => nlu.lang,
    }
}

// ----- time ------------------------------------------------------------------

/// The times one turn mentions.
#[derive(Debug, Clone, Copy, Default)]
struct TimeInfo {
    /// A start with a time of day.
    start: Option<NaiveDateTime>,
    /// Whether the text named the day (not only a time of day).
    day_named: bool,
    /// A day without a time of day.
    date: Option<NaiveDate>,
    /// A length.
    duration: Option<u32>,
}

impl TimeInfo {
    fn read(nlu: &NluResult, now: DateTime<FixedOffset>, cfg: &DialogueConfig) -> TimeInfo {
        let start =
            nlu.slots.start.as_deref().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.naive_local());
        let date = nlu.slots.date.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        if start.is_none() && date.is_none() {
            return TimeInfo { duration: nlu.slots.duration_minutes, ..TimeInfo::default() };
        }
        let entities = time::parse(&nlu.text, nlu.lang, now.naive_local());
        let day_named = entities.is_empty()
            || entities.iter().any(|e| {
                matches!(e.kind, TimeKind::Date | TimeKind::DateTime | TimeKind::DateRange | TimeKind::DateTimeRange)
            });
        let start = start.map(|s| part_of_day_hour(s, &entities, cfg));
        TimeInfo { start, day_named, date, duration: nlu.slots.duration_minutes }
    }

    fn any(&self) -> bool {
        self.start.is_some() || self.date.is_some() || self.duration.is_some()
    }

    /// This turn's time laid over a known day and time of day: a day alone
    /// keeps the hour, an hour alone keeps the day.
    fn over(&self, date: Option<NaiveDate>, time: Option<NaiveTime>) -> (Option<NaiveDate>, Option<NaiveTime>) {
        match (self.start, self.date) {
            (Some(s), _) if self.day_named || date.is_none() => (Some(s.date()), Some(s.time())),
            (Some(s), _) => (date, Some(s.time())),
            (None, Some(d)) => (Some(d), time),
            (None, None) => (date, time),
        }
    }
}

/// A part of day without an hour (上午, "afternoon") takes the configured hour
/// instead of the parser's built-in one.
fn part_of_day_hour(start: NaiveDateTime, entities: &[time::TimeEntity], cfg: &DialogueConfig) -> NaiveDateTime {
    const BUILT_IN: [(&str, u32); 4] = [("TMO", 9), ("TAF", 14), ("TEV", 19), ("TNI", 19)];
    if start.minute() != 0 {
        return start;
    }
    for e in entities {
        for v in &e.values {
            let Some(timex) = v.get("timex").and_then(|t| t.as_str()) else { continue };
            for (suffix, hour) in BUILT_IN {
                if timex.ends_with(suffix) && start.hour() == hour {
                    let wanted = match suffix {
                        "TMO" => cfg.morning_hour,
                        "TAF" => cfg.afternoon_hour,
                        _ => cfg.evening_hour,
                    };
                    return start.date().and_hms_opt(wanted, 0, 0).unwrap_or(start);
                }
            }
        }
    }
    start
}

/// Whether `at` can be booked now; why not otherwise.
fn check_start(at: NaiveDateTime, turn: &Turn<'_>) -> Result<DateTime<FixedOffset>, BadTime> {
    let offset = *turn.now.offset();
    let start = offset.from_local_datetime(&at).single().ok_or(BadTime::Past)?;
    match turn.policies.check_start(&start, &turn.now) {
        Ok(()) => Ok(start),
        Err(DomainError::TooFarAhead(_)) => Err(BadTime::TooFar(turn.policies.booking_horizon_days)),
        Err(_) if start > turn.now => Err(BadTime::TooSoon(turn.policies.min_lead_minutes)),
        Err(_) => Err(BadTime::Past),
    }
}

// ----- booking ---------------------------------------------------------------

fn continue_booking(mut next: DialogueState, turn: &Turn<'_>, times: &TimeInfo, lang: Lang) -> (DialogueState, Step) {
    let nlu = turn.nlu;
    let mut booking = next.booking.take().unwrap_or_default();
    // An answer to "where?" is the address, whatever else the NLU made of it:
    // the `1号` of `人民广场1号` is a house number here, not the 1st of the month.
    let address_answer = (booking.asked == Some(Missing::Address)
        && nlu.slots.service.is_none()
        && matches!(nlu.intent, Intent::ProvideInfo | Intent::Other))
    .then(|| nlu.slots.address.clone().unwrap_or_else(|| nlu.text.trim().to_string()))
    .filter(|a| (2..=120).contains(&a.chars().count()))
    .filter(|a| nlu.entities.iter().filter(|e| e.kind == "time").all(|e| a.contains(&e.text)));
    let no_time = TimeInfo::default();
    let times = if address_answer.is_some() { &no_time } else { times };
    let mut named_something = merge_slots(&mut booking, nlu, times);
    if let Some(address) = address_answer {
        booking.draft.address = Some(address);
        named_something = true;
    }
    let mut notes = Vec::new();

    if !named_something {
        match nlu.intent {
            Intent::Deny => {
                next.booking = None;
                return reply_only(next, reply::booking_dropped(lang));
            }
            Intent::Other if is_change_request(&nlu.text) => {
                booking.confirming = false;
                next.booking = Some(booking);
                return (next, Step::Reply(Reply { text: reply::what_to_change(lang), ..Reply::default() }));
            }
            _ => {}
        }
    }

    // Check the time as soon as it is complete.
    if let Some(at) = booking.draft.start() {
        if let Err(why) = check_start(at, turn) {
            booking.draft.time = None;
            booking.confirming = false;
            notes.push(reply::bad_time(why, lang));
        }
    }
    if let (Some(service), Some(minutes)) = (booking.draft.service, booking.draft.duration_minutes) {
        if turn.policies.duration(service, Some(minutes)).is_err() {
            let p = turn.policies.service(service);
            booking.draft.duration_minutes = None;
            notes.push(reply::bad_duration(p.min_minutes, p.max_minutes, lang));
        }
    }
    if booking.draft.service.is_some_and(Service::defaults_to_whole_home) && booking.draft.rooms.is_empty() {
        booking.draft.rooms.push(Room::WholeHome);
    }
    if booking.draft.address.is_none() {
        booking.draft.address = turn.profile_address.map(str::to_string);
    }

    let missing = missing_slots(&booking.draft);
    if let Some(&first) = missing.first() {
        let asked_again = booking.asked == Some(first) && !named_something && notes.is_empty();
        let question = reply::ask(first, &booking.draft, lang);
        notes.push(if asked_again && nlu.intent == Intent::Other {
            reply::small_talk(lang, Some(question))
        } else {
            question
        });
        booking.asked = Some(first);
        booking.confirming = false;
        next.booking = Some(booking);
        let text = notes.join("");
        return (next, Step::Reply(Reply { text, missing, expect: Some(Expect::Slot), ..Reply::default() }));
    }

    // Everything is known: place on a yes to the summary, else show the summary.
    let (Some(service), Some(at), Some(address)) =
        (booking.draft.service, booking.draft.start(), booking.draft.address.clone())
    else {
        // missing_slots() said nothing is missing; keep the state as it is.
        next.booking = Some(booking);
        return reply_only(next, reply::small_talk(lang, None));
    };
    let start = match check_start(at, turn) {
        Ok(start) => start,
        Err(why) => {
            next.booking = Some(booking);
            return reply_only(next, reply::bad_time(why, lang));
        }
    };
    if booking.confirming && nlu.intent == Intent::Confirm && !named_something {
        let rooms = if service.takes_rooms() { booking.draft.rooms.clone() } else { Vec::new() };
        let place = NewBooking { service, rooms, start, duration_minutes: booking.draft.duration_minutes, address };
        next.booking = Some(booking);
        return (next, Step::Act(Action::Place(place)));
    }
    let minutes = turn
        .policies
        .duration(service, booking.draft.duration_minutes)
        .unwrap_or_else(|_| turn.policies.service(service).default_minutes);
    let price = turn.policies.quote(service, minutes);
    notes.push(reply::summary(&booking.draft, at, minutes, price, lang));
    booking.confirming = true;
    booking.asked = None;
    next.booking = Some(booking);
    let text = notes.join("");
    (next, Step::Reply(Reply { text, expect: Some(Expect::Confirmation), ..Reply::default() }))
}

/// Lays this turn's slots over the draft; whether the turn named anything.
fn merge_slots(booking: &mut Booking, nlu: &NluResult, times: &TimeInfo) -> bool {
    let draft = &mut booking.draft;
    let slots = &nlu.slots;
    let mut named = false;
    if let Some(service) = slots.service {
        if draft.service != Some(service) {
            // Rooms of another service do not carry over (whole_home was a default).
            draft.rooms.retain(|r| *r != Room::WholeHome);
        }
        draft.service = Some(service);
        named = true;
    }
    let rooms: Vec<Room> = slots
        .rooms
        .iter()
        .copied()
        .filter(|r| {
            *r != Room::WholeHome
                || slots.service.is_none()
                || nlu.text.contains("全屋")
                || nlu.text.to_lowercase().contains("whole")
        })
        .collect();
    if !rooms.is_empty() {
        draft.rooms = rooms;
        named = true;
    }
    if times.start.is_some() || times.date.is_some() {
        let (date, time) = times.over(draft.date, draft.time);
        draft.date = date;
        draft.time = time;
        named = true;
    }
    if let Some(minutes) = times.duration {
        draft.duration_minutes = Some(minutes);
        named = true;
    }
    if let Some(address) = slots.address.as_ref().filter(|a| !a.trim().is_empty()) {
        draft.address = Some(address.trim().to_string());
        named = true;
    }
    named
}

fn missing_slots(draft: &Draft) -> Vec<Missing> {
    let mut missing = Vec::new();
    if draft.service.is_none() {
        missing.push(Missing::Service);
    }
    if draft.start().is_none() {
        missing.push(Missing::Time);
    }
    if draft.address.is_none() {
        missing.push(Missing::Address);
    }
    missing
}

fn is_change_request(text: &str) -> bool {
    let t = text.trim().to_lowercase();
    ["修改", "改一下", "改改", "change", "edit", "modify"].iter().any(|w| t == *w || t.starts_with(w) && t.len() <= 12)
}

// ----- order actions ---------------------------------------------------------

fn continue_action(
    mut next: DialogueState,
    mut pending: Pending,
    turn: &Turn<'_>,
    times: &TimeInfo,
    lang: Lang,
) -> (DialogueState, Step) {
    let nlu = turn.nlu;
    // Fill what this turn brings.
    if pending.order_id.is_none() {
        pending.order_id = nlu.slots.order_id.clone().or_else(|| pick_choice(&nlu.text, &pending.choices));
    }
    if pending.rating.is_none() {
        pending.rating = nlu.slots.rating.filter(|r| (1..=5).contains(r));
    }

    // Which order.
    let order_id = match pending.order_id.clone() {
        Some(id) => id,
        None => {
            let fits: Vec<&Order> = turn.orders.iter().filter(|o| pending.kind.fits(o)).collect();
            let last = next.last_order.as_deref().and_then(|id| fits.iter().find(|o| o.id.as_str() == id));
            match (last, fits.as_slice()) {
                (Some(o), _) => o.id.to_string(),
                (None, []) => {
                    if pending.kind == ActionKind::Query {
                        if let Some(latest) = turn.orders.first() {
                            latest.id.to_string()
                        } else {
                            return reply_only(next, reply::no_order(pending.kind, lang));
                        }
                    } else {
                        return reply_only(next, reply::no_order(pending.kind, lang));
                    }
                }
                (None, [only]) => only.id.to_string(),
                (None, several) if pending.kind == ActionKind::Query => several[0].id.to_string(),
                (None, several) => {
                    let shown: Vec<&Order> = several.iter().take(5).copied().collect();
                    pending.choices = shown.iter().map(|o| o.id.to_string()).collect();
                    let reply = Reply {
                        text: reply::choose(&shown, lang),
                        missing: vec![Missing::Order],
                        expect: Some(Expect::Choice),
                        choices: pending.choices.clone(),
                        order_id: None,
                    };
                    next.pending = Some(pending);
                    return (next, Step::Reply(reply));
                }
            }
        }
    };
    pending.order_id = Some(order_id.clone());

    // What else the action needs.
    match pending.kind {
        ActionKind::Reschedule if pending.start.is_none() => {
            let order = turn.orders.iter().find(|o| o.id.as_str() == order_id);
            let known = order.map(|o| o.start.naive_local());
            if times.start.is_some() || times.date.is_some() {
                let (date, time) = times.over(known.map(|k| k.date()), known.map(|k| k.time()));
                if let (Some(date), Some(time)) = (date, time) {
                    match check_start(date.and_time(time), turn) {
                        Ok(start) => pending.start = Some(start),
                        Err(why) => {
                            let text = format!(
                                "{}{}",
                                reply::bad_time(why, lang),
                                reply::ask(Missing::NewTime, &Draft::default(), lang)
                            );
                            return ask_more(next, pending, Missing::NewTime, text);
                        }
                    }
                }
            }
            if pending.start.is_none() {
                let text = reply::ask(Missing::NewTime, &Draft::default(), lang);
                return ask_more(next, pending, Missing::NewTime, text);
            }
        }
        ActionKind::Rate if pending.rating.is_none() => {
            let text = reply::ask(Missing::Rating, &Draft::default(), lang);
            return ask_more(next, pending, Missing::Rating, text);
        }
        _ => {}
    }
    let action = Action::Order { kind: pending.kind, order_id, start: pending.start, rating: pending.rating };
    (next, Step::Act(action))
}

fn ask_more(mut next: DialogueState, pending: Pending, missing: Missing, text: String) -> (DialogueState, Step) {
    let order_id = pending.order_id.clone();
    next.pending = Some(pending);
    (
        next,
        Step::Reply(Reply { text, missing: vec![missing], expect: Some(Expect::Slot), order_id, ..Reply::default() }),
    )
}

/// "第二个", "2", "the second", "last" among the offered choices.
fn pick_choice(text: &str, choices: &[String]) -> Option<String> {
    if choices.is_empty() {
        return None;
    }
    let t = text.trim().to_lowercase();
    const WORDS: [(&str, usize); 10] = [
        ("第一", 1),
        ("第二", 2),
        ("第三", 3),
        ("第四", 4),
        ("第五", 5),
        ("first", 1),
        ("second", 2),
        ("third", 3),
        ("fourth", 4),
        ("fifth", 5),
    ];
    let n = if t.contains("最后") || t.contains("last") {
        Some(choices.len())
    } else {
        WORDS.iter().find(|(w, _)| t.contains(w)).map(|(_, n)| *n).or_else(|| {
            let digits: String = t.chars().filter(char::is_ascii_digit).collect();
            (!digits.is_empty() && digits.len() <= 2 && t.chars().count() <= 6).then(|| digits.parse().ok()).flatten()
        })
    }?;
    choices.get(n.checked_sub(1)?).cloned()
}
