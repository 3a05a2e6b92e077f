//! Real `autoglm serve --cluster` processes on loopback sharing one
//! PostgreSQL and one Redis: they join through their seeds (cookie
//! challenge), split the workers by rendezvous hashing under fenced leases,
//! negotiate across nodes, and survive a member killed with SIGKILL mid-load
//! with nothing lost and nothing double-booked. A node with the wrong cookie
//! is refused and gets nothing.

mod common;

use autoglm::client::Client;
use common::*;
use futures::StreamExt;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const COOKIE: &str = "cluster-test-cookie-0123456789abcdef";

/// One node's ports and files.
struct Spec {
    name: String,
    node_id: u16,
    http: u16,
    cluster: u16,
}

impl Spec {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }
}

/// Timings short enough for a test: down after 600 ms of silence, leases of `lease` ms.
fn cluster_toml(spec: &Spec, seeds: &[u16], lease: u64) -> String {
    let seeds: Vec<String> = seeds.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
    format!(
        "version = 1\n[node]\nname = \"{}\"\nlisten = \"127.0.0.1:{}\"\n[security]\ncookie_env = \"AUTOGLM_CLUSTER_COOKIE\"\n\
         [membership]\nseeds = [{}]\nheartbeat_interval_ms = 100\ndown_after_ms = 600\n[ownership]\nlease_ttl_ms = {lease}\n",
        spec.name,
        spec.cluster,
        seeds.join(", ")
    )
}

/// Starts `spec` as a cluster member; its log goes to `<dir>/<name>.log`.
fn spawn(
    dir: &Path,
    spec: &Spec,
    db_url: &str,
    redis: &str,
    seeds: &[u16],
    cookie: &str,
    demo: Option<usize>,
) -> Reaped {
    spawn_with_lease(dir, spec, db_url, redis, seeds, cookie, demo, 1000)
}

/// [`spawn`] with leases of `lease_ms`.
#[allow(clippy::too_many_arguments)]
fn spawn_with_lease(
    dir: &Path,
    spec: &Spec,
    db_url: &str,
    redis: &str,
    seeds: &[u16],
    cookie: &str,
    demo: Option<usize>,
    lease_ms: u64,
) -> Reaped {
    let config = dir.join(format!("{}.toml", spec.name));
    let text = format!(
        "version = 1\nnode_id = {}\n[database]\nurl = \"{db_url}\"\n[redis]\nurl = \"{redis}\"\n\
         [dispatch]\nbid_deadline_ms = 300\n",
        spec.node_id
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let cluster = dir.join(format!("{}-cluster.toml", spec.name));
    std::fs::write(&cluster, cluster_toml(spec, seeds, lease_ms)).unwrap_or_else(|e| panic!("{e}"));
    let log = std::fs::File::create(dir.join(format!("{}.log", spec.name))).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autoglm"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{}", spec.http), "--config"])
        .arg(&config)
        .arg("--cluster")
        .arg(&cluster)
        .arg("--data-dir")
        .arg(dir)
        .env("AUTOGLM_CLUSTER_COOKIE", cookie)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
        .stderr(log);
    if let Some(n) = demo {
        cmd.args(["--demo", "--demo-workers", &n.to_string()]);
    }
    Reaped(cmd.spawn().unwrap_or_else(|e| panic!("cannot start autoglm: {e}")))
}

fn token(dir: &Path, role: &str, subject: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_autoglm"))
        .args(["token", "--role", role, "--subject", subject, "--data-dir"])
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Waits (bounded, about 30 s) until `GET /readyz` answers 200.
async fn ready(url: &str) {
    let c = Client::new(url, None);
    for _ in 0..600 {
        if c.get("/readyz").await.map(|r| r.status == StatusCode::OK).unwrap_or(false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never became ready");
}

async fn view(c: &Client) -> Value {
    match c.get("/ops/cluster").await {
        Ok(r) if r.status == StatusCode::OK => r.json().unwrap_or_default(),
        _ => Value::Null,
    }
}

/// Polls every client's `/ops/cluster` until `pred` holds for all of them
/// (bounded: about `secs`); returns how long it took.
async fn settle(clients: &[Client], secs: u64, what: &str, pred: impl Fn(&[Value]) -> bool) -> Duration {
    let t0 = Instant::now();
    let mut last = Vec::new();
    while t0.elapsed() < Duration::from_secs(secs) {
        last = futures::future::join_all(clients.iter().map(view)).await;
        if pred(&last) {
            return t0.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: not reached in {secs} s; views: {}", serde_json::to_string_pretty(&last).unwrap_or_default());
}

fn owned(views: &[Value]) -> u64 {
    views.iter().map(|v| v["workers_owned"].as_u64().unwrap_or(0)).sum()
}

/// A running test cluster: its nodes, their processes and admin clients.
struct TestCluster {
    specs: Vec<Spec>,
    procs: Vec<Option<Reaped>>,
    admins: Vec<Client>,
    admin_token: String,
}

/// Starts `n` members on loopback (the first seeds a demo city of `workers`)
/// with leases of `lease_ms`, and waits until all are up and every worker is
/// owned, each member holding some.
async fn start_cluster(dir: &Path, db_url: &str, redis: &str, n: u16, workers: u64, lease_ms: u64) -> TestCluster {
    let specs: Vec<Spec> = (1..=n)
        .map(|i| Spec { name: format!("node-{i}"), node_id: i, http: free_port(), cluster: free_port() })
        .collect();
    let seeds: Vec<u16> = specs.iter().map(|s| s.cluster).collect();
    let mut procs = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let demo = (i == 0).then_some(workers as usize);
        procs.push(Some(spawn_with_lease(dir, spec, db_url, redis, &seeds, COOKIE, demo, lease_ms)));
        ready(&spec.url()).await;
    }
    let admin_token = token(dir, "admin", "ops");
    let admins: Vec<Client> = specs.iter().map(|s| Client::new(&s.url(), Some(admin_token.clone()))).collect();
    let took = settle(&admins, 30, "every member up, every worker owned once", |v| {
        v.iter().all(|x| x["up"] == u64::from(n))
            && owned(v) == workers
            && v.iter().all(|x| x["workers_owned"].as_u64() > Some(0))
    })
    .await;
    eprintln!("cluster of {n} formed and workers placed in {took:?} after the last node was ready");
    TestCluster { specs, procs, admins, admin_token }
}

/// Every request of `results` made an order, each a different one.
fn assert_each_made_one_order(results: &[(usize, Result<Value, String>)]) {
    let mut ids = BTreeSet::new();
    for (n, r) in results {
        let order = r.as_ref().unwrap_or_else(|e| panic!("order {n} failed on every edge: {e}"));
        ids.insert(order["id"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(ids.len(), results.len(), "every request made exactly one order");
}

/// Once nothing negotiates any more: no double booking, no order holding a
/// worker without its reservation, and exactly `total` orders in the database.
async fn assert_settled(admin: &Client, total: u64) {
    let inv = wait_for(admin, "/ops/invariants", |v| v["by_state"]["negotiating"].as_u64().unwrap_or(0) == 0).await;
    assert_eq!(inv["double_bookings"], 0, "{inv}");
    assert_eq!(inv["holding_without_reservation"], 0, "{inv}");
    let n: u64 = inv["by_state"].as_object().map(|m| m.values().filter_map(|v| v.as_u64()).sum()).unwrap_or(0);
    assert_eq!(n, total, "nothing lost, nothing extra: {inv}");
}

/// Places one order, trying the next edge when one is down (a load
/// balancer's retry); the idempotency key keeps it one order.
async fn place(edges: &[Client], first: usize, n: usize) -> Result<Value, String> {
    let body = json!({ "service": "cleaning", "start": start_in(2 + (n % 10) as i64, 9 + (n % 8) as u32),
                       "address": { "text": "人民广场 1 号", "lat": 31.2304, "lon": 121.4737 } });
    let key = format!("cl-{n}");
    let mut last = String::new();
    for attempt in 0..6 {
        let c = &edges[(first + attempt) % edges.len()];
        match c.send(Method::POST, "/v1/orders", Some(&body), &[("idempotency-key", &key)]).await {
            Ok(r) if r.status.is_success() => return Ok(r.json().unwrap_or_default()),
            Ok(r) => last = format!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
            Err(e) => last = format!("{e:#}"),
        }
    }
    Err(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_negotiate_across_nodes_and_survive_kill_9() {
    let Some(db_url) = autoglm_storage::testing::fresh_postgres_url().await else { return };
    let Some(redis) = autoglm_storage::testing::test_redis_url().await else { return };
    let dir = data_dir("cluster");
    const WORKERS: u64 = 60;
    // The first node seeds the demo city; the others join it. Joined: each sees
    // three members up, and the workers are split between them.
    let TestCluster { specs, mut procs, admins, admin_token } =
        start_cluster(&dir, &db_url, &redis, 3, WORKERS, 1000).await;
    let per_node: Vec<u64> = futures::future::join_all(admins.iter().map(view))
        .await
        .iter()
        .map(|v| v["workers_owned"].as_u64().unwrap_or(0))
        .collect();
    eprintln!("workers per node: {per_node:?}");
    let v = view(&admins[0]).await;
    let members = v["members"].as_array().cloned().unwrap_or_default();
    assert_eq!(members.len(), 3, "{v}");
    for m in &members {
        assert_eq!(m["state"], "up", "{v}");
        assert!(m["last_heartbeat_ms_ago"].as_i64().unwrap_or(i64::MAX) < 600, "{v}");
        assert!(m["http"].as_str().unwrap_or_default().starts_with("http://127.0.0.1:"), "{v}");
    }

    // The whole cluster's actor tree from any node, and the terminal views.
    let all = admins[0].get("/ops/actors?scope=cluster").await.unwrap_or_else(|e| panic!("{e:#}"));
    let all = all.json().unwrap_or_default();
    assert_eq!(all["nodes"].as_array().map(Vec::len), Some(3), "{}", all["nodes"]);
    assert_eq!(all["counts"]["worker"].as_u64(), Some(WORKERS), "{}", all["counts"]);
    let nodes_in_tree: BTreeSet<&str> =
        all["tree"].as_array().map(|t| t.iter().filter_map(|r| r["node"].as_str()).collect()).unwrap_or_default();
    assert_eq!(nodes_in_tree.len(), 3, "{nodes_in_tree:?}");
    let bad = admins[0].get("/ops/actors?scope=galaxy").await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let cli = Command::new(env!("CARGO_BIN_EXE_autoglm"))
        .args(["ops", "cluster", "--url", &specs[1].url(), "--token", &admin_token])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success() && text.contains("3 of 3 members up"), "{text}");
    for s in &specs {
        assert!(text.contains(&s.name), "{text}");
    }

    // Who owns which worker, from the lease rows.
    let db = autoglm_storage::Db::connect(&db_url, &Default::default()).await.unwrap_or_else(|e| panic!("{e}"));
    let now = chrono::Utc::now().timestamp_millis();
    let mut owner_of: BTreeMap<String, String> = BTreeMap::new();
    for s in &specs {
        for l in db.leases_of(&s.name, now).await.unwrap_or_else(|e| panic!("{e}")) {
            if let Some(w) = l.resource.strip_prefix("worker/") {
                assert!(owner_of.insert(w.to_string(), s.name.clone()).is_none(), "{w} leased twice");
            }
        }
    }
    assert_eq!(owner_of.len() as u64, WORKERS);

    // Cross-node negotiation: orders placed on node 1 get workers leased by the others too.
    let customers: Vec<Client> =
        specs.iter().map(|s| Client::new(&s.url(), Some(token(&dir, "customer", "CL1")))).collect();
    let mut owners_seen = BTreeSet::new();
    let mut first_orders = Vec::new();
    for n in 0..12 {
        let order = place(&customers[..1], 0, 10_000 + n).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(order["state"], "awaiting_payment", "{order}");
        first_orders.push(order["id"].as_str().unwrap_or_default().to_string());
        let worker = order["worker"]["id"].as_str().unwrap_or_default().to_string();
        owners_seen.insert(owner_of.get(&worker).cloned().unwrap_or_default());
    }
    assert!(
        owners_seen.iter().any(|o| o != "node-1"),
        "orders on node-1 were only awarded to node-1's workers: {owners_seen:?}"
    );
    // Cancelled on node-1, they free their workers' calendars on every node.
    for id in &first_orders {
        let r = customers[0].send(Method::POST, &format!("/v1/orders/{id}/cancel"), None, &[]).await;
        let r = r.unwrap_or_else(|e| panic!("{e:#}"));
        assert!(r.status.is_success(), "cancel {id}: {}", String::from_utf8_lossy(&r.body));
    }
    let booked = |doc: &Value| -> u64 {
        let mut n = 0;
        let mut stack: Vec<&Value> = doc["tree"].as_array().map(|t| t.iter().collect()).unwrap_or_default();
        while let Some(s) = stack.pop() {
            if s["kind"] == "worker" {
                n += s["fields"]["bookings"].as_u64().unwrap_or(0);
            }
            stack.extend(s["children"].as_array().into_iter().flatten());
        }
        n
    };
    wait_for(&admins[0], "/ops/actors?scope=cluster", |v| {
        v["nodes"].as_array().map(Vec::len) == Some(3) && booked(v) == 0
    })
    .await;

    // Load through all three edges; node 3 is killed (SIGKILL) mid-way.
    const ORDERS: usize = 150;
    let answered = Arc::new(AtomicUsize::new(0));
    // The killer then measures the takeover: from the kill until both
    // survivors see node-3 down and run every worker between them.
    let killer = {
        let answered = answered.clone();
        let mut victim = procs[2].take();
        let survivors = admins[..2].to_vec();
        tokio::spawn(async move {
            for _ in 0..4000 {
                if answered.load(Ordering::Relaxed) >= ORDERS / 3 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            drop(victim.take());
            settle(&survivors, 30, "survivors own every worker", |views| {
                views.iter().all(|v| v["up"] == 2) && owned(views) == WORKERS
            })
            .await
        })
    };
    let results: Vec<(usize, Result<Value, String>)> = futures::stream::iter((0..ORDERS).map(|n| {
        let (edges, answered) = (customers.clone(), answered.clone());
        async move {
            let r = place(&edges, n % 3, n).await;
            answered.fetch_add(1, Ordering::Relaxed);
            (n, r)
        }
    }))
    .buffer_unordered(9)
    .collect()
    .await;
    let takeover = killer.await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("kill -9 → all of node-3's workers serving on the survivors: {takeover:?}");
    assert!(takeover < Duration::from_secs(5), "takeover took {takeover:?}");

    assert_each_made_one_order(&results);

    // Nothing lost, nothing double-booked, nothing left negotiating (node-3's
    // in-flight orders were adopted and settled by the survivors).
    assert_settled(&admins[0], (ORDERS + 12) as u64).await;
    let log = std::fs::read_to_string(dir.join("node-1.log")).unwrap_or_default();
    assert!(log.contains("member down"), "node-1 never logged node-3 going down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_the_wrong_cookie_is_refused_and_gets_nothing() {
    let Some(db_url) = autoglm_storage::testing::fresh_postgres_url().await else { return };
    let Some(redis) = autoglm_storage::testing::test_redis_url().await else { return };
    let dir = data_dir("cluster_cookie");
    let a = Spec { name: "node-a".into(), node_id: 1, http: free_port(), cluster: free_port() };
    let b = Spec { name: "node-b".into(), node_id: 2, http: free_port(), cluster: free_port() };
    let seeds = [a.cluster, b.cluster];
    let _a = spawn(&dir, &a, &db_url, &redis, &seeds, COOKIE, Some(12));
    ready(&a.url()).await;
    let _b = spawn(&dir, &b, &db_url, &redis, &seeds, "a-different-cookie-0123456789", None);
    ready(&b.url()).await;
    let t = token(&dir, "admin", "ops");
    let (ca, cb) = (Client::new(&a.url(), Some(t.clone())), Client::new(&b.url(), Some(t)));
    // node-a owns every worker alone; node-b never joins, so it owns none.
    settle(std::slice::from_ref(&ca), 20, "node-a owns all 12 workers", |v| v[0]["workers_owned"] == 12).await;
    // b dials a (and a dials b) every second; wait (bounded) until a has
    // refused b twice, then look at what each side got.
    let log_a = dir.join("node-a.log");
    let refusals =
        || std::fs::read_to_string(&log_a).unwrap_or_default().matches("refused before authentication").count();
    for _ in 0..400 {
        if refusals() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refusals() >= 2, "node-a did not log refusing node-b");
    for (c, other) in [(&ca, "node-b"), (&cb, "node-a")] {
        let v = view(c).await;
        assert_eq!(v["up"], 1, "{v}");
        let names: Vec<&str> =
            v["members"].as_array().map(|m| m.iter().filter_map(|x| x["name"].as_str()).collect()).unwrap_or_default();
        assert!(!names.contains(&other), "{other} got in: {v}");
    }
    assert_eq!(view(&cb).await["workers_owned"], 0);
    assert_eq!(view(&ca).await["workers_owned"], 12);
}

/// A network namespace with a veth pair to the host, removed on drop.
struct Netns {
    name: String,
    host_if: String,
    host_ip: String,
    ns_ip: String,
}

impl Netns {
    /// Creates the namespace, or says why it cannot (not root, no `ip`).
    fn create() -> Result<Netns, String> {
        let id = std::process::id();
        let octet = 10 + id % 240;
        let ns = Netns {
            name: format!("aglt{id}"),
            host_if: format!("aglh{id}"),
            host_ip: format!("10.213.{octet}.1"),
            ns_ip: format!("10.213.{octet}.2"),
        };
        let peer = format!("agln{id}");
        let steps: Vec<Vec<String>> = vec![
            vec!["netns".into(), "add".into(), ns.name.clone()],
            vec![
                "link".into(),
                "add".into(),
                ns.host_if.clone(),
                "type".into(),
                "veth".into(),
                "peer".into(),
                "name".into(),
                peer.clone(),
            ],
            vec!["link".into(), "set".into(), peer.clone(), "netns".into(), ns.name.clone()],
            vec!["addr".into(), "add".into(), format!("{}/24", ns.host_ip), "dev".into(), ns.host_if.clone()],
            vec!["link".into(), "set".into(), ns.host_if.clone(), "up".into()],
            vec![
                "-n".into(),
                ns.name.clone(),
                "addr".into(),
                "add".into(),
                format!("{}/24", ns.ns_ip),
                "dev".into(),
                peer.clone(),
            ],
            vec!["-n".into(), ns.name.clone(), "link".into(), "set".into(), peer, "up".into()],
            vec!["-n".into(), ns.name.clone(), "link".into(), "set".into(), "lo".into(), "up".into()],
        ];
        for args in steps {
            ip(&args)?;
        }
        Ok(ns)
    }

    /// Cuts (`false`) or heals (`true`) the link between the namespace and the host.
    fn link(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        ip(&["link".into(), "set".into(), self.host_if.clone(), state.into()]).unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns".into(), "del".into(), self.name.clone()]);
        let _ = ip(&["link".into(), "del".into(), self.host_if.clone()]);
    }
}

fn ip(args: &[String]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Forwards connections made to `listen` (on the host side of the veth) to
/// `target` on loopback: the namespaced node reaches PostgreSQL and Redis
/// through the link the test cuts. Ends with the test's runtime.
async fn forward(listen: &str, target: String) -> u16 {
    let l = tokio::net::TcpListener::bind(format!("{listen}:0")).await.unwrap_or_else(|e| panic!("{e}"));
    let port = l.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = l.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().and_then(|p| p.split('/').next()).and_then(|p| p.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_node_is_taken_over_and_rejoins_after_healing() {
    let Some(db_url) = autoglm_storage::testing::fresh_postgres_url().await else { return };
    let Some(redis) = autoglm_storage::testing::test_redis_url().await else { return };
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(why) => {
            assert!(!autoglm_storage::testing::ci(), "CI=true requires network namespaces (root and iproute2): {why}");
            eprintln!("SKIPPED: cannot create a network namespace ({why}); run as root with iproute2");
            return;
        }
    };
    let dir = data_dir("cluster_partition");
    const WORKERS: u64 = 45;
    // Nodes 1 and 2 on the host side of the veth, node 3 inside the namespace.
    let specs = [
        Spec { name: "node-1".into(), node_id: 1, http: free_port(), cluster: free_port() },
        Spec { name: "node-2".into(), node_id: 2, http: free_port(), cluster: free_port() },
        Spec { name: "node-3".into(), node_id: 3, http: free_port(), cluster: free_port() },
    ];
    let host = |s: &Spec| if s.node_id == 3 { ns.ns_ip.clone() } else { ns.host_ip.clone() };
    let seeds: Vec<String> = specs.iter().map(|s| format!("{}:{}", host(s), s.cluster)).collect();
    // Node 3 reaches the database and Redis through the link.
    let pg_port = forward(&ns.host_ip, format!("127.0.0.1:{}", port_of(&db_url))).await;
    let redis_port = forward(&ns.host_ip, format!("127.0.0.1:{}", port_of(&redis))).await;
    let db_via_link =
        db_url.replacen(&format!("127.0.0.1:{}", port_of(&db_url)), &format!("{}:{pg_port}", ns.host_ip), 1);
    let redis_via_link =
        redis.replacen(&format!("127.0.0.1:{}", port_of(&redis)), &format!("{}:{redis_port}", ns.host_ip), 1);
    assert_ne!(db_via_link, db_url, "could not point node 3 at the forwarder: {db_url}");

    let mut procs = Vec::new();
    for s in &specs {
        let (db, rd) = if s.node_id == 3 { (&db_via_link, &redis_via_link) } else { (&db_url, &redis) };
        let config = dir.join(format!("{}.toml", s.name));
        std::fs::write(
            &config,
            format!(
                "version = 1\nnode_id = {}\n[database]\nurl = \"{db}\"\n[redis]\nurl = \"{rd}\"\n[dispatch]\nbid_deadline_ms = 300\n",
                s.node_id
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let cluster = dir.join(format!("{}-cluster.toml", s.name));
        let quoted: Vec<String> = seeds.iter().map(|a| format!("\"{a}\"")).collect();
        std::fs::write(
            &cluster,
            format!(
                "version = 1\n[node]\nname = \"{}\"\nlisten = \"{}:{}\"\n[security]\ncookie_env = \"AUTOGLM_CLUSTER_COOKIE\"\n\
                 [membership]\nseeds = [{}]\nheartbeat_interval_ms = 100\ndown_after_ms = 600\n[ownership]\nlease_ttl_ms = 1000\n",
                s.name,
                host(s),
                s.cluster,
                quoted.join(", ")
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let log = std::fs::File::create(dir.join(format!("{}.log", s.name))).unwrap_or_else(|e| panic!("{e}"));
        let mut cmd = if s.node_id == 3 {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_autoglm")]);
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_autoglm"))
        };
        cmd.args([
            "serve",
            "--listen",
            &format!("{}:{}", if s.node_id == 3 { ns.ns_ip.as_str() } else { "127.0.0.1" }, s.http),
        ])
        .arg("--config")
        .arg(&config)
        .arg("--cluster")
        .arg(&cluster)
        .arg("--data-dir")
        .arg(&dir)
        .env("AUTOGLM_CLUSTER_COOKIE", COOKIE)
        .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
        .stderr(log);
        if s.node_id == 1 {
            cmd.args(["--demo", "--demo-workers", &WORKERS.to_string()]);
        }
        procs.push(Reaped(cmd.spawn().unwrap_or_else(|e| panic!("{e}"))));
        let url = if s.node_id == 3 { format!("http://{}:{}", ns.ns_ip, s.http) } else { s.url() };
        ready(&url).await;
    }
    let t = token(&dir, "admin", "ops");
    let url3 = format!("http://{}:{}", ns.ns_ip, specs[2].http);
    let admins = [
        Client::new(&specs[0].url(), Some(t.clone())),
        Client::new(&specs[1].url(), Some(t.clone())),
        Client::new(&url3, Some(t.clone())),
    ];
    settle(&admins, 30, "3 members up, every worker owned", |v| {
        v.iter().all(|x| x["up"] == 3) && owned(v) == WORKERS && v.iter().all(|x| x["workers_owned"].as_u64() > Some(0))
    })
    .await;
    let ct = token(&dir, "customer", "CP1");
    let customers: Vec<Client> = admins.iter().map(|a| a.with_token(ct.clone())).collect();

    // Cut node 3 off: the others mark it down and take its workers once its leases lapse.
    ns.link(false);
    let took = settle(&admins[..2], 30, "the majority owns every worker", |v| {
        v.iter().all(|x| x["up"] == 2) && owned(v) == WORKERS
    })
    .await;
    eprintln!("partition → node 3's workers serving on the other side: {took:?}");
    let mut placed = 0;
    for n in 0..40 {
        let order =
            place(&customers[..2], n % 2, 20_000 + n).await.unwrap_or_else(|e| panic!("during the partition: {e}"));
        assert!(matches!(order["state"].as_str(), Some("awaiting_payment" | "unassignable")), "{order}");
        placed += 1;
    }

    // Heal: node 3 comes back, gets its share of the workers again.
    ns.link(true);
    let took = settle(&admins, 60, "3 members up again, workers rebalanced", |v| {
        v.iter().all(|x| x["up"] == 3) && owned(v) == WORKERS && v[2]["workers_owned"].as_u64() > Some(0)
    })
    .await;
    eprintln!("heal → node 3 back with its workers: {took:?}");
    for n in 0..30 {
        place(&customers, n % 3, 30_000 + n).await.unwrap_or_else(|e| panic!("after healing: {e}"));
        placed += 1;
    }
    assert_settled(&admins[0], placed).await;
    drop(procs);
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "kill {sig} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_is_fenced_off_and_rejoins() {
    let Some(db_url) = autoglm_storage::testing::fresh_postgres_url().await else { return };
    let Some(redis) = autoglm_storage::testing::test_redis_url().await else { return };
    let dir = data_dir("cluster_pause");
    const WORKERS: u64 = 45;
    let TestCluster { specs, procs, admins, .. } = start_cluster(&dir, &db_url, &redis, 3, WORKERS, 1000).await;
    let node3 = procs[2].as_ref().map(|p| &p.0).unwrap_or_else(|| panic!("node-3 not running"));
    let db = autoglm_storage::Db::connect(&db_url, &Default::default()).await.unwrap_or_else(|e| panic!("{e}"));
    let before = db.leases_of("node-3", chrono::Utc::now().timestamp_millis()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!before.is_empty());

    // node-3 freezes (SIGSTOP: a long GC pause, a stalled VM): the others take its workers over.
    signal(node3, "-STOP");
    let took = settle(&admins[..2], 30, "the others own every worker", |v| {
        v.iter().all(|x| x["up"] == 2) && owned(v) == WORKERS
    })
    .await;
    eprintln!("pause → node-3's workers serving elsewhere: {took:?}");
    for old in &before {
        let now =
            db.get_lease(&old.resource).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("lease gone"));
        assert_ne!(now.owner, "node-3");
        assert!(now.fencing_token > old.fencing_token, "{} was not fenced: {now:?}", old.resource);
    }

    // It wakes up still running its old worker actors with stale tokens; orders
    // sent to it right away are placed, but never on a stale lease.
    signal(node3, "-CONT");
    let customer = Client::new(&specs[2].url(), Some(token(&dir, "customer", "CZ1")));
    let mut placed = 0u64;
    for n in 0..20 {
        let order = place(std::slice::from_ref(&customer), 0, 40_000 + n).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(order["state"].as_str(), Some("awaiting_payment" | "unassignable")), "{order}");
        placed += 1;
    }
    settle(&admins, 30, "node-3 back with a share of the workers", |v| {
        v.iter().all(|x| x["up"] == 3) && owned(v) == WORKERS && v[2]["workers_owned"].as_u64() > Some(0)
    })
    .await;
    assert_settled(&admins[0], placed).await;
    let log = std::fs::read_to_string(dir.join("node-3.log")).unwrap_or_default();
    assert!(log.contains("worker lease lost"), "node-3 never noticed it lost its leases");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_a_members_workers_over_at_once_under_load() {
    let Some(db_url) = autoglm_storage::testing::fresh_postgres_url().await else { return };
    let Some(redis) = autoglm_storage::testing::test_redis_url().await else { return };
    let dir = data_dir("cluster_drain");
    const WORKERS: u64 = 40;
    // Leases of 10 s: workers serving elsewhere within 3 s can only be a handover.
    const LEASE_MS: u64 = 10_000;
    let TestCluster { mut procs, admins, .. } = start_cluster(&dir, &db_url, &redis, 2, WORKERS, LEASE_MS).await;
    let ct = token(&dir, "customer", "CD1");
    let customers: Vec<Client> = admins.iter().map(|a| a.with_token(ct.clone())).collect();

    // Orders through both edges; node-2 gets SIGTERM once a third are answered.
    const ORDERS: usize = 90;
    let answered = Arc::new(AtomicUsize::new(0));
    let stopper = {
        let answered = answered.clone();
        let mut node2 = procs.pop().flatten();
        let first = admins[..1].to_vec();
        tokio::spawn(async move {
            for _ in 0..4000 {
                if answered.load(Ordering::Relaxed) >= ORDERS / 3 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let child = node2.as_mut().map(|p| &mut p.0).unwrap_or_else(|| panic!("node-2 not running"));
            signal(child, "-TERM");
            let handed = settle(&first, 30, "node-1 runs every worker", |v| v[0]["workers_owned"] == WORKERS).await;
            let mut status = None;
            for _ in 0..400 {
                if let Ok(Some(s)) = child.try_wait() {
                    status = Some(s);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            (handed, status)
        })
    };
    let results: Vec<(usize, Result<Value, String>)> = futures::stream::iter((0..ORDERS).map(|n| {
        let (edges, answered) = (customers.clone(), answered.clone());
        async move {
            let r = place(&edges, n % 2, 50_000 + n).await;
            answered.fetch_add(1, Ordering::Relaxed);
            (n, r)
        }
    }))
    .buffer_unordered(6)
    .collect()
    .await;
    let (handed, status) = stopper.await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("SIGTERM → node-2's workers serving on node-1: {handed:?}");
    assert!(handed < Duration::from_secs(3), "workers waited for their leases to lapse: {handed:?}");
    assert!(status.is_some_and(|s| s.success()), "node-2 did not exit 0 after SIGTERM: {status:?}");
    assert_each_made_one_order(&results);
    assert_settled(&admins[0], ORDERS as u64).await;
    let log = std::fs::read_to_string(dir.join("node-2.log")).unwrap_or_default();
    assert!(log.contains("left the cluster; workers handed over"), "node-2 did not hand over");
}
