//! Order and worker actors, the contract-net dispatch between them, payments,
//! and the [`Engine`] facade the HTTP edge and the CLI call.
//!
//! Domain rules live in `autoglm-core`; this crate only orchestrates: who
//! asks whom, in which order, and what gets committed when.

pub mod chat;
pub mod clock;
pub mod config;
pub mod engine;
pub mod error;
pub mod groups;
pub mod llm;
pub mod metrics;
pub mod negotiation;
pub mod order_actor;
pub mod payments;
pub mod wire;
pub mod worker_actor;

pub use chat::{ChatConfig, ChatError, ChatReply, ChatRequest, ChatService, Understand};
pub use clock::Clock;
pub use config::EngineConfig;
pub use engine::{Caller, Engine, EngineParts, PayInfo};
pub use error::EngineError;
pub use llm::{LlmClient, LlmConfig, LlmError};
pub use order_actor::Command;
pub use payments::{PaymentGateway, SandboxGateway};

use autoglm_core::dispatch::DispatchWeights;
use autoglm_core::ids::IdGen;
use autoglm_core::{CustomerId, OrderId, SlotRange, Worker, WorkerId};
use autoglm_storage::{CustomerPrefs, Db, OrderCache, Writer};
use autoglm_supervisor::{Registry, SupervisorHandle};
use chrono::{DateTime, FixedOffset};
use std::sync::{Arc, Mutex};

/// What every actor of the engine shares: configuration, storage, the
/// gateway, supervisors and the live registry.
pub struct Shared {
    /// Engine configuration.
    pub cfg: EngineConfig,
    /// Local offset of customers and workers.
    pub offset: FixedOffset,
    /// Bid scoring weights.
    pub weights: DispatchWeights,
    /// The database.
    pub db: Db,
    /// Group-commit writer in front of the database.
    pub writer: Writer,
    /// Order read cache (L1 moka, L2 Redis).
    pub cache: OrderCache,
    /// Payment gateway.
    pub gateway: Arc<dyn PaymentGateway>,
    /// Live actors for inspection.
    pub registry: Registry,
    /// Process-group scope of the contract net (shared by the nodes of one cluster).
    pub scope: String,
    /// Part of a cluster: worker actors run where the cluster's ownership
    /// puts them (leased, never passivated), not all on this node.
    pub clustered: bool,
    /// Inboxes of worker actors.
    pub directory: groups::Directory,
    /// Passivated worker actors, woken on demand.
    pub dormant: groups::Dormant,
    /// Wall clock following tokio time.
    pub clock: Clock,
    /// Supervisor of order actors.
    pub orders: SupervisorHandle,
    /// Supervisor of worker actors.
    pub workers: SupervisorHandle,
    /// Counters of what the engine did.
    pub metrics: metrics::Metrics,
    ids: Mutex<IdGen>,
    prefs: moka::sync::Cache<CustomerId, Arc<CustomerPrefs>>,
    deadlines: tokio::sync::mpsc::UnboundedSender<(OrderId, DateTime<FixedOffset>)>,
}

impl Shared {
    /// A fresh id with `prefix`.
    pub fn next_id(&self, prefix: char) -> String {
        let now = self.clock.now_ms().max(0) as u64;
        self.ids.lock().unwrap_or_else(|e| e.into_inner()).next(prefix, now)
    }

    /// The customer's favourite and blocked workers (cached briefly).
    pub async fn prefs(&self, customer: &CustomerId) -> Arc<CustomerPrefs> {
        if let Some(p) = self.prefs.get(customer) {
            return p;
        }
        match self.db.get_prefs(customer).await {
            Ok(p) => {
                let p = Arc::new(p);
                self.prefs.insert(customer.clone(), p.clone());
                p
            }
            Err(e) => {
                tracing::warn!(%customer, error = %e, "could not read preferences; using none");
                Arc::new(CustomerPrefs::default())
            }
        }
    }

    /// Adds `worker` to the customer's blocked list.
    pub async fn block_worker(&self, customer: &CustomerId, worker: &WorkerId) -> Result<(), EngineError> {
        let mut prefs = (*self.prefs(customer).await).clone();
        if !prefs.blocked.contains(worker) {
            prefs.blocked.push(worker.clone());
            prefs.favourites.retain(|w| w != worker);
            self.db.set_prefs(customer, &prefs).await?;
        }
        self.prefs.invalidate(customer);
        Ok(())
    }

    /// Replaces the customer's preferences.
    pub async fn set_prefs(&self, customer: &CustomerId, prefs: CustomerPrefs) -> Result<(), EngineError> {
        self.db.set_prefs(customer, &prefs).await?;
        self.prefs.invalidate(customer);
        Ok(())
    }

    /// Arranges for `order` to be told when its payment window closes.
    pub fn schedule_expiry(&self, order: &OrderId, at: DateTime<FixedOffset>) {
        let _ = self.deadlines.send((order.clone(), at));
    }

    /// Starts (or finds) the actor of `worker`: with the profile given, or
    /// loading profile and calendar from the database.
    pub async fn start_worker(
        self: &Arc<Self>,
        id: &WorkerId,
        worker: Option<Worker>,
        fence: Option<i64>,
    ) -> Result<ractor::ActorCell, EngineError> {
        let shared = self.clone();
        let id = id.clone();
        let first = Arc::new(Mutex::new(worker.map(Box::new)));
        let spec = autoglm_supervisor::ChildSpec {
            id: id.to_string(),
            kind: "worker".into(),
            restart: autoglm_supervisor::Restart::Transient,
            start: Arc::new(move |ctx: autoglm_supervisor::StartCtx| {
                // The first start uses the profile we have; a restart reloads
                // profile and calendar from the database.
                let worker = if ctx.attempt == 0 {
                    first.lock().unwrap_or_else(|e| e.into_inner()).take().map(|w| *w)
                } else {
                    None
                };
                let args = worker_actor::WorkerArgs {
                    worker,
                    id: id.clone(),
                    fence,
                    probe: ctx.probe,
                    shared: shared.clone(),
                };
                Box::pin(async move {
                    let (actor, _) =
                        ractor::Actor::spawn_linked(None, worker_actor::WorkerActor, args, ctx.supervisor).await?;
                    Ok(actor.get_cell())
                })
            }),
        };
        self.workers.start_child(spec).await.map_err(|e| EngineError::Unavailable(format!("worker actor: {e}")))
    }

    /// Wakes the passivated members of `group` and returns their actors.
    pub async fn wake_group(self: &Arc<Self>, group: &str) -> Vec<ractor::ActorCell> {
        let mut woken = Vec::new();
        for id in self.dormant.in_group(group) {
            match self.start_worker(&id, None, None).await {
                Ok(cell) => woken.push(cell),
                Err(e) => {
                    tracing::warn!(worker = %id, error = %e, "could not wake worker");
                    self.dormant.remove(&id);
                }
            }
        }
        woken
    }

    /// Tells a worker actor it no longer holds `order`.
    pub fn release_worker(&self, worker: &WorkerId, order: &OrderId) {
        self.tell_worker(worker, || worker_actor::WorkerMsg::Release { order: order.clone() });
    }

    /// Tells a worker's actor that the database holds `order`'s booking of `range`.
    pub fn confirm_worker(&self, worker: &WorkerId, order: &OrderId, range: SlotRange) {
        self.tell_worker(worker, || worker_actor::WorkerMsg::Confirm { order: order.clone(), range });
    }

    fn tell_worker(&self, worker: &WorkerId, msg: impl Fn() -> worker_actor::WorkerMsg) {
        if let Some(cell) = self.workers.lookup(worker.as_str()) {
            worker_actor::send_to_worker(&self.directory, &cell, msg());
        } else if self.clustered {
            // Its actor runs on another node: reach it through its own group.
            for cell in ractor::pg::get_scoped_members(&self.scope, &groups::worker_group(worker)) {
                worker_actor::send_to_worker(&self.directory, &cell, msg());
            }
        }
    }

    /// Sends a changed profile to the worker's actor, if live.
    pub fn update_worker_actor(&self, worker: Worker) {
        if let Some(cell) = self.workers.lookup(worker.id.as_str()) {
            let id = worker.id.clone();
            if !worker_actor::send_to_worker(&self.directory, &cell, worker_actor::WorkerMsg::Update(Box::new(worker)))
            {
                tracing::warn!(worker = %id, "worker actor gone; the update applies on its restart");
            }
        }
    }
}

/// Sends `msg` to `actor` after `delay` (tokio time, so paused-time tests
/// see it); a stopped actor simply never gets it.
pub fn send_after<M: ractor::Message>(actor: &ractor::ActorRef<M>, delay: std::time::Duration, msg: M) {
    let target = actor.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let _ = target.cast(msg);
    });
}
