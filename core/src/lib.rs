//! Domain types and rules of AutoGLM Home Services.
//!
//! Pure: no I/O, no async, no clocks. Everything that decides something about
//! an order, a worker or money lives here and is unit-tested here; actors and
//! routes only call it.

pub mod auth;
pub mod calendar;
pub mod catalog;
pub mod dispatch;
pub mod error;
pub mod geo;
pub mod ids;
pub mod money;
pub mod order;
pub mod ownership;
pub mod payment;
pub mod policy;
pub mod slot;
pub mod state;
pub mod telemetry;
pub mod worker;

pub use calendar::Calendar;
pub use catalog::{Room, Service};
pub use dispatch::{Bid, DispatchWeights};
pub use error::DomainError;
pub use geo::{Address, GeoPoint};
pub use ids::{CustomerId, OrderId, PaymentId, WorkerId};
pub use money::Money;
pub use order::{AssignedWorker, Order, OrderRequest, PaymentInfo};
pub use slot::{Slot, SlotRange};
pub use state::{OrderEvent, OrderState};
pub use worker::{SkillLevel, Worker, WorkerPatch, WorkingHours};

/// The local offset customers and workers live in unless told otherwise (+08:00).
pub fn default_offset() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}
