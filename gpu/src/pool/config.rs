//! [`PoolConfig`]: batching, back-pressure, devices and restarts of the pool.

use std::time::Duration;

use autoglm_supervisor::supervisor::policy::duration_text;
use autoglm_supervisor::RestartPolicy;
use serde::{Deserialize, Serialize};

use crate::device::{devices, DeviceInfo};
use crate::GpuError;

/// How the pool batches, queues and supervises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    /// The model [`super::ModelPool::predict`] uses.
    pub default_model: String,
    /// Most requests in one forward pass.
    pub max_batch: usize,
    /// Longest a request waits for others to join its batch, in microseconds.
    /// 0 (the default): a free worker takes what is queued at once; under load
    /// requests queue while the workers run and form the next batches anyway
    /// (CPU bench: the same throughput at 512 callers, p50 at one caller 0.47
    /// ms instead of 2.5 ms with 1000). Raise it to trade latency for fuller
    /// batches.
    pub max_wait_us: u64,
    /// Most requests waiting per model; beyond it `predict` fails fast with `Overloaded`.
    pub queue_capacity: usize,
    /// Answers kept per model version for texts of at most
    /// `answer_cache_max_chars` characters, so that a repeated short reply
    /// (确认, 好的, yes) skips the queue and the forward pass (0: none kept).
    pub answer_cache: u64,
    /// Longest text (in characters, after folding) whose answer is kept.
    pub answer_cache_max_chars: usize,
    /// A caller gives up on a request after this long.
    #[serde(with = "duration_text")]
    pub request_timeout: Duration,
    /// After a hot swap or unload, how long the old version may take to answer its queue.
    #[serde(with = "duration_text")]
    pub drain_timeout: Duration,
    /// libtorch CPU threads (`None`: libtorch's default, one per core).
    /// Process-wide: it also sets the threads of every other libtorch user.
    /// The default, 1, goes with one worker per core (`cpu_workers`).
    pub cpu_threads: Option<usize>,
    /// Workers per CPU device (0: one per core). Several single-threaded
    /// workers beat one worker with several threads on this model: no thread
    /// hand-offs inside tiny ops, and a busy neighbour process stalls one
    /// worker, not every op (measured: 8x on a loaded 2-core box).
    pub cpu_workers: usize,
    /// Devices to run on, as `cpu` or `cuda:N` (`None`: every CUDA device, else the CPU).
    pub devices: Option<Vec<String>>,
    /// How crashed workers are restarted.
    pub restart: RestartPolicy,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            default_model: "intent_slot".to_string(),
            max_batch: 64,
            max_wait_us: 0,
            queue_capacity: 4096,
            answer_cache: 10_000,
            answer_cache_max_chars: 12,
            request_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(30),
            cpu_threads: Some(1),
            cpu_workers: 0,
            devices: None,
            restart: RestartPolicy::default(),
        }
    }
}

impl PoolConfig {
    /// `max_wait_us` as a duration.
    pub fn max_wait(&self) -> Duration {
        Duration::from_micros(self.max_wait_us)
    }

    /// Checks the numbers and resolves the device list into worker slots.
    pub(crate) fn resolve_devices(&self) -> Result<Vec<DeviceInfo>, GpuError> {
        if self.max_batch == 0 || self.queue_capacity == 0 || self.cpu_workers > 256 {
            return Err(GpuError::InvalidConfig(
                "max_batch and queue_capacity must be at least 1, cpu_workers at most 256".to_string(),
            ));
        }
        let listed = match &self.devices {
            None => devices(),
            Some(names) if names.is_empty() => {
                return Err(GpuError::InvalidConfig("devices must not be empty (leave it out to discover)".to_string()))
            }
            Some(names) => names
                .iter()
                .map(|name| {
                    let device = parse_device(name)?;
                    crate::check_device(device.device())?;
                    Ok(device)
                })
                .collect::<Result<Vec<_>, GpuError>>()?,
        };
        // One worker slot per entry: each CPU entry counts `cpu_workers` times.
        let cpu_workers = match self.cpu_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut slots = Vec::with_capacity(listed.len());
        for device in listed {
            let n = if device.kind == crate::DeviceKind::Cpu { cpu_workers } else { 1 };
            slots.extend(std::iter::repeat_n(device, n));
        }
        Ok(slots)
    }
}

/// Parses `cpu` or `cuda:N` (`cuda` alone is `cuda:0`).
pub fn parse_device(name: &str) -> Result<DeviceInfo, GpuError> {
    match name.trim() {
        "cpu" => Ok(DeviceInfo::cpu()),
        "cuda" => Ok(DeviceInfo::cuda(0)),
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .map(DeviceInfo::cuda)
            .ok_or_else(|| GpuError::InvalidConfig(format!("unknown device {other:?}; expected cpu or cuda:N"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices_and_config() {
        assert_eq!(parse_device("cpu").ok(), Some(DeviceInfo::cpu()));
        assert_eq!(parse_device("cuda:2").ok(), Some(DeviceInfo::cuda(2)));
        assert!(parse_device("tpu").is_err());
        let c: PoolConfig = serde_json::from_str(r#"{"max_batch": 8, "drain_timeout": "5s"}"#).expect("config");
        assert_eq!((c.max_batch, c.drain_timeout), (8, Duration::from_secs(5)));
        assert!(serde_json::from_str::<PoolConfig>(r#"{"max_bach": 8}"#).is_err());
        let c = PoolConfig { queue_capacity: 0, ..Default::default() };
        assert!(c.resolve_devices().is_err());
        let c = PoolConfig { devices: Some(vec!["cpu".into()]), cpu_workers: 3, ..Default::default() };
        assert_eq!(c.resolve_devices().ok(), Some(vec![DeviceInfo::cpu(); 3]));
    }
}
