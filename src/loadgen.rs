//! `autoglm loadgen`: open-loop load against a running node. Requests are
//! scheduled at a fixed rate and latency is measured from the scheduled
//! time (so a slow server cannot hide its queueing). After the run it checks
//! the invariants: no double booking, nothing stuck in `negotiating`.

use crate::client::Client;
use crate::demo::CENTRE;
use anyhow::{bail, Context, Result};
use autoglm_core::Service;
use chrono::{Duration as ChronoDuration, FixedOffset, Timelike, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// Structured orders (`POST /v1/orders`).
    Orders,
}

/// Load parameters.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per second to schedule.
    pub rate: u64,
    /// How long to send.
    pub duration: Duration,
    /// What to send.
    pub mix: Mix,
    /// Most requests in flight at once.
    pub connections: usize,
    /// Distinct customers to spread orders over.
    pub customers: usize,
    /// Seed of the request generator.
    pub seed: u64,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Requests sent.
    pub sent: u64,
    /// 2xx answers.
    pub ok: u64,
    /// Failures by status (or "transport").
    pub errors: BTreeMap<String, u64>,
    /// Resulting order states.
    pub outcomes: BTreeMap<String, u64>,
    /// Seconds from first send to last answer.
    pub elapsed_secs: f64,
    /// Answered requests per second.
    pub throughput: f64,
    /// Latency percentiles, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest latency.
    pub max_ms: f64,
    /// What `/ops/invariants` said afterwards.
    pub invariants: serde_json::Value,
    /// Whether every invariant held and nothing failed.
    pub passed: bool,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
    outcomes: BTreeMap<String, u64>,
}

/// Runs the load against `admin` (a client holding an admin token).
pub async fn run(admin: &Client, opts: &Options, progress: impl Fn(&str)) -> Result<Report> {
    if opts.rate == 0 || opts.connections == 0 || opts.customers == 0 {
        bail!("rate, connections and customers must be positive");
    }
    let clients = customer_clients(admin, opts.customers).await?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let permits = Arc::new(tokio::sync::Semaphore::new(opts.connections));
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let start = Instant::now();
    let end = start + opts.duration;
    let total = (opts.rate as f64 * opts.duration.as_secs_f64()).round() as u64;
    let mut sent = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    let mut last_report = start;
    while sent < total {
        // Schedule request `sent` at its due time (open loop).
        let due = start + Duration::from_secs_f64(sent as f64 / opts.rate as f64);
        if due > end + Duration::from_secs(1) {
            break;
        }
        tokio::time::sleep_until(due).await;
        let permit = permits.clone().acquire_owned().await.context("semaphore closed")?;
        let client = clients[rng.gen_range(0..clients.len())].clone();
        let body = order_body(&mut rng);
        let key = format!("lg-{}-{sent}", opts.seed);
        let sink = tally.clone();
        tasks.spawn(async move {
            let res = client.send(hyper::Method::POST, "/v1/orders", Some(&body), &[("idempotency-key", &key)]).await;
            let latency = due.elapsed().as_micros() as u64;
            drop(permit);
            let mut t = sink.lock().unwrap_or_else(|e| e.into_inner());
            t.latencies_us.push(latency);
            match res {
                Ok(r) if r.status.is_success() => {
                    t.ok += 1;
                    let state = r.json().ok().and_then(|v| v["state"].as_str().map(String::from)).unwrap_or_default();
                    *t.outcomes.entry(state).or_default() += 1;
                }
                Ok(r) => *t.errors.entry(r.status.as_u16().to_string()).or_default() += 1,
                Err(_) => *t.errors.entry("transport".into()).or_default() += 1,
            }
        });
        sent += 1;
        while tasks.try_join_next().is_some() {}
        if last_report.elapsed() >= Duration::from_secs(5) {
            last_report = Instant::now();
            let done = tally.lock().unwrap_or_else(|e| e.into_inner()).latencies_us.len();
            progress(&format!("{:>5.1}s  sent {sent}/{total}  answered {done}", start.elapsed().as_secs_f64()));
        }
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed().as_secs_f64();
    let mut t = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    t.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if t.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((t.latencies_us.len() as f64 * p).ceil() as usize).clamp(1, t.latencies_us.len()) - 1;
        t.latencies_us[i] as f64 / 1000.0
    };
    let invariants = admin.get("/ops/invariants").await?.json()?;
    let negotiating = invariants["by_state"]["negotiating"].as_u64().unwrap_or(0);
    let clean = invariants["double_bookings"].as_u64() == Some(0)
        && invariants["holding_without_reservation"].as_u64() == Some(0)
        && negotiating == 0;
    Ok(Report {
        sent,
        ok: t.ok,
        passed: clean && t.errors.is_empty(),
        errors: t.errors,
        outcomes: t.outcomes,
        elapsed_secs: elapsed,
        throughput: t.ok as f64 / elapsed.max(1e-9),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
        max_ms: t.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
        invariants,
    })
}

async fn customer_clients(admin: &Client, n: usize) -> Result<Vec<Client>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let r = admin.post("/v1/auth/tokens", &json!({ "role": "customer", "subject": format!("LC{i}") })).await?;
        if !r.status.is_success() {
            bail!("could not get a customer token ({}): {}", r.status, String::from_utf8_lossy(&r.body));
        }
        let token = r.json()?["token"].as_str().context("token missing")?.to_string();
        out.push(admin.with_token(token));
    }
    Ok(out)
}

/// A random but plausible order in the demo city.
fn order_body(rng: &mut StdRng) -> serde_json::Value {
    let offset =
        FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()));
    let today = Utc::now().with_timezone(&offset);
    let day = today + ChronoDuration::days(rng.gen_range(1..=30));
    let start = day
        .with_hour(rng.gen_range(9..=16))
        .and_then(|t| t.with_minute([0, 30][rng.gen_range(0..2)]))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(day);
    let service = Service::ALL[rng.gen_range(0..Service::ALL.len())];
    let min_minutes = autoglm_core::policy::Policies::default().service(service).min_minutes;
    json!({
        "service": service,
        "start": start.to_rfc3339(),
        "duration_minutes": min_minutes,
        "address": {
            "text": format!("演示城市 {} 号", rng.gen_range(1..999)),
            "lat": CENTRE.lat + rng.gen_range(-0.06..0.06),
            "lon": CENTRE.lon + rng.gen_range(-0.06..0.06),
        }
    })
}

impl Report {
    /// The report as the terminal shows it.
    pub fn render(&self) -> String {
        format!(
            "sent {}  ok {}  errors {:?}\noutcomes {:?}\nthroughput {:.0} orders/s over {:.1}s\nlatency p50 {:.2} ms  p99 {:.2} ms  p999 {:.2} ms  max {:.2} ms\ninvariants {}\nresult: {}",
            self.sent,
            self.ok,
            self.errors,
            self.outcomes,
            self.throughput,
            self.elapsed_secs,
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms,
            self.invariants,
            if self.passed { "PASS" } else { "FAIL" }
        )
    }
}
