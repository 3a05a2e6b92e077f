//! What storage did, named once here: OpenTelemetry instruments on the global
//! meter (the node installs its provider before it opens storage), rendered
//! at `/metrics`.

use autoglm_core::telemetry::{LATENCY_BUCKETS, METER};
use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::KeyValue;
use std::sync::LazyLock;
use std::time::Duration;

struct Instruments {
    cache_lookups: Counter<u64>,
    session_seconds: Histogram<f64>,
    transitions: Counter<u64>,
    writer_batches: Counter<u64>,
    writer_changes: Counter<u64>,
}

static INSTRUMENTS: LazyLock<Instruments> = LazyLock::new(|| {
    let meter = opentelemetry::global::meter(METER);
    Instruments {
        cache_lookups: meter
            .u64_counter("autoglm_cache_lookups_total")
            .with_description("Order cache reads by where they were answered: l1_hit, l2_hit, miss (database).")
            .build(),
        session_seconds: meter
            .f64_histogram("autoglm_session_store_duration_seconds")
            .with_description("Chat session store calls by backend (memory, redis) and op (begin, commit).")
            .with_boundaries(LATENCY_BUCKETS.to_vec())
            .build(),
        transitions: meter
            .u64_counter("autoglm_order_transitions_total")
            .with_description("Order transitions committed, by the state entered.")
            .build(),
        writer_batches: meter.u64_counter("autoglm_writer_batches_total").with_description("Group commits.").build(),
        writer_changes: meter
            .u64_counter("autoglm_writer_changes_total")
            .with_description("Changes committed by the writer.")
            .build(),
    }
});

/// Where an order cache read was answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CacheLookup {
    L1Hit,
    L2Hit,
    Miss,
}

pub(crate) fn cache_lookup(result: CacheLookup) {
    let result = match result {
        CacheLookup::L1Hit => "l1_hit",
        CacheLookup::L2Hit => "l2_hit",
        CacheLookup::Miss => "miss",
    };
    INSTRUMENTS.cache_lookups.add(1, &[KeyValue::new("result", result)]);
}

pub(crate) fn session_call(backend: &'static str, op: &'static str, took: Duration) {
    INSTRUMENTS
        .session_seconds
        .record(took.as_secs_f64(), &[KeyValue::new("backend", backend), KeyValue::new("op", op)]);
}

pub(crate) fn transition(state: &'static str) {
    INSTRUMENTS.transitions.add(1, &[KeyValue::new("state", state)]);
}

pub(crate) fn writer_batch(changes: u64) {
    INSTRUMENTS.writer_batches.add(1, &[]);
    INSTRUMENTS.writer_changes.add(changes, &[]);
}
