//! Test support shared by every crate's tests: a fresh, migrated database
//! on each backend, the Redis URL, and sample domain values.
//!
//! The backends are PostgreSQL, MariaDB and Redis on 127.0.0.1 (override with
//! `AUTOGLM_TEST_POSTGRES_URL`, `AUTOGLM_TEST_MYSQL_URL`,
//! `AUTOGLM_TEST_REDIS_URL`). With `CI=true` an unreachable backend fails the
//! test; elsewhere it is skipped with a loud message. Test databases are named
//! `autoglm_t_<unix seconds>_…`; ones older than an hour are dropped when the
//! next test creates its own.

use crate::db::{Db, DbOptions};
use autoglm_core::worker::WorkingHours;
use autoglm_core::{Address, CustomerId, GeoPoint, Money, Order, OrderId, OrderState, Service, Worker, WorkerId};
use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, Statement};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";
const REDIS_URL: &str = "redis://127.0.0.1:6379";
const PREFIX: &str = "autoglm_t_";
/// Test databases older than this are dropped.
const STALE_AFTER_SECS: u64 = 3600;

/// Whether this is a CI run (`CI=true`), where every backend must be present.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// A name unique in this process and across processes: `<prefix><secs>_<pid>_<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
    format!("{prefix}{}_{}_{}_{:x}", unix_secs(), std::process::id(), N.fetch_add(1, Ordering::Relaxed), nanos & 0xffff)
}

/// Reports a missing backend: panics in CI, otherwise prints loudly and skips.
fn missing(backend: &str, url: &str, reason: &str) {
    if ci() {
        panic!("{backend} at {url} is unreachable and CI=true requires it: {reason}");
    }
    eprintln!(
        "\n!!!!!!!! SKIPPING {backend} TESTS: {backend} at {url} is unreachable ({reason}).\n\
         !!!!!!!! Start it, or run with CI=true to make this a failure.\n"
    );
}

fn test_options() -> DbOptions {
    DbOptions {
        max_connections: 8,
        connect_timeout: Duration::from_secs(3),
        acquire_timeout: Duration::from_secs(3),
        ..DbOptions::default()
    }
}

/// `url` with its database (path) replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Whether a test database name is older than the staleness limit.
fn is_stale(name: &str) -> bool {
    let secs = name.strip_prefix(PREFIX).and_then(|rest| rest.split('_').next()).and_then(|s| s.parse::<u64>().ok());
    secs.is_some_and(|s| s + STALE_AFTER_SECS < unix_secs())
}

/// A fresh, migrated SQLite database in a temporary file.
pub async fn fresh_sqlite() -> Db {
    let dir = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(PREFIX) && is_stale(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let path = dir.join(format!("{}.db", unique(PREFIX)));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = Db::connect(&url, &test_options()).await.unwrap_or_else(|e| panic!("sqlite at {url}: {e}"));
    db.migrate().await.unwrap_or_else(|e| panic!("sqlite migration: {e}"));
    db
}

/// Creates a fresh database next to `admin_url`'s, connects and migrates.
async fn fresh_server_db(backend: &'static str, admin_url: &str) -> Option<Db> {
    let url = fresh_server_url(backend, admin_url).await?;
    let db = Db::connect(&url, &test_options())
        .await
        .unwrap_or_else(|e| panic!("{backend}: cannot connect to fresh database {url}: {e}"));
    db.migrate().await.unwrap_or_else(|e| panic!("{backend}: migration of {url} failed: {e}"));
    Some(db)
}

/// The URL of a fresh, empty PostgreSQL database (for tests that start whole
/// nodes, which migrate it themselves); `None` (skipped) when unreachable outside CI.
pub async fn fresh_postgres_url() -> Option<String> {
    let url = std::env::var("AUTOGLM_TEST_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_URL.to_string());
    fresh_server_url("postgres", &url).await
}

/// Creates a fresh database next to `admin_url`'s and returns its URL.
async fn fresh_server_url(backend: &'static str, admin_url: &str) -> Option<String> {
    let opts = DbOptions { max_connections: 1, ..test_options() };
    let admin = match Db::connect(admin_url, &opts).await {
        Ok(db) => db,
        Err(e) => {
            missing(backend, admin_url, &e.to_string());
            return None;
        }
    };
    drop_stale(&admin).await;
    let name = unique(PREFIX);
    let create = if admin.backend() == "mysql" {
        format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    } else {
        format!("CREATE DATABASE \"{name}\"")
    };
    admin
        .conn()
        .execute_unprepared(&create)
        .await
        .unwrap_or_else(|e| panic!("{backend}: cannot create test database {name}: {e}"));
    let _ = admin.close().await;
    Some(with_database(admin_url, &name))
}

/// Drops test databases left over by runs more than an hour ago.
async fn drop_stale(admin: &Db) {
    let backend = admin.conn().get_database_backend();
    let (list, quote) = if admin.backend() == "mysql" {
        ("SELECT schema_name AS name FROM information_schema.schemata", '`')
    } else {
        ("SELECT datname AS name FROM pg_database", '"')
    };
    let Ok(rows) = admin.conn().query_all(Statement::from_string(backend, list)).await else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "name") else {
            continue;
        };
        if name.starts_with(PREFIX) && is_stale(&name) {
            let sql = format!("DROP DATABASE IF EXISTS {quote}{name}{quote}");
            if let Err(e) = admin.conn().execute_unprepared(&sql).await {
                tracing::debug!(%name, error = %e, "could not drop a stale test database");
            }
        }
    }
}

/// A fresh, migrated PostgreSQL database; `None` (skipped) when unreachable outside CI.
pub async fn fresh_postgres() -> Option<Db> {
    let url = std::env::var("AUTOGLM_TEST_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_URL.to_string());
    fresh_server_db("postgres", &url).await
}

/// A fresh, migrated MariaDB/MySQL database; `None` (skipped) when unreachable outside CI.
pub async fn fresh_mariadb() -> Option<Db> {
    let url = std::env::var("AUTOGLM_TEST_MYSQL_URL").unwrap_or_else(|_| MYSQL_URL.to_string());
    fresh_server_db("mariadb", &url).await
}

/// A fresh, migrated database on every reachable backend, labelled
/// `"sqlite"`, `"postgres"` and `"mariadb"`.
pub async fn test_databases() -> Vec<(&'static str, Db)> {
    let mut out = vec![("sqlite", fresh_sqlite().await)];
    if let Some(db) = fresh_postgres().await {
        out.push(("postgres", db));
    }
    if let Some(db) = fresh_mariadb().await {
        out.push(("mariadb", db));
    }
    out
}

/// The Redis URL when Redis answers; `None` (skipped) when unreachable outside CI.
pub async fn test_redis_url() -> Option<String> {
    let url = std::env::var("AUTOGLM_TEST_REDIS_URL").unwrap_or_else(|_| REDIS_URL.to_string());
    match crate::cache::connect_redis(&url).await {
        Ok(client) => {
            use fred::interfaces::ClientLike;
            let _ = client.quit().await;
            Some(url)
        }
        Err(e) => {
            missing("redis", &url, &e.to_string());
            None
        }
    }
}

/// A timestamp from RFC 3339; panics on a malformed literal (tests only).
pub fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("bad test time {s:?}: {e}"))
}

/// A cleaning order in `negotiating`, version 0, created a day before `start`.
pub fn sample_order(id: &str, customer: &str, start: DateTime<FixedOffset>, minutes: u32) -> Order {
    let created = start - chrono::Duration::days(1);
    Order {
        id: OrderId::from(id),
        customer_id: CustomerId::from(customer),
        state: OrderState::Negotiating,
        service: Service::Cleaning,
        rooms: vec![autoglm_core::Room::WholeHome],
        start,
        duration_minutes: minutes,
        address: Address { text: "徐汇区漕溪北路 1 号".into(), lat: 31.19, lon: 121.44 },
        notes: None,
        worker: None,
        price: Money::cny(12_000 * i64::from(minutes) / 60),
        payment: None,
        cancellation_fee: None,
        rating: None,
        reschedules: 0,
        alternatives: Vec::new(),
        created_at: created,
        updated_at: created,
        version: 0,
    }
}

/// An active cleaner near the sample address.
pub fn sample_worker(id: &str) -> Worker {
    Worker {
        id: WorkerId::from(id),
        name: format!("阿姨 {id}"),
        skills: [(Service::Cleaning, 4), (Service::DeepCleaning, 3)].into(),
        home: GeoPoint { lat: 31.2, lon: 121.45 },
        radius_km: 10.0,
        hours: WorkingHours::default(),
        rating: 4.8,
        rating_count: 10,
        active: true,
    }
}
