//! Order reads served from memory: L1 in-process (moka), optional L2 in Redis
//! (fred), the database behind both.
//!
//! Writers write the database first, then [`put`](OrderCache::put) the new
//! value or [`invalidate`](OrderCache::invalidate). Fills on the read path
//! never overwrite a value already cached (L1 keeps the higher version, L2
//! uses `SET NX`), so a slow reader cannot put back what a writer replaced.
//! Redis trouble is logged and counted, never fails a read: the cache then
//! skips L2 for a moment and reads fall through to the database.

use crate::db::Db;
use crate::error::StorageError;
use crate::metrics::{self, CacheLookup};
use autoglm_core::{Order, OrderId};
use fred::clients::Client;
use fred::interfaces::{ClientLike, KeysInterface};
use fred::types::config::{Config, Options, ReconnectPolicy};
use fred::types::{Builder, Expiration, SetOptions};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Prefix of every order key in Redis.
pub const REDIS_ORDER_PREFIX: &str = "autoglm:order:";

/// How long L2 is skipped after a Redis error.
const L2_BACKOFF: Duration = Duration::from_secs(1);

/// Longest wait for one Redis command before falling through to the database.
const L2_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// Sizes and lifetimes of the two levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most orders kept in process.
    pub l1_capacity: u64,
    /// How long an order stays in process.
    pub l1_ttl: Duration,
    /// How long an order stays in Redis.
    pub l2_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self { l1_capacity: 100_000, l1_ttl: Duration::from_secs(30), l2_ttl: Duration::from_secs(60) }
    }
}

/// Hit and miss counts per level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from process memory.
    pub l1_hits: u64,
    /// Reads not in process memory.
    pub l1_misses: u64,
    /// Reads answered from Redis.
    pub l2_hits: u64,
    /// Reads Redis did not have.
    pub l2_misses: u64,
    /// Redis commands that failed (or timed out).
    pub l2_errors: u64,
    /// Reads that skipped Redis because it failed a moment ago.
    pub l2_skipped: u64,
    /// Reads that went to the database.
    pub db_reads: u64,
}

#[derive(Default)]
struct Counters {
    l1_hits: AtomicU64,
    l1_misses: AtomicU64,
    l2_hits: AtomicU64,
    l2_misses: AtomicU64,
    l2_errors: AtomicU64,
    l2_skipped: AtomicU64,
    db_reads: AtomicU64,
}

/// The order cache; cheap to clone (clones share both levels).
#[derive(Clone)]
pub struct OrderCache {
    l1: moka::sync::Cache<OrderId, Arc<Order>>,
    l2: Option<Client>,
    l2_ttl: Duration,
    counters: Arc<Counters>,
    /// Skip L2 until this many ms after `epoch` (0: L2 healthy).
    l2_down_until: Arc<AtomicI64>,
    epoch: Instant,
}

impl std::fmt::Debug for OrderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderCache").field("l2", &self.l2.is_some()).field("stats", &self.stats()).finish()
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl OrderCache {
    /// A cache with L1 only, or with L2 in Redis when `redis` is given.
    pub fn new(cfg: CacheConfig, redis: Option<Client>) -> OrderCache {
        let l1 = moka::sync::Cache::builder().max_capacity(cfg.l1_capacity).time_to_live(cfg.l1_ttl).build();
        OrderCache {
            l1,
            l2: redis,
            l2_ttl: cfg.l2_ttl,
            counters: Arc::default(),
            l2_down_until: Arc::default(),
            epoch: Instant::now(),
        }
    }

    /// The order, from L1, else L2, else the database, filling the levels
    /// above on the way back; `None` when the order does not exist.
    pub async fn get(&self, id: &OrderId, db: &Db) -> Result<Option<Arc<Order>>, StorageError> {
        let c = &self.counters;
        if let Some(o) = self.l1.get(id) {
            bump(&c.l1_hits);
            metrics::cache_lookup(CacheLookup::L1Hit);
            return Ok(Some(o));
        }
        bump(&c.l1_misses);
        if let Some(o) = self.l2_get(id).await {
            let o = Arc::new(o);
            self.l1_fill(o.clone());
            metrics::cache_lookup(CacheLookup::L2Hit);
            return Ok(Some(o));
        }
        bump(&c.db_reads);
        metrics::cache_lookup(CacheLookup::Miss);
        let Some(order) = db.get_order(id).await? else {
            return Ok(None);
        };
        let order = Arc::new(order);
        self.l1_fill(order.clone());
        self.l2_set(&order, true).await;
        Ok(Some(order))
    }

    /// Caches `order` as just written, unless L1 already has a newer version
    /// (in a cluster another node may have committed, and a read here filled
    /// it from L2, between this commit and this put).
    pub async fn put(&self, order: &Order) {
        self.l1_keep_newest(Arc::new(order.clone()));
        self.l2_set(order, false).await;
    }

    /// Forgets an order on both levels (after writing it to the database).
    pub async fn invalidate(&self, id: &OrderId) {
        self.l1.invalidate(id);
        let Some(redis) = self.l2_client() else {
            return;
        };
        let r: Result<i64, _> = redis.with_options(&l2_options()).del(key(id)).await;
        if let Err(e) = r {
            self.l2_failed("del", &e);
        }
    }

    /// Forgets every order in this process (L2 is untouched).
    pub fn clear_l1(&self) {
        self.l1.invalidate_all();
        self.l1.run_pending_tasks();
    }

    /// Hit and miss counts so far.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheStats {
            l1_hits: get(&c.l1_hits),
            l1_misses: get(&c.l1_misses),
            l2_hits: get(&c.l2_hits),
            l2_misses: get(&c.l2_misses),
            l2_errors: get(&c.l2_errors),
            l2_skipped: get(&c.l2_skipped),
            db_reads: get(&c.db_reads),
        }
    }

    /// Orders held in process now (approximate).
    pub fn l1_len(&self) -> u64 {
        self.l1.entry_count()
    }

    fn l1_fill(&self, order: Arc<Order>) {
        // A writer's newer value may have arrived meanwhile.
        self.l1_keep_newest(order);
    }

    /// Puts `order` in L1 unless a newer version is there: one step under
    /// the key's lock (a lookup and then an insert could interleave with
    /// another writer's).
    fn l1_keep_newest(&self, order: Arc<Order>) {
        let version = order.version;
        self.l1.entry_by_ref(&order.id.clone()).and_compute_with(|cached| match cached {
            Some(c) if c.value().version > version => moka::ops::compute::Op::Nop,
            _ => moka::ops::compute::Op::Put(order),
        });
    }

    /// The Redis client, unless L2 is off or in its back-off after an error.
    fn l2_client(&self) -> Option<&Client> {
        let redis = self.l2.as_ref()?;
        let until = self.l2_down_until.load(Ordering::Relaxed);
        if until > 0 && self.epoch.elapsed().as_millis() as i64 <= until {
            bump(&self.counters.l2_skipped);
            return None;
        }
        Some(redis)
    }

    async fn l2_get(&self, id: &OrderId) -> Option<Order> {
        let redis = self.l2_client()?;
        let r: Result<Option<String>, _> = redis.with_options(&l2_options()).get(key(id)).await;
        match r {
            Ok(Some(json)) => match serde_json::from_str::<Order>(&json) {
                Ok(o) => {
                    bump(&self.counters.l2_hits);
                    Some(o)
                }
                Err(e) => {
                    // Written by another version of the code, perhaps: read the database.
                    tracing::warn!(order = %id, error = %e, "undecodable order in redis");
                    bump(&self.counters.l2_misses);
                    None
                }
            },
            Ok(None) => {
                bump(&self.counters.l2_misses);
                None
            }
            Err(e) => {
                self.l2_failed("get", &e);
                None
            }
        }
    }

    /// Stores `order` in Redis; `only_if_absent` for fills on the read path.
    async fn l2_set(&self, order: &Order, only_if_absent: bool) {
        let Some(redis) = self.l2_client() else {
            return;
        };
        let json = match serde_json::to_string(order) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "order does not serialise");
                return;
            }
        };
        let ttl = Expiration::PX(self.l2_ttl.as_millis().clamp(1, i64::MAX as u128) as i64);
        let nx = only_if_absent.then_some(SetOptions::NX);
        let r: Result<Option<String>, _> =
            redis.with_options(&l2_options()).set(key(&order.id), json, Some(ttl), nx, false).await;
        if let Err(e) = r {
            self.l2_failed("set", &e);
        }
    }

    fn l2_failed(&self, op: &str, e: &fred::error::Error) {
        bump(&self.counters.l2_errors);
        let until = self.epoch.elapsed().as_millis() as i64 + L2_BACKOFF.as_millis() as i64;
        let before = self.l2_down_until.swap(until.max(1), Ordering::Relaxed);
        if before == 0 || (self.epoch.elapsed().as_millis() as i64) > before {
            tracing::warn!(op, error = %e, "redis cache unavailable; reading the database");
        }
    }
}

fn key(id: &OrderId) -> String {
    format!("{REDIS_ORDER_PREFIX}{id}")
}

fn l2_options() -> Options {
    Options { fail_fast: true, timeout: Some(L2_COMMAND_TIMEOUT), max_attempts: Some(1), ..Options::default() }
}

/// A Redis client for `url` (`redis://host:port/db`), not yet connected;
/// it reconnects on its own after losing the server.
pub fn redis_client(url: &str) -> Result<Client, StorageError> {
    let bad = |e: fred::error::Error| StorageError::Connect { what: "redis", reason: e.to_string() };
    let config = Config::from_url(url).map_err(bad)?;
    Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(2);
            c.internal_command_timeout = Duration::from_secs(2);
        })
        .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(2))
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
        .build()
        .map_err(bad)
}

/// A Redis client for `url`, connected; fails within a few seconds when the
/// server cannot be reached.
pub async fn connect_redis(url: &str) -> Result<Client, StorageError> {
    let client = redis_client(url)?;
    let unreachable = |reason: String| StorageError::Connect { what: "redis", reason };
    match tokio::time::timeout(Duration::from_secs(3), client.init()).await {
        Ok(Ok(_task)) => Ok(client),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => {
            let _ = client.quit().await;
            Err(unreachable("timed out connecting".into()))
        }
    }
}
