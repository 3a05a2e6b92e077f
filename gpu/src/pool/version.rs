//! One loaded model version: its per-device models, its queue, its workers'
//! wake flags and its counters. Shared (behind an `Arc`) by the pool's
//! registry, the callers that push requests and the worker actors.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use autoglm_supervisor::SupervisorHandle;
use chrono::{DateTime, Utc};

use super::answers::Answers;
use super::queue::{Queue, Stats};
use super::worker::WorkerMsg;
use crate::device::DeviceInfo;
use crate::model::NluModel;

/// One worker of a version, as callers see it.
pub(crate) struct WorkerLink {
    /// The supervisor's child id, unique per load and slot: `{name}#{generation}.{slot}@{device}`.
    pub id: String,
    pub device: DeviceInfo,
    pub model: Arc<NluModel>,
    /// A `Wake` is in the worker's mailbox (or about to be); no need to send another.
    pub wake_pending: AtomicBool,
}

/// Lifecycle of a version.
pub(crate) const READY: u8 = 0;
pub(crate) const DRAINING: u8 = 1;

/// A loaded model version.
pub(crate) struct Version {
    pub name: String,
    pub version: String,
    /// Increases with every load in the pool; makes worker ids unique.
    pub generation: u64,
    pub loaded_at: DateTime<Utc>,
    pub queue: Queue,
    pub workers: Vec<WorkerLink>,
    pub stats: Stats,
    /// Kept answers to short texts.
    pub answers: Answers,
    pub max_batch: usize,
    pub max_wait: Duration,
    pub state: AtomicU8,
    next_wake: AtomicUsize,
    supervisor: SupervisorHandle,
}

impl Version {
    /// A version with one worker link per `(device, model)`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: String,
        generation: u64,
        models: Vec<(DeviceInfo, Arc<NluModel>)>,
        queue_capacity: usize,
        max_batch: usize,
        max_wait: Duration,
        answers: Answers,
        supervisor: SupervisorHandle,
    ) -> Self {
        let version = models.first().map(|(_, m)| m.version().to_string()).unwrap_or_default();
        let workers = models
            .into_iter()
            .enumerate()
            .map(|(slot, (device, model))| WorkerLink {
                id: format!("{name}#{generation}.{slot}@{}", device.name),
                device,
                model,
                wake_pending: AtomicBool::new(false),
            })
            .collect();
        Self {
            name,
            version,
            generation,
            loaded_at: Utc::now(),
            queue: Queue::new(queue_capacity),
            workers,
            stats: Stats::default(),
            answers,
            max_batch,
            max_wait,
            state: AtomicU8::new(READY),
            next_wake: AtomicUsize::new(0),
            supervisor,
        }
    }

    /// Tells one worker (round robin) that requests are waiting. A worker
    /// that is restarting is skipped: its next incarnation looks at the queue
    /// when it starts.
    pub(crate) fn wake_one(&self) {
        let n = self.workers.len();
        if n == 0 {
            return;
        }
        let start = self.next_wake.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            let slot = (start + k) % n;
            if self.wake(slot) {
                return;
            }
        }
    }

    /// Wakes every worker (draining: all hands on the queue).
    pub(crate) fn wake_all(&self) {
        for slot in 0..self.workers.len() {
            self.wake(slot);
        }
    }

    /// Sends `Wake` to worker `slot` unless one is pending; false when it is not running.
    pub(crate) fn wake(&self, slot: usize) -> bool {
        let Some(link) = self.workers.get(slot) else {
            return false;
        };
        if link.wake_pending.swap(true, Ordering::SeqCst) {
            return true;
        }
        let sent = self.supervisor.lookup(&link.id).is_some_and(|cell| cell.send_message(WorkerMsg::Wake).is_ok());
        if !sent {
            link.wake_pending.store(false, Ordering::SeqCst);
        }
        sent
    }

    /// Sends `msg` to worker `slot`; false when it is not running.
    pub(crate) fn send(&self, slot: usize, msg: WorkerMsg) -> bool {
        self.workers
            .get(slot)
            .and_then(|link| self.supervisor.lookup(&link.id))
            .is_some_and(|cell| cell.send_message(msg).is_ok())
    }

    /// Whether the version is draining (swapped out or unloaded).
    pub(crate) fn is_draining(&self) -> bool {
        self.state.load(Ordering::SeqCst) == DRAINING
    }

    /// Stops taking requests: the queue refuses pushes, workers flush what is left.
    pub(crate) fn start_draining(&self) {
        self.state.store(DRAINING, Ordering::SeqCst);
        self.queue.close();
    }
}
