//! What supervision did, named once here: an OpenTelemetry counter on the
//! global meter, rendered at `/metrics`.

use opentelemetry::metrics::Counter;
use opentelemetry::KeyValue;
use std::sync::LazyLock;

/// The meter name every crate records on (`autoglm_core::telemetry::METER`).
const METER: &str = "autoglm";

static RESTARTS: LazyLock<Counter<u64>> = LazyLock::new(|| {
    opentelemetry::global::meter(METER)
        .u64_counter("autoglm_actor_restarts_total")
        .with_description("Actor restarts scheduled by a supervisor, by kind.")
        .build()
});

/// Counts one restart of a child of `kind`.
pub(crate) fn restart(kind: &str) {
    RESTARTS.add(1, &[KeyValue::new("kind", kind.to_string())]);
}
