//! The database handle: connecting, migrating and every read.
//!
//! Writes that change an order go through [`Db::apply`] or the group-commit
//! [`Writer`](crate::Writer) (see `change.rs`); the few writes here
//! (workers, preferences, callback nonces) touch no order.

use crate::entity::{
    customer_prefs, idempotency_keys, order_events, orders, payment_callbacks, payments, reservations, workers,
};
use crate::error::{is_unique_violation, StorageError};
use crate::migration::Migrator;
use crate::rows::{self, CustomerPrefs, EventRow, IdempotencyRow, OrderFilter, PaymentRow};
use autoglm_core::payment::PaymentState;
use autoglm_core::{CustomerId, Order, OrderId, OrderState, PaymentId, Slot, Worker, WorkerId};
use sea_orm::sea_query::OnConflict;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectOptions, Database, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use sea_orm_migration::MigratorTrait;
use std::collections::BTreeMap;
use std::time::Duration;

/// How to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbOptions {
    /// Most pooled connections (PostgreSQL, MySQL); SQLite uses at most 4,
    /// since it serialises writers anyway.
    pub max_connections: u32,
    /// How long to wait for a new connection.
    pub connect_timeout: Duration,
    /// How long to wait for a free pooled connection.
    pub acquire_timeout: Duration,
    /// How long SQLite waits on a locked database before failing.
    pub sqlite_busy_timeout: Duration,
    /// Log every statement (debugging only: it is slow).
    pub log_statements: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(5),
            log_statements: false,
        }
    }
}

/// Most SQLite connections in one pool.
const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// A handle on the database; cheap to clone (it wraps the pool).
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    backend: &'static str,
}

impl Db {
    /// Connects to `sqlite://path?mode=rwc`, `mysql://…` (also `mariadb://…`)
    /// or `postgres://…`.
    pub async fn connect(url: &str, opts: &DbOptions) -> Result<Db, StorageError> {
        let (url, backend) = if url.starts_with("sqlite:") {
            (url.to_string(), "sqlite")
        } else if url.starts_with("mysql://") {
            (url.to_string(), "mysql")
        } else if let Some(rest) = url.strip_prefix("mariadb://") {
            (format!("mysql://{rest}"), "mysql")
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_string(), "postgres")
        } else {
            return Err(StorageError::UnsupportedUrl(redact(url)));
        };
        let mut co = ConnectOptions::new(url.clone());
        co.connect_timeout(opts.connect_timeout)
            .acquire_timeout(opts.acquire_timeout)
            .sqlx_logging(opts.log_statements);
        if backend == "sqlite" {
            // Every connection to an in-memory database is a different database.
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            let max = if memory { 1 } else { opts.max_connections.clamp(1, SQLITE_MAX_CONNECTIONS) };
            let busy = opts.sqlite_busy_timeout;
            co.max_connections(max).min_connections(1).map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal).busy_timeout(busy)
            });
        } else {
            co.max_connections(opts.max_connections.max(1)).min_connections(1);
        }
        match Database::connect(co).await {
            Ok(conn) => Ok(Db { conn, backend }),
            Err(e) => {
                // The pool only says it timed out; one direct attempt tells why.
                let reason = match direct_connect_error(&url, backend, opts.connect_timeout).await {
                    Some(why) => why,
                    None => e.to_string(),
                };
                Err(StorageError::Connect { what: "database", reason })
            }
        }
    }

    /// Brings the schema up to date (idempotent).
    pub async fn migrate(&self) -> Result<(), StorageError> {
        Migrator::up(&self.conn, None).await.map_err(|e| StorageError::Migrate(e.to_string()))
    }

    /// `"sqlite"`, `"mysql"` (MariaDB included) or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The underlying sea-orm connection.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<(), StorageError> {
        self.conn.close().await.map_err(StorageError::from)
    }

    /// One order.
    pub async fn get_order(&self, id: &OrderId) -> Result<Option<Order>, StorageError> {
        let row = orders::Entity::find_by_id(id.0.clone()).one(&self.conn).await?;
        row.as_ref().map(rows::order_from_row).transpose()
    }

    /// Orders matching `filter`, newest first.
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StorageError> {
        let mut q = orders::Entity::find();
        if let Some(c) = &filter.customer {
            q = q.filter(orders::Column::CustomerId.eq(c.0.clone()));
        }
        if let Some(w) = &filter.worker {
            q = q.filter(orders::Column::WorkerId.eq(w.0.clone()));
        }
        if !filter.states.is_empty() {
            q = q.filter(orders::Column::State.is_in(filter.states.iter().map(|s| s.as_str())));
        }
        q = q.order_by_desc(orders::Column::CreatedAtMs).order_by_desc(orders::Column::Id);
        if filter.limit > 0 {
            q = q.limit(filter.limit);
        }
        if filter.offset > 0 {
            // MySQL accepts OFFSET only after a LIMIT.
            if filter.limit == 0 {
                q = q.limit(u64::MAX >> 1);
            }
            q = q.offset(filter.offset);
        }
        q.all(&self.conn).await?.iter().map(rows::order_from_row).collect()
    }

    /// Every order in one of `states` (rehydration at start-up).
    pub async fn orders_in_states(&self, states: &[OrderState]) -> Result<Vec<Order>, StorageError> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        orders::Entity::find()
            .filter(orders::Column::State.is_in(states.iter().map(|s| s.as_str())))
            .order_by_asc(orders::Column::Id)
            .all(&self.conn)
            .await?
            .iter()
            .map(rows::order_from_row)
            .collect()
    }

    /// Number of orders per state, keyed by the API spelling.
    pub async fn count_orders_by_state(&self) -> Result<BTreeMap<String, u64>, StorageError> {
        let counts: Vec<(String, i64)> = orders::Entity::find()
            .select_only()
            .column(orders::Column::State)
            .column_as(orders::Column::Id.count(), "n")
            .group_by(orders::Column::State)
            .into_tuple()
            .all(&self.conn)
            .await?;
        Ok(counts.into_iter().map(|(s, n)| (s, n.max(0) as u64)).collect())
    }

    /// An order's audit trail, oldest first.
    pub async fn order_events(&self, id: &OrderId) -> Result<Vec<EventRow>, StorageError> {
        let rows = order_events::Entity::find()
            .filter(order_events::Column::OrderId.eq(id.0.clone()))
            .order_by_asc(order_events::Column::Id)
            .all(&self.conn)
            .await?;
        rows.into_iter()
            .map(|r| {
                let key = r.id.to_string();
                let from = r.from_state.as_deref().map(|s| rows::parse_state(s, "order_event", &key)).transpose()?;
                let detail =
                    serde_json::from_str(&r.detail).map_err(|e| StorageError::corrupt("order_event", &key, e))?;
                Ok(EventRow {
                    id: r.id,
                    order_id: OrderId(r.order_id),
                    version: r.version,
                    from,
                    to: rows::parse_state(&r.to_state, "order_event", &key)?,
                    event: r.event,
                    detail,
                    at_ms: r.at_ms,
                })
            })
            .collect()
    }

    /// Registers or replaces a worker.
    pub async fn upsert_worker(&self, w: &Worker) -> Result<(), StorageError> {
        upsert_workers(&self.conn, std::slice::from_ref(w), now_ms()).await?;
        Ok(())
    }

    /// One worker.
    pub async fn get_worker(&self, id: &WorkerId) -> Result<Option<Worker>, StorageError> {
        let row = workers::Entity::find_by_id(id.0.clone()).one(&self.conn).await?;
        row.as_ref().map(rows::worker_from_row).transpose()
    }

    /// Every worker, by id.
    pub async fn list_workers(&self) -> Result<Vec<Worker>, StorageError> {
        workers::Entity::find()
            .order_by_asc(workers::Column::Id)
            .all(&self.conn)
            .await?
            .iter()
            .map(rows::worker_from_row)
            .collect()
    }

    /// Number of workers.
    pub async fn count_workers(&self) -> Result<u64, StorageError> {
        Ok(workers::Entity::find().count(&self.conn).await?)
    }

    /// A worker's booked slots from `from` on, in slot order (calendar rehydration).
    pub async fn reservations_of(&self, worker: &WorkerId, from: Slot) -> Result<Vec<(Slot, OrderId)>, StorageError> {
        let rows = reservations::Entity::find()
            .filter(reservations::Column::WorkerId.eq(worker.0.clone()))
            .filter(reservations::Column::Slot.gte(from.0))
            .order_by_asc(reservations::Column::Slot)
            .all(&self.conn)
            .await?;
        Ok(rows.into_iter().map(|r| (Slot(r.slot), OrderId(r.order_id))).collect())
    }

    /// The slots an order holds, in slot order.
    pub async fn reservations_of_order(&self, order: &OrderId) -> Result<Vec<(WorkerId, Slot)>, StorageError> {
        let rows = reservations::Entity::find()
            .filter(reservations::Column::OrderId.eq(order.0.clone()))
            .order_by_asc(reservations::Column::Slot)
            .all(&self.conn)
            .await?;
        Ok(rows.into_iter().map(|r| (WorkerId(r.worker_id), Slot(r.slot))).collect())
    }

    /// One payment.
    pub async fn get_payment(&self, id: &PaymentId) -> Result<Option<PaymentRow>, StorageError> {
        let row = payments::Entity::find_by_id(id.0.clone()).one(&self.conn).await?;
        row.map(rows::payment_from_row).transpose()
    }

    /// Payments still waiting for the customer, soonest to lapse first.
    pub async fn pending_payments(&self) -> Result<Vec<PaymentRow>, StorageError> {
        payments::Entity::find()
            .filter(payments::Column::State.eq(PaymentState::Pending.as_str()))
            .order_by_asc(payments::Column::ExpiresAtMs)
            .order_by_asc(payments::Column::Id)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(rows::payment_from_row)
            .collect()
    }

    /// The order an idempotency key already created, if any.
    pub async fn get_idempotency(
        &self,
        customer: &CustomerId,
        key: &str,
    ) -> Result<Option<IdempotencyRow>, StorageError> {
        let row = idempotency_keys::Entity::find_by_id((customer.0.clone(), key.to_string())).one(&self.conn).await?;
        Ok(row.map(|r| IdempotencyRow {
            customer_id: CustomerId(r.customer_id),
            key: r.key,
            request_hash: r.request_hash,
            order_id: OrderId(r.order_id),
            created_at_ms: r.created_at_ms,
        }))
    }

    /// A customer's preferences; empty lists when none were set.
    pub async fn get_prefs(&self, customer: &CustomerId) -> Result<CustomerPrefs, StorageError> {
        let Some(row) = customer_prefs::Entity::find_by_id(customer.0.clone()).one(&self.conn).await? else {
            return Ok(CustomerPrefs::default());
        };
        let list = |s: &str| -> Result<Vec<WorkerId>, StorageError> {
            serde_json::from_str(s).map_err(|e| StorageError::corrupt("customer_prefs", customer.as_str(), e))
        };
        let address = match row.address.as_deref() {
            Some(json) => Some(
                serde_json::from_str(json)
                    .map_err(|e| StorageError::corrupt("customer_prefs", customer.as_str(), e))?,
            ),
            None => None,
        };
        Ok(CustomerPrefs { favourites: list(&row.favourites)?, blocked: list(&row.blocked)?, address })
    }

    /// Replaces a customer's preferences.
    pub async fn set_prefs(&self, customer: &CustomerId, prefs: &CustomerPrefs) -> Result<(), StorageError> {
        let json = |v: &Vec<WorkerId>| {
            serde_json::to_string(v).map_err(|e| StorageError::corrupt("customer_prefs", customer.as_str(), e))
        };
        let row = customer_prefs::ActiveModel {
            customer_id: Set(customer.0.clone()),
            favourites: Set(json(&prefs.favourites)?),
            blocked: Set(json(&prefs.blocked)?),
            address: Set(match &prefs.address {
                Some(a) => Some(
                    serde_json::to_string(a)
                        .map_err(|e| StorageError::corrupt("customer_prefs", customer.as_str(), e))?,
                ),
                None => None,
            }),
        };
        customer_prefs::Entity::insert(row)
            .on_conflict(
                OnConflict::column(customer_prefs::Column::CustomerId)
                    .update_columns([
                        customer_prefs::Column::Favourites,
                        customer_prefs::Column::Blocked,
                        customer_prefs::Column::Address,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.conn)
            .await?;
        Ok(())
    }

    /// Records a payment callback's nonce; `false` when it was seen before (a replay).
    pub async fn record_callback_nonce(
        &self,
        nonce: &str,
        payment: &PaymentId,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let row = payment_callbacks::ActiveModel {
            nonce: Set(nonce.to_string()),
            payment_id: Set(payment.0.clone()),
            received_at_ms: Set(now_ms),
        };
        match payment_callbacks::Entity::insert(row).exec_without_returning(&self.conn).await {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// Inserts or replaces workers (the last of a repeated id wins); `created_at_ms`
/// is kept on replacement.
pub(crate) async fn upsert_workers<C: sea_orm::ConnectionTrait>(
    c: &C,
    list: &[Worker],
    now_ms: i64,
) -> Result<(), StorageError> {
    let mut by_id: BTreeMap<&str, &Worker> = BTreeMap::new();
    for w in list {
        by_id.insert(w.id.as_str(), w);
    }
    if by_id.is_empty() {
        return Ok(());
    }
    let rows = by_id.values().map(|w| rows::worker_row(w, now_ms)).collect::<Result<Vec<_>, _>>()?;
    let columns = ["name", "body", "active", "updated_at_ms"];
    crate::bulk::insert(c, rows, crate::bulk::Conflict::Update { key: "id", columns: &columns }).await?;
    Ok(())
}

/// The error of one direct (unpooled) connection attempt, if it fails.
async fn direct_connect_error(url: &str, backend: &str, timeout: Duration) -> Option<String> {
    use sea_orm::sqlx::mysql::MySqlConnectOptions;
    use sea_orm::sqlx::postgres::PgConnectOptions;
    use sea_orm::sqlx::ConnectOptions as _;
    let attempt = async {
        let r = match backend {
            "postgres" => match url.parse::<PgConnectOptions>() {
                Ok(o) => o.connect().await.map(drop),
                Err(e) => Err(e),
            },
            "mysql" => match url.parse::<MySqlConnectOptions>() {
                Ok(o) => o.connect().await.map(drop),
                Err(e) => Err(e),
            },
            _ => Ok(()),
        };
        r.err().map(|e| e.to_string())
    };
    tokio::time::timeout(timeout, attempt).await.ok().flatten()
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `url` without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}
