//! The ops page at `GET /ops` in a real headless Chromium, driven through
//! WebDriver, against a real node with demo workers, a small trained model
//! and a couple of orders: the token handling, the live actor tree (orders
//! placed after the page opened appear by themselves), the filters, the
//! highlight of a restarted actor, the members, models and invariants panels,
//! pause and resume. A screenshot lands in `target/screenshots/ops_page.png`.
//!
//! The browser test skips without chromium and chromedriver, except under
//! `CI=true` (see `common/webdriver.rs`); the test of what `/ops` serves
//! without a browser always runs.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use autoglm::client::Client;
use autoglm::config::Config;
use autoglm::node::{self, Node, StartOptions};
use autoglm_core::auth::Role;
use common::*;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use webdriver::{browser_binaries, save_screenshot, Browser};

/// How long one step may take before the test fails.
const STEP: Duration = Duration::from_secs(20);

/// Demo workers the node starts with.
const WORKERS: usize = 24;

/// The page is public; the data behind it is for admins only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_page_is_served_without_a_token_and_its_data_needs_an_admin() {
    let dir = data_dir("ops_page_auth");
    let node = start(&dir, Some(4)).await;

    // As a browser gets it, headers included.
    let url = node.url();
    let raw = tokio::task::spawn_blocking(move || raw_get(&url, "/ops"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_ascii_lowercase();
    assert!(raw.starts_with("http/1.1 200"), "{}", raw.lines().next().unwrap_or_default());
    assert!(raw.contains("content-type: text/html; charset=utf-8"), "{raw:.600}");
    assert!(raw.contains("content-security-policy: default-src 'none'"), "{raw:.600}");
    assert!(raw.contains("id=\"actor-tree\"") && raw.contains("/ops/actors"), "not the ops page");

    let anonymous = Client::new(&node.url(), None);
    let customer = client(&node, Role::Customer, "C1");
    let worker = client(&node, Role::Worker, "W1");
    let admin = client(&node, Role::Admin, "ops");
    for path in ["/ops/actors", "/ops/models", "/ops/invariants"] {
        let status = |c: &Client| {
            let c = c.clone();
            async move { c.get(path).await.unwrap_or_else(|e| panic!("{path}: {e:#}")).status }
        };
        assert_eq!(status(&anonymous).await, StatusCode::UNAUTHORIZED, "{path} without a token");
        assert_eq!(status(&customer).await, StatusCode::FORBIDDEN, "{path} with a customer token");
        assert_eq!(status(&worker).await, StatusCode::FORBIDDEN, "{path} with a worker token");
        assert_eq!(status(&admin).await, StatusCode::OK, "{path} with an admin token");
    }
    node.stop().await;
}

/// `GET path` on the node at `url` over a plain socket (bounded by
/// timeouts); the whole response, status line and headers included.
fn raw_get(url: &str, path: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap_or_else(|e| panic!("{e}"));
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    stream.take(4 << 20).read_to_end(&mut out).unwrap_or_else(|e| panic!("reading the response: {e}"));
    String::from_utf8_lossy(&out).into_owned()
}

/// Like `common::start`, but order actors stay in memory for minutes rather
/// than passivating after 10 s idle, so a slow browser still finds them.
async fn start_node(dir: &std::path::Path, workers: usize) -> Node {
    let mut cfg = Config::default();
    cfg.server.listen = "127.0.0.1:0".into();
    cfg.server.data_dir = dir.to_path_buf();
    cfg.dispatch.bid_deadline_ms = 300;
    cfg.actors.order_idle_ms = 300_000;
    node::start(cfg, StartOptions { demo_workers: Some(workers), ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("node did not start: {e:#}"))
}

/// Asserts `reply` has `status`, showing the body otherwise; returns its JSON.
fn expect(reply: &autoglm::client::Reply, status: StatusCode, what: &str) -> Value {
    assert_eq!(reply.status, status, "{what}: {}", String::from_utf8_lossy(&reply.body));
    reply.json().unwrap_or_default()
}

/// Waits for `condition` (a script body returning something truthy when it
/// holds), failing at once with the page's text if it shows a token prompt
/// or an error banner while it should be showing data.
async fn wait_live(browser: &Browser, what: &str, condition: &str) -> Value {
    let script = format!(
        "const err = document.getElementById('error'); \
         if (err && !err.hidden) return {{ page_error: err.textContent }}; \
         return (() => {{ {condition} }})()"
    );
    let value = browser.wait_for(what, STEP, &script).await;
    if let Some(err) = value.get("page_error") {
        panic!("the page showed an error while waiting for {what}: {err}");
    }
    value
}

/// Kinds (in order) of the actor rows a user can see now.
const VISIBLE_KINDS: &str = "return [...document.querySelectorAll('#actor-tree .actor')] \
     .filter(a => a.getClientRects().length > 0).map(a => a.dataset.kind)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_page_shows_the_live_tree_filters_members_models_and_invariants() {
    let Some((chromium, driver)) = browser_binaries("ops page") else { return };
    let started = Instant::now();
    let dir = data_dir("ops_page");
    let node = start_node(&dir, WORKERS).await;
    let admin = client(&node, Role::Admin, "ops");
    let c1 = client(&node, Role::Customer, "C1");
    let actors = expect(&admin.get("/ops/actors").await.unwrap_or_else(|e| panic!("{e:#}")), StatusCode::OK, "actors");
    let node_name = actors["node"].as_str().unwrap_or_else(|| panic!("no node name in {actors}")).to_string();

    // A model with some traffic behind it.
    train_tiny(&dir.join("models").join("intent_slot"), "ops-test", 1);
    let r = admin.post("/ops/models/intent_slot/load", &json!({})).await.unwrap_or_else(|e| panic!("{e:#}"));
    expect(&r, StatusCode::OK, "loading the model");
    for text in ["明天上午10点来打扫厨房", "cancel order A1023", "下周三下午修空调"] {
        let r = c1.post("/v1/nlu/parse", &json!({ "text": text })).await.unwrap_or_else(|e| panic!("{e:#}"));
        expect(&r, StatusCode::OK, text);
    }

    let browser = Browser::launch(&chromium, &driver, 1280, 900).await;

    // No token anywhere: the page asks for one.
    browser.goto(&format!("{}/ops", node.url())).await;
    browser.wait_for("the token form", STEP, "return !document.getElementById('token-panel').hidden").await;

    // A customer token is refused, and the page says so.
    let customer_token = node.token(Role::Customer, "C1");
    browser.goto(&format!("{}/ops#token={customer_token}", node.url())).await;
    let said = browser
        .wait_for(
            "the page to refuse a customer token",
            STEP,
            "const p = document.getElementById('token-error'); \
             return !document.getElementById('token-panel').hidden && p.textContent.includes('admin') \
                    && p.textContent",
        )
        .await;
    eprintln!("customer token refused: {said}");

    // The admin token, from the fragment: the data shows and the form goes.
    let token = node.token(Role::Admin, "ops");
    browser.goto(&format!("{}/ops#token={token}", node.url())).await;
    wait_live(
        &browser,
        "the worker actors",
        &format!("return document.querySelectorAll('.actor[data-kind=\"worker\"]').length === {WORKERS}"),
    )
    .await;
    let state = browser
        .run(
            "return { hash: location.hash, stored: localStorage.getItem('autoglm.ops.token'), \
                      chat: localStorage.getItem('autoglm.token'), \
                      form: document.getElementById('token-panel').hidden, \
                      supervisors: [...document.querySelectorAll('.actor[data-kind=\"supervisor\"]')] \
                        .map(a => a.dataset.id).sort() }",
        )
        .await;
    assert_eq!(state["hash"], "", "the token must leave the address bar");
    assert_eq!(state["stored"], token.as_str());
    assert_eq!(state["chat"], Value::Null, "the admin token must not land under the chat page's key");
    assert_eq!(state["form"], true, "the token form must hide once data loads");
    assert_eq!(state["supervisors"], json!(["model_workers", "orders", "workers"]));

    // A supervisor's group folds and unfolds, and stays folded across refreshes.
    let visible_workers = "return [...document.querySelectorAll('.actor[data-kind=\"worker\"]')] \
         .filter(a => a.getClientRects().length > 0).length";
    let workers_head = ".group[data-group=\"supervisor/workers\"] > .group-head";
    browser.click(workers_head).await;
    assert_eq!(browser.run(visible_workers).await, 0, "folded");
    let at = browser.run("return document.getElementById('last-updated').dataset.at").await;
    wait_live(
        &browser,
        "a refresh while folded",
        &format!("return document.getElementById('last-updated').dataset.at !== {at}"),
    )
    .await;
    assert_eq!(browser.run(visible_workers).await, 0, "still folded after a refresh");
    browser.click(workers_head).await;
    assert_eq!(browser.run(visible_workers).await, WORKERS, "unfolded");

    // Orders placed now appear without touching the page: it polls.
    let mut order_ids = Vec::new();
    let mut states = std::collections::BTreeMap::<String, usize>::new();
    for (hour, key) in [(10, "ops-page-1"), (15, "ops-page-2")] {
        let body = json!({ "service": "cleaning", "rooms": ["kitchen"], "start": start_in(1, hour),
                           "address": { "text": "人民广场1号", "lat": 31.2304, "lon": 121.4737 } });
        let r = c1
            .send(Method::POST, "/v1/orders", Some(&body), &[("idempotency-key", key)])
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let order = expect(&r, StatusCode::CREATED, "placing an order");
        *states.entry(order["state"].as_str().unwrap_or_default().to_string()).or_default() += 1;
        order_ids.push(order["id"].as_str().unwrap_or_else(|| panic!("no order id in {order}")).to_string());
    }
    let shown = wait_live(
        &browser,
        "the new order actors",
        "const os = [...document.querySelectorAll('.actor[data-kind=\"order\"]')]; \
         return os.length >= 2 && os.map(o => o.dataset.id + ' ' + o.dataset.state)",
    )
    .await;
    for id in &order_ids {
        assert!(shown.to_string().contains(id.as_str()), "order {id} not on the page: {shown}");
    }

    // A restarted actor is highlighted in red.
    let drill = admin
        .send(Method::POST, &format!("/ops/actors/order/{}/fail", order_ids[0]), None, &[])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    expect(&drill, StatusCode::OK, "the supervision drill");
    wait_live(
        &browser,
        "the restarted order highlighted",
        &format!(
            "const a = document.querySelector('.actor[data-kind=\"order\"][data-id=\"{}\"]'); \
             return a && a.classList.contains('bad') && a.querySelector('.restarts').textContent !== '0'",
            order_ids[0]
        ),
    )
    .await;

    // Only orders, through the kind filter as a user picks it.
    browser.click("#filter-kind option[value=\"order\"]").await;
    let kinds = wait_live(
        &browser,
        "only order actors",
        &format!("const k = (() => {{ {VISIBLE_KINDS} }})(); return k.length >= 2 && k.every(x => x === 'order') && k"),
    )
    .await;
    assert_eq!(kinds, json!(["order", "order"]), "with the kind filter on orders");
    // Filters survive the next refresh.
    let at = browser.run("return document.getElementById('last-updated').dataset.at").await;
    wait_live(
        &browser,
        "a refresh after filtering",
        &format!("return document.getElementById('last-updated').dataset.at !== {at}"),
    )
    .await;
    assert_eq!(browser.run(VISIBLE_KINDS).await, json!(["order", "order"]), "after a refresh");

    // Free-text search on ids narrows to one order.
    browser.type_into("#filter-text", &order_ids[1]).await;
    let ids = wait_live(
        &browser,
        "one order by id",
        "const v = [...document.querySelectorAll('#actor-tree .actor')].filter(a => a.getClientRects().length > 0); \
         return v.length === 1 && v.map(a => a.dataset.id)",
    )
    .await;
    assert_eq!(ids, json!([order_ids[1]]));
    // Back to everything for the overview.
    browser
        .run(
            "const t = document.getElementById('filter-text'); t.value = ''; \
             t.dispatchEvent(new Event('input')); \
             const k = document.getElementById('filter-kind'); k.value = ''; \
             k.dispatchEvent(new Event('change')); return true",
        )
        .await;
    let all = browser.run(VISIBLE_KINDS).await;
    let count = |kind: &str| all.as_array().into_iter().flatten().filter(|k| *k == kind).count();
    assert_eq!((count("worker"), count("order"), count("supervisor")), (WORKERS, 2, 3), "{all}");
    assert!(count("model_worker") >= 1, "the model's workers: {all}");

    // Members: this node, up, and no pretence of a cluster.
    let members = wait_live(
        &browser,
        "the members panel",
        "const m = document.querySelectorAll('#members .member'); \
         return m.length === 1 && { node: m[0].dataset.node, text: document.getElementById('members').textContent }",
    )
    .await;
    assert_eq!(members["node"], node_name.as_str());
    let text = members["text"].as_str().unwrap_or_default();
    assert!(text.contains("up") && text.contains("only member"), "{text}");

    // Invariants hold, with the orders counted by state once checked again.
    browser.click("#check-invariants").await;
    let chips: Vec<String> = states.iter().map(|(state, n)| format!("{state} {n}")).collect();
    let inv = wait_live(
        &browser,
        "the invariants panel with both orders",
        &format!(
            "const i = document.getElementById('invariants'); \
             return {chips:?}.every(c => i.textContent.includes(c)) && {{ clean: i.dataset.clean, text: i.textContent }}"
        ),
    )
    .await;
    assert_eq!(inv["clean"], "true", "{inv}");
    let text = inv["text"].as_str().unwrap_or_default();
    assert!(text.contains("double bookings") && text.contains("all hold"), "{text}");

    // Models per device with their batch statistics.
    let model = wait_live(
        &browser,
        "the model row",
        "const r = document.querySelector('#models .model[data-model=\"intent_slot\"]'); \
         return r && { name: r.cells[0].textContent, state: r.cells[1].textContent, \
                       requests: r.querySelector('.requests').textContent, \
                       batches: r.querySelector('.batches').textContent }",
    )
    .await;
    assert!(model["name"].as_str().is_some_and(|n| n.contains("ops-test")), "the version: {model}");
    assert_eq!(model["state"], "ready", "{model}");
    let count = |v: &Value| v.as_str().and_then(|t| t.replace(',', "").parse::<u64>().ok()).unwrap_or(0);
    assert!(count(&model["requests"]) >= 3 && count(&model["batches"]) >= 1, "batch statistics: {model}");
    let devices = browser.run("return document.querySelectorAll('#models .device').length").await;
    assert!(devices.as_u64().is_some_and(|n| n >= 1), "no device shown");

    // Pause stops the clock; resume refreshes at once.
    browser.click("#pause").await;
    let paused = browser
        .run("return [document.getElementById('pause').textContent, document.getElementById('last-updated').textContent]")
        .await;
    assert_eq!(paused[0], "Resume");
    assert!(paused[1].as_str().is_some_and(|t| t.contains("paused")), "{paused}");
    let at = browser.run("return document.getElementById('last-updated').dataset.at").await;
    browser.click("#pause").await;
    wait_live(
        &browser,
        "a refresh after resuming",
        &format!("return document.getElementById('last-updated').dataset.at !== {at}"),
    )
    .await;

    let shot = save_screenshot(&browser, "ops_page.png").await;

    // The node goes away: the page says so and keeps the last data it had.
    node.stop().await;
    let kept = browser
        .wait_for(
            "the error banner after the node stopped",
            STEP,
            "const e = document.getElementById('error'); \
             return !e.hidden && { error: e.textContent, workers: \
                 document.querySelectorAll('.actor[data-kind=\"worker\"]').length }",
        )
        .await;
    assert_eq!(kept["workers"], WORKERS, "the last good data must stay on screen: {kept}");
    assert!(kept["error"].as_str().is_some_and(|e| e.contains("/ops/")), "{kept}");
    browser.close().await;
    eprintln!("ops page checked in {:.1?}; screenshot {}", started.elapsed(), shot.display());
}
