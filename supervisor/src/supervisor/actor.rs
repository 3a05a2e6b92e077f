//! The supervisor actor: starts children from their specs, keeps the shared
//! lookup map current, and restarts children per the [`RestartPolicy`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, ActorStatus, RpcReplyPort, SupervisionEvent};
use serde_json::json;
use tokio::time::Instant;

use super::policy::{Restart, RestartPolicy, RestartWindow, Strategy};
use super::spec::{ChildInfo, ChildSpec, StartCtx, SupervisorError};
use crate::inspect::{registry_key, Inbox, Probe, Registry};

/// The registry kind of every supervisor.
pub const SUPERVISOR_KIND: &str = "supervisor";

/// How long a supervisor waits for a child it stops before moving on.
pub(crate) const STOP_WAIT: Duration = Duration::from_secs(5);

/// Child id → live child, shared with every [`super::SupervisorHandle`].
pub(crate) type LiveChildren = Arc<RwLock<HashMap<String, ActorCell>>>;

/// Whether `cell` can still take messages (not draining, stopping or stopped).
pub(crate) fn is_alive(cell: &ActorCell) -> bool {
    cell.get_status() < ActorStatus::Draining
}

/// How a supervisor is started.
#[derive(Clone, Debug)]
pub struct SupervisorArgs {
    /// The supervisor's name; its registry id.
    pub name: String,
    /// The kind of children it supervises, shown in its snapshot.
    pub kind: String,
    /// How children are restarted and when to give up.
    pub policy: RestartPolicy,
    /// The node's live actor registry.
    pub registry: Registry,
    /// The registry key of the parent, to nest this supervisor in the tree.
    pub parent_key: Option<String>,
}

impl SupervisorArgs {
    /// Args with the default policy and no parent.
    pub fn new(name: impl Into<String>, kind: impl Into<String>, registry: Registry) -> Self {
        Self { name: name.into(), kind: kind.into(), policy: RestartPolicy::default(), registry, parent_key: None }
    }

    /// The same args with another policy.
    pub fn with_policy(mut self, policy: RestartPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same args nested under the registry entry `parent_key`.
    pub fn with_parent_key(mut self, parent_key: impl Into<String>) -> Self {
        self.parent_key = Some(parent_key.into());
        self
    }
}

/// Messages a supervisor understands.
pub enum SupervisorMsg {
    /// Get the live child with this id, or start it from the spec.
    StartChild(ChildSpec, RpcReplyPort<Result<ActorCell, SupervisorError>>),
    /// Stop a child for good (no restart, whatever its restart type).
    StopChild(String),
    /// List the children, in start order.
    Children(RpcReplyPort<Vec<ChildInfo>>),
    /// Internal: a backoff elapsed and these children are due to restart.
    RestartDue(RestartDue),
}

impl ractor::Message for SupervisorMsg {}

/// Internal restart ticket sent by a supervisor's backoff timer to itself.
pub struct RestartDue {
    ids: Vec<String>,
}

/// The supervisor actor; spawn it through [`super::SupervisorHandle::spawn`].
#[derive(Default)]
pub struct Supervisor {
    pub(crate) live: LiveChildren,
    pub(crate) inbox: Inbox,
}

/// One child as the supervisor tracks it.
struct ChildRecord {
    spec: ChildSpec,
    /// Start order; rest-for-one restarts the children with a larger one.
    seq: u64,
    cell: Option<ActorCell>,
    restarts: u32,
    started_at: DateTime<Utc>,
    probe: Option<Probe>,
    /// This child's recent restarts, for its backoff.
    window: RestartWindow,
    /// A restart is scheduled.
    pending: bool,
}

/// A supervisor's private state.
pub struct SupervisorState {
    name: String,
    kind: String,
    policy: RestartPolicy,
    registry: Registry,
    key: String,
    probe: Probe,
    live: LiveChildren,
    children: HashMap<String, ChildRecord>,
    by_actor: HashMap<ActorId, String>,
    /// All restarts, for the intensity limit.
    window: RestartWindow,
    total_restarts: u32,
    next_seq: u64,
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        args: SupervisorArgs,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let probe = args.registry.register_with_inbox(
            SUPERVISOR_KIND,
            &args.name,
            args.parent_key.as_deref(),
            self.inbox.clone(),
        );
        let state = SupervisorState {
            key: registry_key(SUPERVISOR_KIND, &args.name),
            name: args.name,
            kind: args.kind,
            policy: args.policy,
            registry: args.registry,
            probe,
            live: self.live.clone(),
            children: HashMap::new(),
            by_actor: HashMap::new(),
            window: RestartWindow::default(),
            total_restarts: 0,
            next_seq: 0,
        };
        state.publish("running");
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        self.inbox.dequeued();
        match msg {
            SupervisorMsg::StartChild(spec, reply) => {
                let result = state.get_or_start(&myself, spec).await;
                // The caller may have given up waiting; the child stays either way.
                let _ = reply.send(result);
            }
            SupervisorMsg::StopChild(id) => state.stop_child(&id),
            SupervisorMsg::Children(reply) => {
                let _ = reply.send(state.child_infos());
            }
            SupervisorMsg::RestartDue(due) => state.restart_due(&myself, due.ids).await?,
        }
        state.publish("running");
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                state.child_exited(&myself, cell.get_id(), true, err.to_string()).await?
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                // A kill (or a dropped runtime) is not a stop the child chose.
                let failed = matches!(reason.as_deref(), Some("killed" | "actor_task_cancelled"));
                let reason = reason.unwrap_or_else(|| "normal".to_string());
                state.child_exited(&myself, cell.get_id(), failed, reason).await?
            }
            _ => return Ok(()),
        }
        state.publish("running");
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        state.stop_all("supervisor stopping").await;
        state.probe.deregister();
        Ok(())
    }
}

impl SupervisorState {
    fn publish(&self, status: &str) {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner()).len();
        self.probe.publish(
            status,
            json!({
                "child_kind": self.kind,
                "children": self.children.len(),
                "live": live,
                "restarts": self.total_restarts,
                "strategy": self.policy.strategy,
                "max_restarts": self.policy.max_restarts,
                "within_ms": self.policy.within.as_millis(),
            }),
        );
    }

    fn child_infos(&self) -> Vec<ChildInfo> {
        let mut records: Vec<&ChildRecord> = self.children.values().collect();
        records.sort_by_key(|r| r.seq);
        records
            .into_iter()
            .map(|r| ChildInfo {
                id: r.spec.id.clone(),
                kind: r.spec.kind.clone(),
                restarts: r.restarts,
                started_at: r.started_at,
                alive: r.cell.as_ref().is_some_and(is_alive),
            })
            .collect()
    }

    fn set_live(&self, id: &str, cell: Option<ActorCell>) {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        match cell {
            Some(cell) => live.insert(id.to_string(), cell),
            None => live.remove(id),
        };
    }

    /// "Get or start": the live child with this id, or a fresh start from `spec`.
    async fn get_or_start(
        &mut self,
        myself: &ActorRef<SupervisorMsg>,
        spec: ChildSpec,
    ) -> Result<ActorCell, SupervisorError> {
        let id = spec.id.clone();
        let existed = match self.children.get_mut(&id) {
            Some(rec) => {
                if let Some(cell) = rec.cell.as_ref().filter(|c| is_alive(c)) {
                    return Ok(cell.clone());
                }
                // Dying or waiting for a restart: start it now, with the newer spec.
                if let Some(old) = rec.cell.take() {
                    self.by_actor.remove(&old.get_id());
                }
                rec.spec = spec;
                rec.pending
            }
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.children.insert(
                    id.clone(),
                    ChildRecord {
                        spec,
                        seq,
                        cell: None,
                        restarts: 0,
                        started_at: Utc::now(),
                        probe: None,
                        window: RestartWindow::default(),
                        pending: false,
                    },
                );
                false
            }
        };
        let result = self.start_now(myself, &id).await;
        if result.is_err() && !existed {
            // Nothing will retry it: forget the child.
            self.remove_child(&id);
        }
        result
    }

    /// Run the child's start function and record the new incarnation.
    async fn start_now(&mut self, myself: &ActorRef<SupervisorMsg>, id: &str) -> Result<ActorCell, SupervisorError> {
        let gone = || SupervisorError::Gone(self.name.clone());
        let rec = self.children.get(id).ok_or_else(gone)?;
        let (start, kind, attempt) = (rec.spec.start.clone(), rec.spec.kind.clone(), rec.restarts);
        let probe = self.registry.register(&kind, id, Some(&self.key));
        probe.set_restarts(attempt);
        let ctx = StartCtx { supervisor: myself.get_cell(), attempt, probe: probe.clone() };
        let result = start(ctx).await;
        let name = self.name.clone();
        let rec = self.children.get_mut(id).ok_or(SupervisorError::Gone(name))?;
        rec.probe = Some(probe.clone());
        match result {
            Ok(cell) => {
                if cell.try_get_supervisor().is_none() {
                    // The start fn forgot spawn_linked; without a link no failure reaches us.
                    tracing::warn!(supervisor = %self.name, child = %id, "child was not linked; linking it");
                    cell.link(myself.get_cell());
                }
                rec.cell = Some(cell.clone());
                rec.pending = false;
                rec.started_at = Utc::now();
                self.by_actor.insert(cell.get_id(), id.to_string());
                self.set_live(id, Some(cell.clone()));
                // The child may have registered itself again under the same key.
                self.registry.set_restarts(&registry_key(&kind, id), attempt);
                probe.publish_if_starting("running");
                tracing::debug!(supervisor = %self.name, child = %id, attempt, "child started");
                Ok(cell)
            }
            Err(err) => {
                let reason = err.to_string();
                probe.publish("start_failed", json!({ "error": reason, "attempt": attempt }));
                tracing::warn!(supervisor = %self.name, child = %id, attempt, error = %reason, "child failed to start");
                Err(SupervisorError::SpawnFailed { kind, id: id.to_string(), reason })
            }
        }
    }

    /// Forget a child: lookup map, actor index and registry entry.
    fn remove_child(&mut self, id: &str) -> Option<ActorCell> {
        let rec = self.children.remove(id)?;
        self.set_live(id, None);
        if let Some(probe) = &rec.probe {
            probe.deregister();
        }
        let cell = rec.cell?;
        self.by_actor.remove(&cell.get_id());
        Some(cell)
    }

    fn stop_child(&mut self, id: &str) {
        if let Some(cell) = self.remove_child(id) {
            cell.stop(Some("stopped by supervisor".to_string()));
        }
    }

    /// A child exited: restart it (and maybe its younger siblings) or forget it.
    async fn child_exited(
        &mut self,
        myself: &ActorRef<SupervisorMsg>,
        actor: ActorId,
        failed: bool,
        reason: String,
    ) -> Result<(), ActorProcessingErr> {
        // Unknown ids are incarnations we already replaced or stopped on purpose.
        let Some(id) = self.by_actor.remove(&actor) else {
            return Ok(());
        };
        let Some(rec) = self.children.get_mut(&id) else {
            return Ok(());
        };
        if rec.cell.as_ref().map(|c| c.get_id()) != Some(actor) {
            return Ok(());
        }
        rec.cell = None;
        let restart = rec.spec.restart.restarts_after(failed);
        self.set_live(&id, None);
        if !restart {
            tracing::debug!(supervisor = %self.name, child = %id, %reason, "child exited; not restarted");
            self.remove_child(&id);
            return Ok(());
        }
        tracing::warn!(supervisor = %self.name, child = %id, failed, %reason, "child exited; restarting");
        let mut ids = vec![id.clone()];
        let mut stopping = Vec::new();
        if self.policy.strategy == Strategy::RestForOne {
            let (younger, cells) = self.take_down_younger(&id);
            ids.extend(younger);
            stopping = cells;
        }
        self.schedule_restart(myself, ids, reason, stopping).await
    }

    /// Stop every child started after `id`; returns those to restart and the
    /// cells to wait for before restarting.
    fn take_down_younger(&mut self, id: &str) -> (Vec<String>, Vec<ActorCell>) {
        let Some(seq) = self.children.get(id).map(|r| r.seq) else {
            return (Vec::new(), Vec::new());
        };
        let mut younger: Vec<(u64, String)> =
            self.children.values().filter(|r| r.seq > seq).map(|r| (r.seq, r.spec.id.clone())).collect();
        younger.sort();
        let mut restart = Vec::new();
        let mut stopping = Vec::new();
        for (_, sibling) in younger {
            let Some(rec) = self.children.get_mut(&sibling) else {
                continue;
            };
            let temporary = rec.spec.restart == Restart::Temporary;
            if let Some(cell) = rec.cell.take() {
                self.by_actor.remove(&cell.get_id());
                cell.stop(Some(format!("rest_for_one: restarting after {id}")));
                stopping.push(cell);
            }
            self.set_live(&sibling, None);
            if temporary {
                self.remove_child(&sibling);
            } else {
                restart.push(sibling);
            }
        }
        (restart, stopping)
    }

    /// Count the restart against the intensity limit, then restart `ids`
    /// (in order) after the backoff of the first one.
    async fn schedule_restart(
        &mut self,
        myself: &ActorRef<SupervisorMsg>,
        ids: Vec<String>,
        reason: String,
        stopping: Vec<ActorCell>,
    ) -> Result<(), ActorProcessingErr> {
        let now = Instant::now();
        let in_window = self.window.record(now, self.policy.within);
        if in_window > self.policy.max_restarts {
            return Err(self.give_up(in_window, reason).await.into());
        }
        let recent = ids
            .first()
            .and_then(|id| self.children.get_mut(id))
            .map_or(1, |rec| rec.window.record(now, self.policy.within));
        let delay = self.policy.backoff(recent.saturating_sub(1));
        for id in &ids {
            let Some(rec) = self.children.get_mut(id) else {
                continue;
            };
            rec.restarts = rec.restarts.saturating_add(1);
            crate::metrics::restart(&rec.spec.kind);
            rec.pending = true;
            self.total_restarts = self.total_restarts.saturating_add(1);
            if let Some(probe) = &rec.probe {
                probe.set_restarts(rec.restarts);
                probe.publish("restarting", json!({ "reason": reason, "backoff_ms": delay.as_millis() }));
            }
        }
        let myself = myself.clone();
        tokio::spawn(async move {
            for cell in stopping {
                // A sibling that will not stop in time is killed with us later; go on.
                let _ = cell.wait(Some(STOP_WAIT)).await;
            }
            tokio::time::sleep(delay).await;
            // If the supervisor is gone, so are its children: nothing to restart.
            let _ = myself.cast(SupervisorMsg::RestartDue(RestartDue { ids }));
        });
        Ok(())
    }

    /// A backoff elapsed: start the children in `ids` that still need it.
    async fn restart_due(
        &mut self,
        myself: &ActorRef<SupervisorMsg>,
        ids: Vec<String>,
    ) -> Result<(), ActorProcessingErr> {
        for (i, id) in ids.iter().enumerate() {
            let due = self.children.get(id).is_some_and(|r| r.pending && !r.cell.as_ref().is_some_and(is_alive));
            if !due {
                continue;
            }
            if let Err(err) = self.start_now(myself, id).await {
                // A failed rehydration counts like any failure; the rest wait behind it.
                return self.schedule_restart(myself, ids[i..].to_vec(), err.to_string(), Vec::new()).await;
            }
            tracing::info!(supervisor = %self.name, child = %id, "child restarted");
        }
        Ok(())
    }

    /// Too many restarts: stop everything and fail, so our own parent decides.
    async fn give_up(&mut self, failures: u32, last: String) -> SupervisorError {
        tracing::error!(supervisor = %self.name, failures, %last, "restart intensity exceeded; giving up");
        self.stop_all("supervisor gave up").await;
        self.probe.publish("failed", json!({ "failures": failures, "last": last }));
        SupervisorError::GaveUp { supervisor: self.name.clone(), failures, within: self.policy.within, last }
    }

    /// Stop all children, youngest first, and wait for them (bounded).
    async fn stop_all(&mut self, reason: &str) {
        let mut ids: Vec<(u64, String)> = self.children.values().map(|r| (r.seq, r.spec.id.clone())).collect();
        ids.sort_by(|a, b| b.cmp(a));
        let cells: Vec<ActorCell> = ids.into_iter().filter_map(|(_, id)| self.remove_child(&id)).collect();
        let stops = cells.iter().map(|cell| cell.stop_and_wait(Some(reason.to_string()), Some(STOP_WAIT)));
        // A child that does not stop in time is killed when this actor exits.
        let _ = futures::future::join_all(stops).await;
    }
}
