//! What the model pool did, named once here: OpenTelemetry histograms on the
//! global meter, labelled by device and model, rendered at `/metrics`.
//! (`metrics` is the other kind: held-out model quality.)

use autoglm_core::telemetry::{COUNT_BUCKETS, LATENCY_BUCKETS, METER};
use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::KeyValue;
use std::sync::LazyLock;
use std::time::Duration;

struct Instruments {
    batch_size: Histogram<u64>,
    queue_wait: Histogram<f64>,
    inference: Histogram<f64>,
    kept_answers: Counter<u64>,
}

static INSTRUMENTS: LazyLock<Instruments> = LazyLock::new(|| {
    let meter = opentelemetry::global::meter(METER);
    Instruments {
        batch_size: meter
            .u64_histogram("autoglm_model_batch_size")
            .with_description("Requests per forward pass, by device and model.")
            .with_boundaries(COUNT_BUCKETS.to_vec())
            .build(),
        queue_wait: meter
            .f64_histogram("autoglm_model_queue_wait_seconds")
            .with_description("Time a request waited in its model queue before its batch ran, by device and model.")
            .with_boundaries(LATENCY_BUCKETS.to_vec())
            .build(),
        inference: meter
            .f64_histogram("autoglm_model_inference_seconds")
            .with_description("Forward pass time per batch, by device, model and outcome.")
            .with_boundaries(LATENCY_BUCKETS.to_vec())
            .build(),
        kept_answers: meter
            .u64_counter("autoglm_model_answer_cache_total")
            .with_description("Short texts looked up in the kept model answers: hit (no forward pass) or miss.")
            .build(),
    }
});

/// Counts one lookup of a short text in a version's kept answers.
pub(crate) fn kept_answer(hit: bool) {
    INSTRUMENTS.kept_answers.add(1, &[KeyValue::new("result", if hit { "hit" } else { "miss" })]);
}

/// Records one batch of `waits.len()` requests run on `device`.
pub(crate) fn batch(device: &str, model: &str, waits: &[Duration], inference: Duration, ok: bool) {
    let labels = [KeyValue::new("device", device.to_string()), KeyValue::new("model", model.to_string())];
    let m = &*INSTRUMENTS;
    m.batch_size.record(waits.len() as u64, &labels);
    for w in waits {
        m.queue_wait.record(w.as_secs_f64(), &labels);
    }
    let [device, model] = labels;
    let outcome = KeyValue::new("outcome", if ok { "ok" } else { "failed" });
    m.inference.record(inference.as_secs_f64(), &[device, model, outcome]);
}
