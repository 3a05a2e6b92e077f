//! What the edge measures, named once here: requests per route template
//! (a counter, a latency histogram and a `request` span)
//! (never the raw path, so ids do not explode the series), and the gauges
//! read when `/metrics` is scraped. Rendering is the Prometheus registry the
//! node's OpenTelemetry exporter feeds (`src/telemetry.rs`).

use crate::openapi::ROUTES;
use crate::AppState;
use autoglm_core::telemetry::{LATENCY_BUCKETS, METER};
use opentelemetry::metrics::{Counter, Gauge, Histogram};
use opentelemetry::KeyValue;
use std::collections::BTreeSet;
use std::sync::{LazyLock, Mutex};

struct Instruments {
    requests: Counter<u64>,
    request_seconds: Histogram<f64>,
    actors_alive: Gauge<i64>,
    members: Gauge<i64>,
    /// Actor kinds seen alive once: a kind with no actor left reads 0, not its last count.
    kinds_seen: Mutex<BTreeSet<String>>,
}

static INSTRUMENTS: LazyLock<Instruments> = LazyLock::new(|| {
    let meter = opentelemetry::global::meter(METER);
    Instruments {
        requests: meter
            .u64_counter("autoglm_http_requests_total")
            .with_description("HTTP requests answered, by method, route template and status.")
            .build(),
        request_seconds: meter
            .f64_histogram("autoglm_http_request_duration_seconds")
            .with_description("HTTP request latency, by method, route template and status.")
            .with_boundaries(LATENCY_BUCKETS.to_vec())
            .build(),
        actors_alive: meter.i64_gauge("autoglm_actors_alive").with_description("Live actors by kind.").build(),
        members: meter
            .i64_gauge("autoglm_cluster_members")
            .with_description("Cluster members this node sees by state (up, down), itself included.")
            .build(),
        kinds_seen: Mutex::new(BTreeSet::new()),
    }
});

/// Records one answered request (a `warp::log::custom` callback, run inside
/// the request's span): the metrics, and an access line at debug level.
pub(crate) fn record_request(info: warp::log::Info<'_>) {
    let method = info.method().as_str().to_ascii_lowercase();
    let status = info.status().as_u16();
    tracing::debug!(status, elapsed_us = info.elapsed().as_micros() as u64, "request answered");
    let labels = [
        KeyValue::new("route", route_template(&method, info.path())),
        KeyValue::new("method", method),
        KeyValue::new("status", i64::from(status)),
    ];
    INSTRUMENTS.requests.add(1, &labels);
    INSTRUMENTS.request_seconds.record(info.elapsed().as_secs_f64(), &labels);
}

/// The span every request runs in (its trace, when traces are on).
pub(crate) fn request_span(info: warp::trace::Info<'_>) -> tracing::Span {
    let method = info.method().as_str().to_ascii_lowercase();
    tracing::info_span!("request", method = %method, route = route_template(&method, info.path()))
}

/// The documented route template `path` matches (`/v1/orders/{id}/pay`),
/// `unmatched` for anything else.
pub fn route_template(method: &str, path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    let segments = || path.split('/').skip(1);
    let matches = |template: &str| {
        let mut want = template.trim_end_matches('/').split('/').skip(1);
        let mut got = segments();
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w == g || (w.starts_with('{') && !g.is_empty()) => {}
                _ => return false,
            }
        }
    };
    // Exact segments win over parameters (`/ops/actors` before `/ops/{x}`, were there one).
    ROUTES
        .iter()
        .filter(|r| r.method == method && matches(r.path))
        .min_by_key(|r| r.path.matches('{').count())
        .map(|r| r.path)
        .unwrap_or("unmatched")
}

/// Sets the gauges that are read rather than counted: actors alive per kind
/// and cluster members.
fn observe(s: &AppState) {
    let m = &*INSTRUMENTS;
    let counts = s.engine.actor_counts();
    let mut seen = m.kinds_seen.lock().unwrap_or_else(|p| p.into_inner());
    seen.extend(counts.keys().cloned());
    for kind in seen.iter() {
        let n = counts.get(kind).copied().unwrap_or(0);
        m.actors_alive.record(n as i64, &[KeyValue::new("kind", kind.clone())]);
    }
    match &s.cluster {
        Some(cluster) => {
            let view = cluster.view();
            let down = view.members.len() - view.up;
            m.members.record(view.up as i64, &[KeyValue::new("state", "up")]);
            m.members.record(down as i64, &[KeyValue::new("state", "down")]);
        }
        None => {
            m.members.record(1, &[KeyValue::new("state", "up")]);
            m.members.record(0, &[KeyValue::new("state", "down")]);
        }
    }
}

/// The Prometheus text exposition of every metric the process records.
pub(crate) fn render(s: &AppState) -> String {
    use prometheus::Encoder;
    observe(s);
    let mut out = Vec::new();
    if let Err(e) = prometheus::TextEncoder::new().encode(&prometheus::gather(), &mut out) {
        tracing::warn!(error = %e, "rendering /metrics");
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::route_template;

    #[test]
    fn paths_map_to_their_templates() {
        assert_eq!(route_template("post", "/v1/orders/A1023/pay"), "/v1/orders/{id}/pay");
        assert_eq!(route_template("get", "/v1/orders"), "/v1/orders");
        assert_eq!(route_template("get", "/v1/orders/A1"), "/v1/orders/{id}");
        assert_eq!(route_template("get", "/metrics"), "/metrics");
        assert_eq!(route_template("get", "/"), "/");
        assert_eq!(route_template("get", "/no/such/thing"), "unmatched");
        assert_eq!(route_template("delete", "/v1/orders"), "unmatched");
    }
}
