//! Two edges behind a real nginx running `deploy/nginx/autoglm.conf`, on
//! loopback: orders keep going through while one edge is killed with
//! SIGKILL, and afterwards nothing is lost or double-booked.

mod common;

use autoglm::client::Client;
use common::*;
use futures::StreamExt;
use hyper::{Method, StatusCode};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn nginx() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var("AUTOGLM_NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into()));
    if path.exists() {
        return Some(path);
    }
    assert!(!autoglm_storage::testing::ci(), "CI=true requires nginx ({}); ./dev test installs it", path.display());
    eprintln!("SKIPPED: nginx not found at {} (./dev test installs Debian's nginx-light)", path.display());
    None
}

/// The committed config with its upstream servers and listen port swapped for the test's.
fn config_for(dir: &Path, listen: u16, a: u16, b: u16, standby: u16) -> PathBuf {
    let site = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/autoglm.conf"))
        .unwrap_or_else(|e| panic!("{e}"));
    for needle in ["127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083", "listen 80;"] {
        assert!(site.contains(needle), "deploy/nginx/autoglm.conf no longer has {needle:?}; update the test");
    }
    let site = site
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{a}"))
        .replace("127.0.0.1:8082", &format!("127.0.0.1:{b}"))
        .replace("127.0.0.1:8083", &format!("127.0.0.1:{standby}"))
        .replace("listen 80;", &format!("listen 127.0.0.1:{listen};"));
    let d = dir.display();
    let main = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{site}\n}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, main).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// An `autoglm serve` process on `port` with the shared config and data dir.
fn edge(dir: &Path, config: &Path, port: u16, demo: bool) -> Reaped {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autoglm"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if demo {
        cmd.arg("--demo");
    }
    Reaped(cmd.spawn().unwrap_or_else(|e| panic!("cannot start autoglm: {e}")))
}

/// Waits (bounded) until `GET /readyz` answers 200.
async fn ready(c: &Client) {
    for _ in 0..300 {
        if c.get("/readyz").await.map(|r| r.status == StatusCode::OK).unwrap_or(false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node never became ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_survive_an_edge_killed_behind_nginx() {
    let Some(nginx) = nginx() else { return };
    let Some(db_url) = autoglm_storage::testing::fresh_postgres_url().await else { return };
    let dir = data_dir("nginx");
    // Each edge has its own node_id: it is baked into the ids the edge generates.
    let config = |node_id: u16| {
        let path = dir.join(format!("autoglm-{node_id}.toml"));
        let text = format!(
            "version = 1\nnode_id = {node_id}\n[database]\nurl = \"{db_url}\"\n[dispatch]\nbid_deadline_ms = 300\n"
        );
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        path
    };
    let (pa, pb, standby, front) = (free_port(), free_port(), free_port(), free_port());
    // Both edges share the data dir (its secret key signs tokens) and the database.
    let a = Some(edge(&dir, &config(1), pa, true));
    ready(&Client::new(&format!("http://127.0.0.1:{pa}"), None)).await;
    let _b = edge(&dir, &config(2), pb, false);
    ready(&Client::new(&format!("http://127.0.0.1:{pb}"), None)).await;
    let ngx_dir = dir.join("nginx");
    std::fs::create_dir_all(&ngx_dir).unwrap_or_else(|e| panic!("{e}"));
    let conf = config_for(&ngx_dir, front, pa, pb, standby);
    let check = Command::new(&nginx).arg("-t").arg("-c").arg(&conf).output().unwrap_or_else(|e| panic!("{e}"));
    assert!(check.status.success(), "nginx -t: {}", String::from_utf8_lossy(&check.stderr));
    let _nginx = Reaped(
        Command::new(&nginx)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );

    let token = |role: &str, subject: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_autoglm"))
            .args(["token", "--role", role, "--subject", subject, "--data-dir"])
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let front_url = format!("http://127.0.0.1:{front}");
    let customer = Client::new(&front_url, Some(token("customer", "NG1")));
    ready(&customer).await;

    // 120 orders, 8 in flight at a time, through nginx; edge A is killed
    // (SIGKILL, no drain) once 40 have been answered, with requests in flight.
    const ORDERS: usize = 120;
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let killer = {
        let answered = answered.clone();
        let mut a = a;
        tokio::spawn(async move {
            for _ in 0..2000 {
                if answered.load(std::sync::atomic::Ordering::Relaxed) >= 40 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            drop(a.take());
        })
    };
    let results: Vec<_> = futures::stream::iter((0..ORDERS).map(|n| {
        let c = customer.clone();
        let answered = answered.clone();
        async move {
            let body = json!({ "service": "cleaning", "start": start_in(2 + (n % 20) as i64, 9 + (n % 8) as u32),
                               "address": { "text": "人民广场 1 号", "lat": 31.2304, "lon": 121.4737 } });
            let key = format!("ng-{n}");
            let r = c.send(Method::POST, "/v1/orders", Some(&body), &[("idempotency-key", &key)]).await;
            answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (n, r.map(|r| (r.status, r.json().unwrap_or_default())))
        }
    }))
    .buffer_unordered(8)
    .collect()
    .await;
    killer.await.unwrap_or_else(|e| panic!("{e}"));
    let mut ids = std::collections::BTreeSet::new();
    for (n, r) in &results {
        match r {
            Ok((status, body)) if status.is_success() => {
                ids.insert(body["id"].as_str().unwrap_or_default().to_string());
            }
            Ok((status, body)) => panic!("order {n}: {status} {body}"),
            Err(e) => panic!("order {n}: {e:#}"),
        }
    }
    assert_eq!(ids.len(), ORDERS, "every request made exactly one order");
    // nginx did meet the dead edge (and retried elsewhere).
    let log = std::fs::read_to_string(ngx_dir.join("error.log")).unwrap_or_default();
    assert!(log.contains(&format!("127.0.0.1:{pa}")), "nginx never saw edge A fail: {log}");

    // The survivor sees every order, settled, and no double booking.
    let admin = Client::new(&front_url, Some(token("admin", "ops")));
    let inv = wait_for(&admin, "/ops/invariants", |v| v["by_state"]["negotiating"].as_u64().unwrap_or(0) == 0).await;
    assert_eq!(inv["double_bookings"], 0, "{inv}");
    assert_eq!(inv["holding_without_reservation"], 0, "{inv}");
    let total: u64 = inv["by_state"].as_object().map(|m| m.values().filter_map(|v| v.as_u64()).sum()).unwrap_or(0);
    assert_eq!(total, ORDERS as u64, "nothing lost, nothing extra: {inv}");
}
