//! Graceful shutdown of a real `autoglm serve` process under load: SIGTERM
//! while orders are being placed. Every request the node accepted is
//! answered (2xx, or a clean 503), the process exits 0 within
//! `shutdown_grace_secs` plus a margin, and after a restart on the same data
//! dir every answered order is there, nothing is stuck in `negotiating` and
//! `/ops/invariants` is clean. A request that got no answer must be one the
//! node never took: sent again with its idempotency key after the restart it
//! creates the order (201), where a replay (200) would mean an answer was lost.

use autoglm::client::Client;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// `[server] shutdown_grace_secs` of the node under test.
const GRACE_SECS: u64 = 5;
/// Time on top of the grace for stopping the engine and exiting.
const EXIT_MARGIN: Duration = Duration::from_secs(10);
/// Requests in flight at any time.
const CONCURRENCY: usize = 32;
/// Most requests one load task sends (bounds the run).
const PER_TASK: usize = 60;
/// Every this many load tasks parses sentences (through the model pool) instead of ordering.
const NLU_EVERY: usize = 4;
/// SIGTERM goes out once this many requests have been answered.
const TERM_AFTER: usize = 96;

/// A node process started by this test; killed if the test fails first.
struct NodeProcess {
    child: Child,
    url: String,
}

impl NodeProcess {
    /// Starts `autoglm serve --demo` on an ephemeral port and waits for the
    /// line that names its address (at most 120 s: a debug build migrating).
    /// Its stdout (banner and logs) goes to `<log>.out`, stderr to `<log>.err`.
    fn start(dir: &Path, config: &Path, log: &str) -> NodeProcess {
        let err = std::fs::File::create(dir.join(format!("{log}.err"))).unwrap_or_else(|e| panic!("{e}"));
        let mut out = std::fs::File::create(dir.join(format!("{log}.out"))).unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_autoglm"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0", "--demo", "--data-dir"])
            .arg(dir)
            .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("starting autoglm serve: {e}"));
        let Some(stdout) = child.stdout.take() else { panic!("no stdout pipe") };
        let (tx, rx) = mpsc::channel::<String>();
        // Drains stdout to the end (a closed pipe would fail the node's next print).
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(out, "{line}");
                let _ = tx.send(line);
            }
        });
        let mut node = NodeProcess { child, url: String::new() };
        let deadline = Instant::now() + Duration::from_secs(120);
        while node.url.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("AutoGLM node listening on ") {
                        node.url = rest.split_whitespace().next().unwrap_or_default().to_string();
                    }
                }
                Err(e) => panic!("the node never said where it listens ({e}); log: {}", tail(dir, log)),
            }
        }
        node
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as Kubernetes and `docker stop` do.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("running kill: {e}"));
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }

    /// The exit status once the process is gone, polling (bounded) up to `limit`.
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => return None,
            }
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last lines of a node's stdout and stderr, for failure messages.
fn tail(dir: &Path, log: &str) -> String {
    let mut out = String::new();
    for stream in ["out", "err"] {
        let text = std::fs::read_to_string(dir.join(format!("{log}.{stream}"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        out.push_str(&format!("\n--- {log}.{stream}\n{}", lines[lines.len().saturating_sub(30)..].join("\n")));
    }
    out
}

fn data_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(autoglm_storage::testing::unique("autoglm_e2e_shutdown_"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// Polls `GET /readyz` until 200 (bounded: about 60 s).
async fn wait_ready(url: &str) {
    let c = Client::new(url, None);
    for _ in 0..3000 {
        if c.get("/readyz").await.is_ok_and(|r| r.status == StatusCode::OK) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url}/readyz never answered 200");
}

/// `autoglm token --role ROLE --subject S --data-dir DIR`.
fn mint(dir: &Path, role: &str, subject: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_autoglm"))
        .args(["token", "--role", role, "--subject", subject, "--data-dir"])
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("autoglm token: {e}"));
    assert!(out.status.success(), "autoglm token: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Order `n`: its own start (days × 2-hour starts), so most find a worker.
fn order_body(n: usize) -> Value {
    let day = 2 + (n / 6) % 30;
    let hour = 8 + 2 * (n % 6) as u32;
    let t = chrono::Utc::now().with_timezone(&autoglm_core::default_offset()) + chrono::Duration::days(day as i64);
    let start = format!("{}T{hour:02}:00:00+08:00", t.format("%Y-%m-%d"));
    json!({ "service": "cleaning", "rooms": ["kitchen"], "start": start, "duration_minutes": 120,
            "address": { "text": "人民广场 1 号", "lat": 31.2304, "lon": 121.4737 } })
}

/// What one request got.
#[derive(Debug)]
enum Outcome {
    /// An HTTP answer: status and body.
    Answer(StatusCode, Value),
    /// No answer: the connection was refused, reset or closed.
    NoAnswer(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_drains_in_flight_orders_and_loses_nothing() {
    let dir = data_dir();
    let config = dir.join("autoglm.toml");
    std::fs::write(
        &config,
        format!("version = 1\n[server]\nshutdown_grace_secs = {GRACE_SECS}\n[dispatch]\nbid_deadline_ms = 300\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // A small model, so the drain also covers the model pool (libtorch workers).
    let trained = Command::new(env!("CARGO_BIN_EXE_autoglm"))
        .args(["train", "--examples", "400", "--epochs", "1", "--device", "cpu", "--out"])
        .arg(dir.join("models").join("intent_slot"))
        .output()
        .unwrap_or_else(|e| panic!("autoglm train: {e}"));
    assert!(trained.status.success(), "autoglm train: {}", String::from_utf8_lossy(&trained.stderr));

    let mut node = NodeProcess::start(&dir, &config, "node1");
    wait_ready(&node.url).await;
    let customer = Client::new(&node.url, Some(mint(&dir, "customer", "C1")));

    // Closed-loop load: CONCURRENCY tasks, each placing orders one after the
    // other until the node is gone (or PER_TASK orders).
    let answered = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(tokio::sync::Notify::new());
    let term_sent = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let (c, answered, progress, term_sent) =
            (customer.clone(), answered.clone(), progress.clone(), term_sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for k in 0..PER_TASK {
                let n = t * PER_TASK + k;
                let key = format!("drain-{n}");
                let sent_after_term = term_sent.load(Ordering::SeqCst);
                let reply = if t % NLU_EVERY == 0 {
                    c.post("/v1/nlu/parse", &json!({ "text": "明天上午10点来打扫厨房" })).await
                } else {
                    c.send(Method::POST, "/v1/orders", Some(&order_body(n)), &[("idempotency-key", key.as_str())]).await
                };
                let outcome = match reply {
                    Ok(r) => Outcome::Answer(r.status, r.json().unwrap_or(Value::Null)),
                    Err(e) => Outcome::NoAnswer(format!("{e:#}")),
                };
                let gone = matches!(outcome, Outcome::NoAnswer(_)) && term_sent.load(Ordering::SeqCst);
                outcomes.push((n, t % NLU_EVERY != 0, sent_after_term, outcome));
                answered.fetch_add(1, Ordering::SeqCst);
                progress.notify_one();
                if gone {
                    break;
                }
            }
            outcomes
        }));
    }

    // SIGTERM in the middle of the load.
    let waited = tokio::time::timeout(Duration::from_secs(120), async {
        while answered.load(Ordering::SeqCst) < TERM_AFTER {
            progress.notified().await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the load never got {TERM_AFTER} answers; log: {}", tail(&dir, "node1"));
    // /readyz over fresh connections from just before SIGTERM until the
    // listener is closed: 200, then 503 if the window is long enough to see.
    let url = node.url.clone();
    let readyz = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..2000 {
            match Client::new(&url, None).get("/readyz").await {
                Ok(r) => seen.push(r.status.as_u16()),
                Err(_) => break,
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        seen
    });
    term_sent.store(true, Ordering::SeqCst);
    let term_at = Instant::now();
    node.terminate();
    let limit = Duration::from_secs(GRACE_SECS) + EXIT_MARGIN;
    let status = tokio::task::block_in_place(|| node.wait_exit(limit));
    let stopped_in = term_at.elapsed();
    let Some(status) = status else {
        panic!("the node did not exit within {limit:?} of SIGTERM; log: {}", tail(&dir, "node1"))
    };
    assert!(status.success(), "exit status {status} after SIGTERM; log: {}", tail(&dir, "node1"));

    let mut outcomes = Vec::new();
    for task in tasks {
        let done = tokio::time::timeout(Duration::from_secs(60), task).await;
        let Ok(Ok(mut o)) = done else { panic!("a load task did not finish after the node exited") };
        outcomes.append(&mut o);
    }

    // Every answer is 2xx or a clean 503; collect the orders and the unanswered.
    let mut placed = Vec::new();
    let mut parsed = 0;
    let mut unanswered = Vec::new();
    let mut refused_503 = 0;
    for (n, is_order, _, outcome) in &outcomes {
        match outcome {
            Outcome::Answer(s, body) if s.is_success() && !is_order => {
                assert_eq!(body["intent"], "book_service", "NLU answer during the drain: {body}");
                parsed += 1;
            }
            Outcome::Answer(s, body) if s.is_success() => {
                let id = body["id"].as_str().unwrap_or_else(|| panic!("2xx without an order id: {body}"));
                assert_ne!(body["state"], "negotiating", "an answered order still negotiating: {body}");
                placed.push(id.to_string());
            }
            Outcome::Answer(StatusCode::SERVICE_UNAVAILABLE, body) => {
                assert!(body["error"]["code"].is_string(), "a 503 without a JSON error: {body}");
                refused_503 += 1;
            }
            Outcome::Answer(s, body) => panic!("request {n} got {s} during the drain: {body}"),
            Outcome::NoAnswer(why) if *is_order => unanswered.push((*n, why.clone())),
            Outcome::NoAnswer(_) => {}
        }
    }
    let readyz = tokio::time::timeout(Duration::from_secs(30), readyz).await;
    let Ok(Ok(readyz)) = readyz else { panic!("the /readyz poller did not end") };
    assert!(readyz.iter().all(|s| *s == 200 || *s == 503), "/readyz answered {readyz:?}");
    let first_503 = readyz.iter().position(|s| *s == 503).unwrap_or(readyz.len());
    assert!(readyz[first_503..].iter().all(|s| *s == 503), "/readyz was ready again while draining: {readyz:?}");
    let mut reasons: Vec<&str> = unanswered.iter().map(|(_, why)| why.as_str()).collect();
    reasons.sort();
    reasons.dedup();
    let before_term = outcomes.iter().filter(|(_, _, after, _)| !after).count();
    assert!(parsed > 0, "no sentence was parsed; the model pool was not under load");
    assert!(placed.len() >= TERM_AFTER / 4, "too few orders placed to say anything: {}", placed.len());
    assert!(!unanswered.is_empty(), "the load ended before the node did; SIGTERM was not under load");
    eprintln!(
        "drain: {} requests ({} sent before SIGTERM), {} orders placed, {} sentences parsed, {} clean 503, \
         {} orders not taken; exit 0 in {:?}; \
         /readyz after SIGTERM: {} x 200 then {} x 503, then closed; not taken because: {reasons:?}",
        outcomes.len(),
        before_term,
        placed.len(),
        parsed,
        refused_503,
        unanswered.len(),
        stopped_in,
        first_503,
        readyz.len() - first_503,
    );

    // Restart on the same data dir: everything answered is there, nothing stuck, invariants clean.
    let node2 = NodeProcess::start(&dir, &config, "node2");
    wait_ready(&node2.url).await;
    let customer = Client::new(&node2.url, Some(mint(&dir, "customer", "C1")));
    let admin = Client::new(&node2.url, Some(mint(&dir, "admin", "ops")));
    for id in &placed {
        let r = customer.get(&format!("/v1/orders/{id}")).await.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.status, StatusCode::OK, "order {id} answered before the shutdown is gone after it");
        let state = r.json().unwrap_or_default()["state"].as_str().unwrap_or_default().to_string();
        assert_ne!(state, "negotiating", "order {id} stuck in negotiating after the restart");
    }
    let inv = admin.get("/ops/invariants").await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(inv.status, StatusCode::OK);
    let inv = inv.json().unwrap_or_default();
    for broken in
        ["double_bookings", "holding_without_reservation", "reservations_of_dead_orders", "stray_reservations"]
    {
        assert_eq!(inv[broken], 0, "{broken} after the drain: {inv}");
    }
    assert_eq!(inv["by_state"]["negotiating"].as_u64().unwrap_or(0), 0, "stuck in negotiating: {inv}");

    // The unanswered were never taken: their idempotency keys are unused.
    for (n, why) in &unanswered {
        let key = format!("drain-{n}");
        let r = customer
            .send(Method::POST, "/v1/orders", Some(&order_body(*n)), &[("idempotency-key", key.as_str())])
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "request {n} got no answer ({why}) but the node had taken it: {}",
            String::from_utf8_lossy(&r.body)
        );
    }

    // The restarted node drains and exits 0 as well.
    let mut node2 = node2;
    node2.terminate();
    let status = tokio::task::block_in_place(|| node2.wait_exit(limit));
    assert!(status.is_some_and(|s| s.success()), "second node: {status:?}; log: {}", tail(&dir, "node2"));
    let _ = std::fs::remove_dir_all(&dir);
}
