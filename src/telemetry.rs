//! The node's telemetry wiring: the OpenTelemetry meter provider whose
//! Prometheus exporter feeds the process-wide Prometheus registry that
//! `GET /metrics` renders. Instruments are named in each crate's metrics
//! module (`actors::metrics`, `storage::metrics`, `gpu::telemetry`,
//! `supervisor::metrics`, `http::metrics`); this module only connects them.

use anyhow::{Context, Result};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use std::sync::OnceLock;

static PROVIDER: OnceLock<SdkMeterProvider> = OnceLock::new();

/// Installs the global meter provider, once per process (a test process may
/// start several nodes: they share it). Call before anything records.
pub fn init_metrics() -> Result<()> {
    if PROVIDER.get().is_some() {
        return Ok(());
    }
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(prometheus::default_registry().clone())
        // Names are written out in full (`_total`, `_seconds`) where they are defined.
        .without_units()
        .without_counter_suffixes()
        .without_target_info()
        .scope_info_enabled(false)
        .build()
        .context("building the Prometheus exporter")?;
    let provider = SdkMeterProvider::builder().with_reader(exporter).build();
    if PROVIDER.set(provider.clone()).is_ok() {
        opentelemetry::global::set_meter_provider(provider);
    }
    Ok(())
}
