//! The session store: dialogue state of the chat, one opaque JSON string per
//! session id, kept in process (the default) or in Redis (shared by every node).
//!
//! A chat turn is `begin` → work → `commit` (or `abandon`). `begin` waits until
//! no other turn on the same session is in progress, so two requests of one
//! customer never merge slots into the same old state and lose one update. In
//! Redis the turn lock is a key with a random token and its own expiry, so a
//! node that dies mid-turn blocks the session for at most `lock_ttl`; a turn
//! that outlives its lock finds out on commit ([`SessionError::LockLost`]) and
//! saves nothing. Every Redis call is bounded by a short timeout: an outage
//! gives [`SessionError::Unavailable`] at once, never a hung request.
//!
//! Keys: state at `{key_prefix}{id}`, lock at `{key_prefix}{id}:lock` (a single
//! Redis server or a replicated primary; the two keys of one session are not
//! hash-tagged for Redis Cluster).

use crate::cache::redis_client;
use fred::clients::Client;
use fred::interfaces::ClientLike;
use fred::types::scripts::Script;
use fred::types::Value;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

/// Longest wait for the first connection to Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for one Redis command.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(800);
/// First and largest pause between two tries to take a busy Redis turn lock.
const BACKOFF_MIN: Duration = Duration::from_millis(2);
const BACKOFF_MAX: Duration = Duration::from_millis(25);
/// In-process shards; each has its own map lock and is swept on its own.
const SHARDS: usize = 64;
/// How often a shard drops its expired sessions (on the next turn that uses it).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Takes the turn lock (KEYS[1]) with our token if free and reads the state (KEYS[2]).
const ACQUIRE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2])}
end
return {0}";

/// Stores the state and releases the lock, only while the lock still holds our token.
const COMMIT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0";

/// Deletes the lock only if it still holds our token.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// The three scripts, sent by hash (EVALSHA) and loaded again when Redis lost them.
fn script(which: &'static str) -> &'static Script {
    static SCRIPTS: OnceLock<[Script; 3]> = OnceLock::new();
    let [acquire, commit, release] =
        SCRIPTS.get_or_init(|| [Script::from_lua(ACQUIRE), Script::from_lua(COMMIT), Script::from_lua(RELEASE)]);
    match which {
        "acquire" => acquire,
        "commit" => commit,
        _ => release,
    }
}

/// Lifetimes and naming of sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// How long a session lives after its last committed turn.
    pub ttl: Duration,
    /// How long a turn waits for a concurrent turn on the same session.
    pub lock_wait: Duration,
    /// How long a turn lock lives in Redis, so that a crashed holder's lock expires.
    pub lock_ttl: Duration,
    /// Prefix of every Redis key.
    pub key_prefix: String,
    /// Most sessions held in process (the in-process store only).
    pub memory_capacity: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30 * 60),
            lock_wait: Duration::from_secs(2),
            lock_ttl: Duration::from_secs(10),
            key_prefix: "autoglm:session:".into(),
            memory_capacity: 1_000_000,
        }
    }
}

/// Why a turn could not begin or be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The store cannot be reached or is full (HTTP 503).
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// Another turn on the session held it for longer than `lock_wait` (HTTP 409).
    #[error("session busy: {0}")]
    Busy(String),
    /// This turn's lock expired and another turn took the session: nothing was saved.
    #[error("session lock lost: {0}")]
    LockLost(String),
    /// The stored value is not text.
    #[error("session state corrupt: {0}")]
    Corrupt(String),
}

/// The session store; cheap to clone (clones share the store).
#[derive(Clone)]
pub struct Sessions {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Memory(Arc<MemoryStore>),
    Redis(Arc<RedisStore>),
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("backend", &self.backend()).finish()
    }
}

impl Sessions {
    /// An in-process store (sessions are lost on restart and not shared between nodes).
    pub fn memory(cfg: SessionConfig) -> Self {
        let per_shard = cfg.memory_capacity.div_ceil(SHARDS).max(1);
        let now = Instant::now();
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard { map: HashMap::new(), last_sweep: now })).collect();
        Self { inner: Inner::Memory(Arc::new(MemoryStore { cfg, shards, per_shard, hasher: RandomState::new() })) }
    }

    /// A store in Redis at `url`, connected; fails within a few seconds when
    /// the server cannot be reached.
    pub async fn redis(url: &str, cfg: SessionConfig) -> Result<Self, SessionError> {
        let client = redis_client(url).map_err(|e| SessionError::Unavailable(e.to_string()))?;
        match tokio::time::timeout(CONNECT_TIMEOUT, client.init()).await {
            Ok(Ok(_task)) => Ok(Self::with_client(client, cfg)),
            Ok(Err(e)) => {
                let _ = client.quit().await;
                Err(SessionError::Unavailable(format!("redis at {url}: {e}")))
            }
            Err(_) => {
                let _ = tokio::time::timeout(COMMAND_TIMEOUT, client.quit()).await;
                Err(SessionError::Unavailable(format!("redis at {url}: timed out connecting")))
            }
        }
    }

    /// A store in Redis over an already connected client (shared with the cache, say).
    pub fn with_client(client: Client, cfg: SessionConfig) -> Self {
        Self { inner: Inner::Redis(Arc::new(RedisStore { client, cfg })) }
    }

    /// `"memory"` or `"redis"`.
    pub fn backend(&self) -> &'static str {
        match self.inner {
            Inner::Memory(_) => "memory",
            Inner::Redis(_) => "redis",
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        match &self.inner {
            Inner::Memory(m) => &m.cfg,
            Inner::Redis(r) => &r.cfg,
        }
    }

    /// Starts a turn on session `id`: waits (at most `lock_wait`) until no
    /// other turn on this id is in progress — across processes for Redis —
    /// then loads the stored state.
    pub async fn begin(&self, id: &str) -> Result<SessionTurn, SessionError> {
        let started = std::time::Instant::now();
        let turn = match &self.inner {
            Inner::Memory(m) => m.begin(id).await,
            Inner::Redis(r) => r.begin(id).await,
        };
        crate::metrics::session_call(self.backend(), "begin", started.elapsed());
        turn
    }

    /// Sessions held in process, expired ones not yet swept included (0 for Redis).
    pub fn memory_len(&self) -> usize {
        match &self.inner {
            Inner::Memory(m) => m.shards.iter().map(|s| s.lock().map(|s| s.map.len()).unwrap_or(0)).sum(),
            Inner::Redis(_) => 0,
        }
    }
}

/// One turn on a session, holding its lock until [`commit`](Self::commit),
/// [`abandon`](Self::abandon) or drop.
pub struct SessionTurn {
    id: String,
    state: Option<String>,
    held: Option<Held>,
}

enum Held {
    Memory { slot: OwnedMutexGuard<Slot>, ttl: Duration },
    Redis(RedisLock),
}

impl std::fmt::Debug for SessionTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionTurn").field("id", &self.id).field("has_state", &self.state.is_some()).finish()
    }
}

impl SessionTurn {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The stored JSON; `None` when the session is new or expired.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// Stores `state` with the TTL refreshed, then releases the lock.
    pub async fn commit(mut self, state: String) -> Result<(), SessionError> {
        let started = std::time::Instant::now();
        match self.held.take() {
            Some(Held::Memory { mut slot, ttl }) => {
                slot.state = Some(state);
                slot.expires_at = Instant::now() + ttl;
                crate::metrics::session_call("memory", "commit", started.elapsed());
                Ok(())
            }
            Some(Held::Redis(lock)) => {
                let done = lock.commit(&self.id, state).await;
                crate::metrics::session_call("redis", "commit", started.elapsed());
                done
            }
            None => Ok(()),
        }
    }

    /// Releases the lock and keeps the stored state as it was.
    pub async fn abandon(mut self) {
        match self.held.take() {
            Some(Held::Memory { mut slot, .. }) => slot.state = self.state.take(),
            Some(Held::Redis(lock)) => lock.release().await,
            None => {}
        }
    }
}

impl Drop for SessionTurn {
    fn drop(&mut self) {
        match self.held.take() {
            Some(Held::Memory { mut slot, .. }) => slot.state = self.state.take(),
            // Best effort; if it cannot run, the lock expires after lock_ttl.
            Some(Held::Redis(lock)) => {
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    rt.spawn(lock.release());
                }
            }
            None => {}
        }
    }
}

// --- in process ---------------------------------------------------------

struct MemoryStore {
    cfg: SessionConfig,
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    hasher: RandomState,
}

struct Shard {
    map: HashMap<String, Arc<tokio::sync::Mutex<Slot>>>,
    last_sweep: Instant,
}

/// One session in process; its mutex is the turn lock.
struct Slot {
    /// The state, taken out by the turn in progress and put back when it ends.
    state: Option<String>,
    expires_at: Instant,
    /// Set by the sweeper (holding the lock) when it drops the slot from the map:
    /// a turn that was waiting for it must look the session up again.
    removed: bool,
}

impl MemoryStore {
    async fn begin(&self, id: &str) -> Result<SessionTurn, SessionError> {
        let deadline = Instant::now() + self.cfg.lock_wait;
        // A retry only follows a sweep that dropped the slot we waited for.
        for _ in 0..4 {
            let slot = self.slot(id)?;
            let Ok(mut guard) = tokio::time::timeout_at(deadline, slot.lock_owned()).await else {
                return Err(busy(id, self.cfg.lock_wait));
            };
            if guard.removed {
                continue;
            }
            let now = Instant::now();
            let state = if guard.expires_at <= now { None } else { guard.state.take() };
            guard.state = None;
            let held = Held::Memory { slot: guard, ttl: self.cfg.ttl };
            return Ok(SessionTurn { id: id.to_owned(), state, held: Some(held) });
        }
        Err(busy(id, self.cfg.lock_wait))
    }

    /// The slot of `id`, created when absent; sweeps the shard when due.
    fn slot(&self, id: &str) -> Result<Arc<tokio::sync::Mutex<Slot>>, SessionError> {
        let idx = (self.hasher.hash_one(id) % SHARDS as u64) as usize;
        let shard = self.shards.get(idx).ok_or_else(|| SessionError::Unavailable("no shard".into()))?;
        let mut shard = shard.lock().map_err(|_| SessionError::Unavailable("session shard poisoned".into()))?;
        if let Some(slot) = shard.map.get(id) {
            return Ok(slot.clone());
        }
        let now = Instant::now();
        if shard.map.len() >= self.per_shard || now.duration_since(shard.last_sweep) >= SWEEP_EVERY {
            shard.sweep(now);
        }
        if shard.map.len() >= self.per_shard {
            return Err(SessionError::Unavailable(format!(
                "in-process session store full ({} sessions)",
                self.cfg.memory_capacity
            )));
        }
        let slot = Arc::new(tokio::sync::Mutex::new(Slot { state: None, expires_at: now, removed: false }));
        shard.map.insert(id.to_owned(), slot.clone());
        Ok(slot)
    }
}

impl Shard {
    /// Drops expired sessions that no turn holds.
    fn sweep(&mut self, now: Instant) {
        self.last_sweep = now;
        self.map.retain(|_, slot| match slot.try_lock() {
            Ok(mut s) if s.expires_at <= now => {
                s.removed = true;
                false
            }
            _ => true,
        });
    }
}

fn busy(id: &str, waited: Duration) -> SessionError {
    SessionError::Busy(format!("session {id} has a turn in progress (waited {} ms)", waited.as_millis()))
}

// --- Redis ----------------------------------------------------------------

struct RedisStore {
    client: Client,
    cfg: SessionConfig,
}

/// A held Redis turn lock.
struct RedisLock {
    client: Client,
    lock_key: String,
    state_key: String,
    token: String,
    ttl: Duration,
}

/// Runs one Redis command with the store's timeout.
async fn bounded<R>(
    what: &str,
    call: impl std::future::Future<Output = Result<R, fred::error::Error>>,
) -> Result<R, SessionError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, call).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(SessionError::Unavailable(format!("redis {what}: {e}"))),
        Err(_) => {
            Err(SessionError::Unavailable(format!("redis {what}: no answer in {} ms", COMMAND_TIMEOUT.as_millis())))
        }
    }
}

fn millis(d: Duration) -> i64 {
    d.as_millis().clamp(1, i64::MAX as u128) as i64
}

impl RedisStore {
    async fn begin(&self, id: &str) -> Result<SessionTurn, SessionError> {
        let lock = RedisLock {
            client: self.client.clone(),
            lock_key: format!("{}{id}:lock", self.cfg.key_prefix),
            state_key: format!("{}{id}", self.cfg.key_prefix),
            token: token(),
            ttl: self.cfg.ttl,
        };
        let deadline = Instant::now() + self.cfg.lock_wait;
        let mut pause = BACKOFF_MIN;
        let mut jitter = RandomState::new().hash_one(&lock.token) | 1;
        let keys = vec![lock.lock_key.clone(), lock.state_key.clone()];
        let args = vec![lock.token.clone(), millis(self.cfg.lock_ttl).to_string()];
        // Bounded by the deadline: every pass sleeps at least BACKOFF_MIN or returns.
        loop {
            let reply = bounded(
                "acquire",
                script("acquire").evalsha_with_reload::<Value, _, _>(&self.client, keys.clone(), args.clone()),
            )
            .await;
            let reply = match reply {
                Ok(r) => r,
                Err(e) => {
                    // The command may still run later: clean up behind it.
                    tokio::spawn(lock.release());
                    return Err(e);
                }
            };
            match acquired(reply) {
                Ok(Some(state)) => return Ok(SessionTurn { id: id.to_owned(), state, held: Some(Held::Redis(lock)) }),
                Ok(None) => {}
                Err(e) => {
                    lock.release().await;
                    return Err(e);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(busy(id, self.cfg.lock_wait));
            }
            jitter ^= jitter << 13;
            jitter ^= jitter >> 7;
            jitter ^= jitter << 17;
            let spread = pause.as_micros() as u64 / 2 + 1;
            let nap = pause / 2 + Duration::from_micros(jitter % spread);
            tokio::time::sleep(nap.min(deadline - now)).await;
            pause = (pause * 2).min(BACKOFF_MAX);
        }
    }
}

/// `Some(state)` when the acquire script took the lock, `None` when it is busy.
fn acquired(reply: Value) -> Result<Option<Option<String>>, SessionError> {
    let Value::Array(items) = reply else {
        return Err(SessionError::Unavailable(format!("redis acquire: unexpected reply {reply:?}")));
    };
    let mut items = items.into_iter();
    match items.next() {
        Some(Value::Integer(1)) => {}
        Some(Value::Integer(0)) => return Ok(None),
        other => return Err(SessionError::Unavailable(format!("redis acquire: unexpected reply {other:?}"))),
    }
    match items.next() {
        None | Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.to_string()))),
        Some(Value::Bytes(b)) => match String::from_utf8(b.to_vec()) {
            Ok(s) => Ok(Some(Some(s))),
            Err(e) => Err(SessionError::Corrupt(e.to_string())),
        },
        Some(other) => Err(SessionError::Corrupt(format!("unexpected value {other:?}"))),
    }
}

impl RedisLock {
    async fn commit(self, id: &str, state: String) -> Result<(), SessionError> {
        let keys = vec![self.lock_key.clone(), self.state_key.clone()];
        let args = vec![self.token.clone(), state, millis(self.ttl).to_string()];
        let saved: i64 = bounded("commit", script("commit").evalsha_with_reload(&self.client, keys, args)).await?;
        if saved == 1 {
            Ok(())
        } else {
            Err(SessionError::LockLost(format!("the turn lock of session {id} expired before commit; nothing saved")))
        }
    }

    /// Deletes the lock if it is still ours; errors are only logged (it expires anyway).
    async fn release(self) {
        let r: Result<i64, _> =
            bounded("release", script("release").evalsha_with_reload(&self.client, self.lock_key.clone(), self.token))
                .await;
        if let Err(e) = r {
            tracing::debug!(lock = %self.lock_key, error = %e, "could not release a session lock; it expires");
        }
    }
}

/// A lock token unique across processes and hard to guess: process id, time,
/// a counter and two randomly keyed hashes of them.
fn token() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let seed = (std::process::id(), nanos, n);
    let a = RandomState::new().hash_one(seed);
    let b = RandomState::new().hash_one((seed, a));
    format!("{:x}-{n:x}-{a:016x}{b:016x}", std::process::id())
}
