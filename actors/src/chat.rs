//! The chat: one customer turn, from text to reply (DESIGN.md §2, "Chat → order").
//!
//! A turn takes the session's lock in the [`Sessions`] store (so two turns
//! of one conversation never interleave, even on two nodes), understands the
//! text (local NLU; the optional LLM for low-confidence turns, the local
//! result kept on any LLM failure), lets the pure dialogue policy
//! ([`autoglm_nlu::dialogue`]) decide, performs what it decided through the
//! same [`Engine`] calls as the structured API, and stores the state again.
//!
//! Sessions are keyed by customer and session id together: an id belongs to
//! the customer who holds it, and another customer sending it only starts a
//! conversation of their own.

use crate::engine::{Caller, Engine};
use crate::error::EngineError;
use crate::llm::LlmClient;
use crate::order_actor::Command;
use autoglm_core::{Address, CustomerId, DomainError, GeoPoint, Order, OrderId, OrderRequest};
use autoglm_nlu::dialogue::reply::{pick, state_name};
use autoglm_nlu::dialogue::{
    self, Action, ActionKind, DialogueConfig, DialogueState, Expect, Missing, Outcome, Step, Turn,
};
use autoglm_nlu::{Intent, Lang, NluResult, Slots};
use autoglm_storage::{SessionError, Sessions};
use chrono::{DateTime, FixedOffset};
use futures::future::BoxFuture;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Longest customer message accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// How many recent orders a turn looks at to find the one meant.
const RECENT_ORDERS: u64 = 20;

/// Understands one sentence: the node plugs its NLU service in here.
pub trait Understand: Send + Sync {
    /// The NLU result of `text` at `reference`.
    fn understand<'a>(
        &'a self,
        text: &'a str,
        reference: DateTime<FixedOffset>,
    ) -> BoxFuture<'a, Result<NluResult, ChatError>>;
}

/// Chat settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatConfig {
    /// Default hours of 上午 / 下午 / 晚上.
    pub dialogue: DialogueConfig,
    /// Where a free-text address is placed on the map until a geocoder is
    /// configured (dispatch measures travel from here).
    pub city_centre: GeoPoint,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self { dialogue: DialogueConfig::default(), city_centre: GeoPoint { lat: 31.2304, lon: 121.4737 } }
    }
}

/// One customer message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The conversation to continue; a new one when absent or expired.
    pub session_id: Option<String>,
    /// What the customer wrote.
    pub text: String,
    /// "Now" for this turn (tests, replays); the node's clock otherwise.
    pub reference_time: Option<DateTime<FixedOffset>>,
}

/// The answer to one message: text for people, fields for programs.
#[derive(Debug, Clone, Serialize)]
pub struct ChatReply {
    /// The conversation (send it back with the next message).
    pub session_id: String,
    /// What the assistant says.
    pub reply: String,
    /// Language of the conversation.
    pub lang: Lang,
    /// What this message was understood as.
    pub intent: Intent,
    /// Confidence of the intent, 0–1.
    pub confidence: f64,
    /// The booking so far while one is in progress, else this message's slots.
    pub slots: Slots,
    /// What is still needed, most urgent first.
    pub missing: Vec<Missing>,
    /// What kind of answer comes next (`slot`, `confirmation`, `choice`), if any.
    pub expect: Option<Expect>,
    /// The order this turn placed, changed or talked about.
    pub order: Option<Order>,
    /// Orders offered to choose from.
    pub choices: Vec<Order>,
    /// Whether the LLM plugin answered this turn.
    pub llm: bool,
}

/// Why a turn failed (nothing was changed).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChatError {
    /// The message itself is unusable.
    #[error("{0}")]
    BadRequest(String),
    /// Another turn of this conversation is still running.
    #[error("{0}")]
    Busy(String),
    /// Too much traffic; try again shortly.
    #[error("{0}")]
    Overloaded(String),
    /// A part the chat needs (session store, database) is down.
    #[error("{0}")]
    Unavailable(String),
}

impl From<SessionError> for ChatError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Busy(m) => ChatError::Busy(m),
            other => {
                tracing::warn!(error = %other, "session store failed");
                ChatError::Unavailable("the session store is not answering; please try again".into())
            }
        }
    }
}

/// What a session stores.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    dialogue: DialogueState,
}

/// The chat of one node; cheap to clone.
#[derive(Clone)]
pub struct ChatService {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    sessions: Sessions,
    nlu: Arc<dyn Understand>,
    llm: Option<LlmClient>,
    cfg: ChatConfig,
}

impl ChatService {
    /// A chat over `engine`, keeping conversations in `sessions`.
    pub fn new(
        engine: Engine,
        sessions: Sessions,
        nlu: Arc<dyn Understand>,
        llm: Option<LlmClient>,
        cfg: ChatConfig,
    ) -> Result<Self, String> {
        cfg.dialogue.validate()?;
        Ok(Self { inner: Arc::new(Inner { engine, sessions, nlu, llm, cfg }) })
    }

    /// The session store (its backend shows on `/readyz` and `/ops`).
    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    /// One customer message, answered.
    pub async fn turn(&self, customer: &CustomerId, req: ChatRequest) -> Result<ChatReply, ChatError> {
        let text = req.text.trim();
        if text.is_empty() {
            return Err(ChatError::BadRequest("text must not be empty".into()));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(ChatError::BadRequest(format!("text is longer than {MAX_TEXT_CHARS} characters")));
        }
        let session_id = match req.session_id {
            Some(id) => check_session_id(&id)?,
            None => new_session_id(),
        };
        let reply = self.turn_in(customer, session_id, text, req.reference_time).await;
        if reply.is_ok() {
            self.inner.engine.shared().metrics.chat_turn();
        }
        reply
    }

    /// The mini-program path: one running conversation per customer.
    pub async fn place(&self, customer: &CustomerId, text: &str) -> Result<ChatReply, ChatError> {
        let req =
            ChatRequest { session_id: Some(MINI_PROGRAM_SESSION.into()), text: text.into(), reference_time: None };
        self.turn(customer, req).await
    }

    async fn turn_in(
        &self,
        customer: &CustomerId,
        session_id: String,
        text: &str,
        reference: Option<DateTime<FixedOffset>>,
    ) -> Result<ChatReply, ChatError> {
        let inner = &self.inner;
        let now = reference.unwrap_or_else(|| inner.engine.clock().now());
        // Understand before taking the lock: it is the slow part and needs no state.
        let (nlu, llm_used) = self.understand(text, now).await?;

        let turn = inner.sessions.begin(&session_key(customer, &session_id)).await?;
        let record: Record = match turn.state() {
            Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
                tracing::warn!(error = %e, session = %session_id, "unreadable session state; starting over");
                Record::default()
            }),
            None => Record::default(),
        };
        let state = record.dialogue;
        let caller = Caller::customer(customer.as_str());

        let needs_orders = state.pending.is_some() || nlu.slots.order_id.is_some() || action_intent(nlu.intent);
        let orders = if needs_orders { self.recent_orders(&caller).await? } else { Vec::new() };
        let profile = inner.engine.prefs(customer).await;
        let policies = &inner.engine.shared().cfg.policy;
        let view = Turn {
            nlu: &nlu,
            now,
            profile_address: profile.address.as_ref().map(|a| a.text.as_str()),
            orders: &orders,
            policies,
        };
        let (state, step) = dialogue::decide(&state, &view, &inner.cfg.dialogue);
        let lang = state.lang.unwrap_or(nlu.lang);

        let (state, reply, order) = match step {
            Step::Reply(reply) => (state, reply, None),
            Step::Act(action) => {
                let key = format!("chat-{session_id}-{}", state.turns);
                match self.perform(&caller, customer, &action, profile.address.as_ref(), &key).await {
                    Ok(order) => {
                        let (state, reply) = dialogue::after(&state, &action, Outcome::Done(&order));
                        (state, reply, Some(order))
                    }
                    Err(Refusal::Said(reason)) => {
                        let why = reason_text(&reason, lang);
                        let (state, reply) = dialogue::after(&state, &action, Outcome::Refused(&why));
                        (state, reply, None)
                    }
                    Err(Refusal::Down(e)) => {
                        turn.abandon().await;
                        return Err(e);
                    }
                }
            }
        };

        let order = match (order, reply.order_id.as_deref()) {
            (Some(o), _) => Some(o),
            (None, Some(id)) => orders.iter().find(|o| o.id.as_str() == id).cloned(),
            (None, None) => None,
        };
        let choices: Vec<Order> =
            reply.choices.iter().filter_map(|id| orders.iter().find(|o| o.id.as_str() == id).cloned()).collect();
        let slots = match &state.booking {
            Some(b) => draft_slots(&b.draft, now),
            None => nlu.slots.clone(),
        };
        let json = serde_json::to_string(&Record { dialogue: state })
            .map_err(|e| ChatError::Unavailable(format!("session state does not serialize: {e}")))?;
        if let Err(e) = turn.commit(json).await {
            // The action (if any) is done; losing the conversation state is the lesser harm.
            tracing::error!(error = %e, session = %session_id, "session state not saved");
        }
        Ok(ChatReply {
            session_id,
            reply: reply.text,
            lang,
            intent: nlu.intent,
            confidence: nlu.confidence,
            slots,
            missing: reply.missing,
            expect: reply.expect,
            order,
            choices,
            llm: llm_used,
        })
    }

    /// The local NLU, and the LLM for turns it is unsure of.
    async fn understand(&self, text: &str, now: DateTime<FixedOffset>) -> Result<(NluResult, bool), ChatError> {
        let local = self.inner.nlu.understand(text, now).await?;
        let Some(llm) = self.inner.llm.as_ref().filter(|l| local.confidence < l.min_confidence()) else {
            return Ok((local, false));
        };
        match llm.refine(&local, now).await {
            Ok(better) => Ok((better, true)),
            Err(e) => {
                tracing::info!(error = %e, "LLM not used for this turn; keeping the local result");
                Ok((local, false))
            }
        }
    }

    async fn recent_orders(&self, caller: &Caller) -> Result<Vec<Order>, ChatError> {
        self.inner.engine.list_orders(caller, Vec::new(), RECENT_ORDERS, 0).await.map_err(|e| match e {
            EngineError::Overloaded(m) => ChatError::Overloaded(m),
            other => ChatError::Unavailable(other.to_string()),
        })
    }

    /// Does what the policy decided, through the engine.
    async fn perform(
        &self,
        caller: &Caller,
        customer: &CustomerId,
        action: &Action,
        profile: Option<&Address>,
        idempotency_key: &str,
    ) -> Result<Order, Refusal> {
        let engine = &self.inner.engine;
        match action {
            Action::Place(b) => {
                let address = match profile.filter(|a| a.text == b.address) {
                    Some(a) => a.clone(),
                    None => {
                        let c = self.inner.cfg.city_centre;
                        let address = Address { text: b.address.clone(), lat: c.lat, lon: c.lon };
                        if profile.is_none() {
                            self.remember_address(customer, &address).await;
                        }
                        address
                    }
                };
                let req = OrderRequest {
                    service: b.service,
                    rooms: b.rooms.clone(),
                    start: b.start,
                    duration_minutes: b.duration_minutes,
                    address,
                    notes: None,
                };
                let (order, _) = engine.create_order(customer, req, Some(idempotency_key)).await?;
                Ok(order)
            }
            Action::Order { kind, order_id, start, rating } => {
                let id = OrderId::parse(order_id)
                    .map_err(|_| Refusal::Said(EngineError::NotFound("order", order_id.clone())))?;
                let command = match (kind, start, rating) {
                    (ActionKind::Query, ..) => return Ok(engine.get_order(caller, &id).await?),
                    (ActionKind::Pay, ..) => return Ok(engine.pay(caller, &id).await?.order),
                    (ActionKind::Cancel, ..) => Command::Cancel,
                    (ActionKind::Reschedule, Some(start), _) => Command::Reschedule { start: *start },
                    (ActionKind::ChangeWorker, ..) => Command::ChangeWorker { block: false },
                    (ActionKind::Rate, _, Some(stars)) => Command::Rate { stars: *stars },
                    _ => return Err(Refusal::Said(EngineError::BadRequest("incomplete request".into()))),
                };
                Ok(engine.command(caller, &id, command).await?)
            }
        }
    }

    async fn remember_address(&self, customer: &CustomerId, address: &Address) {
        let engine = &self.inner.engine;
        let mut prefs = (*engine.prefs(customer).await).clone();
        prefs.address = Some(address.clone());
        if let Err(e) = engine.set_prefs(customer, prefs).await {
            tracing::warn!(error = %e, "address not saved to the profile");
        }
    }
}

/// The mini program's conversation id (one per customer; keys are per customer).
const MINI_PROGRAM_SESSION: &str = "mini-program";

/// Why an action did not happen.
enum Refusal {
    /// The engine said no; tell the customer.
    Said(EngineError),
    /// Something is down; fail the turn.
    Down(ChatError),
}

impl From<EngineError> for Refusal {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Unavailable(m) => Refusal::Down(ChatError::Unavailable(m)),
            EngineError::Overloaded(m) => Refusal::Down(ChatError::Overloaded(m)),
            other => Refusal::Said(other),
        }
    }
}

/// The engine's refusal in the customer's language.
fn reason_text(e: &EngineError, lang: Lang) -> String {
    match e {
        EngineError::NotFound(_, id) => pick(lang, format!("找不到订单 {id}。"), format!("there is no order {id}.")),
        EngineError::Domain(DomainError::InvalidTransition { from, .. }) => pick(
            lang,
            format!("订单当前{}，不能这样操作。", state_name(*from, lang)),
            format!("the order is {}, which does not allow that.", state_name(*from, lang)),
        ),
        EngineError::Domain(DomainError::TooLate { hours, .. }) => pick(
            lang,
            format!("距离服务开始不足{hours}小时，无法在线操作，请联系客服。"),
            format!("it needs at least {hours} hours' notice; please call support."),
        ),
        EngineError::Domain(DomainError::TooManyReschedules(n)) => {
            pick(lang, format!("每个订单最多改期{n}次。"), format!("an order can be rescheduled at most {n} times."))
        }
        EngineError::Domain(DomainError::AlreadyRated) => {
            pick(lang, "这个订单已经评价过了。".into(), "that order was already rated.".into())
        }
        EngineError::Conflict(_) => pick(
            lang,
            "这个时间刚刚被占用了，请换一个时间。".into(),
            "that time was just taken; please pick another.".into(),
        ),
        other => pick(lang, format!("{other}。"), format!("{other}.")),
    }
}

fn action_intent(intent: Intent) -> bool {
    matches!(
        intent,
        Intent::CancelOrder
            | Intent::RescheduleOrder
            | Intent::ChangeWorker
            | Intent::QueryOrder
            | Intent::PayOrder
            | Intent::RateOrder
    )
}

/// The booking so far, in the NLU's slot shape.
fn draft_slots(d: &dialogue::Draft, now: DateTime<FixedOffset>) -> Slots {
    let start = d.start().and_then(|at| at.and_local_timezone(*now.offset()).single()).map(|t| t.to_rfc3339());
    Slots {
        service: d.service,
        rooms: d.rooms.clone(),
        date: if start.is_none() { d.date.map(|x| x.format("%Y-%m-%d").to_string()) } else { None },
        start,
        duration_minutes: d.duration_minutes,
        address: d.address.clone(),
        ..Slots::default()
    }
}

fn session_key(customer: &CustomerId, session_id: &str) -> String {
    format!("{}:{session_id}", customer.as_str())
}

fn new_session_id() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    format!("s-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn check_session_id(id: &str) -> Result<String, ChatError> {
    let ok = (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(id.to_string())
    } else {
        Err(ChatError::BadRequest("session_id must be 1 to 64 letters, digits, '-' or '_'".into()))
    }
}
