//! What can go wrong in storage, in plain words.
//!
//! The messages name what failed (connecting, migrating, a query, a row that
//! does not decode) and carry the driver's reason for the logs; the HTTP layer
//! maps every [`StorageError`] to a 500/503 of its own wording, so no SQL ever
//! reaches a user.

use autoglm_core::{OrderId, Slot, WorkerId};
use sea_orm::{DbErr, RuntimeErr};

/// A storage failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StorageError {
    /// The database (or Redis) could not be reached or refused the connection.
    #[error("could not connect to the {what}: {reason}")]
    Connect {
        /// What was being connected to ("database", "redis").
        what: &'static str,
        /// The driver's reason.
        reason: String,
    },
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// A read or write failed.
    #[error("database query failed: {0}")]
    Query(String),
    /// A stored row does not decode into a domain value.
    #[error("corrupt {what} row {id}: {reason}")]
    Corrupt {
        /// Which table.
        what: &'static str,
        /// The row's key.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The storage writer has stopped (shut down, or its task ended).
    #[error("the storage writer is not running")]
    WriterStopped,
    /// The connection URL names no supported database.
    #[error("unsupported database URL {0:?}: use sqlite://, mysql:// or postgres://")]
    UnsupportedUrl(String),
}

impl StorageError {
    /// Whether retrying later may help (the backend is down or busy) rather
    /// than the data being wrong; the HTTP layer answers 503 for these.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StorageError::Connect { .. } | StorageError::WriterStopped)
    }

    pub(crate) fn corrupt(what: &'static str, id: impl Into<String>, reason: impl ToString) -> Self {
        StorageError::Corrupt { what, id: id.into(), reason: reason.to_string() }
    }
}

impl From<DbErr> for StorageError {
    fn from(e: DbErr) -> Self {
        match e {
            DbErr::Conn(r) => StorageError::Connect { what: "database", reason: r.to_string() },
            DbErr::ConnectionAcquire(r) => StorageError::Connect { what: "database", reason: r.to_string() },
            DbErr::Migration(r) => StorageError::Migrate(r),
            other => StorageError::Query(other.to_string()),
        }
    }
}

/// Why an [`OrderChange`](crate::OrderChange) was not written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// The worker already has this slot booked by another order.
    #[error("worker {worker} is already booked at slot {}", slot.0)]
    SlotTaken {
        /// The worker.
        worker: WorkerId,
        /// The first slot found taken.
        slot: Slot,
    },
    /// The order changed since it was read (or, for an insert, already exists).
    #[error("order {order} changed meanwhile (expected version {expected:?})")]
    StaleVersion {
        /// The order.
        order: OrderId,
        /// The version the change expected; `None` for an insert.
        expected: Option<i64>,
    },
    /// The idempotency key was used before.
    #[error("this idempotency key was already used")]
    DuplicateKey,
    /// The change carried a [`Fence`](crate::Fence) that no longer holds:
    /// the lease moved to another holder (or was released) since the token
    /// was handed out. Not transient: the writer lost ownership for good.
    #[error("lease {resource} moved on: fencing token {token} is stale")]
    Fenced {
        /// The leased resource.
        resource: String,
        /// The token the change carried.
        token: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<DbErr> for WriteError {
    fn from(e: DbErr) -> Self {
        WriteError::Storage(e.into())
    }
}

/// The driver-level database error inside `e`, if any.
fn database_error(e: &DbErr) -> Option<&(dyn sea_orm::sqlx::error::DatabaseError + 'static)> {
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(sea_orm::sqlx::Error::Database(d)))
        | DbErr::Query(RuntimeErr::SqlxError(sea_orm::sqlx::Error::Database(d))) => Some(d.as_ref()),
        _ => None,
    }
}

/// Whether `e` is a unique-key violation (duplicate primary key included).
pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// Whether `e` is a conflict between concurrent transactions that a retry
/// of the whole transaction resolves: a deadlock, a serialization failure,
/// a lock wait timeout, or SQLite's busy/locked.
pub(crate) fn is_transient(e: &DbErr) -> bool {
    let Some(d) = database_error(e) else {
        return false;
    };
    if let Some(my) = d.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>() {
        // 1213 deadlock, 1205 lock wait timeout.
        return matches!(my.number(), 1213 | 1205);
    }
    let code = d.code().unwrap_or_default();
    // Postgres: 40001 serialization failure, 40P01 deadlock. SQLite: 5 BUSY,
    // 6 LOCKED, 261 BUSY_RECOVERY, 517 BUSY_SNAPSHOT, 262 LOCKED_SHAREDCACHE.
    matches!(code.as_ref(), "40001" | "40P01" | "5" | "6" | "261" | "262" | "517")
}
