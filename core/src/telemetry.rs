//! Conventions every crate's metrics share, so that one dashboard reads them
//! all: the meter name and the histogram buckets. Constants only (core stays
//! free of I/O); the instruments themselves live in each crate's metrics module.

/// The OpenTelemetry meter every crate records on.
pub const METER: &str = "autoglm";

/// Buckets (seconds) for latencies: sub-millisecond cache and session reads
/// up to multi-second negotiations.
pub const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Buckets for small counts: rounds, bids, batch sizes.
pub const COUNT_BUCKETS: &[f64] = &[0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
