//! The model pool: a registry of loaded model versions, each served by one
//! supervised model-worker actor per device, with dynamic batching and a
//! bounded queue per model.
//!
//! A caller's sentence goes into the current version's [`queue`]; a worker is
//! woken, takes a batch when `max_batch` requests wait or the oldest has
//! waited `max_wait`, runs one forward pass on a blocking thread and answers.
//! Loading a model under a name that is already loaded swaps the new version
//! in atomically; the old one answers everything it had queued, then its
//! workers stop. A full queue fails fast with [`ModelError::Overloaded`].

mod answers;
mod config;
mod queue;
mod status;
mod version;
mod worker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use autoglm_nlu::model::{ModelError, ModelOutput};
use autoglm_supervisor::{ChildSpec, Registry, Restart, StartCtx, SupervisorArgs, SupervisorHandle};
use tokio::sync::oneshot;
use tokio::time::Instant;

pub use config::{parse_device, PoolConfig};
pub use status::{ModelState, ModelStatus, WorkerStatus};
pub use worker::{CrashMode, WorkerMsg, MODEL_WORKER_KIND};

use crate::device::DeviceInfo;
use crate::model::NluModel;
use crate::GpuError;
use answers::Answers;
use queue::{PushError, Reply};
use version::Version;
use worker::{ModelWorker, WorkerArgs};

/// How long shutdown waits for the workers to stop.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The pool; cheap to clone (all clones share it).
#[derive(Clone)]
pub struct ModelPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    config: PoolConfig,
    devices: Vec<DeviceInfo>,
    supervisor: SupervisorHandle,
    /// Current version per name. Pushes happen under the read lock and swaps
    /// under the write lock, so no request reaches a version after it closed.
    models: RwLock<HashMap<String, Arc<Version>>>,
    /// Versions swapped out or unloaded that still answer their queue.
    draining: Mutex<Vec<Arc<Version>>>,
    generation: AtomicU64,
    closed: AtomicBool,
}

impl std::fmt::Debug for ModelPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.read_models().keys().cloned().collect();
        f.debug_struct("ModelPool").field("devices", &self.inner.devices).field("models", &names).finish()
    }
}

impl ModelPool {
    /// Starts an empty pool with its own actor registry.
    pub async fn start(config: PoolConfig) -> Result<Self, GpuError> {
        Self::start_with_registry(config, Registry::new("local"), None).await
    }

    /// Starts an empty pool whose supervisor and workers appear in `registry`
    /// (under `parent_key` when given).
    pub async fn start_with_registry(
        config: PoolConfig,
        registry: Registry,
        parent_key: Option<String>,
    ) -> Result<Self, GpuError> {
        let devices = config.resolve_devices()?;
        if let Some(n) = config.cpu_threads {
            tch::set_num_threads(i32::try_from(n.max(1)).unwrap_or(1));
        }
        let mut args =
            SupervisorArgs::new("model_workers", MODEL_WORKER_KIND, registry).with_policy(config.restart.clone());
        if let Some(parent) = parent_key {
            args = args.with_parent_key(parent);
        }
        let (supervisor, _join) =
            SupervisorHandle::spawn(args).await.map_err(|e| GpuError::Pool(format!("model supervisor: {e}")))?;
        let inner = PoolInner {
            config,
            devices,
            supervisor,
            models: RwLock::new(HashMap::new()),
            draining: Mutex::new(Vec::new()),
            generation: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The worker slots every model is loaded on: one entry per worker (a CPU
    /// appears `cpu_workers` times).
    pub fn devices(&self) -> &[DeviceInfo] {
        &self.inner.devices
    }

    /// The configuration the pool runs with.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// The worker supervisor (for inspection).
    pub fn supervisor(&self) -> &SupervisorHandle {
        &self.inner.supervisor
    }

    /// Loads the model in `dir` on every device and makes it the current
    /// version of `name`. A version already loaded under `name` is swapped
    /// out atomically: it answers everything queued on it, then its workers
    /// stop (waiting at most `drain_timeout`). Returns the new version's status.
    pub async fn load(&self, name: &str, dir: impl AsRef<Path>) -> Result<ModelStatus, GpuError> {
        let dir = dir.as_ref().to_path_buf();
        let mut models = Vec::with_capacity(self.inner.devices.len());
        for device in &self.inner.devices {
            models.push((device.clone(), Arc::new(load_blocking(dir.clone(), device).await?)));
        }
        self.install(name, models).await
    }

    /// Like [`ModelPool::load`] with models already in memory, one per device
    /// of [`ModelPool::devices`], in that order.
    pub async fn install(&self, name: &str, models: Vec<(DeviceInfo, Arc<NluModel>)>) -> Result<ModelStatus, GpuError> {
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(GpuError::Pool("the pool is shut down".to_string()));
        }
        if name.trim().is_empty() || models.is_empty() {
            return Err(GpuError::InvalidConfig("a model needs a name and at least one device".to_string()));
        }
        let cfg = &self.inner.config;
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst);
        let version = Arc::new(Version::new(
            name.to_string(),
            generation,
            models,
            cfg.queue_capacity,
            cfg.max_batch,
            cfg.max_wait(),
            Answers::new(cfg.answer_cache, cfg.answer_cache_max_chars),
            self.inner.supervisor.clone(),
        ));
        self.start_workers(&version).await?;
        let old = {
            let mut map = self.write_models();
            let old = map.insert(name.to_string(), version.clone());
            if let Some(old) = &old {
                self.start_draining(old);
            }
            old
        };
        tracing::info!(model = name, version = %version.version, generation, "model loaded");
        if let Some(old) = old {
            self.retire(old).await;
        }
        let children = self.inner.supervisor.children().await.unwrap_or_default();
        Ok(ModelStatus::of(&version, &children))
    }

    /// Unloads `name`: new requests get [`ModelError::NotLoaded`], queued ones
    /// are still answered, then the workers stop.
    pub async fn unload(&self, name: &str) -> Result<(), ModelError> {
        let old = {
            let mut map = self.write_models();
            let old = map.remove(name).ok_or_else(|| ModelError::NotLoaded(name.to_string()))?;
            self.start_draining(&old);
            old
        };
        tracing::info!(model = name, version = %old.version, "model unloading");
        self.retire(old).await;
        Ok(())
    }

    /// Predicts `text` with the default model.
    pub async fn predict(&self, text: &str) -> Result<ModelOutput, ModelError> {
        self.predict_on(&self.inner.config.default_model, text).await
    }

    /// Predicts `text` with the model called `model`.
    pub async fn predict_on(&self, model: &str, text: &str) -> Result<ModelOutput, ModelError> {
        let mut out = self.predict_batch_on(model, &[text]).await?;
        out.pop().ok_or_else(|| ModelError::Failed("no output".to_string()))
    }

    /// Predicts each text with the default model (all queued at once, or none).
    pub async fn predict_batch(&self, texts: &[&str]) -> Result<Vec<ModelOutput>, ModelError> {
        self.predict_batch_on(&self.inner.config.default_model, texts).await
    }

    /// Predicts each text with the model called `model`. A short text the
    /// current version answered before is answered from its kept answers. A
    /// request lost with a crashed worker is queued once more; a second loss
    /// is an error.
    pub async fn predict_batch_on(&self, model: &str, texts: &[&str]) -> Result<Vec<ModelOutput>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + self.inner.config.request_timeout;
        let mut out: Vec<Option<ModelOutput>> = vec![None; texts.len()];
        let mut pending: Vec<usize> = (0..texts.len()).collect();
        for attempt in 0..2 {
            let batch: Vec<&str> = pending.iter().map(|&i| texts[i]).collect();
            let (version, answers) = self.submit(model, &batch)?;
            let mut lost = Vec::new();
            for (&i, answer) in pending.iter().zip(answers) {
                match answer {
                    Answer::Kept(output) => out[i] = Some(output),
                    Answer::Queued(rx) => match await_reply(rx, deadline, model).await? {
                        Some(output) => {
                            version.answers.put(texts[i], &output);
                            out[i] = Some(output);
                        }
                        None => lost.push(i),
                    },
                }
            }
            if lost.is_empty() {
                return Ok(out.into_iter().flatten().collect());
            }
            tracing::warn!(model, lost = lost.len(), attempt, "requests lost with a model worker; retrying");
            pending = lost;
        }
        Err(ModelError::Failed(format!("model {model}: a worker crashed twice while answering")))
    }

    /// Status of every loaded version (current ones first, by name, then draining ones).
    pub async fn models(&self) -> Vec<ModelStatus> {
        let children = self.inner.supervisor.children().await.unwrap_or_default();
        let mut current: Vec<Arc<Version>> = self.read_models().values().cloned().collect();
        current.sort_by(|a, b| a.name.cmp(&b.name));
        let draining = self.inner.draining.lock().unwrap_or_else(|e| e.into_inner()).clone();
        current.iter().chain(draining.iter()).map(|v| ModelStatus::of(v, &children)).collect()
    }

    /// Stops the pool: new requests fail, queued ones are answered with an
    /// error, workers and their supervisor stop.
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let versions: Vec<Arc<Version>> = {
            let mut map = self.write_models();
            map.drain().map(|(_, v)| v).collect()
        };
        let draining = std::mem::take(&mut *self.inner.draining.lock().unwrap_or_else(|e| e.into_inner()));
        let error = ModelError::Failed("model pool shut down".to_string());
        for v in versions.iter().chain(draining.iter()) {
            v.start_draining();
            v.queue.fail_all(&error);
        }
        self.inner.supervisor.shutdown(SHUTDOWN_WAIT).await;
    }

    /// Requests waiting in the queue of `model`'s current version (`None`: not loaded).
    pub fn queue_depth(&self, model: &str) -> Option<usize> {
        self.read_models().get(model).map(|v| v.queue.len())
    }

    /// Test hook: tells the first worker of `model`'s current version to fail
    /// as `mode` says. False when the model or worker is not there.
    #[doc(hidden)]
    pub fn inject_crash(&self, model: &str, mode: CrashMode) -> bool {
        let version = self.read_models().get(model).cloned();
        version.is_some_and(|v| v.send(0, WorkerMsg::Crash(mode)))
    }

    /// Answers `texts` from the kept answers of the current version of
    /// `model` where it can, queues the rest on it and wakes a worker.
    fn submit(&self, model: &str, texts: &[&str]) -> Result<(Arc<Version>, Vec<Answer>), ModelError> {
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(ModelError::Failed("model pool shut down".to_string()));
        }
        if self.inner.supervisor.actor.get_status() >= ractor::ActorStatus::Stopping {
            // It gave up after too many worker crashes: nothing would answer.
            return Err(ModelError::Failed("model workers' supervisor has stopped".to_string()));
        }
        let (version, answers, queued) = {
            let map = self.read_models();
            let version = map.get(model).ok_or_else(|| ModelError::NotLoaded(model.to_string()))?.clone();
            let kept: Vec<Option<ModelOutput>> = texts.iter().map(|t| version.answers.get(t)).collect();
            let misses: Vec<&str> = texts.iter().zip(&kept).filter(|(_, k)| k.is_none()).map(|(t, _)| *t).collect();
            let receivers = if misses.is_empty() {
                Vec::new()
            } else {
                version.queue.push(&misses).map_err(|e| match e {
                    PushError::Full(n) => ModelError::Overloaded(format!("model {model} queue full ({n} waiting)")),
                    PushError::Closed => ModelError::NotLoaded(model.to_string()),
                })?
            };
            let queued = misses.len();
            let mut receivers = receivers.into_iter();
            let answers: Vec<Answer> = kept
                .into_iter()
                .map(|k| match k {
                    Some(output) => Some(Answer::Kept(output)),
                    None => receivers.next().map(Answer::Queued),
                })
                .collect::<Option<_>>()
                .ok_or_else(|| ModelError::Failed(format!("model {model}: fewer replies than requests")))?;
            (version, answers, queued)
        };
        if queued >= version.max_batch {
            version.wake_all();
        } else if queued > 0 {
            version.wake_one();
        }
        Ok((version, answers))
    }

    /// Starts one worker per device for `version`; on failure stops those started.
    async fn start_workers(&self, version: &Arc<Version>) -> Result<(), GpuError> {
        for slot in 0..version.workers.len() {
            let spec = worker_spec(version, slot);
            if let Err(e) = self.inner.supervisor.start_child(spec).await {
                for link in &version.workers[..slot] {
                    let _ = self.inner.supervisor.stop_child(&link.id).await;
                }
                return Err(GpuError::Pool(format!("starting a worker for {}: {e}", version.name)));
            }
        }
        Ok(())
    }

    /// Closes `old` and lists it as draining (called under the models write lock,
    /// so `models()` always sees it somewhere).
    fn start_draining(&self, old: &Arc<Version>) {
        old.start_draining();
        self.inner.draining.lock().unwrap_or_else(|e| e.into_inner()).push(old.clone());
    }

    /// Lets a closed version answer its queue (bounded by `drain_timeout`), then stops its workers.
    async fn retire(&self, old: Arc<Version>) {
        old.wake_all();
        let drained = old.queue.outstanding().wait_zero(self.inner.config.drain_timeout).await;
        if !drained {
            tracing::warn!(model = %old.name, version = %old.version, left = old.queue.len(),
                "old model version did not drain in time; its callers will retry");
        }
        for link in &old.workers {
            // An error means the supervisor is already gone, and the worker with it.
            let _ = self.inner.supervisor.stop_child(&link.id).await;
        }
        // Requests still queued (not drained in time) are dropped with the version: callers retry.
        old.queue.fail_all(&ModelError::Failed(format!("model {} version {} was retired", old.name, old.version)));
        self.inner.draining.lock().unwrap_or_else(|e| e.into_inner()).retain(|v| !Arc::ptr_eq(v, &old));
        tracing::info!(model = %old.name, version = %old.version, "old model version stopped");
    }

    fn read_models(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Version>>> {
        self.inner.models.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_models(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Version>>> {
        self.inner.models.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Waits for one reply: `Some` output, `None` when the request was lost with
/// a crashed worker, or the error the model (or the deadline) gave.
/// One text's answer as [`ModelPool::submit`] gives it.
enum Answer {
    /// Kept from an earlier forward pass of the same version.
    Kept(ModelOutput),
    /// Queued; a worker replies.
    Queued(oneshot::Receiver<Reply>),
}

async fn await_reply(
    rx: oneshot::Receiver<Reply>,
    deadline: Instant,
    model: &str,
) -> Result<Option<ModelOutput>, ModelError> {
    match tokio::time::timeout_at(deadline, rx).await {
        Ok(Ok(Ok(output))) => Ok(Some(output)),
        Ok(Ok(Err(e))) => Err(e),
        Ok(Err(_lost)) => Ok(None),
        Err(_) => Err(ModelError::Failed(format!("model {model}: no answer before the request timeout"))),
    }
}

/// Loads a model directory on a blocking thread.
async fn load_blocking(dir: PathBuf, device: &DeviceInfo) -> Result<NluModel, GpuError> {
    let device = device.device();
    tokio::task::spawn_blocking(move || NluModel::load(dir, device))
        .await
        .map_err(|e| GpuError::Pool(format!("model loading panicked: {e}")))?
}

/// The child spec of worker `slot` of `version`: transient (a crash restarts
/// it; the pool's stop does not), reusing the version's in-memory model.
fn worker_spec(version: &Arc<Version>, slot: usize) -> ChildSpec {
    let id = version.workers[slot].id.clone();
    let version = version.clone();
    ChildSpec::new(MODEL_WORKER_KIND, id, Restart::Transient, move |ctx: StartCtx| {
        let args = WorkerArgs { version: version.clone(), slot, probe: ctx.probe };
        async move {
            let (actor, _join) = ractor::Actor::spawn_linked(None, ModelWorker, args, ctx.supervisor).await?;
            Ok(actor.get_cell())
        }
    })
}
