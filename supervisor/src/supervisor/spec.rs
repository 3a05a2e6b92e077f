//! How a child is described to its supervisor, what the supervisor reports
//! about it, and what can go wrong.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use ractor::{ActorCell, SpawnErr};
use serde::{Deserialize, Serialize};

use super::policy::Restart;
use crate::inspect::{registry_key, Probe};

/// Starts (or restarts) one child; see [`StartCtx`].
pub type StartFn = Arc<dyn Fn(StartCtx) -> BoxFuture<'static, Result<ActorCell, SpawnErr>> + Send + Sync>;

/// What a [`StartFn`] gets from the supervisor.
#[derive(Clone, Debug)]
pub struct StartCtx {
    /// The supervisor: spawn the child with `spawn_linked(.., ctx.supervisor)`.
    pub supervisor: ActorCell,
    /// 0 on the first start; above 0 on a restart, when the child must
    /// rehydrate from storage instead of trusting its arguments.
    pub attempt: u32,
    /// The child's registry entry, already registered under the supervisor;
    /// hand it to the child so it can publish its state.
    pub probe: Probe,
}

/// A child as its supervisor knows it: identity, restart type, how to start it.
#[derive(Clone)]
pub struct ChildSpec {
    /// Unique among the supervisor's children; also the registry id.
    pub id: String,
    /// The registry kind (`order`, `worker`, `model_worker`, ...).
    pub kind: String,
    /// When the child comes back after exiting.
    pub restart: Restart,
    /// Spawns the child linked to `ctx.supervisor`.
    pub start: StartFn,
}

impl ChildSpec {
    /// A spec from an async start closure.
    pub fn new<F, Fut>(kind: impl Into<String>, id: impl Into<String>, restart: Restart, start: F) -> Self
    where
        F: Fn(StartCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ActorCell, SpawnErr>> + Send + 'static,
    {
        Self { id: id.into(), kind: kind.into(), restart, start: Arc::new(move |ctx| Box::pin(start(ctx))) }
    }

    /// The child's registry key, `"{kind}/{id}"`.
    pub fn key(&self) -> String {
        registry_key(&self.kind, &self.id)
    }
}

impl std::fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("restart", &self.restart)
            .finish_non_exhaustive()
    }
}

/// What a supervisor reports about one of its children.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildInfo {
    /// The child's id.
    pub id: String,
    /// The child's kind.
    pub kind: String,
    /// Restarts so far.
    pub restarts: u32,
    /// When the current (or last) incarnation started.
    pub started_at: DateTime<Utc>,
    /// False while a restart is pending.
    pub alive: bool,
}

/// What can go wrong when talking to a supervisor.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The child's start function failed.
    #[error("could not start {kind} {id}: {reason}")]
    SpawnFailed {
        /// The child's kind.
        kind: String,
        /// The child's id.
        id: String,
        /// Why, in ractor's words.
        reason: String,
    },
    /// The supervisor is not running any more (or dropped the request).
    #[error("supervisor {0} is not running")]
    Gone(String),
    /// The supervisor is shutting down and starts nothing new.
    #[error("supervisor {0} is shutting down")]
    ShuttingDown(String),
    /// Children failed too often; the supervisor stopped them all and itself.
    #[error("supervisor {supervisor} gave up after {failures} failures within {within:?} (last: {last})")]
    GaveUp {
        /// The supervisor's name.
        supervisor: String,
        /// Child exits needing a restart, counted in the window.
        failures: u32,
        /// The policy window.
        within: Duration,
        /// The last failure that tipped it over.
        last: String,
    },
}
