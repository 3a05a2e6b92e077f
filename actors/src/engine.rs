//! The engine facade: what the HTTP edge and the CLI call. It authorizes,
//! finds (or rehydrates) the right actor, and relays; the actors decide.

use crate::order_actor::{Command, FirstWrite, OrderActor, OrderArgs, OrderMsg, Settled, SettledSlot, Unsaved};
use crate::payments::{CallbackNotice, Checkout, GatewayError, PaymentGateway, SandboxGateway};
use crate::worker_actor::WorkerMsg;
use crate::{groups, Clock, EngineConfig, EngineError, Shared};
use autoglm_core::auth::{Claims, Role};
use autoglm_core::ids::IdGen;
use autoglm_core::order::OrderRequest;
use autoglm_core::payment::PaymentState;
use autoglm_core::{CustomerId, Order, OrderId, OrderState, PaymentId, Worker, WorkerId};
use autoglm_storage::{Creation, CustomerPrefs, Db, IdempotencyRow, InvariantReport, OrderCache, OrderFilter, Writer};
use autoglm_supervisor::{
    ChildSpec, Registry, Restart, RestartPolicy, Snapshot, StartCtx, Strategy, SupervisorArgs, SupervisorHandle,
};
use chrono::{DateTime, FixedOffset};
use ractor::rpc::CallResult;
use ractor::{Actor, ActorRef};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Who is calling: the claims of a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Role.
    pub role: Role,
    /// Customer id, worker id or admin name.
    pub subject: String,
}

impl From<Claims> for Caller {
    fn from(c: Claims) -> Self {
        Caller { role: c.role, subject: c.sub }
    }
}

impl Caller {
    /// An admin caller (CLI, tests).
    pub fn admin() -> Self {
        Caller { role: Role::Admin, subject: "admin".into() }
    }

    /// A customer caller.
    pub fn customer(id: &str) -> Self {
        Caller { role: Role::Customer, subject: id.into() }
    }

    /// A worker caller.
    pub fn worker(id: &str) -> Self {
        Caller { role: Role::Worker, subject: id.into() }
    }

    fn may_see(&self, order: &Order) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Customer => order.customer_id.as_str() == self.subject,
            Role::Worker => order.worker.as_ref().is_some_and(|w| w.id.as_str() == self.subject),
        }
    }
}

/// The answer to "I want to pay".
#[derive(Debug, Clone, Serialize)]
pub struct PayInfo {
    /// The order.
    pub order: Order,
    /// Where to pay.
    pub checkout: Checkout,
}

/// What the engine is built from.
pub struct EngineParts {
    /// Configuration.
    pub cfg: EngineConfig,
    /// Database (migrated).
    pub db: Db,
    /// Group-commit writer over `db`.
    pub writer: Writer,
    /// Order cache.
    pub cache: OrderCache,
    /// The gateway.
    pub gateway: Arc<dyn PaymentGateway>,
    /// The sandbox, when the gateway is the sandbox.
    pub sandbox: Option<Arc<SandboxGateway>>,
    /// Node name for inspection.
    pub node: String,
    /// Process-group scope: every node of one cluster uses the same one;
    /// engines sharing a process (tests) use different ones.
    pub scope: String,
    /// Part of a cluster: worker actors are started and stopped by the
    /// cluster's ownership ([`Engine::run_worker`], [`Engine::stop_worker`])
    /// and only this node's own live orders are rehydrated at start.
    pub clustered: bool,
}

/// The engine: cheap to clone, one per node.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    sandbox: Option<Arc<SandboxGateway>>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    keys: Arc<KeysInFlight>,
}

/// Idempotency keys whose request is being placed on this node, and those
/// placed here lately. A new order is stored only once it settles, so a
/// repeat of a request would otherwise negotiate (and hold workers) a second
/// time before its write found the key taken: a concurrent repeat waits for
/// the first instead, and a repeat of a recent one, then, replays it from
/// the database. (Across nodes, or long after, the key's unique row still
/// makes it one order.)
struct KeysInFlight {
    turns: Mutex<HashMap<KeyId, Arc<tokio::sync::Mutex<()>>>>,
    placed: moka::sync::Cache<KeyId, ()>,
}

type KeyId = (CustomerId, String);

/// How many recently placed keys a node remembers, and for how long.
const RECENT_KEYS: u64 = 200_000;
const RECENT_KEYS_TTL: Duration = Duration::from_secs(600);

impl Default for KeysInFlight {
    fn default() -> Self {
        KeysInFlight {
            turns: Mutex::default(),
            placed: moka::sync::Cache::builder().max_capacity(RECENT_KEYS).time_to_live(RECENT_KEYS_TTL).build(),
        }
    }
}

/// The turn of one request with its key; dropping it lets the next one go.
struct KeyTurn {
    keys: Arc<KeysInFlight>,
    id: KeyId,
    lock: Arc<tokio::sync::Mutex<()>>,
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl KeysInFlight {
    /// Waits until no other request with this key is being placed here;
    /// `true` when the order may exist already (another request with the
    /// key was placed here lately, or was being placed).
    async fn turn(self: &Arc<Self>, customer: &CustomerId, key: &str) -> (KeyTurn, bool) {
        let id = (customer.clone(), key.to_string());
        let lock = self.turns.lock().unwrap_or_else(|e| e.into_inner()).entry(id.clone()).or_default().clone();
        let (turn, waited) = match lock.clone().try_lock_owned() {
            Ok(turn) => (turn, false),
            Err(_) => (lock.clone().lock_owned().await, true),
        };
        let seen = waited || self.placed.contains_key(&id);
        (KeyTurn { keys: self.clone(), id, lock, turn: Some(turn) }, seen)
    }
}

impl KeyTurn {
    /// The order was placed: a later repeat replays it.
    fn placed(&self) {
        self.keys.placed.insert(self.id.clone(), ());
    }
}

impl Drop for KeyTurn {
    fn drop(&mut self) {
        drop(self.turn.take());
        let mut turns = self.keys.turns.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map and this turn hold it (clones are made under the map's
        // lock): nobody waits, forget the key.
        if Arc::strong_count(&self.lock) == 2 {
            turns.remove(&self.id);
        }
    }
}

/// Pause before a payment deadline that could not be delivered is tried again.
const DEADLINE_RETRY: Duration = Duration::from_millis(200);

/// How long a request waits for its order actor.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

impl Engine {
    /// Starts supervisors and worker actors, rehydrates live orders and the
    /// background loops (payment deadlines, reconciliation).
    pub async fn start(parts: EngineParts) -> Result<Engine, EngineError> {
        let cfg = parts.cfg;
        cfg.dispatch.weights().validate()?;
        let offset = FixedOffset::east_opt(cfg.utc_offset_minutes * 60)
            .ok_or_else(|| EngineError::BadRequest("utc_offset_minutes out of range".into()))?;
        let registry = Registry::new(parts.node.clone());
        let policy = RestartPolicy {
            strategy: Strategy::OneForOne,
            max_restarts: cfg.actors.max_restarts,
            within: Duration::from_millis(cfg.actors.restart_window_ms),
            backoff_initial: Duration::from_millis(cfg.actors.backoff_initial_ms),
            backoff_max: Duration::from_millis(cfg.actors.backoff_max_ms),
            backoff_multiplier: 2.0,
        };
        let spawn_sup = |name: &str| SupervisorArgs {
            name: name.into(),
            kind: "supervisor".into(),
            policy: policy.clone(),
            registry: registry.clone(),
            parent_key: None,
        };
        let (orders, _) = SupervisorHandle::spawn(spawn_sup("orders"))
            .await
            .map_err(|e| EngineError::Unavailable(format!("order supervisor: {e}")))?;
        let (workers, _) = SupervisorHandle::spawn(spawn_sup("workers"))
            .await
            .map_err(|e| EngineError::Unavailable(format!("worker supervisor: {e}")))?;
        let (deadline_tx, deadline_rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            weights: cfg.dispatch.weights(),
            offset,
            db: parts.db,
            writer: parts.writer,
            cache: parts.cache,
            gateway: parts.gateway,
            registry,
            scope: parts.scope,
            clustered: parts.clustered,
            directory: groups::Directory::default(),
            dormant: groups::Dormant::default(),
            clock: Clock::new(offset),
            orders,
            workers,
            metrics: Default::default(),
            ids: Mutex::new(IdGen::new(cfg.node_id)),
            prefs: moka::sync::Cache::builder().max_capacity(100_000).time_to_live(Duration::from_secs(60)).build(),
            deadlines: deadline_tx,
            cfg,
        });
        let engine = Engine { shared, sandbox: parts.sandbox, tasks: Arc::default(), keys: Arc::default() };
        if !engine.shared.clustered {
            engine.start_workers().await?;
        }
        engine.spawn_deadlines(deadline_rx);
        engine.spawn_reconciler();
        let own = engine.shared.clustered.then_some(engine.shared.cfg.node_id);
        engine.rehydrate_orders(own).await?;
        Ok(engine)
    }

    /// Resources shared by the actors (for tests and inspection).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The sandbox gateway, when payments go to the sandbox.
    pub fn sandbox(&self) -> Option<&Arc<SandboxGateway>> {
        self.sandbox.as_ref()
    }

    /// The live actor registry.
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    async fn start_workers(&self) -> Result<(), EngineError> {
        for w in self.shared.db.list_workers().await? {
            if w.active {
                self.start_worker(w).await?;
            }
        }
        Ok(())
    }

    async fn start_worker(&self, worker: Worker) -> Result<(), EngineError> {
        let id = worker.id.clone();
        self.shared.start_worker(&id, Some(worker), None).await.map(|_| ())
    }

    /// Cluster ownership: runs the actor of `worker` on this node, holding the
    /// worker's lease with `fence`; an actor already running here (with an
    /// older token) is replaced, so no bid carries the stale token.
    pub async fn run_worker(&self, worker: &WorkerId, fence: i64) -> Result<(), EngineError> {
        if self.shared.workers.lookup(worker.as_str()).is_some() {
            let _ = self.shared.workers.stop_child(worker.as_str()).await;
        }
        self.shared.start_worker(worker, None, Some(fence)).await.map(|_| ())
    }

    /// Cluster ownership: stops the actor of `worker` here (its lease moved on,
    /// or is being handed to another node).
    pub async fn stop_worker(&self, worker: &WorkerId) {
        let _ = self.shared.workers.stop_child(worker.as_str()).await;
    }

    /// Cluster takeover: brings up the actor of a live order a lost node was
    /// running; it resumes its negotiation or payment window from the database.
    pub async fn adopt_order(&self, id: &OrderId) -> Result<(), EngineError> {
        self.order_actor(id).await.map(|_| ())
    }

    /// Every live order (negotiating or awaiting payment) in the database.
    pub async fn live_order_ids(&self) -> Result<Vec<OrderId>, EngineError> {
        let live = self.shared.db.orders_in_states(&[OrderState::Negotiating, OrderState::AwaitingPayment]).await?;
        Ok(live.into_iter().map(|o| o.id).collect())
    }

    /// Rehydrates live orders: all of them, or (`only_node`) those made by one node.
    async fn rehydrate_orders(&self, only_node: Option<u16>) -> Result<(), EngineError> {
        let mut live = self.shared.db.orders_in_states(&[OrderState::Negotiating, OrderState::AwaitingPayment]).await?;
        if let Some(node) = only_node {
            live.retain(|o| IdGen::node_of(o.id.as_str()) == Some(node));
        }
        let n = live.len();
        for order in live {
            let id = order.id.clone();
            if let Err(e) = self.start_order(order, None, None).await {
                tracing::error!(order = %id, error = %e, "could not rehydrate order");
            }
        }
        if n > 0 {
            tracing::info!(orders = n, "rehydrated live orders");
        }
        Ok(())
    }

    /// Starts the actor of `order`: a stored one, or a new one (`unsaved`)
    /// that its actor writes when it settles and tells `on_settled`.
    async fn start_order(
        &self,
        order: Order,
        on_settled: Option<Settled>,
        unsaved: Option<Unsaved>,
    ) -> Result<ActorRef<OrderMsg>, EngineError> {
        let shared = self.shared.clone();
        let id = order.id.clone();
        // Boxed: the spec lives as long as the actor, the order only until it starts.
        // The creating request's span, to trace the first negotiation under it (only
        // then: a span held by an actor stays open).
        let origin = on_settled.as_ref().map(|_| tracing::Span::current());
        let on_settled: Option<SettledSlot> = on_settled.map(|tx| Arc::new(Mutex::new(Some(tx))));
        let first = Arc::new(Mutex::new(Some(Box::new((order, origin)))));
        let spec = ChildSpec {
            id: id.to_string(),
            kind: "order".into(),
            restart: Restart::Transient,
            start: Arc::new(move |ctx: StartCtx| {
                // A restart reloads from the database, or starts a new order
                // not stored yet over again; a request still waiting for the
                // outcome is told by whichever incarnation settles it.
                let (initial, origin) = match first.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    Some(boxed) if ctx.attempt == 0 => {
                        let (order, span) = *boxed;
                        (Some(order), span)
                    }
                    _ => {
                        let again = unsaved.as_ref().and_then(|u| {
                            u.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(order, _)| order.clone())
                        });
                        (again, None)
                    }
                };
                let on_settled = on_settled.clone();
                let unsaved = unsaved.clone().filter(|_| initial.is_some());
                let args = OrderArgs {
                    id: id.clone(),
                    initial,
                    probe: ctx.probe,
                    on_settled,
                    unsaved,
                    origin,
                    shared: shared.clone(),
                };
                Box::pin(async move {
                    let (actor, _) = Actor::spawn_linked(None, OrderActor, args, ctx.supervisor).await?;
                    Ok(actor.get_cell())
                })
            }),
        };
        let cell = self
            .shared
            .orders
            .start_child(spec)
            .await
            .map_err(|e| EngineError::Unavailable(format!("order actor: {e}")))?;
        Ok(ActorRef::from(cell))
    }

    /// The live actor of an order, rehydrated from the database if passivated.
    async fn order_actor(&self, id: &OrderId) -> Result<ActorRef<OrderMsg>, EngineError> {
        if let Some(cell) = self.shared.orders.lookup(id.as_str()) {
            return Ok(ActorRef::from(cell));
        }
        let order =
            self.shared.db.get_order(id).await?.ok_or_else(|| EngineError::NotFound("order", id.to_string()))?;
        self.start_order(order, None, None).await
    }

    /// Sends a request to an order's actor and waits for the answer; retries
    /// once on a fresh actor if the old one stopped (passivated) meanwhile.
    async fn ask<R: Send + 'static>(
        &self,
        id: &OrderId,
        build: impl Fn(ractor::RpcReplyPort<R>) -> OrderMsg,
    ) -> Result<R, EngineError> {
        for _ in 0..3 {
            let actor = self.order_actor(id).await?;
            match actor.call(&build, Some(CALL_TIMEOUT)).await {
                Ok(CallResult::Success(r)) => return Ok(r),
                Ok(CallResult::Timeout) => {
                    return Err(EngineError::Unavailable(format!("order {id} did not answer in time")));
                }
                // The actor stopped before answering: start it again.
                Ok(CallResult::SenderError) | Err(_) => tokio::task::yield_now().await,
            }
        }
        Err(EngineError::Unavailable(format!("order {id} keeps stopping")))
    }

    // ----- customers -------------------------------------------------------

    /// Places an order: checks it, lets its actor negotiate, stores it once
    /// settled (assigned or unassignable), and returns it. With an idempotency key, a
    /// repeated request returns the first order (`false`: not new).
    pub async fn create_order(
        &self,
        customer: &CustomerId,
        req: OrderRequest,
        idempotency_key: Option<&str>,
    ) -> Result<(Order, bool), EngineError> {
        let now = self.shared.clock.now();
        if idempotency_key.is_some_and(|key| key.is_empty() || key.len() > 128) {
            return Err(EngineError::BadRequest("Idempotency-Key must be 1 to 128 characters".into()));
        }
        // The request's fingerprint is only needed with a key.
        let keyed = idempotency_key.map(|key| (key, request_hash(&req)));
        // The key's unique row decides whether this is a repeat, so the common
        // case (a new request) costs no extra read; a repeat is looked up when
        // the insert finds the key taken, or when the request no longer
        // validates (a retry after its start time passed).
        let valid = match req.validate(&self.shared.cfg.policy, &now) {
            Ok(v) => v,
            Err(e) => {
                if let Some((key, hash)) = &keyed {
                    if let Some(order) = self.replay(customer, key, hash).await? {
                        return Ok((order, false));
                    }
                }
                return Err(e.into());
            }
        };
        // A repeat of a request placed (or being placed) on this node lately returns its order.
        let turn = match &keyed {
            Some((key, hash)) => {
                let (turn, seen) = self.keys.turn(customer, key).await;
                if seen {
                    if let Some(order) = self.replay(customer, key, hash).await? {
                        return Ok((order, false));
                    }
                }
                Some(turn)
            }
            None => None,
        };
        let id = OrderId(self.shared.next_id(OrderId::PREFIX));
        let order = Order::new(id.clone(), customer.clone(), valid, now);
        // Nothing is written yet: the order actor negotiates first and writes
        // the order once, settled, with its creation event and the key.
        let first = FirstWrite {
            creation: Creation::of(&order, serde_json::json!({})),
            idempotency: keyed.as_ref().map(|(key, hash)| IdempotencyRow {
                customer_id: customer.clone(),
                key: key.to_string(),
                request_hash: hash.clone(),
                order_id: id.clone(),
                created_at_ms: now.timestamp_millis(),
            }),
        };
        let unsaved: Unsaved = Arc::new(Mutex::new(Some((order.clone(), first))));
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.start_order(order, Some(tx), Some(unsaved)).await?;
        let settled = match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(Ok(order))) => order,
            Ok(Ok(Err(EngineError::Duplicate))) => {
                // A concurrent request with the same key won the race.
                let replayed = match &keyed {
                    Some((key, hash)) => self.replay(customer, key, hash).await?,
                    None => None,
                };
                return replayed
                    .map(|order| (order, false))
                    .ok_or_else(|| EngineError::Conflict("duplicate request".into()));
            }
            Ok(Ok(Err(e))) => return Err(e),
            // Every incarnation of the actor is gone: ask the database.
            Ok(Err(_)) => self.ask(&id, OrderMsg::Get).await.map_err(|e| match e {
                EngineError::NotFound(..) => EngineError::Unavailable(format!("order {id} was not stored")),
                e => e,
            })?,
            Err(_) => return Err(EngineError::Unavailable(format!("order {id} is still negotiating"))),
        };
        if let Some(turn) = &turn {
            turn.placed();
        }
        self.shared.metrics.created();
        Ok((settled, true))
    }

    async fn replay(&self, customer: &CustomerId, key: &str, hash: &str) -> Result<Option<Order>, EngineError> {
        let Some(row) = self.shared.db.get_idempotency(customer, key).await? else { return Ok(None) };
        if row.request_hash != hash {
            return Err(EngineError::Conflict("this Idempotency-Key was already used for a different request".into()));
        }
        self.ask(&row.order_id, OrderMsg::Get).await.map(Some)
    }

    /// The order as its live actor holds it, waking (rehydrating) the actor
    /// if it was passivated.
    pub async fn live_order(&self, caller: &Caller, id: &OrderId) -> Result<Order, EngineError> {
        self.get_order(caller, id).await?;
        self.ask(id, OrderMsg::Get).await
    }

    /// Live order actors.
    pub fn live_orders(&self) -> usize {
        self.shared.orders.live_count()
    }

    /// One order, if the caller may see it (others' orders are "not found").
    pub async fn get_order(&self, caller: &Caller, id: &OrderId) -> Result<Order, EngineError> {
        let order = self.shared.cache.get(id, &self.shared.db).await?;
        match order {
            Some(o) if caller.may_see(&o) => Ok((*o).clone()),
            _ => Err(EngineError::NotFound("order", id.to_string())),
        }
    }

    /// The caller's orders (all for admins; jobs for workers), newest first.
    pub async fn list_orders(
        &self,
        caller: &Caller,
        states: Vec<OrderState>,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<Order>, EngineError> {
        let mut filter = OrderFilter { states, limit: limit.clamp(1, 500), offset, ..OrderFilter::default() };
        match caller.role {
            Role::Admin => {}
            Role::Customer => filter.customer = Some(CustomerId(caller.subject.clone())),
            Role::Worker => filter.worker = Some(WorkerId(caller.subject.clone())),
        }
        Ok(self.shared.db.list_orders(&filter).await?)
    }

    /// A command on an order by its customer, its worker or an admin.
    pub async fn command(&self, caller: &Caller, id: &OrderId, cmd: Command) -> Result<Order, EngineError> {
        // Orders the caller may not see are "not found", whatever the command.
        self.get_order(caller, id).await?;
        let allowed = matches!(
            (&cmd, caller.role),
            (_, Role::Admin)
                | (Command::CheckIn { .. } | Command::Complete { .. } | Command::Decline { .. }, Role::Worker)
                | (
                    Command::Cancel | Command::Reschedule { .. } | Command::ChangeWorker { .. } | Command::Rate { .. },
                    Role::Customer
                )
        );
        if !allowed {
            return Err(EngineError::Forbidden(format!("a {:?} may not do that", caller.role).to_lowercase()));
        }
        self.ask(id, |reply| OrderMsg::Command(cmd.clone(), reply, tracing::Span::current())).await?
    }

    /// Payment details of an order awaiting payment.
    pub async fn pay(&self, caller: &Caller, id: &OrderId) -> Result<PayInfo, EngineError> {
        if caller.role == Role::Worker {
            return Err(EngineError::Forbidden("workers do not pay for orders".into()));
        }
        self.get_order(caller, id).await?;
        let order = self.ask(id, OrderMsg::Get).await?;
        let payment = match (&order.payment, order.state) {
            (Some(p), OrderState::AwaitingPayment) if p.state == PaymentState::Pending => p.clone(),
            (Some(p), _) if p.state == PaymentState::Paid => {
                return Err(EngineError::Conflict(format!("order {id} is already paid")));
            }
            _ => return Err(EngineError::Conflict(format!("order {id} is {} and cannot be paid", order.state))),
        };
        let checkout = self
            .shared
            .gateway
            .create(&payment.id, &order.id, order.price.amount_cents)
            .map_err(|e| EngineError::Unavailable(e.to_string()))?;
        Ok(PayInfo { order, checkout })
    }

    /// A callback from the gateway: verified, fresh, not replayed, matching
    /// the payment; then the order actor takes it.
    pub async fn payment_callback(&self, body: &[u8], signature: &str) -> Result<Order, EngineError> {
        let result = self.check_callback(body, signature).await;
        if result.is_err() {
            self.shared.metrics.callback_rejected();
        }
        let notice = result?;
        self.ask(&notice.order_id, |reply| OrderMsg::Paid(notice.payment_id.clone(), reply, tracing::Span::current()))
            .await?
    }

    async fn check_callback(&self, body: &[u8], signature: &str) -> Result<CallbackNotice, EngineError> {
        let notice = self.shared.gateway.verify_callback(body, signature).map_err(|e| match e {
            GatewayError::BadSignature => EngineError::Forbidden("payment callback signature is invalid".into()),
            other => EngineError::Payment(other.to_string()),
        })?;
        let now = self.shared.clock.now_ms();
        if !autoglm_core::payment::is_fresh(notice.sent_at_ms, now, self.shared.cfg.payments.callback_max_age_secs) {
            return Err(EngineError::Payment("callback is too old (or from the future)".into()));
        }
        if notice.status != PaymentState::Paid {
            return Err(EngineError::Payment(format!("unsupported status {:?}", notice.status)));
        }
        let row = self
            .shared
            .db
            .get_payment(&notice.payment_id)
            .await?
            .ok_or_else(|| EngineError::NotFound("payment", notice.payment_id.to_string()))?;
        if row.order_id != notice.order_id || row.amount.amount_cents != notice.amount_cents {
            return Err(EngineError::Payment("callback does not match the payment".into()));
        }
        if !self.shared.db.record_callback_nonce(&notice.nonce, &notice.payment_id, now).await? {
            return Err(EngineError::Conflict("payment callback replayed".into()));
        }
        Ok(notice)
    }

    /// The sandbox customer pays `payment`; the gateway then calls back.
    pub async fn sandbox_pay(&self, payment: &PaymentId) -> Result<CallbackNotice, EngineError> {
        let sandbox = self.sandbox.as_ref().ok_or_else(|| EngineError::NotFound("sandbox", "gateway".into()))?;
        let row = self
            .shared
            .db
            .get_payment(payment)
            .await?
            .ok_or_else(|| EngineError::NotFound("payment", payment.to_string()))?;
        if row.state != PaymentState::Pending {
            return Err(EngineError::Conflict(format!("payment {payment} is {}", row.state.as_str())));
        }
        // Make sure the sandbox knows the payment (it may have been opened before a restart).
        sandbox
            .create(payment, &row.order_id, row.amount.amount_cents)
            .map_err(|e| EngineError::Unavailable(e.to_string()))?;
        sandbox.simulate_payment(payment, true).map_err(|e| EngineError::Payment(e.to_string()))
    }

    /// A customer's profile (favourites, blocked workers, address).
    pub async fn prefs(&self, customer: &CustomerId) -> Arc<CustomerPrefs> {
        self.shared.prefs(customer).await
    }

    /// Replaces a customer's favourite and blocked workers.
    pub async fn set_prefs(&self, customer: &CustomerId, prefs: CustomerPrefs) -> Result<(), EngineError> {
        self.shared.set_prefs(customer, prefs).await
    }

    // ----- workers ---------------------------------------------------------

    /// Registers a new worker (or replaces one) and starts its actor.
    pub async fn register_worker(&self, worker: Worker) -> Result<Worker, EngineError> {
        worker.validate()?;
        let existed = self.shared.db.get_worker(&worker.id).await?.is_some();
        self.shared.db.upsert_worker(&worker).await?;
        if existed {
            self.apply_worker_change(worker.clone()).await?;
        } else if worker.active && !self.shared.clustered {
            self.start_worker(worker.clone()).await?;
        }
        Ok(worker)
    }

    /// A worker's profile.
    pub async fn get_worker(&self, id: &WorkerId) -> Result<Worker, EngineError> {
        self.shared.db.get_worker(id).await?.ok_or_else(|| EngineError::NotFound("worker", id.to_string()))
    }

    /// Stores a changed profile and tells (or starts, or stops) the actor.
    pub async fn update_worker(&self, worker: Worker) -> Result<Worker, EngineError> {
        worker.validate()?;
        self.shared.db.upsert_worker(&worker).await?;
        self.apply_worker_change(worker.clone()).await?;
        Ok(worker)
    }

    async fn apply_worker_change(&self, worker: Worker) -> Result<(), EngineError> {
        match (self.shared.workers.lookup(worker.id.as_str()), worker.active) {
            (Some(cell), true) => {
                crate::worker_actor::send_to_worker(&self.shared.directory, &cell, WorkerMsg::Update(Box::new(worker)));
            }
            // An inactive worker's actor passivates: nothing can reach it but an update.
            (Some(_), false) => {
                let _ = self.shared.workers.stop_child(worker.id.as_str()).await;
            }
            // In a cluster the owning node starts it (it lists workers regularly).
            (None, true) if self.shared.clustered => {}
            (None, true) => self.start_worker(worker).await?,
            (None, false) => self.shared.dormant.remove(&worker.id),
        }
        Ok(())
    }

    /// The worker's jobs, newest first.
    pub async fn worker_jobs(&self, worker: &WorkerId) -> Result<Vec<Order>, EngineError> {
        self.list_orders(&Caller::worker(worker.as_str()), Vec::new(), 200, 0).await
    }

    /// Number of registered workers.
    pub async fn worker_count(&self) -> Result<u64, EngineError> {
        Ok(self.shared.db.count_workers().await?)
    }

    // ----- operations ------------------------------------------------------

    /// The supervision tree with every live actor's snapshot.
    pub fn actors(&self) -> Vec<Snapshot> {
        self.shared.registry.tree()
    }

    /// Live actors per kind.
    pub fn actor_counts(&self) -> BTreeMap<String, usize> {
        self.shared.registry.count_by_kind()
    }

    /// Checks the database for double bookings and stuck orders.
    pub async fn check_invariants(&self) -> Result<InvariantReport, EngineError> {
        Ok(self.shared.db.check_invariants().await?)
    }

    /// Makes the live actor of `kind` and `id` fail (supervision drills).
    pub async fn fail_actor(&self, kind: &str, id: &str) -> Result<(), EngineError> {
        let sent = match kind {
            "order" => self.shared.orders.lookup(id).map(|c| c.send_message(OrderMsg::Fail("drill".into())).is_ok()),
            "worker" => self.shared.workers.lookup(id).map(|c| c.send_message(WorkerMsg::Fail("drill".into())).is_ok()),
            _ => return Err(EngineError::BadRequest(format!("unknown actor kind {kind:?}"))),
        };
        match sent {
            Some(true) => Ok(()),
            _ => Err(EngineError::NotFound("actor", format!("{kind}/{id}"))),
        }
    }

    /// Runs payment reconciliation once: pending payments the gateway says
    /// were paid are applied. Returns how many were.
    pub async fn reconcile_payments(&self) -> Result<usize, EngineError> {
        let older_than = self.shared.clock.now_ms() - self.shared.cfg.payments.reconcile_after_secs * 1000;
        let mut fixed = 0;
        for p in self.shared.db.pending_payments().await? {
            if p.created_at_ms > older_than {
                continue;
            }
            match self.shared.gateway.query_status(&p.id).await {
                Ok(PaymentState::Paid) => {
                    let res = self
                        .ask(&p.order_id, |reply| OrderMsg::Paid(p.id.clone(), reply, tracing::Span::current()))
                        .await;
                    match res {
                        Ok(Ok(_)) => {
                            fixed += 1;
                            self.shared.metrics.reconciled();
                        }
                        Ok(Err(e)) | Err(e) => {
                            tracing::warn!(payment = %p.id, error = %e, "reconciliation could not apply payment")
                        }
                    }
                }
                Ok(_) => {
                    // Still pending at the gateway: make sure its window is watched.
                    if let Some(at) = p.expires_at_ms.and_then(DateTime::from_timestamp_millis) {
                        self.shared.schedule_expiry(&p.order_id, at.with_timezone(&self.shared.offset));
                    }
                }
                Err(e) => tracing::warn!(payment = %p.id, error = %e, "gateway status query failed"),
            }
        }
        Ok(fixed)
    }

    fn spawn_reconciler(&self) {
        let engine = self.clone();
        let every = Duration::from_secs(self.shared.cfg.payments.reconcile_interval_secs.max(1));
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = engine.reconcile_payments().await {
                    tracing::warn!(error = %e, "payment reconciliation failed");
                }
            }
        });
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }

    /// One timer loop for every payment window, instead of a timer per order:
    /// when a window closes, the order's actor (rehydrated if needed) decides.
    fn spawn_deadlines(&self, mut rx: tokio::sync::mpsc::UnboundedReceiver<(OrderId, DateTime<FixedOffset>)>) {
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let mut due: BTreeMap<(DateTime<FixedOffset>, OrderId), ()> = BTreeMap::new();
            loop {
                let next = due.keys().next().map(|(at, _)| engine.shared.clock.instant_of(at.to_utc()));
                tokio::select! {
                    msg = rx.recv() => match msg {
                        Some((order, at)) => { due.insert((at, order), ()); }
                        None => return,
                    },
                    _ = sleep_until_opt(next) => {
                        let now = engine.shared.clock.now();
                        while let Some(entry) = due.first_entry() {
                            if entry.key().0 > now { break; }
                            let (at, order) = entry.remove_entry().0;
                            let engine = engine.clone();
                            tokio::spawn(async move {
                                let delivered = match engine.order_actor(&order).await {
                                    Ok(actor) => actor.cast(OrderMsg::PaymentExpired).is_ok(),
                                    Err(e) => {
                                        tracing::warn!(%order, error = %e, "payment deadline not delivered; retrying");
                                        false
                                    }
                                };
                                // Never lose a deadline: a passing storage error
                                // or an actor stopping right now only delays it.
                                if !delivered {
                                    tokio::time::sleep(DEADLINE_RETRY).await;
                                    engine.shared.schedule_expiry(&order, at);
                                }
                            });
                        }
                    }
                }
            }
        });
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }

    /// Stops background loops and flushes the writer.
    pub async fn shutdown(&self) {
        for t in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            t.abort();
        }
        self.shared.orders.actor.stop(None);
        self.shared.workers.actor.stop(None);
        self.shared.writer.shutdown().await;
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A stable fingerprint of an order request, to tell a retried request from
/// a different one under the same idempotency key.
fn request_hash(req: &OrderRequest) -> String {
    let body = serde_json::to_vec(req).unwrap_or_default();
    autoglm_core::payment::sign(b"autoglm-idempotency", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_forgotten_when_its_last_turn_ends_and_remembered_once_placed() {
        let keys = Arc::new(KeysInFlight::default());
        let c1 = CustomerId::from("C1");
        let in_map = |keys: &KeysInFlight| keys.turns.lock().map(|m| m.len()).unwrap_or(usize::MAX);
        let (first, seen) = keys.turn(&c1, "k").await;
        assert!(!seen, "a fresh key");
        assert_eq!(in_map(&keys), 1);
        // A concurrent repeat waits for the first turn, then knows it may replay.
        let waiter = {
            let keys = keys.clone();
            let c1 = c1.clone();
            tokio::spawn(async move { keys.turn(&c1, "k").await })
        };
        tokio::task::yield_now().await;
        first.placed();
        drop(first);
        let (second, seen) = waiter.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(seen, "the repeat waited");
        assert_eq!(in_map(&keys), 1, "held by the second turn");
        drop(second);
        assert_eq!(in_map(&keys), 0, "nobody holds or waits: forgotten");
        // A later repeat (no concurrency) still knows the key was placed here.
        let (third, seen) = keys.turn(&c1, "k").await;
        assert!(seen, "placed here lately");
        drop(third);
        let (_, seen) = keys.turn(&CustomerId::from("C2"), "k").await;
        assert!(!seen, "keys are per customer");
        assert_eq!(in_map(&keys), 0);
    }
}
