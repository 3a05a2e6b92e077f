//! Restart policy as data: which children restart, which siblings go with
//! them, how often before giving up, and how long to wait in between.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// When a child is restarted after it exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always restarted, whether it failed or stopped normally.
    Permanent,
    /// Restarted only after a failure (error, panic or kill); a normal stop
    /// removes it. Passivating actors use this.
    Transient,
    /// Never restarted.
    Temporary,
}

impl Restart {
    /// Whether a child with this restart type comes back after exiting.
    pub fn restarts_after(self, failed: bool) -> bool {
        match self {
            Restart::Permanent => true,
            Restart::Transient => failed,
            Restart::Temporary => false,
        }
    }
}

/// Which children are restarted together when one exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Only the child that exited.
    OneForOne,
    /// The child that exited and every child started after it.
    RestForOne,
}

/// How a supervisor restarts its children and when it gives up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestartPolicy {
    /// Which siblings are restarted with a failed child.
    pub strategy: Strategy,
    /// More restarts than this within `within` make the supervisor give up.
    pub max_restarts: u32,
    /// The sliding window for `max_restarts`.
    #[serde(with = "duration_text")]
    pub within: Duration,
    /// Delay before the first restart of a child.
    #[serde(with = "duration_text")]
    pub backoff_initial: Duration,
    /// Upper bound on the delay between restarts of a child.
    #[serde(with = "duration_text")]
    pub backoff_max: Duration,
    /// Factor applied to the delay for each recent restart of the same child.
    pub backoff_multiplier: f64,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            strategy: Strategy::OneForOne,
            max_restarts: 10,
            within: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_secs(1),
            backoff_multiplier: 2.0,
        }
    }
}

impl RestartPolicy {
    /// The delay before a restart, given how many times the same child was
    /// already restarted within the window (0 → `backoff_initial`).
    pub fn backoff(&self, recent_restarts: u32) -> Duration {
        let multiplier = if self.backoff_multiplier.is_finite() { self.backoff_multiplier.max(1.0) } else { 1.0 };
        let exponent = i32::try_from(recent_restarts).unwrap_or(i32::MAX);
        let secs = self.backoff_initial.as_secs_f64() * multiplier.powi(exponent);
        let max = self.backoff_max.max(self.backoff_initial);
        match Duration::try_from_secs_f64(secs) {
            Ok(delay) => delay.min(max),
            Err(_) => max,
        }
    }
}

/// Restart times within the policy window (a supervisor's, or one child's).
#[derive(Debug, Default)]
pub(crate) struct RestartWindow {
    times: VecDeque<Instant>,
}

impl RestartWindow {
    /// Record a restart at `now`; returns how many fall within `within`, this one included.
    pub(crate) fn record(&mut self, now: Instant, within: Duration) -> u32 {
        while let Some(first) = self.times.front() {
            if now.duration_since(*first) > within {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.push_back(now);
        u32::try_from(self.times.len()).unwrap_or(u32::MAX)
    }
}

/// Durations in config as `"250ms"`, `"10s"`, `"5m"`, `"1h"`, or a bare number of milliseconds.
pub mod duration_text {
    use std::time::Duration;

    use serde::{de, Deserialize, Deserializer, Serializer};

    /// Write `d` as whole seconds when it is one, milliseconds otherwise.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if d.subsec_nanos() == 0 {
            s.serialize_str(&format!("{}s", d.as_secs()))
        } else {
            s.serialize_str(&format!("{}ms", d.as_millis()))
        }
    }

    /// Read a duration written as text with a unit, or as milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Millis(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Millis(ms) => Ok(Duration::from_millis(ms)),
            Raw::Text(text) => parse(&text).map_err(de::Error::custom),
        }
    }

    /// Parse `"250ms"`, `"1.5s"`, `"5m"`, `"1h"`.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 =
            number.parse().map_err(|_| format!("invalid duration {text:?}: expected e.g. \"250ms\" or \"10s\""))?;
        let scale = match unit.trim() {
            "ms" => 0.001,
            "s" | "" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => return Err(format!("invalid duration unit {other:?} in {text:?}")),
        };
        Duration::try_from_secs_f64(value * scale).map_err(|e| format!("invalid duration {text:?}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RestartPolicy::default();
        let ms: Vec<u128> = (0..9).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(ms, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn restart_types_are_a_table() {
        assert!(Restart::Permanent.restarts_after(false));
        assert!(Restart::Transient.restarts_after(true));
        assert!(!Restart::Transient.restarts_after(false));
        assert!(!Restart::Temporary.restarts_after(true));
    }

    #[test]
    fn window_forgets_old_restarts() {
        let mut w = RestartWindow::default();
        let t0 = Instant::now();
        let within = Duration::from_secs(10);
        assert_eq!(w.record(t0, within), 1);
        assert_eq!(w.record(t0 + Duration::from_secs(5), within), 2);
        assert_eq!(w.record(t0 + Duration::from_secs(12), within), 2);
    }

    #[test]
    fn policy_reads_text_durations() {
        let json = r#"{"strategy":"rest_for_one","within":"30s","backoff_initial":250}"#;
        let p: RestartPolicy = serde_json::from_str(json).expect("valid policy");
        assert_eq!(p.strategy, Strategy::RestForOne);
        assert_eq!(p.within, Duration::from_secs(30));
        assert_eq!(p.backoff_initial, Duration::from_millis(250));
        assert_eq!(p.max_restarts, 10);
        let back = serde_json::to_value(&p).expect("serializes");
        assert_eq!(back["backoff_initial"], "250ms");
        assert!(duration_text::parse("3 fortnights").is_err());
    }
}
