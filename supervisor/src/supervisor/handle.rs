//! The handle other crates hold: start and find children without a round
//! trip to the supervisor on the hot path.

use std::time::Duration;

use ractor::concurrency::JoinHandle;
use ractor::rpc::CallResult;
use ractor::{Actor, ActorCell, ActorRef, SpawnErr};

use super::actor::{is_alive, LiveChildren, Supervisor, SupervisorArgs, SupervisorMsg, STOP_WAIT};
use super::spec::{ChildInfo, ChildSpec, SupervisorError};
use crate::inspect::Inbox;

/// A running supervisor plus its shared map of live children.
#[derive(Clone)]
pub struct SupervisorHandle {
    /// The supervisor actor.
    pub actor: ActorRef<SupervisorMsg>,
    name: String,
    live: LiveChildren,
    inbox: Inbox,
}

impl std::fmt::Debug for SupervisorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorHandle")
            .field("name", &self.name)
            .field("actor", &self.actor.get_id())
            .field("live", &self.live_count())
            .finish()
    }
}

impl SupervisorHandle {
    /// Spawn an unsupervised (root) supervisor.
    pub async fn spawn(args: SupervisorArgs) -> Result<(Self, JoinHandle<()>), SpawnErr> {
        Self::spawn_inner(args, None).await
    }

    /// Spawn a supervisor linked to `parent`, which sees it fail when it gives up.
    pub async fn spawn_linked(args: SupervisorArgs, parent: ActorCell) -> Result<(Self, JoinHandle<()>), SpawnErr> {
        Self::spawn_inner(args, Some(parent)).await
    }

    async fn spawn_inner(args: SupervisorArgs, parent: Option<ActorCell>) -> Result<(Self, JoinHandle<()>), SpawnErr> {
        let supervisor = Supervisor::default();
        let live = supervisor.live.clone();
        let inbox = supervisor.inbox.clone();
        let name = args.name.clone();
        // No global ractor name: several nodes (and tests) reuse supervisor names.
        let (actor, join) = match parent {
            Some(parent) => Actor::spawn_linked(None, supervisor, args, parent).await?,
            None => Actor::spawn(None, supervisor, args).await?,
        };
        let handle = Self { actor, name, live, inbox };
        Ok((handle, join))
    }

    /// The supervisor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The supervisor's cell, e.g. to link other actors to it.
    pub fn cell(&self) -> ActorCell {
        self.actor.get_cell()
    }

    /// The live child with `spec.id`, or start one from `spec` ("get or start").
    ///
    /// Must not be called from a child's `pre_start` of the same supervisor:
    /// the supervisor waits for that `pre_start` to finish.
    pub async fn start_child(&self, spec: ChildSpec) -> Result<ActorCell, SupervisorError> {
        if let Some(cell) = self.lookup(&spec.id) {
            return Ok(cell);
        }
        self.call(|reply| SupervisorMsg::StartChild(spec, reply)).await?
    }

    /// The live child with this id, read from the shared map (no message).
    pub fn lookup(&self, id: &str) -> Option<ActorCell> {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner());
        live.get(id).filter(|cell| is_alive(cell)).cloned()
    }

    /// How many children are currently live.
    pub fn live_count(&self) -> usize {
        self.live.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Stop a child for good and wait (bounded) until it has stopped.
    pub async fn stop_child(&self, id: &str) -> Result<(), SupervisorError> {
        let cell = self.live.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned();
        self.inbox.enqueued();
        if self.actor.cast(SupervisorMsg::StopChild(id.to_string())).is_err() {
            self.inbox.dequeued();
            return Err(self.gone());
        }
        if let Some(cell) = cell {
            // Past the wait the child is still stopping; it will not be restarted.
            let _ = cell.wait(Some(STOP_WAIT)).await;
        }
        Ok(())
    }

    /// The supervisor's children, in start order.
    pub async fn children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        self.call(SupervisorMsg::Children).await
    }

    /// Stop the supervisor (and with it all children) and wait up to `timeout`.
    pub async fn shutdown(&self, timeout: Duration) {
        // An error means it already stopped, or is still stopping past the timeout.
        let _ = self.actor.stop_and_wait(Some("shutdown".to_string()), Some(timeout)).await;
    }

    async fn call<R, F>(&self, build: F) -> Result<R, SupervisorError>
    where
        F: FnOnce(ractor::RpcReplyPort<R>) -> SupervisorMsg,
        R: Send + 'static,
    {
        self.inbox.enqueued();
        match self.actor.call(build, None).await {
            Ok(CallResult::Success(reply)) => Ok(reply),
            Ok(_) => Err(self.gone()),
            Err(_) => {
                self.inbox.dequeued();
                Err(self.gone())
            }
        }
    }

    fn gone(&self) -> SupervisorError {
        SupervisorError::Gone(self.name.clone())
    }
}
