//! `OrderActor`: one per live order. It runs the contract net for its order,
//! applies every change through the state machine in `core`, commits it with
//! its audit event through the group-commit writer, and passivates when idle
//! or terminal (the database holds everything needed to rehydrate it).

use crate::negotiation::{self, Placement};
use crate::{EngineError, Shared};
use autoglm_core::order::{AssignedWorker, PaymentInfo};
use autoglm_core::payment::PaymentState;
use autoglm_core::slot::SlotRange;
use autoglm_core::{Order, OrderEvent, OrderId, OrderState, PaymentId, WorkerId};
use autoglm_storage::{Creation, IdempotencyRow, NewEvent, OrderChange, PaymentRow, WriteError};
use autoglm_supervisor::{Inbox, Inspect, Probe};
use chrono::{DateTime, FixedOffset};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

/// A customer's or worker's request about one order.
#[derive(Debug, Clone)]
pub enum Command {
    /// Cancel (fees per policy).
    Cancel,
    /// Move to another start time.
    Reschedule {
        /// The new start.
        start: DateTime<FixedOffset>,
    },
    /// Give the job to another worker; optionally never send this one again.
    ChangeWorker {
        /// Add the current worker to the customer's blocked list.
        block: bool,
    },
    /// Rate the finished job.
    Rate {
        /// 1 to 5.
        stars: u8,
    },
    /// The worker arrived.
    CheckIn {
        /// Who says so.
        worker: WorkerId,
    },
    /// The worker finished.
    Complete {
        /// Who says so.
        worker: WorkerId,
    },
    /// The worker cannot do it after all.
    Decline {
        /// Who says so.
        worker: WorkerId,
    },
}

/// Messages an order actor takes.
pub enum OrderMsg {
    /// Run the contract net (sent to itself when in `negotiating`).
    Negotiate,
    /// The order as it stands once negotiation settled.
    Get(RpcReplyPort<Order>),
    /// A command from a customer or worker.
    /// (The span is the caller's request: work done here is traced under it.)
    Command(Command, RpcReplyPort<Result<Order, EngineError>>, tracing::Span),
    /// The gateway says the payment arrived.
    Paid(PaymentId, RpcReplyPort<Result<Order, EngineError>>, tracing::Span),
    /// The payment window may have closed.
    PaymentExpired,
    /// Stop if nothing happened since `u64`.
    IdleCheck(u64),
    /// Fail on purpose (supervision drills and tests).
    Fail(String),
}

impl ractor::Message for OrderMsg {}

/// The actor behaviour.
pub struct OrderActor;

/// What a new order writes with its first change besides the order: it is
/// negotiated before anything is stored, and written once, when it settles
/// (assigned or unassignable), with its creation event.
#[derive(Debug, Clone)]
pub struct FirstWrite {
    /// The creation event.
    pub creation: Creation,
    /// The request's idempotency key (a duplicate fails the write).
    pub idempotency: Option<IdempotencyRow>,
}

/// A new order not stored yet, shared by its actor and the actor's child
/// spec: an incarnation restarted before the first write starts from it
/// again. Emptied once the order is stored.
pub type Unsaved = Arc<Mutex<Option<(Order, FirstWrite)>>>;

impl FirstWrite {
    /// `change` as the order's first write: an insert with the creation
    /// event and the idempotency key.
    fn apply(self, change: OrderChange) -> OrderChange {
        OrderChange { expected_version: None, created: Some(self.creation), idempotency: self.idempotency, ..change }
    }
}

/// How an order actor starts.
pub struct OrderArgs {
    /// The order id.
    pub id: OrderId,
    /// The order when just created; None loads it from the database.
    pub initial: Option<Order>,
    /// Its entry in the live registry (made by the supervisor).
    pub probe: Probe,
    /// Told the order once negotiation settles (the request that created
    /// it), or why a new order could not be stored; shared by the actor's
    /// incarnations, so a restarted one tells the request too.
    pub on_settled: Option<SettledSlot>,
    /// Set for a new order not stored yet.
    pub unsaved: Option<Unsaved>,
    /// The span of the request that created it: the first negotiation is
    /// traced under it (one trace from request to award).
    pub origin: Option<tracing::Span>,
    /// Engine resources.
    pub shared: Arc<Shared>,
}

/// Tries at finding out whether a new order whose write failed was stored.
const LOOKUPS: u32 = 3;
/// Pause between two of them.
const LOOKUP_PAUSE: Duration = Duration::from_millis(100);

/// Where the outcome of a new order's negotiation goes.
pub type Settled = tokio::sync::oneshot::Sender<Result<Order, EngineError>>;

/// The request waiting for a new order, until an incarnation of its actor
/// settles it.
pub type SettledSlot = Arc<Mutex<Option<Settled>>>;

/// A live order.
pub struct LiveOrder {
    order: Order,
    activity: u64,
    idle_timer: bool,
    rounds: u32,
    on_settled: Option<SettledSlot>,
    unsaved: Option<Unsaved>,
    origin: Option<tracing::Span>,
    probe: Probe,
    inbox: Inbox,
    shared: Arc<Shared>,
}

impl Inspect for LiveOrder {
    fn kind(&self) -> &'static str {
        "order"
    }

    fn snapshot_state(&self) -> String {
        self.order.state.as_str().into()
    }

    fn snapshot_fields(&self) -> serde_json::Value {
        json!({
            "service": self.order.service,
            "start": self.order.start,
            "worker": self.order.worker.as_ref().map(|w| &w.id),
            "customer": self.order.customer_id,
            "version": self.order.version,
            "negotiation_rounds": self.rounds,
        })
    }
}

impl Actor for OrderActor {
    type Msg = OrderMsg;
    type State = LiveOrder;
    type Arguments = OrderArgs;

    async fn pre_start(&self, myself: ActorRef<OrderMsg>, args: OrderArgs) -> Result<LiveOrder, ActorProcessingErr> {
        let shared = args.shared;
        let order = match args.initial {
            Some(o) => o,
            // Boxed so the query's future is not part of every actor's task.
            None => {
                Box::pin(shared.db.get_order(&args.id)).await?.ok_or_else(|| format!("order {} not found", args.id))?
            }
        };
        // Queued before anyone else can send: requests wait for the outcome.
        if order.state == OrderState::Negotiating {
            myself.cast(OrderMsg::Negotiate)?;
        }
        let probe = args.probe;
        let inbox = probe.inbox();
        let (on_settled, origin, unsaved) = (args.on_settled, args.origin, args.unsaved);
        Ok(LiveOrder {
            order,
            activity: 0,
            idle_timer: false,
            rounds: 0,
            on_settled,
            unsaved,
            origin,
            probe,
            inbox,
            shared,
        })
    }

    async fn post_start(&self, myself: ActorRef<OrderMsg>, state: &mut LiveOrder) -> Result<(), ActorProcessingErr> {
        if state.order.state == OrderState::AwaitingPayment {
            state.schedule_expiry();
        }
        state.probe.publish_from(state);
        state.arm_idle(&myself);
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<OrderMsg>, state: &mut LiveOrder) -> Result<(), ActorProcessingErr> {
        state.probe.deregister();
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<OrderMsg>,
        msg: OrderMsg,
        state: &mut LiveOrder,
    ) -> Result<(), ActorProcessingErr> {
        state.inbox.dequeued();
        state.activity += 1;
        match msg {
            OrderMsg::Negotiate => {
                // Boxed: the big futures of negotiation and commands live on
                // the heap only while they run, not inline in every idle
                // actor's task (that made each live actor ~20 KiB larger).
                // Taken: holding the request's span would keep it open.
                let origin = state.origin.take().unwrap_or_else(tracing::Span::none);
                let outcome = Box::pin(state.negotiate().instrument(origin)).await;
                if let Some(slot) = state.on_settled.take() {
                    if let Some(tx) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                        let _ = tx.send(outcome.clone().map(|()| state.order.clone()));
                    }
                }
                if outcome.is_err() {
                    // A new order that could not be stored: nothing of it remains.
                    myself.stop(Some("not stored".into()));
                    return Ok(());
                }
            }
            OrderMsg::Get(reply) => {
                // In a cluster another node's incarnation of this order may have
                // moved it on (a payment callback that arrived there, say).
                if state.shared.clustered {
                    state.reload().await;
                }
                let _ = reply.send(state.order.clone());
            }
            OrderMsg::Command(cmd, reply, span) => {
                if state.shared.clustered {
                    state.reload().await;
                }
                let result = Box::pin(state.command(cmd).instrument(span)).await;
                let _ = reply.send(result);
            }
            OrderMsg::Paid(payment, reply, span) => {
                if state.shared.clustered {
                    state.reload().await;
                }
                let result = Box::pin(state.paid(&payment).instrument(span)).await;
                let _ = reply.send(result);
            }
            OrderMsg::PaymentExpired => Box::pin(state.expire_payment()).await,
            OrderMsg::IdleCheck(seen) => {
                state.idle_timer = false;
                let idle = seen == state.activity - 1;
                if idle && state.order.state != OrderState::Negotiating {
                    myself.stop(Some("idle".into()));
                    return Ok(());
                }
            }
            OrderMsg::Fail(reason) => return Err(reason.into()),
        }
        state.probe.publish_from(state);
        if state.order.state.is_terminal() && state.order.state != OrderState::Completed {
            // Nothing more will happen to it: passivate now.
            myself.stop(Some("terminal".into()));
        } else {
            state.arm_idle(&myself);
        }
        Ok(())
    }
}

impl LiveOrder {
    fn arm_idle(&mut self, myself: &ActorRef<OrderMsg>) {
        if self.idle_timer {
            return;
        }
        self.idle_timer = true;
        let after = Duration::from_millis(self.shared.cfg.actors.order_idle_ms);
        crate::send_after(myself, after, OrderMsg::IdleCheck(self.activity));
    }

    fn schedule_expiry(&self) {
        if let Some(at) = self.order.payment.as_ref().and_then(|p| p.expires_at) {
            self.shared.schedule_expiry(&self.order.id, at);
        }
    }

    /// Commits `next` (with its event and side effects) and adopts it.
    async fn commit(&mut self, mut change: OrderChange) -> Result<(), EngineError> {
        change.expected_version = Some(self.order.version);
        if let Some(first) = self.first_write() {
            change = first.apply(change);
        }
        let next = change.order.clone();
        if let Err(e) = self.shared.writer.submit(change).await {
            if matches!(e, WriteError::StaleVersion { .. }) {
                self.reload().await;
            }
            return Err(e.into());
        }
        self.stored();
        self.shared.cache.put(&next).await;
        self.order = next;
        Ok(())
    }

    /// What the first write of a new order adds, while it is not stored.
    fn first_write(&self) -> Option<FirstWrite> {
        let unsaved = self.unsaved.as_ref()?;
        unsaved.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(_, first)| first.clone())
    }

    /// The order is in the database now: a restart reloads it from there.
    fn stored(&mut self) {
        if let Some(unsaved) = self.unsaved.take() {
            *unsaved.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    /// Takes the order as stored: in a cluster another node's actor may have
    /// changed it (a request that arrived there, or a node taking over).
    async fn reload(&mut self) {
        match Box::pin(self.shared.db.get_order(&self.order.id)).await {
            Ok(Some(order)) => self.order = order,
            Ok(None) => tracing::error!(order = %self.order.id, "order vanished from the database"),
            Err(e) => tracing::warn!(order = %self.order.id, error = %e, "could not reload order"),
        }
    }

    /// Runs the contract net and records the outcome. Errs only for a new
    /// order that could not be stored (nothing of it remains); a stored
    /// order that could not be settled stays in `negotiating`.
    async fn negotiate(&mut self) -> Result<(), EngineError> {
        if self.order.state != OrderState::Negotiating {
            return Ok(());
        }
        self.rounds += 1;
        let prefs = self.shared.prefs(&self.order.customer_id).await;
        let range = self.order.slots();
        let first = self.first_write();
        let result = negotiation::place(
            &self.shared,
            &self.order,
            range,
            prefs.blocked.clone(),
            &prefs.favourites,
            None,
            |order, bid| {
                let mut next = order.clone();
                next.apply(OrderEvent::Assign, self.shared.clock.now())?;
                self.assign(&mut next, bid);
                let payment = self.open_payment(&mut next)?;
                let change = OrderChange {
                    event: Some(event(
                        order.state,
                        OrderEvent::Assign,
                        json!({ "worker": bid.worker, "score": self.shared.weights.score(bid) }),
                    )),
                    reserve: Some((bid.worker.clone(), range)),
                    payment: Some(payment),
                    ..OrderChange::update(next, order.version)
                };
                Ok(match &first {
                    Some(first) => first.clone().apply(change),
                    None => change,
                })
            },
        )
        .await;
        match result {
            Ok(Placement::Placed(order)) => {
                self.stored();
                self.order = *order;
                self.shared.metrics.assigned();
                self.schedule_expiry();
                Ok(())
            }
            Ok(Placement::Nobody { alternatives }) => {
                let mut next = self.order.clone();
                if next.apply(OrderEvent::GiveUp, self.shared.clock.now()).is_ok() {
                    next.alternatives = alternatives;
                    let ev = event(
                        OrderState::Negotiating,
                        OrderEvent::GiveUp,
                        json!({ "alternatives": next.alternatives }),
                    );
                    match self.commit(OrderChange { event: Some(ev), ..OrderChange::insert(next) }).await {
                        Ok(()) => self.shared.metrics.unassignable(),
                        Err(e) if self.unsaved.is_some() => return self.not_stored(e).await,
                        Err(e) => tracing::error!(order = %self.order.id, error = %e, "could not record unassignable"),
                    }
                }
                Ok(())
            }
            Err(e) if self.unsaved.is_some() => self.not_stored(e).await,
            Err(e) => {
                // Stays in negotiating (a restart or the next request retries),
                // unless another node settled it meanwhile.
                tracing::warn!(order = %self.order.id, error = %e, "negotiation failed");
                self.reload().await;
                Ok(())
            }
        }
    }

    /// A new order's first write failed. If it was stored after all (an
    /// earlier incarnation killed after its write, or a commit whose answer
    /// was lost), carry on from the database; if it surely was not, nothing
    /// of it remains and the creator is told why.
    async fn not_stored(&mut self, e: EngineError) -> Result<(), EngineError> {
        let mut lookup = Err(EngineError::Unavailable("not looked up".into()));
        for attempt in 0..LOOKUPS {
            if attempt > 0 {
                tokio::time::sleep(LOOKUP_PAUSE).await;
            }
            lookup = Box::pin(self.shared.db.get_order(&self.order.id)).await.map_err(EngineError::from);
            if lookup.is_ok() {
                break;
            }
        }
        match lookup {
            Ok(Some(order)) => {
                // Whatever this incarnation's negotiation told the workers,
                // the stored booking stands.
                self.stored();
                if let Some(w) = &order.worker {
                    self.shared.confirm_worker(&w.id, &order.id, order.slots());
                }
                self.order = order;
                self.schedule_expiry();
                Ok(())
            }
            Ok(None) => {
                tracing::warn!(order = %self.order.id, error = %e, "new order not stored");
                Err(e)
            }
            Err(lookup) => {
                // Unknown: a node restart rehydrates it if it was stored.
                tracing::error!(order = %self.order.id, error = %e, %lookup, "new order may not be stored");
                Err(EngineError::Unavailable(format!(
                    "the order could not be confirmed as stored ({e}); retry with the same Idempotency-Key"
                )))
            }
        }
    }

    fn assign(&self, order: &mut Order, bid: &autoglm_core::Bid) {
        order.worker = Some(AssignedWorker::from(bid));
    }

    /// Opens a payment for `order` with the gateway and returns its row.
    fn open_payment(&self, order: &mut Order) -> Result<PaymentRow, EngineError> {
        let now = self.shared.clock.now();
        let id = self.shared.next_id(PaymentId::PREFIX);
        let id = PaymentId(id);
        self.shared
            .gateway
            .create(&id, &order.id, order.price.amount_cents)
            .map_err(|e| EngineError::Unavailable(e.to_string()))?;
        let window = chrono::Duration::minutes(self.shared.cfg.policy.payment_window_minutes as i64);
        let expires_at = now + window;
        order.payment =
            Some(PaymentInfo { id: id.clone(), state: PaymentState::Pending, expires_at: Some(expires_at) });
        Ok(PaymentRow {
            id,
            order_id: order.id.clone(),
            amount: order.price,
            state: PaymentState::Pending,
            expires_at_ms: Some(expires_at.timestamp_millis()),
            created_at_ms: now.timestamp_millis(),
            updated_at_ms: now.timestamp_millis(),
            paid_at_ms: None,
        })
    }

    fn payment_row(&self, order: &Order, state: PaymentState) -> Option<PaymentRow> {
        let p = order.payment.as_ref()?;
        let now = self.shared.clock.now_ms();
        Some(PaymentRow {
            id: p.id.clone(),
            order_id: order.id.clone(),
            amount: order.price,
            state,
            expires_at_ms: p.expires_at.map(|t| t.timestamp_millis()),
            created_at_ms: order.created_at.timestamp_millis(),
            updated_at_ms: now,
            paid_at_ms: (state == PaymentState::Paid).then_some(now),
        })
    }

    async fn paid(&mut self, payment: &PaymentId) -> Result<Order, EngineError> {
        let current = self.order.payment.as_ref().map(|p| (&p.id, p.state));
        match current {
            Some((id, _)) if id != payment => {
                return Err(EngineError::Payment(format!(
                    "payment {payment} does not belong to order {}",
                    self.order.id
                )))
            }
            Some((_, PaymentState::Paid)) => return Ok(self.order.clone()),
            Some((_, PaymentState::Pending)) if self.order.state == OrderState::AwaitingPayment => {}
            _ => {
                return Err(EngineError::Payment(format!(
                    "order {} is {}; the payment arrived too late and will be refunded",
                    self.order.id, self.order.state
                )))
            }
        }
        let mut next = self.order.clone();
        next.apply(OrderEvent::Pay, self.shared.clock.now())?;
        if let Some(p) = next.payment.as_mut() {
            p.state = PaymentState::Paid;
            p.expires_at = None;
        }
        let row = self.payment_row(&next, PaymentState::Paid);
        let ev = event(OrderState::AwaitingPayment, OrderEvent::Pay, json!({ "payment": payment }));
        self.commit(OrderChange { event: Some(ev), payment: row, ..OrderChange::insert(next) }).await?;
        self.shared.metrics.paid();
        Ok(self.order.clone())
    }

    async fn expire_payment(&mut self) {
        let due = self
            .order
            .payment
            .as_ref()
            .filter(|p| p.state == PaymentState::Pending)
            .and_then(|p| p.expires_at)
            .is_some_and(|at| at <= self.shared.clock.now());
        if self.order.state != OrderState::AwaitingPayment || !due {
            return;
        }
        let mut next = self.order.clone();
        if next.apply(OrderEvent::ExpirePayment, self.shared.clock.now()).is_err() {
            return;
        }
        let ev = event(OrderState::AwaitingPayment, OrderEvent::ExpirePayment, json!({}));
        match self.end(next, ev).await {
            Ok(()) => self.shared.metrics.expired(),
            Err(e) => tracing::error!(order = %self.order.id, error = %e, "could not expire payment"),
        }
    }

    /// Ends the booking with `next` (already through the state machine):
    /// settles the payment, frees the worker's time, records `ev`.
    async fn end(&mut self, mut next: Order, ev: NewEvent) -> Result<(), EngineError> {
        let row = next.close_payment().and_then(|s| self.payment_row(&next, s));
        let worker = self.order.worker.as_ref().map(|w| w.id.clone());
        let change =
            OrderChange { event: Some(ev), payment: row, release_reservations: true, ..OrderChange::insert(next) };
        self.commit(change).await?;
        if let Some(w) = worker {
            self.shared.release_worker(&w, &self.order.id);
        }
        Ok(())
    }

    async fn command(&mut self, cmd: Command) -> Result<Order, EngineError> {
        let now = self.shared.clock.now();
        match cmd {
            Command::Cancel => self.cancel(now).await,
            Command::Reschedule { start } => self.reschedule(start, now).await,
            Command::ChangeWorker { block } => {
                let current = self.assigned()?;
                if block {
                    self.shared.block_worker(&self.order.customer_id, &current).await?;
                }
                self.reassign(current, now, false).await
            }
            Command::Decline { worker } => {
                self.check_worker(&worker)?;
                self.reassign(worker, now, true).await
            }
            Command::CheckIn { worker } => {
                self.check_worker(&worker)?;
                self.simple(OrderEvent::CheckIn, now).await
            }
            Command::Complete { worker } => {
                self.check_worker(&worker)?;
                self.simple(OrderEvent::Complete, now).await
            }
            Command::Rate { stars } => self.rate(stars, now).await,
        }
    }

    fn assigned(&self) -> Result<WorkerId, EngineError> {
        self.order
            .worker
            .as_ref()
            .map(|w| w.id.clone())
            .ok_or_else(|| EngineError::Conflict(format!("order {} has no worker", self.order.id)))
    }

    fn check_worker(&self, worker: &WorkerId) -> Result<(), EngineError> {
        if self.order.worker.as_ref().map(|w| &w.id) != Some(worker) {
            return Err(EngineError::NotFound("job", self.order.id.to_string()));
        }
        Ok(())
    }

    async fn simple(&mut self, ev: OrderEvent, now: DateTime<FixedOffset>) -> Result<Order, EngineError> {
        let mut next = self.order.clone();
        let from = next.apply(ev, now)?;
        self.commit(OrderChange { event: Some(event(from, ev, json!({}))), ..OrderChange::insert(next) }).await?;
        Ok(self.order.clone())
    }

    async fn cancel(&mut self, now: DateTime<FixedOffset>) -> Result<Order, EngineError> {
        let fee = self.shared.cfg.policy.cancellation_fee(&self.order, &now);
        let mut next = self.order.clone();
        let from = next.apply(OrderEvent::Cancel, now)?;
        next.cancellation_fee = Some(fee);
        let ev = event(from, OrderEvent::Cancel, json!({ "fee_cents": fee.amount_cents }));
        self.end(next, ev).await?;
        self.shared.metrics.cancelled();
        Ok(self.order.clone())
    }

    async fn reschedule(
        &mut self,
        start: DateTime<FixedOffset>,
        now: DateTime<FixedOffset>,
    ) -> Result<Order, EngineError> {
        self.order.state.apply(OrderEvent::Reschedule)?;
        self.shared.cfg.policy.check_reschedule(&self.order, &start, &now)?;
        let old_worker = self.assigned()?;
        let range = SlotRange::covering(&start, self.order.duration_minutes);
        let prefs = self.shared.prefs(&self.order.customer_id).await;
        let from = self.order.state;
        let placed = negotiation::place(
            &self.shared,
            &self.order,
            range,
            prefs.blocked.clone(),
            &prefs.favourites,
            Some(&old_worker),
            |order, bid| {
                let mut next = order.clone();
                next.apply(OrderEvent::Reschedule, now)?;
                next.start = start;
                next.reschedules += 1;
                self.assign(&mut next, bid);
                let detail = json!({ "from": order.start, "to": start, "worker": bid.worker });
                Ok(OrderChange {
                    event: Some(event(from, OrderEvent::Reschedule, detail)),
                    release_reservations: true,
                    reserve: Some((bid.worker.clone(), range)),
                    ..OrderChange::insert(next)
                })
            },
        )
        .await?;
        self.adopt(placed, &old_worker, "nobody is free at that time; your booking is unchanged")
    }

    async fn reassign(
        &mut self,
        leaving: WorkerId,
        now: DateTime<FixedOffset>,
        give_up_if_none: bool,
    ) -> Result<Order, EngineError> {
        self.order.state.apply(OrderEvent::Reassign)?;
        let prefs = self.shared.prefs(&self.order.customer_id).await;
        let mut excluded = prefs.blocked.clone();
        excluded.push(leaving.clone());
        let range = self.order.slots();
        let from = self.order.state;
        let placed =
            negotiation::place(&self.shared, &self.order, range, excluded, &prefs.favourites, None, |order, bid| {
                let mut next = order.clone();
                next.apply(OrderEvent::Reassign, now)?;
                self.assign(&mut next, bid);
                Ok(OrderChange {
                    event: Some(event(from, OrderEvent::Reassign, json!({ "from": leaving, "to": bid.worker }))),
                    release_reservations: true,
                    reserve: Some((bid.worker.clone(), range)),
                    ..OrderChange::insert(next)
                })
            })
            .await?;
        match placed {
            Placement::Nobody { alternatives } if give_up_if_none => {
                // The worker cannot come and nobody else can: the order is unassignable.
                let mut next = self.order.clone();
                next.apply(OrderEvent::GiveUp, now)?;
                next.alternatives = alternatives;
                let ev = event(from, OrderEvent::GiveUp, json!({ "declined_by": leaving }));
                self.end(next, ev).await?;
                self.shared.metrics.unassignable();
                Ok(self.order.clone())
            }
            placed => self.adopt(placed, &leaving, "no other worker is free at that time; your booking is unchanged"),
        }
    }

    /// Takes a successful placement (releasing the old worker if it changed)
    /// or explains why nothing changed.
    fn adopt(&mut self, placed: Placement, old_worker: &WorkerId, none_msg: &str) -> Result<Order, EngineError> {
        match placed {
            Placement::Placed(order) => {
                self.order = *order;
                if self.order.worker.as_ref().map(|w| &w.id) != Some(old_worker) {
                    self.shared.release_worker(old_worker, &self.order.id);
                }
                Ok(self.order.clone())
            }
            Placement::Nobody { alternatives } => {
                let times: Vec<String> = alternatives.iter().map(|t| t.to_rfc3339()).collect();
                let hint = if times.is_empty() { String::new() } else { format!(" (free: {})", times.join(", ")) };
                Err(EngineError::Conflict(format!("{none_msg}{hint}")))
            }
        }
    }

    async fn rate(&mut self, stars: u8, now: DateTime<FixedOffset>) -> Result<Order, EngineError> {
        let mut next = self.order.clone();
        next.rate(stars, now)?;
        let mut worker = None;
        if let Some(w) = next.worker.as_ref() {
            if let Some(mut profile) = self.shared.db.get_worker(&w.id).await? {
                profile.add_rating(stars);
                worker = Some(profile);
            }
        }
        let ev = event(OrderState::Completed, OrderEvent::Rate, json!({ "stars": stars }));
        self.commit(OrderChange { event: Some(ev), worker_update: worker.clone(), ..OrderChange::insert(next) })
            .await?;
        if let Some(w) = worker {
            self.shared.update_worker_actor(w);
        }
        Ok(self.order.clone())
    }
}

fn event(from: OrderState, ev: OrderEvent, detail: serde_json::Value) -> NewEvent {
    NewEvent { from: Some(from), event: ev.as_str().to_string(), detail }
}
