//! The model-worker actor: one per device and model version, supervised.
//!
//! It holds no requests between messages: on `Wake` (a caller queued
//! something) or `Deadline` (the oldest request's `max_wait` ran out) it asks
//! the version's queue for a due batch, runs the forward pass on a blocking
//! thread, answers every request, and looks again.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use tracing::Instrument;

use autoglm_nlu::model::ModelError;
use autoglm_supervisor::Probe;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde_json::json;
use tokio::time::Instant;

use super::queue::{Ready, Request};
use super::version::Version;

/// The registry kind of model workers.
pub const MODEL_WORKER_KIND: &str = "model_worker";

/// How a test makes a worker fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// Panic on receipt (holds no request: nothing is lost).
    Now,
    /// Panic in the middle of the next batch (its requests are lost; callers retry once).
    NextBatch,
}

/// Messages of a model worker.
#[derive(Debug)]
pub enum WorkerMsg {
    /// Requests are waiting in the queue.
    Wake,
    /// The armed `max_wait` timer fired.
    Deadline,
    /// Test hook: fail as told.
    Crash(CrashMode),
}

impl ractor::Message for WorkerMsg {}

/// The actor (stateless; see [`WorkerState`]).
pub(crate) struct ModelWorker;

/// What a worker is started with.
pub(crate) struct WorkerArgs {
    pub version: Arc<Version>,
    pub slot: usize,
    pub probe: Probe,
}

/// A worker's private state.
pub(crate) struct WorkerState {
    version: Arc<Version>,
    slot: usize,
    probe: Probe,
    timer_armed: bool,
    crash_next_batch: bool,
    batches: u64,
    requests: u64,
}

impl Actor for ModelWorker {
    type Msg = WorkerMsg;
    type State = WorkerState;
    type Arguments = WorkerArgs;

    async fn pre_start(&self, _me: ActorRef<WorkerMsg>, args: WorkerArgs) -> Result<WorkerState, ActorProcessingErr> {
        let state = WorkerState {
            version: args.version,
            slot: args.slot,
            probe: args.probe,
            timer_armed: false,
            crash_next_batch: false,
            batches: 0,
            requests: 0,
        };
        state.publish("idle");
        Ok(state)
    }

    async fn post_start(&self, me: ActorRef<WorkerMsg>, state: &mut WorkerState) -> Result<(), ActorProcessingErr> {
        // A Wake sent to an earlier incarnation died with it: look at the queue now.
        if let Some(link) = state.version.workers.get(state.slot) {
            link.wake_pending.store(true, Ordering::SeqCst);
        }
        me.send_message(WorkerMsg::Wake)?;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<WorkerMsg>,
        msg: WorkerMsg,
        state: &mut WorkerState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            WorkerMsg::Wake => {
                if let Some(link) = state.version.workers.get(state.slot) {
                    link.wake_pending.store(false, Ordering::SeqCst);
                }
            }
            WorkerMsg::Deadline => state.timer_armed = false,
            WorkerMsg::Crash(CrashMode::Now) => panic!("test hook: model worker told to crash"),
            WorkerMsg::Crash(CrashMode::NextBatch) => {
                state.crash_next_batch = true;
                return Ok(());
            }
        }
        state.work(&me).await
    }
}

impl WorkerState {
    /// The device this worker runs on (`cpu`, `cuda:0`).
    fn device_name(&self) -> String {
        self.version.workers.get(self.slot).map(|l| l.device.name.clone()).unwrap_or_default()
    }

    fn publish(&self, status: &str) {
        let v = &self.version;
        let device = self.device_name();
        self.probe.publish(
            status,
            json!({
                "model": v.name,
                "version": v.version,
                "device": device,
                "batches": self.batches,
                "requests": self.requests,
                "queue_depth": v.queue.len(),
            }),
        );
    }

    /// Runs one due batch, or arms the timer for the oldest request.
    async fn work(&mut self, me: &ActorRef<WorkerMsg>) -> Result<(), ActorProcessingErr> {
        let version = self.version.clone();
        match version.queue.take_ready(version.max_batch, version.max_wait, Instant::now()) {
            Ready::Empty => {}
            Ready::WaitUntil(due) => {
                if !self.timer_armed {
                    self.timer_armed = true;
                    let delay = due.saturating_duration_since(Instant::now());
                    me.send_after(delay, || WorkerMsg::Deadline);
                }
            }
            Ready::Batch(batch) => {
                self.run(batch).await?;
                if !version.queue.is_empty() {
                    // One batch per message, so a crash hook or a stop gets its turn.
                    version.wake(self.slot);
                }
            }
        }
        self.publish("idle");
        Ok(())
    }

    /// One forward pass over `batch` on a blocking thread; answers every request.
    async fn run(&mut self, batch: Vec<Request>) -> Result<(), ActorProcessingErr> {
        let started = Instant::now();
        let waits: Vec<std::time::Duration> =
            batch.iter().map(|r| started.saturating_duration_since(r.enqueued)).collect();
        let waited = waits.iter().sum();
        if self.crash_next_batch {
            self.crash_next_batch = false;
            drop(batch);
            panic!("test hook: model worker crashed mid-batch");
        }
        self.publish("running");
        let Some(model) = self.version.workers.get(self.slot).map(|l| l.model.clone()) else {
            return Err("worker slot without a model".into());
        };
        let texts: Vec<String> = batch.iter().map(|r| r.text.clone()).collect();
        let span = tracing::info_span!("model_batch", device = %self.device_name(), model = %self.version.name, size = texts.len());
        let result = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            model.predict_texts(&refs)
        })
        .instrument(span)
        .await;
        let n = batch.len();
        let inference = started.elapsed();
        self.batches += 1;
        self.requests += n as u64;
        let ok = matches!(&result, Ok(Ok(outputs)) if outputs.len() == n);
        crate::telemetry::batch(&self.device_name(), &self.version.name, &waits, inference, ok);
        match result {
            Ok(Ok(outputs)) if outputs.len() == n => {
                self.version.stats.record_batch(n, waited, inference, true);
                for (request, output) in batch.into_iter().zip(outputs) {
                    // The caller may have timed out and gone.
                    let _ = request.reply.send(Ok(output));
                }
                Ok(())
            }
            Ok(Ok(outputs)) => {
                let error = format!("model returned {} outputs for {n} inputs", outputs.len());
                self.fail(batch, waited, inference, &error);
                Ok(())
            }
            Ok(Err(e)) => {
                self.fail(batch, waited, inference, &e.to_string());
                Ok(())
            }
            Err(join) => {
                // libtorch panicked: the worker's copy may be broken; let the supervisor restart it.
                let error = format!("inference panicked: {join}");
                self.fail(batch, waited, inference, &error);
                Err(error.into())
            }
        }
    }

    fn fail(&self, batch: Vec<Request>, waited: std::time::Duration, inference: std::time::Duration, error: &str) {
        tracing::warn!(model = %self.version.name, version = %self.version.version, %error, "model batch failed");
        self.version.stats.record_batch(batch.len(), waited, inference, false);
        for request in batch {
            let _ = request.reply.send(Err(ModelError::Failed(error.to_string())));
        }
    }
}
