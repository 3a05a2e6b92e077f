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
use std::collections::HashMap;
use std::sync::RwLock;

/// The process group of `service` in `cell`.
pub fn group_name(service: Service, cell: Cell) -> String {
    format!("w:{}:{}:{}", service.as_str(), cell.y, cell.x)
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
