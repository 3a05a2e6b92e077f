//! Storage of AutoGLM Home Services: sea-orm entities and migrations over
//! SQLite, PostgreSQL and MariaDB/MySQL, the repositories, the group-commit
//! writer, and the order cache (moka L1, Redis L2 through fred).
//!
//! Where things are:
//! - `db.rs`: [`Db`], connecting, migrating, every read;
//! - `change.rs`: [`OrderChange`], the one way an order is written ([`Db::apply`]);
//! - `writer.rs`: [`Writer`], many changes per transaction;
//! - `cache.rs`: [`OrderCache`];
//! - `lease.rs`: cluster leases with fencing tokens;
//! - `session.rs`: [`Sessions`], dialogue state of the chat (in process or Redis);
//! - `invariants.rs`: [`Db::check_invariants`];
//! - `testing.rs`: fresh databases per backend for tests of every crate.
//!
//! Times are stored as epoch milliseconds and an order's full value as JSON
//! next to its indexed columns, so that the three databases hold the same thing.

mod bulk;
pub mod cache;
pub mod change;
pub mod db;
pub mod entity;
pub mod error;
mod invariants;
pub mod lease;
mod metrics;
pub mod migration;
pub mod rows;
pub mod session;
#[doc(hidden)]
pub mod testing;
pub mod writer;

pub use cache::{connect_redis, redis_client, CacheConfig, CacheStats, OrderCache};
pub use change::OrderChange;
pub use db::{Db, DbOptions};
pub use error::{StorageError, WriteError};
pub use lease::{Fence, Lease};
pub use migration::Migrator;
pub use rows::{Creation, CustomerPrefs, EventRow, IdempotencyRow, InvariantReport, NewEvent, OrderFilter, PaymentRow};
pub use session::{SessionConfig, SessionError, SessionTurn, Sessions};
pub use writer::{Writer, WriterConfig, WriterStats};
