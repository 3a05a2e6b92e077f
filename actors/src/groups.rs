//! Process groups of the contract net and the worker directory.
//!
//! A worker joins one ractor process group per (service, grid cell) its
//! service area touches; an order calls for proposals in the group of its
//! service and cell. Groups are ractor `pg` groups, so with a cluster the
//! members on other nodes are reached the same way.

use autoglm_core::geo::Cell;
use autoglm_core::{Service, Worker, WorkerId};
use autoglm_supervisor::Inbox;
use ractor::ActorId;
use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

/// The process group of `service` in `cell`.
pub fn group_name(service: Service, cell: Cell) -> String {
    format!("w:{}:{}:{}", service.as_str(), cell.y, cell.x)
}

/// The process group of one worker's actor alone: in a cluster, how a node
/// reaches a worker whose actor runs on another node (to release a booking).
pub fn worker_group(worker: &WorkerId) -> String {
    format!("worker:{worker}")
}

/// Every group `worker` belongs to; `radius_factor` widens the area.
pub fn groups_of(worker: &Worker, radius_factor: f64) -> Vec<String> {
    let cells = Cell::covering(&worker.home, worker.radius_km * radius_factor);
    let mut out = Vec::with_capacity(cells.len() * worker.skills.len());
    for service in worker.skills.keys() {
        for cell in &cells {
            out.push(group_name(*service, *cell));
        }
    }
    out
}

/// Inboxes of live worker actors, so senders can count what they queue.
#[derive(Default)]
pub struct Directory {
    inboxes: RwLock<HashMap<ActorId, (WorkerId, Inbox)>>,
}

impl Directory {
    /// Records the inbox of a (re)started worker actor.
    pub fn set(&self, actor: ActorId, worker: &WorkerId, inbox: Inbox) {
        self.inboxes.write().unwrap_or_else(|e| e.into_inner()).insert(actor, (worker.clone(), inbox));
    }

    /// Forgets a stopped worker actor.
    pub fn remove(&self, actor: ActorId) {
        self.inboxes.write().unwrap_or_else(|e| e.into_inner()).remove(&actor);
    }

    /// Counts one more queued message for the worker actor `actor`.
    pub fn enqueued(&self, actor: ActorId) {
        if let Some((_, i)) = self.inboxes.read().unwrap_or_else(|e| e.into_inner()).get(&actor) {
            i.enqueued();
        }
    }

    /// The worker behind a live worker actor.
    pub fn worker_of(&self, actor: ActorId) -> Option<WorkerId> {
        self.inboxes.read().unwrap_or_else(|e| e.into_inner()).get(&actor).map(|(w, _)| w.clone())
    }
}

/// Passivated workers by process group: the contract net wakes them when an
/// order calls for proposals in one of their groups.
#[derive(Default)]
pub struct Dormant {
    inner: RwLock<DormantInner>,
}

#[derive(Default)]
struct DormantInner {
    by_group: HashMap<String, HashSet<WorkerId>>,
    groups_of: HashMap<WorkerId, Vec<String>>,
}

impl Dormant {
    /// Records that `worker`, a member of `groups`, passivated.
    pub fn add(&self, worker: &WorkerId, groups: Vec<String>) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        for g in &groups {
            inner.by_group.entry(g.clone()).or_default().insert(worker.clone());
        }
        inner.groups_of.insert(worker.clone(), groups);
    }

    /// Forgets `worker` (it is live again, or gone).
    pub fn remove(&self, worker: &WorkerId) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(groups) = inner.groups_of.remove(worker) {
            for g in groups {
                if let Some(set) = inner.by_group.get_mut(&g) {
                    set.remove(worker);
                    if set.is_empty() {
                        inner.by_group.remove(&g);
                    }
                }
            }
        }
    }

    /// Passivated members of `group`.
    pub fn in_group(&self, group: &str) -> Vec<WorkerId> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.by_group.get(group).map(|s| s.iter().cloned().collect()).unwrap_or_default()
    }

    /// Number of passivated workers.
    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).groups_of.len()
    }

    /// Whether no worker is passivated.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
