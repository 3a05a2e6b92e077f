//! Shared set-up of the engine tests: an engine over a real database, a few
//! workers near one address, order requests, signed callbacks.
#![allow(dead_code)]

use autoglm_actors::payments::SandboxGateway;
use autoglm_actors::{Engine, EngineConfig, EngineParts};
use autoglm_core::order::OrderRequest;
use autoglm_core::worker::WorkingHours;
use autoglm_core::{Address, GeoPoint, Service, Worker, WorkerId};
use autoglm_storage::{CacheConfig, Db, OrderCache, Writer, WriterConfig};
use chrono::{DateTime, Duration, FixedOffset, Timelike};
use std::sync::Arc;

/// Where every test order happens.
pub const PLACE: GeoPoint = GeoPoint { lat: 31.2304, lon: 121.4737 };

/// An engine over `db` with the sandbox gateway.
pub async fn engine(db: Db, cfg: EngineConfig) -> Engine {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let writer = Writer::spawn(db.clone(), WriterConfig::default());
    let cache = OrderCache::new(CacheConfig::default(), None);
    let sandbox = Arc::new(SandboxGateway::new(b"test-callback-secret".to_vec()));
    Engine::start(EngineParts {
        cfg,
        db,
        writer,
        cache,
        gateway: sandbox.clone(),
        sandbox: Some(sandbox),
        node: "test".into(),
        scope: autoglm_storage::testing::unique("engine"),
        clustered: false,
    })
    .await
    .unwrap_or_else(|e| panic!("engine did not start: {e}"))
}

/// A worker offering `service` (level `level`) who lives `km_north` km north of [`PLACE`].
pub fn worker(id: &str, service: Service, level: u8, km_north: f64) -> Worker {
    Worker {
        id: WorkerId::from(id),
        name: format!("阿姨{id}"),
        skills: [(service, level)].into(),
        home: GeoPoint { lat: PLACE.lat + km_north / 111.0, lon: PLACE.lon },
        radius_km: 10.0,
        hours: WorkingHours::default(),
        rating: 4.5,
        rating_count: 2,
        active: true,
    }
}

/// Tomorrow (or `days` ahead) at `hour:minute`, +08:00, from the engine's clock.
pub fn day_at(engine: &Engine, days: i64, hour: u32, minute: u32) -> DateTime<FixedOffset> {
    let t = engine.clock().now() + Duration::days(days);
    t.with_hour(hour)
        .and_then(|t| t.with_minute(minute))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or_else(|| panic!("bad test time"))
}

/// A request for `service` at `start` for `minutes` at [`PLACE`].
pub fn request(service: Service, start: DateTime<FixedOffset>, minutes: u32) -> OrderRequest {
    OrderRequest {
        service,
        rooms: vec![],
        start,
        duration_minutes: Some(minutes),
        address: Address { text: "人民广场 1 号".into(), lat: PLACE.lat, lon: PLACE.lon },
        notes: None,
    }
}

/// A body and signature as the sandbox gateway would send them.
pub fn signed(engine: &Engine, notice: &autoglm_actors::payments::CallbackNotice) -> (Vec<u8>, String) {
    let body = serde_json::to_vec(notice).unwrap_or_default();
    let sig = engine.sandbox().map(|s| s.sign(&body)).unwrap_or_default();
    (body, sig)
}

/// A config with short deadlines suited to tests.
pub fn quick_config() -> EngineConfig {
    let mut cfg = EngineConfig::default();
    cfg.dispatch.bid_deadline_ms = 300;
    cfg.utc_offset_minutes = 480;
    cfg
}

/// Waits (bounded, about 5 s) until `check` holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
