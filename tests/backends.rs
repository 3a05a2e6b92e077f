//! A whole node on the production parts: PostgreSQL for storage and Redis as
//! the L2 order cache, configured the way an operator would.

mod common;

use autoglm::config::Config;
use autoglm::node::{self, StartOptions};
use autoglm_core::auth::Role;
use common::*;
use hyper::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_postgres_and_redis_books_and_serves_from_the_l2_cache() {
    let (Some(db_url), Some(redis_url)) =
        (autoglm_storage::testing::fresh_postgres_url().await, autoglm_storage::testing::test_redis_url().await)
    else {
        return; // reported loudly by the helpers; a failure under CI=true
    };
    let dir = data_dir("backends");
    let mut cfg = Config::default();
    cfg.server.listen = "127.0.0.1:0".into();
    cfg.server.data_dir = dir.clone();
    cfg.database.url = db_url;
    cfg.redis.url = redis_url;
    let node = node::start(cfg, StartOptions { demo_workers: Some(60), ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(node.engine().shared().db.backend(), "postgres");

    let c1 = client(&node, Role::Customer, "C1");
    let body = json!({ "service": "cleaning", "start": start_in(2, 10),
                       "address": { "text": "人民广场 1 号", "lat": 31.2304, "lon": 121.4737 } });
    let r = c1
        .send(Method::POST, "/v1/orders", Some(&body), &[("idempotency-key", "pg-1")])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let order = r.json().unwrap_or_default();
    let id = order["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(order["state"], "awaiting_payment");

    // Drop the in-process copy: the next read comes from Redis, not the database.
    let cache = node.engine().shared().cache.clone();
    cache.clear_l1();
    let before = cache.stats();
    let read = c1.get(&format!("/v1/orders/{id}")).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json().unwrap_or_default()["worker"], order["worker"]);
    let after = cache.stats();
    assert_eq!(after.l2_hits, before.l2_hits + 1, "{after:?}");
    assert_eq!(after.db_reads, before.db_reads, "{after:?}");

    // Paying changes the order everywhere: the cache never serves the old state.
    let pay = c1.post(&format!("/v1/orders/{id}/pay"), &json!({})).await.unwrap_or_else(|e| panic!("{e:#}"));
    let pay_url = pay.json().unwrap_or_default()["checkout"]["pay_url"].as_str().unwrap_or_default().to_string();
    assert_eq!(c1.post(&pay_url, &json!({})).await.map(|r| r.status).ok(), Some(StatusCode::OK));
    wait_for(&c1, &format!("/v1/orders/{id}"), |o| o["state"] == "confirmed").await;
    cache.clear_l1();
    let again =
        c1.get(&format!("/v1/orders/{id}")).await.unwrap_or_else(|e| panic!("{e:#}")).json().unwrap_or_default();
    assert_eq!(again["state"], "confirmed");
    let inv = node.engine().check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(inv.is_clean(), "{inv:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_with_one_node_id_on_one_database_are_refused() {
    let Some(db_url) = autoglm_storage::testing::fresh_postgres_url().await else { return };
    let cfg = |dir: &std::path::Path, node_id: u16| {
        let mut cfg = Config::default();
        cfg.server.listen = "127.0.0.1:0".into();
        cfg.server.data_dir = dir.to_path_buf();
        cfg.database.url = db_url.clone();
        cfg.node_id = node_id;
        cfg
    };
    let (here, there) = (data_dir("node_id_a"), data_dir("node_id_b"));
    let a = node::start(cfg(&here, 7), StartOptions { demo_workers: Some(8), ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let refused = match node::start(cfg(&there, 7), StartOptions::default()).await {
        Ok(_) => panic!("a second node_id 7 on the same database must be refused"),
        Err(e) => format!("{e:#}"),
    };
    assert!(refused.contains("node_id 7") && refused.contains("in use"), "{refused}");
    // Another id is fine; the same node (same data dir) restarting gets its id back at once.
    let b = node::start(cfg(&there, 8), StartOptions::default()).await.unwrap_or_else(|e| panic!("{e:#}"));
    b.stop().await;
    let again = node::start(cfg(&there, 8), StartOptions::default()).await.unwrap_or_else(|e| panic!("{e:#}"));
    again.stop().await;
    // A node that stopped gracefully gave its id up.
    a.stop().await;
    let c = node::start(cfg(&there, 7), StartOptions::default()).await.unwrap_or_else(|e| panic!("{e:#}"));
    c.stop().await;
}
