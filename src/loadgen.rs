//! `autoglm loadgen`: open-loop load against a running node. Requests (or,
//! for `--mix chat`, whole conversations) are scheduled at a fixed rate and
//! latency is measured from the scheduled time (so a slow server cannot hide
//! its queueing); the later turns of a conversation are measured from when
//! they were sent. After the run it checks the invariants: no double
//! booking, nothing stuck in `negotiating`.

use crate::client::Client;
use crate::demo::CENTRE;
use anyhow::{bail, Context, Result};
use autoglm_core::Service;
use chrono::{Datelike, Duration as ChronoDuration, FixedOffset, Timelike, Utc};
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
    /// Conversations through `POST /v1/chat` (book with a summary and a yes,
    /// correct, cancel), zh and en; `--rate` is conversations per second.
    Chat,
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
    /// What was sent.
    pub mix: &'static str,
    /// Requests (chat: conversations) started.
    pub sent: u64,
    /// Conversations that ran to their end (chat).
    pub conversations: u64,
    /// 2xx answers (chat: turns).
    pub ok: u64,
    /// Failures by status (or "transport").
    pub errors: BTreeMap<String, u64>,
    /// Resulting order states.
    pub outcomes: BTreeMap<String, u64>,
    /// Seconds from first send to last answer.
    pub elapsed_secs: f64,
    /// Answered requests (chat: turns) per second.
    pub throughput: f64,
    /// Finished conversations per second (chat).
    pub conversations_per_sec: f64,
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
    conversations: u64,
    ok: u64,
    errors: BTreeMap<String, u64>,
    outcomes: BTreeMap<String, u64>,
}

/// Runs the load against `admin` (a client holding an admin token) and,
/// with `others`, spreads it round-robin over more nodes of one cluster
/// (sharing the token secret).
pub async fn run(admin: &Client, others: &[String], opts: &Options, progress: impl Fn(&str)) -> Result<Report> {
    if opts.rate == 0 || opts.connections == 0 || opts.customers == 0 {
        bail!("rate, connections and customers must be positive");
    }
    let first = customer_clients(admin, opts.customers).await?;
    let mut targets = vec![first.clone()];
    for base in others {
        targets.push(first.iter().map(|c| c.with_base(base)).collect());
    }
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
        let clients = &targets[(sent % targets.len() as u64) as usize];
        let client = clients[rng.gen_range(0..clients.len())].clone();
        let sink = tally.clone();
        match opts.mix {
            Mix::Orders => {
                let body = order_body(&mut rng);
                let key = format!("lg-{}-{sent}", opts.seed);
                tasks.spawn(async move {
                    let res =
                        client.send(hyper::Method::POST, "/v1/orders", Some(&body), &[("idempotency-key", &key)]).await;
                    drop(permit);
                    record(&sink, due, res, |v| v["state"].as_str().map(String::from));
                });
            }
            Mix::Chat => {
                let script = conversation(&mut rng);
                tasks.spawn(async move {
                    converse(&client, &script, due, &sink).await;
                    drop(permit);
                });
            }
        }
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
        mix: match opts.mix {
            Mix::Orders => "orders",
            Mix::Chat => "chat",
        },
        sent,
        conversations: t.conversations,
        conversations_per_sec: t.conversations as f64 / elapsed.max(1e-9),
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

/// Adds one answer to the tally: its latency from `since`, and the outcome `state_of` reads from a 2xx body.
fn record(
    sink: &Mutex<Tally>,
    since: Instant,
    res: Result<crate::client::Reply>,
    state_of: impl Fn(&serde_json::Value) -> Option<String>,
) -> Option<serde_json::Value> {
    let latency = since.elapsed().as_micros() as u64;
    let mut t = sink.lock().unwrap_or_else(|e| e.into_inner());
    t.latencies_us.push(latency);
    match res {
        Ok(r) if r.status.is_success() => {
            t.ok += 1;
            let body = r.json().ok();
            if let Some(state) = body.as_ref().and_then(&state_of) {
                *t.outcomes.entry(state).or_default() += 1;
            }
            body
        }
        Ok(r) => {
            *t.errors.entry(r.status.as_u16().to_string()).or_default() += 1;
            None
        }
        Err(_) => {
            *t.errors.entry("transport".into()).or_default() += 1;
            None
        }
    }
}

/// Runs one conversation turn by turn; a failed turn ends it.
async fn converse(client: &Client, script: &[String], due: Instant, sink: &Mutex<Tally>) {
    let mut session = serde_json::Value::Null;
    let mut since = due;
    let last = script.len().saturating_sub(1);
    for (i, text) in script.iter().enumerate() {
        let body = json!({ "text": text, "session_id": session });
        let res = client.post("/v1/chat", &body).await;
        // The outcome of a conversation: the state of the order its last turn shows.
        let reply = record(sink, since, res, |v| {
            (i == last).then(|| v["order"]["state"].as_str().unwrap_or("no_order").to_string())
        });
        let Some(reply) = reply else { return };
        session = reply["session_id"].clone();
        since = Instant::now();
    }
    sink.lock().unwrap_or_else(|e| e.into_inner()).conversations += 1;
}

/// A plausible conversation in the demo city: most book (after a summary and
/// a yes), some correct the day, some cancel afterwards, some change their mind.
fn conversation(rng: &mut StdRng) -> Vec<String> {
    let offset = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00 is a valid offset"));
    let today = Utc::now().with_timezone(&offset);
    let day = today + ChronoDuration::days(rng.gen_range(2..=30));
    let other = day + ChronoDuration::days(1);
    let hour = rng.gen_range(9..=16);
    let zh_day = |d: chrono::DateTime<FixedOffset>| format!("{}月{}日", d.month(), d.day());
    let (zh_rooms, en_rooms) =
        [("厨房", "kitchen"), ("卫生间", "bathroom"), ("客厅", "living room"), ("卧室", "bedroom")]
            [rng.gen_range(0..4)];
    let zh_hour = if hour < 12 { format!("上午{hour}点") } else { format!("下午{}点", hour - 12) };
    let en_hour = if hour < 12 {
        format!("{hour}am")
    } else if hour == 12 {
        "12pm".into()
    } else {
        format!("{}pm", hour - 12)
    };
    let en_day = day.format("%B %-d").to_string();
    let lines: Vec<String> = match rng.gen_range(0..10) {
        0..=3 => vec![format!("{}{zh_hour}来打扫{zh_rooms}", zh_day(day)), "确认".into()],
        4 => vec!["我想约个保洁".into(), format!("{}{zh_hour}", zh_day(day)), "好的".into()],
        5 => vec![
            format!("{}{zh_hour}打扫{zh_rooms}", zh_day(day)),
            format!("不对，改成{}", zh_day(other)),
            "确认".into(),
        ],
        6 => vec![format!("{}{zh_hour}来打扫{zh_rooms}", zh_day(day)), "确认".into(), "取消订单".into()],
        7 => vec![format!("{}{zh_hour}来打扫{zh_rooms}", zh_day(day)), "不用了".into()],
        _ => vec![format!("clean my {en_rooms} on {en_day} at {en_hour}"), "yes".into()],
    };
    lines
}

async fn customer_clients(admin: &Client, n: usize) -> Result<Vec<Client>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let r = admin.post("/v1/auth/tokens", &json!({ "role": "customer", "subject": format!("LC{i}") })).await?;
        if !r.status.is_success() {
            bail!("could not get a customer token ({}): {}", r.status, String::from_utf8_lossy(&r.body));
        }
        let token = r.json()?["token"].as_str().context("token missing")?.to_string();
        let client = admin.with_token(token);
        // Chat bookings take the address from the profile.
        let prefs = json!({ "favourites": [], "blocked": [],
                            "address": { "text": format!("演示城市 {} 号", i + 1), "lat": CENTRE.lat, "lon": CENTRE.lon } });
        let r = client.send(hyper::Method::PUT, "/v1/customers/me/preferences", Some(&prefs), &[]).await?;
        if !r.status.is_success() {
            bail!("could not set a customer's address ({}): {}", r.status, String::from_utf8_lossy(&r.body));
        }
        out.push(client);
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
            "mix {}  sent {}  conversations {}  ok {}  errors {:?}\noutcomes {:?}\nthroughput {:.0} {}/s over {:.1}s ({:.0} conversations/s)\nlatency{} p50 {:.2} ms  p99 {:.2} ms  p999 {:.2} ms  max {:.2} ms\ninvariants {}\nresult: {}",
            self.mix,
            self.sent,
            self.conversations,
            self.ok,
            self.errors,
            self.outcomes,
            self.throughput,
            if self.mix == "chat" { "turns" } else { "orders" },
            self.elapsed_secs,
            self.conversations_per_sec,
            if self.mix == "chat" { " per turn" } else { "" },
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms,
            self.invariants,
            if self.passed { "PASS" } else { "FAIL" }
        )
    }
}
