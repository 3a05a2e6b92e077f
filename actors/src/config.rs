//! Engine configuration: the `[dispatch]`, `[policy]`, `[actors]` and
//! `[payments]` sections of `autoglm.toml`.

use autoglm_core::dispatch::DispatchWeights;
use autoglm_core::policy::Policies;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Everything the engine needs to decide and orchestrate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Node number baked into generated ids (unique per node of a cluster).
    pub node_id: u16,
    /// Local time of customers and workers, minutes east of UTC (+08:00 = 480).
    pub utc_offset_minutes: i32,
    /// Prices, windows and fees.
    pub policy: Policies,
    /// Contract-net dispatch.
    pub dispatch: DispatchConfig,
    /// Actor lifetimes and supervision.
    pub actors: ActorConfig,
    /// Payment gateway.
    pub payments: PaymentConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            node_id: 0,
            utc_offset_minutes: 480,
            policy: Policies::default(),
            dispatch: DispatchConfig::default(),
            actors: ActorConfig::default(),
            payments: PaymentConfig::default(),
        }
    }
}

/// How orders negotiate with workers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchConfig {
    /// Weight of closeness.
    pub distance: f64,
    /// Weight of skill level.
    pub skill: f64,
    /// Weight of rating.
    pub rating: f64,
    /// Weight of fairness (fewer jobs that day).
    pub load: f64,
    /// Bonus for a customer's favourite worker.
    pub favourite_bonus: f64,
    /// Distance at which closeness scores zero.
    pub max_distance_km: f64,
    /// Jobs per day at which fairness scores zero.
    pub max_daily_jobs: u32,
    /// How long an order waits for bids in one round.
    pub bid_deadline_ms: u64,
    /// At most this many workers receive one call for proposals.
    pub max_fanout: usize,
    /// The second round accepts workers this much further than their usual radius.
    pub widen_radius_factor: f64,
    /// Alternative start times suggested when nobody can come.
    pub alternatives: usize,
    /// How long an awarded but uncommitted hold lasts before the worker frees it.
    pub hold_ttl_ms: u64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        let w = DispatchWeights::default();
        Self {
            distance: w.distance,
            skill: w.skill,
            rating: w.rating,
            load: w.load,
            favourite_bonus: w.favourite_bonus,
            max_distance_km: w.max_distance_km,
            max_daily_jobs: w.max_daily_jobs,
            bid_deadline_ms: 250,
            max_fanout: 8,
            widen_radius_factor: 1.5,
            alternatives: 3,
            hold_ttl_ms: 10_000,
        }
    }
}

impl DispatchConfig {
    /// The scoring weights.
    pub fn weights(&self) -> DispatchWeights {
        DispatchWeights {
            distance: self.distance,
            skill: self.skill,
            rating: self.rating,
            load: self.load,
            favourite_bonus: self.favourite_bonus,
            max_distance_km: self.max_distance_km,
            max_daily_jobs: self.max_daily_jobs,
        }
    }

    /// Bid deadline as a duration.
    pub fn bid_deadline(&self) -> Duration {
        Duration::from_millis(self.bid_deadline_ms.max(1))
    }
}

/// Actor lifetimes and restart limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActorConfig {
    /// An order actor with nothing to do stops after this long (its state is in the
    /// database; the next command or callback brings it back). Short, because each
    /// live order holds ~14 KB: 10 s at 5,000 orders/s doubled the node's memory.
    pub order_idle_ms: u64,
    /// A worker actor asked nothing for this long passivates; the next call
    /// for proposals in its area wakes it with its calendar from the database.
    pub worker_idle_ms: u64,
    /// Restarts allowed within `restart_window_ms` before a supervisor gives up.
    pub max_restarts: u32,
    /// Window of the restart limit.
    pub restart_window_ms: u64,
    /// First restart delay; doubles up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    /// Longest restart delay.
    pub backoff_max_ms: u64,
}

impl Default for ActorConfig {
    fn default() -> Self {
        Self {
            order_idle_ms: 2_000,
            worker_idle_ms: 1_800_000,
            max_restarts: 1000,
            restart_window_ms: 10_000,
            backoff_initial_ms: 5,
            backoff_max_ms: 1_000,
        }
    }
}

/// The payment gateway and its callbacks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentConfig {
    /// Shared secret of callback signatures (HMAC-SHA256). Empty: a random one per data dir.
    pub callback_secret: String,
    /// Callbacks older than this are refused as late.
    pub callback_max_age_secs: i64,
    /// Pending payments older than this are checked with the gateway.
    pub reconcile_after_secs: i64,
    /// How often reconciliation runs.
    pub reconcile_interval_secs: u64,
}

impl Default for PaymentConfig {
    fn default() -> Self {
        Self {
            callback_secret: String::new(),
            callback_max_age_secs: 300,
            reconcile_after_secs: 60,
            reconcile_interval_secs: 30,
        }
    }
}
