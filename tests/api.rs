//! End-to-end over real HTTP: a node on an ephemeral port with SQLite, the
//! whole order lifecycle, and bad input that must change nothing.

mod common;

use autoglm_core::auth::Role;
use common::*;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

fn tomorrow_at(hour: u32) -> String {
    start_in(2, hour)
}

fn order_body(hour: u32) -> Value {
    json!({ "service": "cleaning", "rooms": ["kitchen"], "start": tomorrow_at(hour), "duration_minutes": 120,
            "address": { "text": "人民广场 1 号", "lat": 31.2304, "lon": 121.4737 } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_over_http_from_booking_to_rating() {
    let dir = data_dir("flow");
    let node = start(&dir, None).await;
    let admin = client(&node, Role::Admin, "ops");

    // Register a worker, then change their radius.
    let w = admin
        .post("/v1/workers", &json!({ "id": "W7", "name": "王阿姨", "skills": { "cleaning": 5 },
                                      "home": { "lat": 31.24, "lon": 121.47 }, "hours": { "days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "08:00", "end": "20:00" } }))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(w.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&w.body));
    let p = admin
        .send(Method::PATCH, "/v1/workers/W7", Some(&json!({ "radius_km": 12.0 })), &[])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(p.json().unwrap_or_default()["radius_km"], 12.0);

    // A customer token from the admin API.
    let t = admin
        .post("/v1/auth/tokens", &json!({ "role": "customer", "subject": "C1" }))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(t.status, StatusCode::CREATED);
    let token = t.json().unwrap_or_default()["token"].as_str().unwrap_or_default().to_string();
    let c1 = admin.with_token(token);

    let r = c1
        .send(Method::POST, "/v1/orders", Some(&order_body(10)), &[("idempotency-key", "abc")])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let order = r.json().unwrap_or_default();
    let id = order["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(order["state"], "awaiting_payment");
    assert_eq!(order["worker"]["id"], "W7");
    assert_eq!(order["rooms"], json!(["kitchen"]));
    assert_eq!(order["price"]["amount_cents"], 24000);

    let again = c1
        .send(Method::POST, "/v1/orders", Some(&order_body(10)), &[("idempotency-key", "abc")])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json().unwrap_or_default()["id"], id.as_str());
    let reused = c1
        .send(Method::POST, "/v1/orders", Some(&order_body(14)), &[("idempotency-key", "abc")])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(reused.status, StatusCode::CONFLICT);

    // Only the owner sees it.
    let c2 = client(&node, Role::Customer, "C2");
    assert_eq!(c2.get(&format!("/v1/orders/{id}")).await.map(|r| r.status).ok(), Some(StatusCode::NOT_FOUND));
    assert_eq!(
        c2.post(&format!("/v1/orders/{id}/cancel"), &json!({})).await.map(|r| r.status).ok(),
        Some(StatusCode::NOT_FOUND)
    );
    let mine = c1.get("/v1/orders").await.unwrap_or_else(|e| panic!("{e:#}")).json().unwrap_or_default();
    assert_eq!(mine.as_array().map(|a| a.len()), Some(1));

    // Pay through the sandbox: it calls back over HTTP, signed. A bare POST
    // (no body, no Content-Length, as `curl -X POST` sends) is fine.
    let pay =
        c1.send(Method::POST, &format!("/v1/orders/{id}/pay"), None, &[]).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(pay.status, StatusCode::OK, "{}", String::from_utf8_lossy(&pay.body));
    let pay_url = pay.json().unwrap_or_default()["checkout"]["pay_url"].as_str().unwrap_or_default().to_string();
    let paid = c2.post(&pay_url, &json!({})).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(paid.status, StatusCode::OK, "{}", String::from_utf8_lossy(&paid.body));
    let confirmed = wait_for(&c1, &format!("/v1/orders/{id}"), |o| o["state"] == "confirmed").await;
    assert_eq!(confirmed["payment"]["state"], "paid");

    // The worker sees the job, checks in and completes; the customer rates.
    let w7 = client(&node, Role::Worker, "W7");
    let jobs = w7.get("/v1/workers/me/jobs").await.unwrap_or_else(|e| panic!("{e:#}")).json().unwrap_or_default();
    assert_eq!(jobs[0]["id"], id.as_str());
    let other_worker = client(&node, Role::Worker, "W8");
    let r = other_worker.post(&format!("/v1/jobs/{id}/check-in"), &json!({})).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for step in ["check-in", "complete"] {
        let r = w7.post(&format!("/v1/jobs/{id}/{step}"), &json!({})).await.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.status, StatusCode::OK, "{step}: {}", String::from_utf8_lossy(&r.body));
    }
    let r = c1.post(&format!("/v1/orders/{id}/rate"), &json!({ "stars": 5 })).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.json().unwrap_or_default()["rating"], 5);
    let r = c1.post(&format!("/v1/orders/{id}/rate"), &json!({ "stars": 4 })).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::CONFLICT);

    let inv = admin.get("/ops/invariants").await.unwrap_or_else(|e| panic!("{e:#}")).json().unwrap_or_default();
    assert_eq!(inv["double_bookings"], 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let dir = data_dir("bad");
    let node = start(&dir, Some(40)).await;
    let c1 = client(&node, Role::Customer, "C1");
    // Bodies name a start two days ahead as START (a fixed date would age).
    let raw = |body: &'static str| {
        let c1 = c1.clone();
        let body = body.replace("START", &tomorrow_at(10));
        async move { c1.send_raw(Method::POST, "/v1/orders", body.into_bytes()).await.unwrap_or_else(|e| panic!("{e:#}")) }
    };
    let cases: Vec<(autoglm::client::Reply, StatusCode, &str)> = vec![
        (raw("{not json").await, StatusCode::BAD_REQUEST, "invalid JSON"),
        (raw(r#"{"service":"cleaning","start":"START","address":{"text":"a","lat":31.2,"lon":121.4},"colour":"red"}"#).await, StatusCode::BAD_REQUEST, "colour"),
        (raw(r#"{"service":"gardening","start":"START","address":{"text":"a","lat":31.2,"lon":121.4}}"#).await, StatusCode::BAD_REQUEST, "gardening"),
        (raw(r#"{"service":"cleaning","start":"2020-01-01T10:00:00+08:00","address":{"text":"a","lat":31.2,"lon":121.4}}"#).await, StatusCode::UNPROCESSABLE_ENTITY, "past"),
        (raw(r#"{"service":"cleaning","start":"2030-02-30T10:00:00+08:00","address":{"text":"a","lat":31.2,"lon":121.4}}"#).await, StatusCode::BAD_REQUEST, "invalid"),
        (raw(r#"{"service":"plumbing","rooms":["kitchen"],"start":"START","address":{"text":"a","lat":31.2,"lon":121.4}}"#).await, StatusCode::UNPROCESSABLE_ENTITY, "rooms"),
        (raw(r#"{"service":"cleaning","start":"START","address":{"text":"a","lat":131.2,"lon":121.4}}"#).await, StatusCode::UNPROCESSABLE_ENTITY, "latitude"),
    ];
    for (reply, status, needle) in cases {
        let body = String::from_utf8_lossy(&reply.body).to_string();
        assert_eq!(reply.status, status, "{body}");
        assert!(body.contains(needle), "{needle:?} not in {body}");
        assert!(body.contains("\"error\""), "{body}");
    }
    let huge = format!("{{\"notes\":\"{}\"}}", "x".repeat(20_000));
    // The server closes a connection whose body it refused unread: a client of its own, so the
    // pooled connection of `c1` stays good for the requests below.
    let big = client(&node, Role::Customer, "C1");
    let r = big.send_raw(Method::POST, "/v1/orders", huge.into_bytes()).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Authentication and roles.
    let anon = autoglm::client::Client::new(&node.url(), None);
    assert_eq!(anon.get("/v1/orders").await.map(|r| r.status).ok(), Some(StatusCode::UNAUTHORIZED));
    let forged = autoglm::client::Client::new(&node.url(), Some("eyJyb2xlIjoiYWRtaW4ifQ.00".into()));
    assert_eq!(forged.get("/v1/orders").await.map(|r| r.status).ok(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(c1.get("/ops/actors").await.map(|r| r.status).ok(), Some(StatusCode::FORBIDDEN));
    let worker = client(&node, Role::Worker, "W1");
    let r = worker.post("/v1/orders", &serde_json::json!({"service":"cleaning","start":tomorrow_at(10),"address":{"text":"a","lat":31.23,"lon":121.47}})).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(c1.post("/v1/workers", &json!({})).await.map(|r| r.status).ok(), Some(StatusCode::FORBIDDEN));

    // Forged and unsigned payment callbacks.
    let cb = json!({"payment_id":"P1","order_id":"A1","amount_cents":1,"status":"paid","nonce":"n","sent_at_ms":0});
    let r = anon
        .send(Method::POST, "/v1/payments/callback", Some(&cb), &[("x-signature", "deadbeef")])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = anon.send(Method::POST, "/v1/payments/callback", Some(&cb), &[]).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Unknown routes and ids.
    let r = c1.get("/v1/nothing-here").await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&r.body).contains("no such route"));
    assert_eq!(c1.get("/v1/orders/..%2F..").await.map(|r| r.status).ok(), Some(StatusCode::BAD_REQUEST));

    // Nothing was stored by any of that.
    let admin = client(&node, Role::Admin, "ops");
    let all = admin.get("/v1/orders").await.unwrap_or_else(|e| panic!("{e:#}")).json().unwrap_or_default();
    assert_eq!(all.as_array().map(|a| a.len()), Some(0), "{all}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_exists() {
    let dir = data_dir("openapi");
    let node = start(&dir, Some(12)).await;
    let doc =
        autoglm::client::Client::new(&node.url(), None).get("/openapi.json").await.unwrap_or_else(|e| panic!("{e:#}"));
    let doc = doc.json().unwrap_or_default();
    assert_eq!(doc["openapi"], "3.1.0");
    let admin = client(&node, Role::Admin, "ops");
    for route in autoglm_http::openapi::ROUTES {
        assert!(doc["paths"][route.path][route.method].is_object(), "{} {} not documented", route.method, route.path);
        let path = route
            .path
            .replace("{id}", "X1")
            .replace("{order_id}", "X1")
            .replace("{payment_id}", "X1")
            .replace("{kind}", "order");
        let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap_or(Method::GET);
        let r = admin.send_raw(method, &path, b"{}".to_vec()).await.unwrap_or_else(|e| panic!("{e:#}"));
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("no such route") && r.status != StatusCode::METHOD_NOT_ALLOWED,
            "{} {path}: {} {body}",
            route.method,
            r.status
        );
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_the_actor_tree_health_and_metrics() {
    let dir = data_dir("ops");
    let node = start(&dir, Some(24)).await;
    let admin = client(&node, Role::Admin, "ops");
    let r = admin.get("/ops/actors").await.unwrap_or_else(|e| panic!("{e:#}")).json().unwrap_or_default();
    assert_eq!(r["counts"]["worker"], 24, "{}", r["counts"]);
    let tree = r["tree"].as_array().cloned().unwrap_or_default();
    let workers_sup =
        tree.iter().find(|s| s["id"] == "workers").unwrap_or_else(|| panic!("no worker supervisor in {r}"));
    let first = &workers_sup["children"][0];
    for key in ["kind", "id", "state", "mailbox_len", "restarts", "started_at"] {
        assert!(!first[key].is_null(), "{key} missing in {first}");
    }
    let text = autoglm::ops::actors(&admin, 5, false).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(text.contains("supervisor/workers") && text.contains("├─ worker/W"), "{text}");
    assert!(text.contains("… 19 more"), "{text}");

    let anyone = autoglm::client::Client::new(&node.url(), None);
    assert_eq!(anyone.get("/healthz").await.map(|r| r.status).ok(), Some(StatusCode::OK));
    let ready = anyone.get("/readyz").await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(ready.status, StatusCode::OK);
    let metrics = anyone.get("/metrics").await.unwrap_or_else(|e| panic!("{e:#}"));
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(text.contains("autoglm_actors_alive{kind=\"worker\"} 24"), "{text}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_command_prints_tokens_the_node_accepts() {
    let dir = data_dir("token");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_autoglm"))
        .args(["token", "--role", "customer", "--subject", "C42", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let node = start(&dir, None).await;
    let c = autoglm::client::Client::new(&node.url(), Some(token));
    let r = c.get("/v1/orders").await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_autoglm"))
        .args(["token", "--role", "boss", "--subject", "C42", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!bad.status.success());
    node.stop().await;
}
