//! End-to-end over real HTTP: `POST /v1/nlu/parse` and the model registry
//! (`/ops/models`): answers from rules before any model is loaded, loads a
//! freshly trained model, hot-swaps it, unloads it, and refuses bad input.

mod common;

use autoglm_core::auth::Role;
use common::*;
use serde_json::{json, Value};

fn body(r: &autoglm::client::Reply) -> Value {
    r.json().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_over_http_then_load_swap_and_unload_a_model() {
    let dir = data_dir("nlu");
    let node = start(&dir, None).await;
    let customer = client(&node, Role::Customer, "C1");
    let admin = client(&node, Role::Admin, "ops");

    // No model yet: rules and the time parser answer.
    let r = customer
        .post(
            "/v1/nlu/parse",
            &json!({ "text": "明天上午10点来打扫厨房", "reference_time": "2026-03-05T09:00:00+08:00" }),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = body(&r);
    assert_eq!(v["intent"], "book_service");
    assert_eq!(v["lang"], "zh");
    assert_eq!(v["slots"]["service"], "cleaning");
    assert_eq!(v["slots"]["rooms"], json!(["kitchen"]));
    assert_eq!(v["slots"]["start"], "2026-03-06T10:00:00+08:00");
    assert_eq!(v["slots"]["date"], Value::Null);
    assert_eq!(v["entities"][0], json!({ "kind": "time", "text": "明天上午10点", "start": 0, "end": 7 }));
    let r = customer.post("/v1/nlu/parse", &json!({ "text": "cancel order #A1023", "lang": "en" })).await.unwrap();
    assert_eq!(body(&r)["intent"], "cancel_order");
    assert_eq!(body(&r)["slots"]["order_id"], "A1023");

    let models = admin.get("/ops/models").await.unwrap();
    assert_eq!(models.status, 200);
    assert_eq!(body(&models)["models"], json!([]));
    assert_eq!(body(&models)["devices"][0], "cpu");
    let missing = admin.post("/ops/models/intent_slot/load", &json!({})).await.unwrap();
    assert_eq!(missing.status, 404, "{}", String::from_utf8_lossy(&missing.body));

    // Train, load, and see it serve.
    let models_dir = dir.join("models");
    train_tiny(&models_dir.join("intent_slot"), "v1", 2);
    let loaded = admin.post("/ops/models/intent_slot/load", &json!({})).await.unwrap();
    assert_eq!(loaded.status, 200, "{}", String::from_utf8_lossy(&loaded.body));
    assert_eq!(body(&loaded)["version"], "v1");
    let r = customer.post("/v1/nlu/parse", &json!({ "text": "明天上午10点来打扫厨房" })).await.unwrap();
    assert_eq!(r.status, 200);
    let confidence = body(&r)["confidence"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&confidence), "{confidence}");
    assert_eq!(body(&r)["slots"]["service"], "cleaning");
    let served = wait_for(&admin, "/ops/models", |v| v["models"][0]["requests"].as_u64().unwrap_or(0) >= 1).await;
    assert_eq!(served["models"][0]["state"], "ready");
    let table = autoglm::ops::models(&admin).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(table.contains("intent_slot") && table.contains("v1") && table.contains("ready"), "{table}");

    // Hot swap to another version from another folder, then unload.
    train_tiny(&models_dir.join("v2"), "v2", 2);
    let swapped = admin.post("/ops/models/intent_slot/load", &json!({ "dir": "v2" })).await.unwrap();
    assert_eq!(swapped.status, 200, "{}", String::from_utf8_lossy(&swapped.body));
    assert_eq!(body(&swapped)["version"], "v2");
    let listed = wait_for(&admin, "/ops/models", |v| v["models"].as_array().is_some_and(|m| m.len() == 1)).await;
    assert_eq!(listed["models"][0]["version"], "v2");
    assert_eq!(admin.post("/ops/models/intent_slot/unload", &json!({})).await.unwrap().status, 200);
    assert_eq!(admin.post("/ops/models/intent_slot/unload", &json!({})).await.unwrap().status, 404);
    let r = customer.post("/v1/nlu/parse", &json!({ "text": "clean my kitchen tomorrow at 3pm" })).await.unwrap();
    assert_eq!(r.status, 200, "rules answer again after unload");
    assert_eq!(body(&r)["slots"]["rooms"], json!(["kitchen"]));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_nlu_requests_get_clear_errors() {
    let dir = data_dir("nlu_bad");
    let node = start(&dir, None).await;
    let customer = client(&node, Role::Customer, "C1");
    let admin = client(&node, Role::Admin, "ops");
    let anonymous = autoglm::client::Client::new(&node.url(), None);

    let cases: [(&autoglm::client::Client, &str, Value, u16, &str); 8] = [
        (&anonymous, "/v1/nlu/parse", json!({ "text": "hi" }), 401, "unauthorized"),
        (&customer, "/v1/nlu/parse", json!({ "text": "hi", "colour": 1 }), 400, "colour"),
        (&customer, "/v1/nlu/parse", json!({ "text": "   " }), 422, "empty"),
        (&customer, "/v1/nlu/parse", json!({ "text": "扫".repeat(501) }), 422, "501 characters"),
        (&customer, "/v1/nlu/parse", json!({ "text": "hi", "reference_time": "tomorrow" }), 422, "RFC 3339"),
        (&customer, "/v1/nlu/parse", json!({ "text": "hi", "lang": "fr" }), 422, "zh, en"),
        (&customer, "/ops/models/intent_slot/load", json!({}), 403, "admin"),
        (&admin, "/ops/models/intent_slot/load", json!({ "dir": "../../etc" }), 400, "inside the models folder"),
    ];
    for (who, path, payload, status, says) in cases {
        let r = who.post(path, &payload).await.unwrap_or_else(|e| panic!("{e:#}"));
        let text = String::from_utf8_lossy(&r.body).to_string();
        assert_eq!(r.status, status, "{path} {payload}: {text}");
        assert!(text.contains(says), "{path} {payload}: {text}");
    }
    let r = admin.post("/ops/models/Bad!Name/load", &json!({})).await.unwrap();
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let r = customer.send_raw(hyper::Method::POST, "/v1/nlu/parse", b"{not json".to_vec()).await.unwrap();
    assert_eq!(r.status, 400);
    node.stop().await;
}
