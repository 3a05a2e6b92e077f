//! The group-commit storage writer (DESIGN.md "Performance by design").
//!
//! Callers [`submit`](Writer::submit) changes and wait; one background task
//! takes up to `max_batch` of them (waiting at most `max_wait` for more after
//! the first) and commits them in ONE transaction, then replies to each. Up
//! to `lanes` batches are in flight at once, each on its own connection, so
//! that one batch's round trips and commit do not hold back the next. A
//! batch is first written plainly, its statements merged into a few multi-row
//! ones; if anything fails it is rolled back and re-run with a savepoint per
//! change, so that only the changes at fault get their error and the rest
//! still commit. No submitted change is dropped without a reply.

use crate::change::{apply_merged, apply_one, mergeable, Failure, OrderChange};
use crate::db::Db;
use crate::error::{is_transient, StorageError, WriteError};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify, Semaphore};

/// How the writer batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterConfig {
    /// Most changes in one transaction.
    pub max_batch: usize,
    /// Longest wait for more changes once one arrived.
    pub max_wait: Duration,
    /// Changes queued before `submit` waits (backpressure).
    pub queue: usize,
    /// Batches committed concurrently. Changes to one order are still
    /// written in the order they were submitted (a change whose order is in
    /// a batch in flight waits for it); a conflict between lanes (a slot both
    /// reserve) mostly waits for the other's commit and then fails only the
    /// change at fault (a deadlock between lanes is retried). SQLite has one
    /// writer at a time, so there [`Writer::spawn`] uses one lane. Each lane
    /// holds a pool connection while it writes: keep it below the pool size.
    pub lanes: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self { max_batch: 256, max_wait: Duration::from_millis(2), queue: 8192, lanes: 1 }
    }
}

/// What the writer has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed (or attempted).
    pub batches: u64,
    /// Changes handled, successful or not.
    pub changes: u64,
    /// Changes that got an error.
    pub failed: u64,
    /// Batches re-run change by change after a failure.
    pub savepoint_reruns: u64,
    /// Transactions retried after a deadlock or a busy database.
    pub transient_retries: u64,
    /// Largest batch seen.
    pub max_batch_seen: u64,
    /// Time spent writing and committing, in microseconds, summed over
    /// lanes (with several lanes it can exceed the wall-clock time).
    pub busy_micros: u64,
}

impl WriterStats {
    /// Mean changes per transaction.
    pub fn mean_batch_size(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.changes as f64 / self.batches as f64
        }
    }

    /// Mean time one batch took to write and commit, in milliseconds.
    pub fn mean_batch_millis(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.busy_micros as f64 / 1000.0 / self.batches as f64
        }
    }
}

type Reply = oneshot::Sender<Result<(), WriteError>>;

/// Attempts at a batch that hit a deadlock or a busy database (more than a
/// single transaction's: with several lanes, batches can deadlock each other).
const RETRIES: usize = 8;

enum Msg {
    Change(Box<OrderChange>, Reply),
    Shutdown,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    changes: AtomicU64,
    failed: AtomicU64,
    savepoint_reruns: AtomicU64,
    transient_retries: AtomicU64,
    max_batch_seen: AtomicU64,
    busy_micros: AtomicU64,
}

/// A handle on the group-commit writer; clones share one background task.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Msg>,
    counters: Arc<Counters>,
    /// Becomes `true` when the task has written everything and ended.
    finished: watch::Receiver<bool>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("stats", &self.stats()).finish()
    }
}

impl Writer {
    /// Starts the background task on the current tokio runtime.
    pub fn spawn(db: Db, cfg: WriterConfig) -> Writer {
        let (tx, rx) = mpsc::channel(cfg.queue.max(1));
        let counters = Arc::new(Counters::default());
        let (finished_tx, finished) = watch::channel(false);
        let lanes = if db.backend() == "sqlite" { 1 } else { cfg.lanes.max(1) };
        let lane_count = u32::try_from(lanes).unwrap_or(u32::MAX);
        let lanes = Arc::new(Semaphore::new(lane_count as usize));
        let task = Task {
            lane: Lane { db, counters: counters.clone() },
            cfg,
            rx,
            lanes,
            lane_count,
            in_flight: Arc::default(),
            finished: finished_tx,
        };
        tokio::spawn(task.run());
        Writer { tx, counters, finished }
    }

    /// Writes `change` in the next batch; returns once it is committed (or
    /// failed). A `Storage` error from a commit whose outcome is unknown (the
    /// connection dropped during COMMIT) is possible: re-read before retrying.
    pub async fn submit(&self, change: OrderChange) -> Result<(), WriteError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Msg::Change(Box::new(change), reply))
            .await
            .map_err(|_| WriteError::Storage(StorageError::WriterStopped))?;
        // A dropped reply means the task died: report it rather than hang.
        answer.await.unwrap_or(Err(WriteError::Storage(StorageError::WriterStopped)))
    }

    /// Changes waiting in the queue.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Counters so far.
    pub fn stats(&self) -> WriterStats {
        let c = &self.counters;
        WriterStats {
            batches: c.batches.load(Ordering::Relaxed),
            changes: c.changes.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            savepoint_reruns: c.savepoint_reruns.load(Ordering::Relaxed),
            transient_retries: c.transient_retries.load(Ordering::Relaxed),
            max_batch_seen: c.max_batch_seen.load(Ordering::Relaxed),
            busy_micros: c.busy_micros.load(Ordering::Relaxed),
        }
    }

    /// Stops taking changes, writes every change already queued, and returns
    /// when the task has finished. Later submits fail with `WriterStopped`.
    pub async fn shutdown(&self) {
        // Fails only when the task already stopped taking messages.
        let _ = self.tx.send(Msg::Shutdown).await;
        let mut finished = self.finished.clone();
        // An error means the task is gone, which is what we wait for.
        let _ = finished.wait_for(|done| *done).await;
    }
}

struct Task {
    lane: Lane,
    cfg: WriterConfig,
    rx: mpsc::Receiver<Msg>,
    /// One permit per batch in flight.
    lanes: Arc<Semaphore>,
    lane_count: u32,
    /// Orders with a change in a batch in flight.
    in_flight: Arc<InFlight>,
    finished: watch::Sender<bool>,
}

/// The orders with a change in a batch being written.
#[derive(Default)]
struct InFlight {
    orders: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    freed: Notify,
}

impl InFlight {
    fn holds(&self, order: &str) -> bool {
        self.orders.lock().unwrap_or_else(|e| e.into_inner()).contains_key(order)
    }

    fn add(&self, ids: &[String]) {
        let mut orders = self.orders.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            *orders.entry(id.clone()).or_default() += 1;
        }
    }

    fn remove(&self, ids: &[String]) {
        {
            let mut orders = self.orders.lock().unwrap_or_else(|e| e.into_inner());
            for id in ids {
                if let Some(n) = orders.get_mut(id) {
                    *n -= 1;
                    if *n == 0 {
                        orders.remove(id);
                    }
                }
            }
        }
        self.freed.notify_waiters();
    }

    /// Returns once no batch in flight holds a change to `order`.
    async fn wait_free(&self, order: &str) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before looking, so a removal in between still wakes us.
            freed.as_mut().enable();
            if !self.holds(order) {
                return;
            }
            freed.await;
        }
    }
}

/// Frees a finished batch's orders and lane on drop.
struct LaneDone {
    in_flight: Arc<InFlight>,
    ids: Vec<String>,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Drop for LaneDone {
    fn drop(&mut self) {
        self.in_flight.remove(&self.ids);
    }
}

/// What committing a batch needs; cloned into each batch's task.
#[derive(Clone)]
struct Lane {
    db: Db,
    counters: Arc<Counters>,
}

impl Task {
    async fn run(mut self) {
        let max_batch = self.cfg.max_batch.max(1);
        let mut batch: Vec<(Box<OrderChange>, Reply)> = Vec::with_capacity(max_batch);
        let mut stopping = false;
        // A change held back from the last batch: its order was in flight.
        let mut carried: Option<Msg> = None;
        loop {
            let first = match carried.take() {
                Some(m) => m,
                None => match self.rx.recv().await {
                    Some(m) => m,
                    None => break,
                },
            };
            // Changes to one order are written in the order they came: one
            // still in flight in another lane is waited for.
            if let Msg::Change(c, _) = &first {
                self.in_flight.wait_free(c.order.id.as_str()).await;
            }
            // A free lane first: changes keep queueing meanwhile, so batches
            // grow with the load instead of splitting it into small ones.
            // (The semaphore is never closed, so a permit always comes.)
            let permit = self.lanes.clone().acquire_owned().await.ok();
            self.take(first, &mut batch, &mut stopping);
            let deadline = tokio::time::Instant::now() + self.cfg.max_wait;
            while batch.len() < max_batch {
                let next = match self.rx.try_recv() {
                    Ok(m) => m,
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        if stopping || self.cfg.max_wait.is_zero() {
                            break;
                        }
                        match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                            Ok(Some(m)) => m,
                            Ok(None) | Err(_) => break,
                        }
                    }
                };
                if matches!(&next, Msg::Change(c, _) if self.in_flight.holds(c.order.id.as_str())) {
                    carried = Some(next);
                    break;
                }
                self.take(next, &mut batch, &mut stopping);
            }
            if batch.is_empty() {
                continue; // a shutdown message alone
            }
            let lane = self.lane.clone();
            let full = std::mem::replace(&mut batch, Vec::with_capacity(max_batch));
            let ids: Vec<String> = full.iter().map(|(c, _)| c.order.id.0.clone()).collect();
            self.in_flight.add(&ids);
            // Dropped when the lane is done, even by a panic: its orders are
            // free again and its lane is given back.
            let done = LaneDone { in_flight: self.in_flight.clone(), ids, _permit: permit };
            tokio::spawn(async move {
                lane.commit(full).await;
                drop(done);
            });
        }
        // Every batch in flight has replied once all permits are back.
        let _ = self.lanes.acquire_many(self.lane_count).await;
        self.finished.send_replace(true);
        tracing::debug!(batches = self.lane.counters.batches.load(Ordering::Relaxed), "storage writer stopped");
    }

    fn take(&mut self, m: Msg, batch: &mut Vec<(Box<OrderChange>, Reply)>, stopping: &mut bool) {
        match m {
            Msg::Change(c, r) => batch.push((c, r)),
            Msg::Shutdown => {
                // Refuse new sends; what is already queued is still received and written.
                self.rx.close();
                *stopping = true;
            }
        }
    }
}

impl Lane {
    /// Commits one batch and replies to every change in it.
    async fn commit(&self, batch: Vec<(Box<OrderChange>, Reply)>) {
        let n = batch.len() as u64;
        let c = &self.counters;
        c.batches.fetch_add(1, Ordering::Relaxed);
        c.changes.fetch_add(n, Ordering::Relaxed);
        c.max_batch_seen.fetch_max(n, Ordering::Relaxed);
        let (changes, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let refs: Vec<&OrderChange> = changes.iter().map(|b| b.as_ref()).collect();
        let started = std::time::Instant::now();
        let results = self.write(&refs).await;
        c.busy_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        crate::metrics::writer_batch(n);
        for ((change, reply), result) in changes.iter().zip(replies).zip(results) {
            if result.is_err() {
                c.failed.fetch_add(1, Ordering::Relaxed);
            } else {
                if let Some(created) = &change.created {
                    crate::metrics::transition(created.state.as_str());
                }
                if change.event.is_some() {
                    crate::metrics::transition(change.order.state.as_str());
                }
            }
            // The caller may have given up waiting; the change is written regardless.
            let _ = reply.send(result);
        }
    }

    /// One result per change, in order.
    async fn write(&self, changes: &[&OrderChange]) -> Vec<Result<(), WriteError>> {
        let all = |e: WriteError| changes.iter().map(|_| Err(e.clone())).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.write_plain(changes).await {
                Plain::Committed => return changes.iter().map(|_| Ok(())).collect(),
                Plain::Transient(_) if attempt < RETRIES => self.retrying(attempt).await,
                Plain::Transient(e) | Plain::Fatal(e) => return all(e),
                Plain::SomeFailed => break,
            }
        }
        self.counters.savepoint_reruns.fetch_add(1, Ordering::Relaxed);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.write_savepoints(changes).await {
                Ok(results) => return results,
                Err(e) if attempt < RETRIES && matches!(&e, Rerun::Transient) => self.retrying(attempt).await,
                Err(Rerun::Transient) => {
                    return all(WriteError::Storage(StorageError::Query(
                        "the database kept reporting conflicts with concurrent transactions".into(),
                    )))
                }
                Err(Rerun::Fatal(e)) => return all(e),
            }
        }
    }

    /// Counts a retry and backs off a little (more each attempt, jittered),
    /// so that batches of other lanes that deadlocked with this one do not
    /// collide again at once.
    async fn retrying(&self, attempt: usize) {
        self.counters.transient_retries.fetch_add(1, Ordering::Relaxed);
        let jitter = u64::from(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos()
                % 1000,
        );
        tokio::time::sleep(Duration::from_micros(attempt as u64 * (500 + jitter))).await;
    }

    /// The whole batch in one transaction, no savepoints.
    async fn write_plain(&self, changes: &[&OrderChange]) -> Plain {
        let tx = match self.db.conn().begin().await {
            Ok(tx) => tx,
            Err(e) => return Plain::classify(e),
        };
        let outcome = if mergeable(changes) {
            apply_merged(&tx, changes).await
        } else {
            let mut r = Ok(());
            for ch in changes {
                if let Err(f) = apply_one(&tx, ch).await {
                    // Which change failed is found out by the savepoint run.
                    r = Err(match f {
                        Failure::Db(e) => e,
                        _ => sea_orm::DbErr::RecordNotUpdated,
                    });
                    break;
                }
            }
            r
        };
        match outcome {
            Ok(()) => match tx.commit().await {
                Ok(()) => Plain::Committed,
                Err(e) => Plain::classify(e),
            },
            Err(e) if is_transient(&e) => rollback_then(tx, Plain::classify(e)).await,
            Err(_) => rollback_then(tx, Plain::SomeFailed).await,
        }
    }

    /// The batch again, each change inside its own savepoint.
    async fn write_savepoints(&self, changes: &[&OrderChange]) -> Result<Vec<Result<(), WriteError>>, Rerun> {
        let tx = self.db.conn().begin().await.map_err(Rerun::from_db)?;
        let mut results = vec![Ok(()); changes.len()];
        // Distinct orders are written as the plain run writes them: releases
        // first (a slot one change frees is free for the others), then in
        // slot order, so that lanes mostly queue on a contested slot rather
        // than deadlock; changes to one order keep the order they came in.
        let mut sequence: Vec<usize> = (0..changes.len()).collect();
        if mergeable(changes) {
            sequence.sort_by_key(|&i| {
                let ch = changes[i];
                (!ch.release_reservations, ch.reserve.as_ref().map(|(w, r)| (w.as_str(), r.start.0)))
            });
        }
        for i in sequence {
            let ch = changes[i];
            let sp = match tx.begin().await {
                Ok(sp) => sp,
                Err(e) => return Err(rollback_then(tx, Rerun::from_db(e)).await),
            };
            match apply_one(&sp, ch).await {
                Ok(()) => match sp.commit().await {
                    Ok(()) => {}
                    Err(e) => return Err(rollback_then(tx, Rerun::from_db(e)).await),
                },
                Err(f) => {
                    if let Err(e) = sp.rollback().await {
                        return Err(rollback_then(tx, Rerun::from_db(e)).await);
                    }
                    // A deadlock may have aborted the whole transaction (InnoDB does).
                    if f.is_transient() {
                        return Err(rollback_then(tx, Rerun::Transient).await);
                    }
                    results[i] = Err(f.resolve(&tx).await);
                }
            }
        }
        match tx.commit().await {
            Ok(()) => Ok(results),
            Err(e) => Err(Rerun::from_db(e)),
        }
    }
}

/// How a plain batch went.
enum Plain {
    Committed,
    SomeFailed,
    Transient(WriteError),
    Fatal(WriteError),
}

impl Plain {
    fn classify(e: sea_orm::DbErr) -> Plain {
        if is_transient(&e) {
            Plain::Transient(e.into())
        } else {
            Plain::Fatal(e.into())
        }
    }
}

/// Why a savepoint run must be abandoned as a whole.
enum Rerun {
    Transient,
    Fatal(WriteError),
}

impl Rerun {
    fn from_db(e: sea_orm::DbErr) -> Rerun {
        if is_transient(&e) {
            Rerun::Transient
        } else {
            Rerun::Fatal(e.into())
        }
    }
}

async fn rollback_then<T>(tx: DatabaseTransaction, then: T) -> T {
    if let Err(e) = tx.rollback().await {
        tracing::warn!(error = %e, "rollback failed");
    }
    then
}
