//! The single write primitive: an [`OrderChange`] is everything one
//! transition writes (the order, its event, reservations, payment,
//! idempotency key, worker), applied atomically.
//!
//! [`Db::apply`] writes one change in its own transaction; the group-commit
//! [`Writer`](crate::Writer) writes many in one, using the batch functions here.

use crate::bulk::{self, Conflict, CHUNK};
use crate::db::{now_ms, upsert_workers, Db};
use crate::entity::{idempotency_keys, leases, order_events, orders, payments, reservations};
use crate::error::{is_transient, is_unique_violation, StorageError, WriteError};
use crate::lease::Fence;
use crate::rows::{self, Creation, IdempotencyRow, NewEvent, PaymentRow};
use autoglm_core::{Order, OrderId, OrderState, Slot, SlotRange, Worker, WorkerId};
use chrono::{DateTime, FixedOffset};
use sea_orm::sea_query::Expr;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Everything one order transition writes, atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderChange {
    /// The order's full new value (upserted).
    pub order: Order,
    /// `None`: insert a new order; `Some(v)`: update only if the stored version is `v`.
    pub expected_version: Option<i64>,
    /// The order is new and was negotiated before it was stored: its
    /// creation event, written before `event` (needs `expected_version: None`).
    pub created: Option<Creation>,
    /// An `order_events` row (version and to-state taken from `order`).
    pub event: Option<NewEvent>,
    /// Delete this order's reservation rows first.
    pub release_reservations: bool,
    /// Reserve these slots of this worker; a taken one fails the change.
    pub reserve: Option<(WorkerId, SlotRange)>,
    /// A payment to upsert.
    pub payment: Option<PaymentRow>,
    /// An idempotency key to insert; a duplicate fails the change.
    pub idempotency: Option<IdempotencyRow>,
    /// A worker to upsert (e.g. their rating changed).
    pub worker_update: Option<Worker>,
    /// The change is written only while the lease `resource` still carries
    /// `token`; a node that lost its lease (a paused old owner) is fenced off
    /// with [`WriteError::Fenced`]. `None`: no lease is checked.
    pub fence: Option<Fence>,
}

impl OrderChange {
    /// A change that inserts `order` and nothing else.
    pub fn insert(order: Order) -> Self {
        Self::new(order, None)
    }

    /// A change that updates `order` from `expected_version` and nothing else.
    pub fn update(order: Order, expected_version: i64) -> Self {
        Self::new(order, Some(expected_version))
    }

    fn new(order: Order, expected_version: Option<i64>) -> Self {
        OrderChange {
            order,
            expected_version,
            created: None,
            event: None,
            release_reservations: false,
            reserve: None,
            payment: None,
            idempotency: None,
            worker_update: None,
            fence: None,
        }
    }

    /// Adds the event row.
    pub fn with_event(mut self, event: NewEvent) -> Self {
        self.event = Some(event);
        self
    }

    /// Makes the change depend on the lease `fence` names.
    pub fn fenced_by(mut self, fence: Fence) -> Self {
        self.fence = Some(fence);
        self
    }
}

/// Why one change failed, before it is turned into a [`WriteError`]
/// (a taken slot is looked up only once the failed statement is rolled back).
#[derive(Debug)]
pub(crate) enum Failure {
    Slot(WorkerId, SlotRange),
    Stale(OrderId, Option<i64>),
    Duplicate,
    Fenced(Fence),
    Db(DbErr),
    Storage(StorageError),
}

impl From<DbErr> for Failure {
    fn from(e: DbErr) -> Self {
        Failure::Db(e)
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        Failure::Storage(e)
    }
}

impl Failure {
    /// Whether retrying the whole transaction may succeed.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Failure::Db(e) if is_transient(e))
    }

    /// The caller-facing error; `c` must be usable again (the failed
    /// statement rolled back) to look up which slot was taken.
    pub(crate) async fn resolve<C: ConnectionTrait>(self, c: &C) -> WriteError {
        match self {
            Failure::Slot(worker, range) => {
                let taken = reservations::Entity::find()
                    .filter(reservations::Column::WorkerId.eq(worker.0.clone()))
                    .filter(reservations::Column::Slot.gte(range.start.0))
                    .filter(reservations::Column::Slot.lt(range.end.0))
                    .order_by_asc(reservations::Column::Slot)
                    .one(c)
                    .await;
                // Not found: the holder rolled back meanwhile; the range start is as good a name as any.
                let slot = match taken {
                    Ok(Some(r)) => Slot(r.slot),
                    _ => range.start,
                };
                WriteError::SlotTaken { worker, slot }
            }
            Failure::Stale(order, expected) => WriteError::StaleVersion { order, expected },
            Failure::Duplicate => WriteError::DuplicateKey,
            Failure::Fenced(Fence { resource, token }) => WriteError::Fenced { resource, token },
            Failure::Db(e) => WriteError::Storage(e.into()),
            Failure::Storage(e) => WriteError::Storage(e),
        }
    }
}

/// Writes one change on `c` (a transaction or savepoint), statement by statement.
pub(crate) async fn apply_one<C: ConnectionTrait>(c: &C, ch: &OrderChange) -> Result<(), Failure> {
    let order = &ch.order;
    // The order row first: on SQLite a transaction that starts by writing
    // waits for the write lock instead of failing on a stale read snapshot.
    match ch.expected_version {
        None => {
            let row = rows::order_row(order, true)?;
            if let Err(e) = orders::Entity::insert(row).exec_without_returning(c).await {
                return Err(if is_unique_violation(&e) {
                    Failure::Stale(order.id.clone(), None)
                } else {
                    Failure::Db(e)
                });
            }
        }
        Some(v) => {
            let done = orders::Entity::update_many()
                .set(rows::order_row(order, false)?)
                .filter(orders::Column::Id.eq(order.id.0.clone()))
                .filter(orders::Column::Version.eq(v))
                .exec(c)
                .await?;
            if done.rows_affected != 1 {
                return Err(Failure::Stale(order.id.clone(), Some(v)));
            }
        }
    }
    // After the order row, before anything else: SQLite then already holds
    // the write lock, and FOR UPDATE holds a takeover off elsewhere, so the
    // lease cannot move on between this check and the commit.
    if let Some(fence) = &ch.fence {
        let row = leases::Entity::find_by_id(fence.resource.clone()).lock_exclusive().one(c).await?;
        if !fence.holds(row.as_ref()) {
            return Err(Failure::Fenced(fence.clone()));
        }
    }
    if ch.release_reservations {
        reservations::Entity::delete_many()
            .filter(reservations::Column::OrderId.eq(order.id.0.clone()))
            .exec(c)
            .await?;
    }
    if let Some((worker, range)) = &ch.reserve {
        let rows = reservation_rows(&order.id, worker, range);
        if let Err(e) = insert_chunked(c, rows).await {
            return Err(if is_unique_violation(&e) { Failure::Slot(worker.clone(), *range) } else { Failure::Db(e) });
        }
    }
    let events = change_events(ch).collect::<Result<Vec<_>, _>>()?;
    insert_chunked(c, events).await?;
    if let Some(p) = &ch.payment {
        upsert_payments(c, std::slice::from_ref(p)).await?;
    }
    if let Some(k) = &ch.idempotency {
        if let Err(e) = idempotency_keys::Entity::insert(idempotency_row(k)).exec_without_returning(c).await {
            return Err(if is_unique_violation(&e) { Failure::Duplicate } else { Failure::Db(e) });
        }
    }
    if let Some(w) = &ch.worker_update {
        upsert_workers(c, std::slice::from_ref(w), now_ms()).await?;
    }
    Ok(())
}

/// Whether no two changes touch the same order, so that their statements can
/// be merged into a few multi-row ones ([`apply_merged`]).
pub(crate) fn mergeable(changes: &[&OrderChange]) -> bool {
    let mut seen = HashSet::with_capacity(changes.len());
    changes.iter().all(|c| seen.insert(c.order.id.as_str()))
}

/// Writes a batch of changes to distinct orders with a few multi-row
/// statements per table, whatever the batch size (updated orders: one
/// version check and one upsert per `CHUNK`). Any failure fails the batch:
/// the caller rolls back and retries change by change to tell who failed.
pub(crate) async fn apply_merged<C: ConnectionTrait>(c: &C, changes: &[&OrderChange]) -> Result<(), DbErr> {
    let corrupt = |e: StorageError| DbErr::Custom(e.to_string());
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    for ch in changes {
        match ch.expected_version {
            None => inserts.push(rows::order_row(&ch.order, true).map_err(corrupt)?),
            Some(v) => updates.push((&ch.order, v)),
        }
    }
    // New orders first: on SQLite the transaction then holds the write lock.
    let wrote = !inserts.is_empty();
    insert_chunked(c, inserts).await?;
    update_orders(c, &updates, wrote).await?;
    check_fences(c, changes).await?;

    let released: Vec<String> =
        changes.iter().filter(|ch| ch.release_reservations).map(|ch| ch.order.id.0.clone()).collect();
    if !released.is_empty() && c.get_database_backend() == DbBackend::Postgres {
        // One statement text whatever the number of orders (see `bulk`).
        let list = bulk::json_id_list(released.iter().map(String::as_str))?;
        let sql =
            r#"DELETE FROM "reservations" WHERE "order_id" = ANY (ARRAY(SELECT json_array_elements_text($1::json)))"#;
        c.execute(Statement::from_sql_and_values(DbBackend::Postgres, sql, [list.into()])).await?;
    } else {
        for ids in released.chunks(CHUNK) {
            reservations::Entity::delete_many()
                .filter(reservations::Column::OrderId.is_in(ids.iter().cloned()))
                .exec(c)
                .await?;
        }
    }
    // In key order, as every batch inserts them: two batches in flight at
    // once (writer lanes) that want the same slots then mostly queue on them
    // instead of deadlocking over two taken in opposite orders (a deadlock
    // that still happens, say with a release, is retried by the writer).
    let mut reserved: Vec<(&str, i64, &str)> = changes
        .iter()
        .filter_map(|ch| ch.reserve.as_ref().map(|(w, r)| (ch.order.id.as_str(), w, r)))
        .flat_map(|(order, w, r)| r.iter().map(move |s| (w.as_str(), s.0, order)))
        .collect();
    reserved.sort_unstable();
    let reserved = reserved
        .into_iter()
        .map(|(worker, slot, order)| reservations::ActiveModel {
            worker_id: Set(worker.to_string()),
            slot: Set(slot),
            order_id: Set(order.to_string()),
        })
        .collect();
    insert_chunked(c, reserved).await?;

    let events = changes.iter().flat_map(|ch| change_events(ch)).collect::<Result<Vec<_>, _>>().map_err(corrupt)?;
    insert_chunked(c, events).await?;

    let pays: Vec<PaymentRow> = changes.iter().filter_map(|ch| ch.payment.clone()).collect();
    upsert_payments(c, &pays).await?;

    let mut keys: Vec<&IdempotencyRow> = changes.iter().filter_map(|ch| ch.idempotency.as_ref()).collect();
    keys.sort_unstable_by(|a, b| (&a.customer_id.0, &a.key).cmp(&(&b.customer_id.0, &b.key)));
    insert_chunked(c, keys.into_iter().map(idempotency_row).collect()).await?;

    let workers: Vec<Worker> = changes.iter().filter_map(|ch| ch.worker_update.clone()).collect();
    upsert_workers(c, &workers, now_ms()).await.map_err(|e| DbErr::Custom(e.to_string()))?;
    Ok(())
}

/// Overwrites orders that must still be at their expected versions: the
/// stored versions are read (and locked: `FOR UPDATE` on PostgreSQL and
/// MariaDB, the write lock on SQLite) with one `IN` query, then every row is
/// replaced by one multi-row upsert, `CHUNK` orders at a time. Round trips do
/// not grow with the batch (one `UPDATE` per order made a batch of a few
/// hundred changes take tens of milliseconds on PostgreSQL).
async fn update_orders<C: ConnectionTrait>(c: &C, updates: &[(&Order, i64)], locked: bool) -> Result<(), DbErr> {
    let corrupt = |e: StorageError| DbErr::Custom(e.to_string());
    for chunk in updates.chunks(CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|(o, _)| o.id.0.clone()).collect();
        if !locked && c.get_database_backend() == DbBackend::Sqlite {
            // A deferred SQLite transaction that read first could not write
            // once another connection has: take the write lock with a no-op.
            orders::Entity::update_many()
                .col_expr(orders::Column::Version, Expr::col(orders::Column::Version).into())
                .filter(orders::Column::Id.eq(ids[0].clone()))
                .exec(c)
                .await?;
        }
        let stored = stored_versions(c, ids).await?;
        if chunk.iter().any(|(o, v)| stored.get(o.id.as_str()) != Some(v)) {
            return Err(DbErr::RecordNotUpdated);
        }
        let rows =
            chunk.iter().map(|(o, _)| rows::order_row(o, true)).collect::<Result<Vec<_>, _>>().map_err(corrupt)?;
        let columns = ["customer_id", "worker_id", "state", "start_slot", "version", "body", "updated_at_ms"];
        bulk::insert(c, rows, Conflict::Update { key: "id", columns: &columns }).await?;
    }
    Ok(())
}

/// The stored versions of the orders `ids`, their rows locked for the
/// transaction (`FOR UPDATE`; SQLite already holds its write lock).
async fn stored_versions<C: ConnectionTrait>(c: &C, ids: Vec<String>) -> Result<HashMap<String, i64>, DbErr> {
    if c.get_database_backend() == DbBackend::Postgres {
        // One statement text whatever the number of ids (see `bulk`); `= ANY
        // (ARRAY(…))` keeps it an index scan (`IN (SELECT …)` may plan a join
        // over the whole table).
        let list = bulk::json_id_list(ids.iter().map(String::as_str))?;
        let sql = r#"SELECT "id", "version" FROM "orders" WHERE "id" = ANY (ARRAY(SELECT json_array_elements_text($1::json))) FOR UPDATE"#;
        let rows = c.query_all(Statement::from_sql_and_values(DbBackend::Postgres, sql, [list.into()])).await?;
        return rows.iter().map(|r| Ok((r.try_get::<String>("", "id")?, r.try_get::<i64>("", "version")?))).collect();
    }
    Ok(orders::Entity::find()
        .select_only()
        .column(orders::Column::Id)
        .column(orders::Column::Version)
        .filter(orders::Column::Id.is_in(ids))
        .lock_exclusive()
        .into_tuple::<(String, i64)>()
        .all(c)
        .await?
        .into_iter()
        .collect())
}

/// Checks the fences of a batch with one `IN` query per `CHUNK` leases; any
/// that no longer holds fails the batch (the change-by-change re-run then
/// tells which change was fenced off). Changes without a fence cost nothing.
async fn check_fences<C: ConnectionTrait>(c: &C, changes: &[&OrderChange]) -> Result<(), DbErr> {
    let fences: Vec<&Fence> = changes.iter().filter_map(|ch| ch.fence.as_ref()).collect();
    if fences.is_empty() {
        return Ok(());
    }
    let resources: BTreeSet<&str> = fences.iter().map(|f| f.resource.as_str()).collect();
    let resources: Vec<&str> = resources.into_iter().collect();
    let mut rows: HashMap<String, leases::Model> = HashMap::with_capacity(resources.len());
    for chunk in resources.chunks(CHUNK) {
        let found = leases::Entity::find()
            .filter(leases::Column::Resource.is_in(chunk.iter().copied()))
            .lock_exclusive()
            .all(c)
            .await?;
        rows.extend(found.into_iter().map(|r| (r.resource.clone(), r)));
    }
    match fences.iter().find(|f| !f.holds(rows.get(&f.resource))) {
        Some(f) => Err(DbErr::Custom(format!("lease {} moved on: fencing token {} is stale", f.resource, f.token))),
        None => Ok(()),
    }
}

/// Multi-row inserts of `rows` (see [`bulk`]); a taken key fails.
async fn insert_chunked<C, A>(c: &C, rows: Vec<A>) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    A: sea_orm::ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    bulk::insert(c, rows, Conflict::Fail).await
}

/// Upserts payments; the last of a repeated id wins (PostgreSQL refuses to
/// update one row twice in one statement).
async fn upsert_payments<C: ConnectionTrait>(c: &C, list: &[PaymentRow]) -> Result<(), DbErr> {
    let mut by_id: BTreeMap<&str, &PaymentRow> = BTreeMap::new();
    for p in list {
        by_id.insert(p.id.as_str(), p);
    }
    let rows: Vec<payments::ActiveModel> = by_id.values().map(|p| rows::payment_row(p)).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let columns = ["order_id", "amount_cents", "currency", "state", "expires_at_ms", "updated_at_ms", "paid_at_ms"];
    bulk::insert(c, rows, Conflict::Update { key: "id", columns: &columns }).await
}

fn reservation_rows(order: &OrderId, worker: &WorkerId, range: &SlotRange) -> Vec<reservations::ActiveModel> {
    range
        .iter()
        .map(|s| reservations::ActiveModel {
            worker_id: Set(worker.0.clone()),
            slot: Set(s.0),
            order_id: Set(order.0.clone()),
        })
        .collect()
}

/// The event rows of one change, oldest first: the creation of an order
/// negotiated before it was stored, then the change's own event.
fn change_events(ch: &OrderChange) -> impl Iterator<Item = Result<order_events::ActiveModel, StorageError>> + '_ {
    let order = &ch.order;
    let created = ch.created.as_ref().map(|c| event_row(&order.id, c.version, c.state, &c.at, &c.event));
    let own = ch.event.as_ref().map(|ev| event_row(&order.id, order.version, order.state, &order.updated_at, ev));
    created.into_iter().chain(own)
}

fn event_row(
    order: &OrderId,
    version: i64,
    to: OrderState,
    at: &DateTime<FixedOffset>,
    ev: &NewEvent,
) -> Result<order_events::ActiveModel, StorageError> {
    let detail =
        serde_json::to_string(&ev.detail).map_err(|e| StorageError::corrupt("order_event", order.as_str(), e))?;
    Ok(order_events::ActiveModel {
        id: NotSet,
        order_id: Set(order.0.clone()),
        version: Set(version),
        from_state: Set(ev.from.map(|s| s.as_str().to_string())),
        to_state: Set(to.as_str().to_string()),
        event: Set(ev.event.clone()),
        detail: Set(detail),
        at_ms: Set(rows::ms(at)),
    })
}

fn idempotency_row(k: &IdempotencyRow) -> idempotency_keys::ActiveModel {
    idempotency_keys::ActiveModel {
        customer_id: Set(k.customer_id.0.clone()),
        key: Set(k.key.clone()),
        request_hash: Set(k.request_hash.clone()),
        order_id: Set(k.order_id.0.clone()),
        created_at_ms: Set(k.created_at_ms),
    }
}

/// How often a transaction that lost a deadlock or a busy database is retried.
pub(crate) const TRANSIENT_RETRIES: usize = 3;

impl Db {
    /// Writes one change in its own transaction: all of it or none of it.
    pub async fn apply(&self, change: OrderChange) -> Result<(), WriteError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let tx = self.conn().begin().await?;
            match apply_one(&tx, &change).await {
                Ok(()) => match tx.commit().await {
                    Ok(()) => return Ok(()),
                    Err(e) if is_transient(&e) && attempt < TRANSIENT_RETRIES => continue,
                    Err(e) => return Err(e.into()),
                },
                Err(f) => {
                    if let Err(e) = tx.rollback().await {
                        tracing::warn!(error = %e, "rollback failed");
                    }
                    if f.is_transient() && attempt < TRANSIENT_RETRIES {
                        continue;
                    }
                    return Err(f.resolve(self.conn()).await);
                }
            }
        }
    }
}
