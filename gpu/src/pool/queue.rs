//! The bounded request queue of one model version, shared by its workers,
//! and the counters behind the pool's status.
//!
//! The queue lives outside the worker actors: a worker that crashes loses at
//! most the batch it was running, and its restarted incarnation (or a sibling
//! on another device) carries on with what is queued.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use autoglm_nlu::model::{ModelError, ModelOutput};
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

/// The answer a caller waits for.
pub(crate) type Reply = Result<ModelOutput, ModelError>;

/// One sentence waiting for a forward pass.
pub(crate) struct Request {
    pub text: String,
    pub enqueued: Instant,
    pub reply: oneshot::Sender<Reply>,
    /// Counts the request as outstanding until it is answered or dropped.
    _ticket: Ticket,
}

/// Outstanding requests of a version (queued or in a running batch).
#[derive(Default)]
pub(crate) struct Outstanding {
    count: AtomicUsize,
    zero: Notify,
}

impl Outstanding {
    /// Waits until nothing is outstanding, at most `timeout`; true when drained.
    pub(crate) async fn wait_zero(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.count.load(Ordering::SeqCst) > 0 {
            // notify_one stores a permit, so a drop between the check and here is not missed.
            if tokio::time::timeout_at(deadline, self.zero.notified()).await.is_err() {
                return self.count.load(Ordering::SeqCst) == 0;
            }
        }
        true
    }

    #[cfg(test)]
    pub(crate) fn get(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

struct Ticket(Arc<Outstanding>);

impl Ticket {
    fn new(outstanding: &Arc<Outstanding>) -> Self {
        outstanding.count.fetch_add(1, Ordering::SeqCst);
        Self(outstanding.clone())
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.zero.notify_one();
        }
    }
}

/// Why a push was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The queue holds this many requests already.
    Full(usize),
    /// The version is draining or unloaded.
    Closed,
}

/// What a worker should do next.
pub(crate) enum Ready {
    /// Run these now.
    Batch(Vec<Request>),
    /// The oldest request's wait ends at this instant.
    WaitUntil(Instant),
    /// Nothing queued.
    Empty,
}

struct Inner {
    items: VecDeque<Request>,
    closed: bool,
}

/// The bounded queue of one model version.
pub(crate) struct Queue {
    inner: Mutex<Inner>,
    capacity: usize,
    outstanding: Arc<Outstanding>,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner { items: VecDeque::new(), closed: false }),
            capacity,
            outstanding: Arc::new(Outstanding::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `texts` (all or none); returns one receiver per text.
    pub(crate) fn push(&self, texts: &[&str]) -> Result<Vec<oneshot::Receiver<Reply>>, PushError> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(PushError::Closed);
        }
        if inner.items.len() + texts.len() > self.capacity {
            return Err(PushError::Full(inner.items.len()));
        }
        let now = Instant::now();
        let mut receivers = Vec::with_capacity(texts.len());
        for text in texts {
            let (reply, rx) = oneshot::channel();
            let _ticket = Ticket::new(&self.outstanding);
            inner.items.push_back(Request { text: (*text).to_string(), enqueued: now, reply, _ticket });
            receivers.push(rx);
        }
        Ok(receivers)
    }

    /// Takes a batch when one is due: `max_batch` requests are waiting, the
    /// oldest has waited `max_wait`, or the queue is closed (draining: no one
    /// else will join).
    pub(crate) fn take_ready(&self, max_batch: usize, max_wait: Duration, now: Instant) -> Ready {
        let mut inner = self.lock();
        let Some(oldest) = inner.items.front().map(|r| r.enqueued) else {
            return Ready::Empty;
        };
        let due = oldest + max_wait;
        if inner.items.len() >= max_batch || inner.closed || now >= due {
            let n = inner.items.len().min(max_batch.max(1));
            Ready::Batch(inner.items.drain(..n).collect())
        } else {
            Ready::WaitUntil(due)
        }
    }

    /// Refuses new requests from now on (hot swap, unload, shutdown).
    pub(crate) fn close(&self) {
        self.lock().closed = true;
    }

    /// Answers every queued request with `error` (shutdown).
    pub(crate) fn fail_all(&self, error: &ModelError) {
        let items: Vec<Request> = self.lock().items.drain(..).collect();
        for r in items {
            // The caller may have given up already.
            let _ = r.reply.send(Err(error.clone()));
        }
    }

    /// Requests waiting for a batch.
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether nothing is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Requests queued or in a running batch.
    pub(crate) fn outstanding(&self) -> &Arc<Outstanding> {
        &self.outstanding
    }

    /// The most requests it holds.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Counters of one model version, summed over its workers.
#[derive(Default)]
pub(crate) struct Stats {
    pub requests: AtomicU64,
    pub failed: AtomicU64,
    pub batches: AtomicU64,
    pub queue_wait_us: AtomicU64,
    pub inference_us: AtomicU64,
}

impl Stats {
    /// Records one batch of `n` requests.
    pub(crate) fn record_batch(&self, n: usize, waited: Duration, inference: Duration, ok: bool) {
        let n = n as u64;
        self.batches.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.requests.fetch_add(n, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(n, Ordering::Relaxed);
        }
        self.queue_wait_us.fetch_add(u64::try_from(waited.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.inference_us.fetch_add(u64::try_from(inference.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn batches_by_size_age_or_close() {
        let q = Queue::new(10);
        let wait = Duration::from_millis(2);
        assert!(matches!(q.take_ready(4, wait, Instant::now()), Ready::Empty));
        let _rx = q.push(&["a", "b", "c"]).expect("room");
        assert!(matches!(q.take_ready(4, wait, Instant::now()), Ready::WaitUntil(_)));
        assert!(matches!(q.take_ready(3, wait, Instant::now()), Ready::Batch(b) if b.len() == 3));
        let _rx2 = q.push(&["d"]).expect("room");
        tokio::time::advance(wait).await;
        assert!(matches!(q.take_ready(4, wait, Instant::now()), Ready::Batch(b) if b.len() == 1));
        assert_eq!(q.outstanding().get(), 0, "dropped requests are no longer outstanding");
        let _rx3 = q.push(&["e"]).expect("room");
        q.close();
        assert_eq!(q.push(&["f"]).err(), Some(PushError::Closed));
        assert!(matches!(q.take_ready(4, wait, Instant::now()), Ready::Batch(b) if b.len() == 1));
    }

    #[tokio::test]
    async fn refuses_past_capacity_all_or_nothing() {
        let q = Queue::new(3);
        let _rx = q.push(&["a", "b"]).expect("room");
        assert_eq!(q.push(&["c", "d"]).err(), Some(PushError::Full(2)));
        assert_eq!(q.len(), 2);
        q.fail_all(&ModelError::Failed("x".into()));
        assert!(q.is_empty());
        assert!(q.outstanding().wait_zero(Duration::from_secs(1)).await);
    }
}
