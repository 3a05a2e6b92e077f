//! `/metrics` end to end: a real node (with a tiny trained model, so the
//! pool's histograms move), a scripted scenario over HTTP, and a scrape
//! before and after that must show exactly what happened. Then the Grafana
//! dashboard (`deploy/grafana/autoglm.json`): every metric its PromQL uses
//! must be in that scrape. Last, traces: a node started with JSON logs and an
//! OTLP endpoint writes trace ids in its log lines and exports its spans.

mod common;

use autoglm::client::Client;
use autoglm_core::auth::Role;
use common::*;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// One scrape: every sample line, and each metric family's type.
struct Scrape {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    types.insert(name.to_string(), kind.to_string());
                }
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample line {line:?}"));
            let value: f64 = value.parse().unwrap_or_else(|e| panic!("bad value in {line:?}: {e}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|kv| !kv.is_empty())
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
                .collect();
            samples.push((name.to_string(), labels, value));
        }
        Scrape { samples, types }
    }

    /// The sum of `name` over the series whose labels include `want`.
    fn sum(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, labels, _)| {
                n == name && want.iter().all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// Every name a query may use: sample names, and families with a type.
    fn names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.samples.iter().map(|(n, _, _)| n.clone()).collect();
        names.extend(self.types.keys().cloned());
        names
    }
}

async fn scrape(c: &Client) -> Scrape {
    let r = c.get("/metrics").await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::OK);
    Scrape::parse(&String::from_utf8_lossy(&r.body))
}

fn order_body(hour: u32, lat: f64, lon: f64) -> Value {
    json!({ "service": "cleaning", "rooms": ["kitchen"], "start": start_in(2, hour), "duration_minutes": 120,
            "address": { "text": "某路 1 号", "lat": lat, "lon": lon } })
}

async fn place(c: &Client, body: &Value) -> Value {
    let r = c.send(Method::POST, "/v1/orders", Some(body), &[]).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    r.json().unwrap_or_default()
}

/// Metric names a PromQL expression reads: every identifier that is not a
/// function, keyword, label name or inside a label matcher or range. Only
/// `autoglm_*` names are ours; anything else is reported too, so that a typo
/// in a function name does not pass as a metric.
fn promql_metrics(expr: &str) -> BTreeSet<String> {
    // Drop label matchers `{...}` (quoted values included) and ranges `[...]`.
    let mut plain = String::new();
    let mut depth_brace = 0;
    let mut depth_bracket = 0;
    let mut in_quote = false;
    for ch in expr.chars() {
        match ch {
            '"' if depth_brace > 0 => in_quote = !in_quote,
            '{' if !in_quote => depth_brace += 1,
            '}' if !in_quote => depth_brace -= 1,
            '[' if depth_brace == 0 => depth_bracket += 1,
            ']' if depth_brace == 0 => depth_bracket -= 1,
            _ if depth_brace == 0 && depth_bracket == 0 => plain.push(ch),
            _ => {}
        }
        if depth_brace == 0 && depth_bracket == 0 && matches!(ch, '}' | ']') {
            plain.push(' ');
        }
    }
    // Drop grouping label lists: `by (le, route)`, `without (...)`, `on (...)`.
    let mut out = String::new();
    let mut rest = plain.as_str();
    while let Some(i) =
        ["by", "without", "on", "ignoring", "group_left", "group_right"].iter().find_map(|kw| find_keyword(rest, kw))
    {
        out.push_str(&rest[..i.0]);
        let after = rest[i.1..].trim_start();
        rest = match after.strip_prefix('(') {
            Some(inner) => inner.split_once(')').map_or("", |(_, r)| r),
            None => after,
        };
    }
    out.push_str(rest);
    let mut names = BTreeSet::new();
    let chars: Vec<char> = out.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_alphabetic() || chars[i] == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            let preceded_by_digit = start > 0 && (chars[start - 1].is_ascii_digit() || chars[start - 1] == '.');
            let is_function = next == Some(&'(');
            if !is_function && !preceded_by_digit && !["and", "or", "unless", "bool", "offset"].contains(&word.as_str())
            {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// Where `kw` occurs as a whole word followed by `(`: (start, end).
fn find_keyword(s: &str, kw: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = s[from..].find(kw).map(|i| i + from) {
        let before = s[..i].chars().next_back();
        let after = s[i + kw.len()..].trim_start().chars().next();
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') && after == Some('(') {
            return Some((i, i + kw.len()));
        }
        from = i + kw.len();
    }
    None
}

/// Every PromQL expression of the dashboard's panels (rows' panels included).
fn dashboard_exprs(dashboard: &Value) -> Vec<String> {
    let mut exprs = Vec::new();
    let mut stack: Vec<&Value> = dashboard["panels"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    while let Some(panel) = stack.pop() {
        stack.extend(panel["panels"].as_array().into_iter().flatten());
        for t in panel["targets"].as_array().into_iter().flatten() {
            if let Some(e) = t["expr"].as_str() {
                exprs.push(e.to_string());
            }
        }
    }
    exprs
}

#[test]
fn promql_names_are_found_and_functions_labels_and_ranges_are_not() {
    let got = promql_metrics(
        r#"histogram_quantile(0.99, sum by (le, route) (rate(autoglm_x_seconds_bucket{instance=~"$instance",a="}"}[$__rate_interval]))) / on (route) sum(rate(autoglm_y_total[5m])) > bool 1e-3"#,
    );
    assert_eq!(got, BTreeSet::from(["autoglm_x_seconds_bucket".to_string(), "autoglm_y_total".to_string()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_scenario_moves_the_metrics_and_feeds_every_dashboard_panel() {
    let dir = data_dir("metrics");
    train_tiny(&dir.join("models").join("intent_slot"), "v1", 1);
    let node = start(&dir, Some(40)).await;
    let anyone = Client::new(&node.url(), None);
    let customer = client(&node, Role::Customer, "C1");
    let admin = client(&node, Role::Admin, "ops");
    let before = scrape(&anyone).await;

    // Three orders: two near the demo city's centre, one far from any worker.
    let a = place(&customer, &order_body(10, 31.2304, 121.4737)).await;
    let b = place(&customer, &order_body(15, 31.2304, 121.4737)).await;
    let far = place(&customer, &order_body(10, 39.9042, 116.4074)).await;
    assert_eq!((a["state"].as_str(), b["state"].as_str()), (Some("awaiting_payment"), Some("awaiting_payment")));
    assert_eq!(far["state"], "unassignable", "{far}");
    let (a_id, b_id) = (a["id"].as_str().unwrap_or_default(), b["id"].as_str().unwrap_or_default());

    // Pay A in the sandbox (its callback is a request too), cancel B, read A.
    let pay = customer.post(&format!("/v1/orders/{a_id}/pay"), &json!({})).await.unwrap_or_else(|e| panic!("{e:#}"));
    let pay_url = pay.json().unwrap_or_default()["checkout"]["pay_url"].as_str().unwrap_or_default().to_string();
    let paid = anyone.post(&pay_url, &json!({})).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(paid.status, StatusCode::OK, "{}", String::from_utf8_lossy(&paid.body));
    wait_for(&customer, &format!("/v1/orders/{a_id}"), |o| o["state"] == "confirmed").await;
    let r = customer.post(&format!("/v1/orders/{b_id}/cancel"), &json!({})).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));

    // A chat turn and an NLU parse, both through the model pool.
    let r = customer
        .post("/v1/chat", &json!({ "text": "明天上午10点来打扫厨房" }))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let r = customer
        .post("/v1/nlu/parse", &json!({ "text": "后天下午三点修空调" }))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    // A short text twice: the second time it is answered from the model's kept answers.
    for _ in 0..2 {
        let r = customer.post("/v1/nlu/parse", &json!({ "text": "好的" })).await.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    }

    // A supervision drill: one worker actor fails and is restarted.
    let worker = a["worker"]["id"].as_str().unwrap_or_default();
    let r =
        admin.post(&format!("/ops/actors/worker/{worker}/fail"), &json!({})).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let mut after = scrape(&anyone).await;
    for _ in 0..250 {
        if after.sum("autoglm_actor_restarts_total", &[("kind", "worker")]) >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = scrape(&anyone).await;
    }

    let moved = |name: &str, labels: &[(&str, &str)]| after.sum(name, labels) - before.sum(name, labels);
    let post = |route: &'static str| [("method", "post"), ("route", route)];
    assert_eq!(moved("autoglm_http_requests_total", &[("route", "/v1/orders"), ("status", "201")]), 3.0);
    assert_eq!(moved("autoglm_http_request_duration_seconds_count", &post("/v1/orders")), 3.0);
    assert!(moved("autoglm_http_request_duration_seconds_bucket", &[("route", "/v1/orders"), ("le", "+Inf")]) == 3.0);
    for route in [
        "/v1/orders/{id}/pay",
        "/v1/sandbox/pay/{payment_id}",
        "/v1/payments/callback",
        "/v1/orders/{id}/cancel",
        "/v1/chat",
        "/v1/nlu/parse",
    ] {
        assert!(moved("autoglm_http_requests_total", &post(route)) >= 1.0, "no request counted on {route}");
    }
    assert!(moved("autoglm_http_requests_total", &[("method", "get"), ("route", "/v1/orders/{id}")]) >= 1.0);
    assert_eq!(moved("autoglm_http_requests_total", &[("route", "unmatched")]), 0.0);

    assert_eq!(moved("autoglm_orders_created_total", &[]), 3.0);
    assert_eq!(moved("autoglm_orders_assigned_total", &[]), 2.0);
    assert_eq!(moved("autoglm_orders_unassignable_total", &[]), 1.0);
    assert_eq!(moved("autoglm_orders_cancelled_total", &[]), 1.0);
    assert_eq!(moved("autoglm_payments_paid_total", &[]), 1.0);
    assert_eq!(moved("autoglm_payment_callbacks_rejected_total", &[]), 0.0);
    for (state, n) in [("awaiting_payment", 2.0), ("confirmed", 1.0), ("cancelled", 1.0), ("unassignable", 1.0)] {
        assert_eq!(moved("autoglm_order_transitions_total", &[("state", state)]), n, "transitions to {state}");
    }
    assert_eq!(moved("autoglm_negotiation_duration_seconds_count", &[("outcome", "placed")]), 2.0);
    assert_eq!(moved("autoglm_negotiation_duration_seconds_count", &[("outcome", "nobody")]), 1.0);
    assert!(moved("autoglm_negotiation_bids_sum", &[("outcome", "placed")]) >= 2.0);
    assert!(moved("autoglm_negotiation_rounds_sum", &[("outcome", "placed")]) >= 2.0);
    assert!(moved("autoglm_dispatch_cfp_sent_total", &[]) >= 2.0);

    assert!(moved("autoglm_cache_lookups_total", &[]) >= 1.0);
    assert!(moved("autoglm_session_store_duration_seconds_count", &[("backend", "memory"), ("op", "begin")]) >= 1.0);
    assert!(moved("autoglm_session_store_duration_seconds_count", &[("backend", "memory"), ("op", "commit")]) >= 1.0);
    assert!(moved("autoglm_chat_turns_total", &[]) >= 1.0);
    // The chat turn and the parse each ran through the model on the CPU.
    assert!(moved("autoglm_model_batch_size_count", &[("device", "cpu")]) >= 1.0);
    assert!(moved("autoglm_model_batch_size_sum", &[("device", "cpu")]) >= 2.0);
    assert!(moved("autoglm_model_queue_wait_seconds_count", &[("device", "cpu")]) >= 2.0);
    assert!(moved("autoglm_model_inference_seconds_count", &[("device", "cpu"), ("outcome", "ok")]) >= 1.0);
    assert_eq!(moved("autoglm_model_answer_cache_total", &[("result", "hit")]), 1.0);
    assert!(moved("autoglm_model_answer_cache_total", &[("result", "miss")]) >= 1.0);
    assert!(moved("autoglm_writer_batches_total", &[]) >= 1.0);

    assert_eq!(after.sum("autoglm_actors_alive", &[("kind", "worker")]), 40.0);
    assert!(after.sum("autoglm_actors_alive", &[("kind", "model_worker")]) >= 1.0);
    assert_eq!(after.sum("autoglm_cluster_members", &[("state", "up")]), 1.0);
    assert_eq!(after.sum("autoglm_actor_restarts_total", &[("kind", "worker")]), 1.0);
    for (family, kind) in [
        ("autoglm_http_request_duration_seconds", "histogram"),
        ("autoglm_http_requests_total", "counter"),
        ("autoglm_actors_alive", "gauge"),
    ] {
        assert_eq!(after.types.get(family).map(String::as_str), Some(kind), "TYPE of {family}");
    }

    // The dashboard: every metric it queries is served.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/autoglm.json");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(dashboard["templating"]["list"][0]["type"], "datasource");
    let exprs = dashboard_exprs(&dashboard);
    assert!(exprs.len() >= 20, "{} queries", exprs.len());
    let served = after.names();
    let mut used = BTreeSet::new();
    for expr in &exprs {
        for name in promql_metrics(expr) {
            assert!(name.starts_with("autoglm_"), "{name:?} in {expr} is not one of ours (a typo?)");
            assert!(served.contains(&name), "the dashboard queries {name} ({expr}); /metrics has no such series");
            used.insert(name);
        }
    }
    // And each histogram is queried through its series, not its bare name.
    for name in &used {
        if after.types.get(name).is_some_and(|t| t == "histogram") {
            panic!("{name} is a histogram: query {name}_bucket, _sum or _count");
        }
    }
    assert!(used.len() >= 20, "{used:?}");
    node.stop().await;
}

/// A stand-in OTLP/HTTP collector: answers 200 to every request and reports
/// each one's path, content type and body length.
async fn fake_collector() -> (String, tokio::sync::mpsc::UnboundedReceiver<(String, String, usize)>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
                    let (mut length, mut content_type) = (0usize, String::new());
                    loop {
                        let mut header = String::new();
                        if stream.read_line(&mut header).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            match name.to_ascii_lowercase().as_str() {
                                "content-length" => length = value.trim().parse().unwrap_or(0),
                                "content-type" => content_type = value.trim().to_string(),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0u8; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let _ = tx.send((path, content_type, length));
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if stream.get_mut().write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_trace_ids_and_spans_reach_the_otlp_collector() {
    let dir = data_dir("traces");
    let (collector, mut exports) = fake_collector().await;
    let config = dir.join("autoglm.toml");
    let toml = format!("[telemetry]\nlog_format = \"json\"\notlp_endpoint = \"{collector}/\"\n");
    std::fs::write(&config, toml).unwrap_or_else(|e| panic!("{e}"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_autoglm"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&dir)
        .env("RUST_LOG", "info,autoglm_http=debug,autoglm_actors=debug")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // A failed assertion must not leave the node running.
    struct KillOnDrop(u32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill").args(["-KILL", &self.0.to_string()]).status();
        }
    }
    let _guard = KillOnDrop(child.id());
    // The node's stdout, line by line, read on a thread of its own.
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("the node wrote nothing for 20 s"))
            .unwrap_or_else(|| panic!("the node exited"))
    };
    let url = loop {
        let line = next_line().await;
        if let Some(rest) = line.strip_prefix("AutoGLM node listening on ") {
            break rest.split_whitespace().next().unwrap_or_default().to_string();
        }
    };
    let anyone = Client::new(&url, None);
    assert_eq!(anyone.get("/healthz").await.map(|r| r.status).ok(), Some(StatusCode::OK));

    // The access line of that request: JSON, in the request span, with its trace.
    let access = loop {
        let line = next_line().await;
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if v["fields"]["message"] == "request answered" && v["span"]["route"] == "/healthz" {
                break v;
            }
        }
    };
    let trace_id = access["trace_id"].as_str().unwrap_or_default();
    assert_eq!(trace_id.len(), 32, "{access}");
    assert!(trace_id.chars().all(|c| c.is_ascii_hexdigit()) && trace_id != "0".repeat(32), "{access}");
    assert_eq!(access["span_id"].as_str().map(str::len), Some(16), "{access}");
    assert_eq!(access["span"]["name"], "request", "{access}");
    assert_eq!(access["level"], "DEBUG", "{access}");

    // An order's negotiation runs in its order actor, traced under the request that created it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_autoglm"))
        .args(["token", "--role", "customer", "--subject", "CT1", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let customer = Client::new(&url, Some(String::from_utf8_lossy(&out.stdout).trim().to_string()));
    let body = serde_json::json!({ "service": "cleaning", "start": start_in(3, 10),
                                   "address": { "text": "人民广场", "lat": 31.2304, "lon": 121.4737 } });
    let placed = customer.post("/v1/orders", &body).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(placed.status.is_success(), "{}", String::from_utf8_lossy(&placed.body));
    let (mut negotiation, mut request) = (None, None);
    while negotiation.is_none() || request.is_none() {
        let line = next_line().await;
        let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
        if v["fields"]["message"] == "negotiation settled" {
            negotiation = Some(v);
        } else if v["fields"]["message"] == "request answered" && v["span"]["route"] == "/v1/orders" {
            request = Some(v);
        }
    }
    let (negotiation, request) = (negotiation.unwrap_or_default(), request.unwrap_or_default());
    assert_eq!(negotiation["span"]["name"], "negotiation", "{negotiation}");
    assert_eq!(negotiation["trace_id"], request["trace_id"], "negotiation {negotiation}\nrequest {request}");

    // A graceful stop flushes the spans to the collector.
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(killed.is_ok_and(|s| s.success()));
    let (path, content_type, len) = tokio::time::timeout(Duration::from_secs(20), exports.recv())
        .await
        .unwrap_or_else(|_| panic!("no OTLP export within 20 s"))
        .unwrap_or_else(|| panic!("collector gone"));
    assert_eq!((path.as_str(), content_type.as_str()), ("/v1/traces", "application/x-protobuf"));
    assert!(len > 0);
    let status = tokio::time::timeout(Duration::from_secs(20), tokio::task::spawn_blocking(move || child.wait()))
        .await
        .unwrap_or_else(|_| panic!("the node did not exit within 20 s of SIGTERM"));
    let status = status.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
}
