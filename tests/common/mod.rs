//! Starting real nodes on ephemeral ports for the end-to-end tests.
#![allow(dead_code)]

use autoglm::client::Client;
use autoglm::config::Config;
use autoglm::node::{self, Node, StartOptions};
use autoglm_core::auth::Role;
use std::path::PathBuf;
use std::time::Duration;

/// A child process killed when dropped (even when the test fails).
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on loopback (bound once, then released for the caller).
///
/// The port is handed to a child process, so it is free only when checked.
/// It is drawn from below Linux's ephemeral range (32768–60999), where the
/// kernel's own picks (other tests binding port 0, outgoing connections)
/// never land, and never twice in one test process: two `bind(0)` calls in a
/// row could get the same port once the first was let go, and one node then
/// failed to start with "address in use".
pub fn free_port() -> u16 {
    use rand::Rng;
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = rand::thread_rng();
    for _ in 0..1000 {
        let port = rng.gen_range(20_000..32_000);
        if handed_out.contains(&port) || std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        handed_out.push(port);
        return port;
    }
    panic!("no free loopback port in 20000..32000");
}

/// A fresh data dir under the system temp dir.
pub fn data_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(autoglm_storage::testing::unique(&format!("autoglm_e2e_{tag}_")));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// A node on 127.0.0.1:0 with SQLite in `dir` and a demo city of `workers`.
pub async fn start(dir: &std::path::Path, workers: Option<usize>) -> Node {
    let mut cfg = Config::default();
    cfg.server.listen = "127.0.0.1:0".into();
    cfg.server.data_dir = dir.to_path_buf();
    cfg.server.body_limit_bytes = 16 * 1024;
    cfg.dispatch.bid_deadline_ms = 300;
    node::start(cfg, StartOptions { demo_workers: workers, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("node did not start: {e:#}"))
}

/// A client of `node` holding a token of `role` for `subject`.
pub fn client(node: &Node, role: Role, subject: &str) -> Client {
    Client::new(&node.url(), Some(node.token(role, subject)))
}

/// Polls `GET path` until `pred` holds on the JSON (bounded: about 5 s).
pub async fn wait_for(c: &Client, path: &str, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..250 {
        let r = c.get(path).await.unwrap_or_else(|e| panic!("{e:#}"));
        last = r.json().unwrap_or_default();
        if pred(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition on {path} never held; last: {last}");
}

/// `days` from now at `hour`:00, +08:00, as RFC 3339.
pub fn start_in(days: i64, hour: u32) -> String {
    let t = chrono::Utc::now().with_timezone(&autoglm_core::default_offset()) + chrono::Duration::days(days);
    format!("{}T{hour:02}:00:00+08:00", t.format("%Y-%m-%d"))
}

/// Trains a small model into `dir` in a few seconds (CPU, one thread).
pub fn train_tiny(dir: &std::path::Path, version: &str, epochs: usize) {
    let examples = autoglm_nlu::corpus::generate(7, 400);
    let config = autoglm_gpu::TrainConfig {
        version: version.into(),
        epochs,
        batch_size: 32,
        hyper: autoglm_gpu::Hyper { embed_dim: 16, channels: 32, kernel: 3, dilation: 2, dropout: 0.1 },
        threads: Some(1),
        ..Default::default()
    };
    let report = autoglm_gpu::train(&config, &examples, |_| {}).unwrap_or_else(|e| panic!("training: {e}"));
    report.model.save(dir).unwrap_or_else(|e| panic!("saving: {e}"));
}
