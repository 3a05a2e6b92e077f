//! What `/ops/models` and `autoglm ops models` show about each loaded model.

use std::sync::atomic::Ordering;

use autoglm_supervisor::ChildInfo;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::version::Version;
use crate::manifest::Metrics;

/// Lifecycle of a loaded model version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelState {
    /// Taking requests.
    Ready,
    /// Swapped out or unloaded: answering what it had queued, then stopping.
    Draining,
}

/// One worker of a model version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerStatus {
    /// The supervisor's child id.
    pub id: String,
    /// The device it runs on (`cpu`, `cuda:0`).
    pub device: String,
    /// False while it is being restarted.
    pub alive: bool,
    /// Restarts so far.
    pub restarts: u32,
}

/// Status of one loaded model version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelStatus {
    /// Registry name.
    pub name: String,
    /// Version from the manifest.
    pub version: String,
    /// Load number within the pool (part of the worker ids).
    pub generation: u64,
    /// Ready or draining.
    pub state: ModelState,
    /// Devices it runs on.
    pub devices: Vec<String>,
    /// Its workers.
    pub workers: Vec<WorkerStatus>,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
    /// Requests answered.
    pub requests: u64,
    /// Requests answered with an error.
    pub failed: u64,
    /// Forward passes run.
    pub batches: u64,
    /// Mean requests per forward pass.
    pub mean_batch: f64,
    /// Requests waiting now.
    pub queue_depth: usize,
    /// Most requests that may wait.
    pub queue_capacity: usize,
    /// Mean time a request waited before its forward pass, in µs.
    pub mean_queue_wait_us: f64,
    /// Mean time of one forward pass (with encoding and decoding), in µs.
    pub mean_inference_us: f64,
    /// Short texts answered from the kept answers (not counted in `requests`).
    pub answer_cache_hits: u64,
    /// Short texts that were not kept yet and went to the model.
    pub answer_cache_misses: u64,
    /// Held-out metrics from the manifest.
    pub metrics: Metrics,
}

impl ModelStatus {
    pub(crate) fn of(v: &Version, children: &[ChildInfo]) -> Self {
        let s = &v.stats;
        let requests = s.requests.load(Ordering::Relaxed);
        let failed = s.failed.load(Ordering::Relaxed);
        let batches = s.batches.load(Ordering::Relaxed);
        let (answer_cache_hits, answer_cache_misses) = v.answers.counts();
        let mean = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
        let workers = v
            .workers
            .iter()
            .map(|link| {
                let child = children.iter().find(|c| c.id == link.id);
                WorkerStatus {
                    id: link.id.clone(),
                    device: link.device.name.clone(),
                    alive: child.is_some_and(|c| c.alive),
                    restarts: child.map_or(0, |c| c.restarts),
                }
            })
            .collect();
        ModelStatus {
            name: v.name.clone(),
            version: v.version.clone(),
            generation: v.generation,
            state: if v.is_draining() { ModelState::Draining } else { ModelState::Ready },
            devices: v.workers.iter().map(|l| l.device.name.clone()).collect(),
            workers,
            loaded_at: v.loaded_at,
            requests,
            failed,
            batches,
            mean_batch: mean(requests + failed, batches),
            queue_depth: v.queue.len(),
            queue_capacity: v.queue.capacity(),
            mean_queue_wait_us: mean(s.queue_wait_us.load(Ordering::Relaxed), requests + failed),
            mean_inference_us: mean(s.inference_us.load(Ordering::Relaxed), batches),
            answer_cache_hits,
            answer_cache_misses,
            metrics: v.workers.first().map(|l| l.model.manifest().metrics).unwrap_or_default(),
        }
    }
}
