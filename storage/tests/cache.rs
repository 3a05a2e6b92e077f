//! The order cache: L1 in process, L2 in a real Redis, the database behind.

mod common;

use autoglm_storage::testing::{at, fresh_sqlite, sample_order, test_redis_url, unique};
use autoglm_storage::{connect_redis, redis_client, CacheConfig, OrderCache, OrderChange};
use common::create;
use fred::interfaces::{ClientLike, KeysInterface};
use std::time::{Duration, Instant};

#[tokio::test]
async fn l1_serves_repeated_reads_and_invalidate_shows_the_new_value() {
    let db = fresh_sqlite().await;
    let o = sample_order(&unique("A"), "C1", at("2026-03-06T10:00:00+08:00"), 60);
    db.apply(create(&o)).await.unwrap_or_else(|e| panic!("{e}"));
    let cache = OrderCache::new(CacheConfig::default(), None);

    let first = cache.get(&o.id, &db).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.as_deref(), Some(&o));
    let again = cache.get(&o.id, &db).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.as_deref(), Some(&o));
    let s = cache.stats();
    assert_eq!((s.l1_hits, s.l1_misses, s.db_reads), (1, 1, 1), "{s:?}");

    // Write the database first, then invalidate: the next read sees the new value.
    let mut o2 = o.clone();
    o2.notes = Some("bring a ladder".into());
    o2.version = 1;
    db.apply(OrderChange::update(o2.clone(), 0)).await.unwrap_or_else(|e| panic!("{e}"));
    cache.invalidate(&o.id).await;
    let now = cache.get(&o.id, &db).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(now.as_deref(), Some(&o2));

    // A writer that has the new value puts it, and reads see it without going
    // to the database; an older one does not replace it.
    let mut o3 = o2.clone();
    o3.version = 2;
    let reads = cache.stats().db_reads;
    cache.put(&o3).await;
    cache.put(&o2).await;
    assert_eq!(cache.get(&o.id, &db).await.ok().flatten().map(|o| o.version), Some(2));
    assert_eq!(cache.stats().db_reads, reads);

    // Unknown orders are not found and not cached.
    assert_eq!(cache.get(&"A404".into(), &db).await.ok(), Some(None));
}

#[tokio::test]
async fn l2_serves_after_l1_is_cleared_and_is_shared_between_nodes() {
    let Some(url) = test_redis_url().await else {
        return;
    };
    let db = fresh_sqlite().await;
    let o = sample_order(&unique("A"), "C1", at("2026-03-06T10:00:00+08:00"), 60);
    db.apply(create(&o)).await.unwrap_or_else(|e| panic!("{e}"));
    let redis = connect_redis(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let cfg = CacheConfig { l2_ttl: Duration::from_secs(30), ..CacheConfig::default() };
    let cache = OrderCache::new(cfg.clone(), Some(redis.clone()));

    assert_eq!(cache.get(&o.id, &db).await.ok().flatten().as_deref(), Some(&o));
    let key = format!("autoglm:order:{}", o.id);
    let ttl: i64 = redis.pttl(&key).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(ttl > 0 && ttl <= 30_000, "L2 entries expire: {ttl}");
    cache.clear_l1();
    assert_eq!(cache.get(&o.id, &db).await.ok().flatten().as_deref(), Some(&o));
    let s = cache.stats();
    assert_eq!((s.l1_misses, s.l2_hits, s.db_reads, s.l2_errors), (2, 1, 1, 0), "{s:?}");

    // Another node with its own L1 reads the same L2.
    let other = OrderCache::new(cfg, Some(connect_redis(&url).await.unwrap_or_else(|e| panic!("{e}"))));
    assert_eq!(other.get(&o.id, &db).await.ok().flatten().as_deref(), Some(&o));
    assert_eq!((other.stats().l2_hits, other.stats().db_reads), (1, 0));

    // Write, invalidate on one node: the other (after its L1 entry goes) reads the new value.
    let mut o2 = o.clone();
    o2.version = 1;
    o2.notes = Some("new".into());
    db.apply(OrderChange::update(o2.clone(), 0)).await.unwrap_or_else(|e| panic!("{e}"));
    cache.invalidate(&o.id).await;
    other.clear_l1();
    assert_eq!(other.get(&o.id, &db).await.ok().flatten().as_deref(), Some(&o2));
    assert_eq!(cache.get(&o.id, &db).await.ok().flatten().as_deref(), Some(&o2));

    // A put replaces the L2 value even though it exists (fills do not).
    let mut o3 = o2.clone();
    o3.version = 2;
    cache.put(&o3).await;
    other.clear_l1();
    assert_eq!(other.get(&o.id, &db).await.ok().flatten().map(|o| o.version), Some(2));
    let _: i64 = redis.del(&key).await.unwrap_or_default();
    let _ = redis.quit().await;
}

#[tokio::test]
async fn reads_fall_through_to_the_database_when_redis_is_down() {
    let db = fresh_sqlite().await;
    let o = sample_order(&unique("A"), "C1", at("2026-03-06T10:00:00+08:00"), 60);
    db.apply(create(&o)).await.unwrap_or_else(|e| panic!("{e}"));

    let started = Instant::now();
    assert!(connect_redis("redis://127.0.0.1:1").await.is_err(), "nothing listens on port 1");
    assert!(started.elapsed() < Duration::from_secs(5), "connecting gives up quickly");

    // A client whose server is gone: it keeps trying to reconnect in the background.
    let dead = redis_client("redis://127.0.0.1:1").unwrap_or_else(|e| panic!("{e}"));
    let _task = dead.connect();
    let cache = OrderCache::new(CacheConfig::default(), Some(dead));
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(cache.get(&o.id, &db).await.ok().flatten().as_deref(), Some(&o));
        cache.clear_l1();
    }
    cache.invalidate(&o.id).await;
    cache.put(&o).await;
    assert!(started.elapsed() < Duration::from_secs(3), "a dead Redis does not stall reads");
    let s = cache.stats();
    assert_eq!(s.db_reads, 3, "{s:?}");
    assert!(s.l2_errors >= 1, "{s:?}");
    assert_eq!(s.l2_hits, 0, "{s:?}");
}
