//! The session store: in process with paused time, and in a real Redis
//! (two stores on one server stand for two nodes).

use autoglm_storage::testing::{test_redis_url, unique};
use autoglm_storage::{connect_redis, SessionConfig, SessionError, Sessions};
use fred::interfaces::{ClientLike, KeysInterface};
use std::time::Duration;

fn cfg(prefix: &str) -> SessionConfig {
    SessionConfig {
        ttl: Duration::from_secs(60),
        lock_wait: Duration::from_secs(10),
        key_prefix: format!("{}:", unique(prefix)),
        ..SessionConfig::default()
    }
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// The counter in a state written by [`increment`].
fn count(state: Option<&str>) -> u64 {
    state.map_or(0, |s| ok(serde_json::from_str::<serde_json::Value>(s))["n"].as_u64().unwrap_or(0))
}

/// One turn that adds one to the session's counter.
async fn increment(sessions: &Sessions, id: &str) -> Result<(), SessionError> {
    let turn = sessions.begin(id).await?;
    let n = count(turn.state());
    // Give the other turns a chance to run in between, as a real turn would.
    tokio::task::yield_now().await;
    turn.commit(serde_json::json!({ "n": n + 1 }).to_string()).await
}

async fn sixty_four_turns_count_to_64(stores: &[Sessions], id: &str) {
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let s = stores[i % stores.len()].clone();
            let id = id.to_owned();
            tokio::spawn(async move { increment(&s, &id).await })
        })
        .collect();
    for t in tasks {
        ok(ok(t.await));
    }
    let turn = ok(stores[0].begin(id).await);
    assert_eq!(count(turn.state()), 64);
    turn.abandon().await;
}

/// Roundtrip, abandon and drop; the same on every backend.
async fn turns_behave(s: &Sessions) {
    let id = unique("chat");
    let turn = ok(s.begin(&id).await);
    assert_eq!(turn.state(), None, "a new session has no state");
    ok(turn.commit(r#"{"step":1}"#.into()).await);

    let turn = ok(s.begin(&id).await);
    assert_eq!(turn.state(), Some(r#"{"step":1}"#));
    turn.abandon().await;
    let turn = ok(s.begin(&id).await);
    assert_eq!(turn.state(), Some(r#"{"step":1}"#), "abandon keeps the old state");
    drop(turn);

    // The dropped turn released the lock (for Redis, by a spawned task).
    let turn = ok(s.begin(&id).await);
    assert_eq!(turn.state(), Some(r#"{"step":1}"#), "drop keeps the old state");
    ok(turn.commit(r#"{"step":2}"#.into()).await);
    let turn = ok(s.begin(&id).await);
    assert_eq!(turn.state(), Some(r#"{"step":2}"#));
    turn.abandon().await;
}

#[tokio::test(start_paused = true)]
async fn memory_turns_roundtrip_abandon_drop() {
    turns_behave(&Sessions::memory(cfg("mem"))).await;
}

#[tokio::test(start_paused = true)]
async fn memory_busy_after_lock_wait() {
    let s = Sessions::memory(SessionConfig { lock_wait: Duration::from_millis(200), ..cfg("mem") });
    let held = ok(s.begin("c1").await);
    let started = tokio::time::Instant::now();
    match s.begin("c1").await {
        Err(SessionError::Busy(_)) => {}
        other => panic!("expected Busy, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    // Other sessions are not held up.
    ok(ok(s.begin("c2").await).commit("{}".into()).await);
    held.abandon().await;
    ok(s.begin("c1").await).abandon().await;
}

#[tokio::test(start_paused = true)]
async fn memory_state_expires_after_ttl_and_commit_refreshes_it() {
    let s = Sessions::memory(cfg("mem"));
    ok(ok(s.begin("c1").await).commit("a".into()).await);
    tokio::time::advance(Duration::from_secs(50)).await;
    let turn = ok(s.begin("c1").await);
    assert_eq!(turn.state(), Some("a"));
    ok(turn.commit("b".into()).await);
    tokio::time::advance(Duration::from_secs(50)).await;
    let turn = ok(s.begin("c1").await);
    assert_eq!(turn.state(), Some("b"), "the commit 50 s ago refreshed the 60 s TTL");
    turn.abandon().await;
    tokio::time::advance(Duration::from_secs(61)).await;
    let turn = ok(s.begin("c1").await);
    assert_eq!(turn.state(), None, "expired");
    turn.abandon().await;
}

#[tokio::test(start_paused = true)]
async fn memory_sweeps_expired_sessions_and_caps_its_size() {
    let s = Sessions::memory(SessionConfig { memory_capacity: 64 * 2, ..cfg("mem") });
    let mut stored = 0;
    let mut refused = Vec::new();
    for i in 0..1000 {
        let id = format!("c{i}");
        match s.begin(&id).await {
            Ok(t) => {
                ok(t.commit("x".into()).await);
                stored += 1;
            }
            Err(SessionError::Unavailable(_)) => refused.push(id),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(s.memory_len() <= 128 && stored <= 128 && !refused.is_empty(), "{} {stored}", s.memory_len());
    tokio::time::advance(Duration::from_secs(61)).await;
    // Everything expired: the sessions refused for want of room now push the old ones out.
    for id in &refused {
        let turn = ok(s.begin(id).await);
        assert_eq!(turn.state(), None);
        turn.abandon().await;
    }
    assert!(s.memory_len() <= 128);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_sixty_four_concurrent_turns_on_one_session() {
    let s = Sessions::memory(cfg("mem"));
    sixty_four_turns_count_to_64(&[s], "c1").await;
}

#[tokio::test]
async fn redis_turns_roundtrip_abandon_drop() {
    let Some(url) = test_redis_url().await else { return };
    let s = ok(Sessions::redis(&url, cfg("autoglm:t:session")).await);
    assert_eq!(s.backend(), "redis");
    turns_behave(&s).await;
}

#[tokio::test]
async fn redis_busy_after_lock_wait() {
    let Some(url) = test_redis_url().await else { return };
    let c = cfg("autoglm:t:session");
    let a = ok(Sessions::redis(&url, c.clone()).await);
    let b = ok(Sessions::redis(&url, SessionConfig { lock_wait: Duration::from_millis(100), ..c }).await);
    let held = ok(a.begin("c1").await);
    let started = std::time::Instant::now();
    match b.begin("c1").await {
        Err(SessionError::Busy(_)) => {}
        other => panic!("expected Busy, got {other:?}"),
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(100) && waited < Duration::from_secs(2), "{waited:?}");
    held.abandon().await;
    ok(b.begin("c1").await).abandon().await;
}

#[tokio::test]
async fn redis_commit_sets_ttl() {
    let Some(url) = test_redis_url().await else { return };
    let c = cfg("autoglm:t:session");
    let prefix = c.key_prefix.clone();
    let s = ok(Sessions::redis(&url, c).await);
    ok(ok(s.begin("c1").await).commit("{}".into()).await);
    let raw = ok(connect_redis(&url).await);
    let pttl: i64 = ok(raw.pttl(format!("{prefix}c1")).await);
    assert!(pttl > 0 && pttl <= 60_000, "{pttl}");
    let lock: i64 = ok(raw.exists(format!("{prefix}c1:lock")).await);
    assert_eq!(lock, 0, "commit released the lock");
    let _ = raw.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_two_nodes_sixty_four_concurrent_turns_on_one_session() {
    let Some(url) = test_redis_url().await else { return };
    let c = cfg("autoglm:t:session");
    let a = ok(Sessions::redis(&url, c.clone()).await);
    let b = ok(Sessions::redis(&url, c).await);
    sixty_four_turns_count_to_64(&[a, b], "c1").await;
}

#[tokio::test]
async fn redis_turn_whose_lock_was_taken_saves_nothing() {
    let Some(url) = test_redis_url().await else { return };
    let c = cfg("autoglm:t:session");
    let prefix = c.key_prefix.clone();
    let s = ok(Sessions::redis(&url, c).await);
    let raw = ok(connect_redis(&url).await);

    let slow = ok(s.begin("c1").await);
    // As if its lock expired: another turn takes the session and saves.
    let _: i64 = ok(raw.del(format!("{prefix}c1:lock")).await);
    let fast = ok(s.begin("c1").await);
    ok(fast.commit("fast".into()).await);
    match slow.commit("slow".into()).await {
        Err(SessionError::LockLost(_)) => {}
        other => panic!("expected LockLost, got {other:?}"),
    }
    let turn = ok(s.begin("c1").await);
    assert_eq!(turn.state(), Some("fast"));

    // And while the other turn still holds it, commit does not release its lock.
    let _: i64 = ok(raw.del(format!("{prefix}c1:lock")).await);
    let newer = ok(s.begin("c1").await);
    assert!(matches!(turn.commit("stale".into()).await, Err(SessionError::LockLost(_))));
    ok(newer.commit("newer".into()).await);
    let turn = ok(s.begin("c1").await);
    assert_eq!(turn.state(), Some("newer"));
    turn.abandon().await;
    let _ = raw.quit().await;
}

#[tokio::test]
async fn redis_down_is_unavailable_quickly() {
    let port = {
        let l = ok(std::net::TcpListener::bind("127.0.0.1:0"));
        ok(l.local_addr()).port()
    };
    let started = std::time::Instant::now();
    match Sessions::redis(&format!("redis://127.0.0.1:{port}"), SessionConfig::default()).await {
        Err(SessionError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(2500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn redis_turns_go_on_after_the_scripts_are_flushed() {
    use fred::interfaces::LuaInterface;
    let Some(url) = test_redis_url().await else { return };
    let s = ok(Sessions::redis(&url, cfg("autoglm:t:session")).await);
    ok(increment(&s, "c1").await);
    // A Redis restart or failover forgets loaded scripts; EVALSHA then reloads them.
    let raw = ok(connect_redis(&url).await);
    ok(raw.script_flush(false).await);
    ok(increment(&s, "c1").await);
    let turn = ok(s.begin("c1").await);
    assert_eq!(count(turn.state()), 2);
    turn.abandon().await;
    let _ = raw.quit().await;
}
