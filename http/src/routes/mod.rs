//! Route groups. Each handler: parse, authorize, call the engine, render.

mod chat;
mod nlu;
mod orders;
mod pages;
mod payments;
mod system;
mod workers;

pub use chat::chat;
pub use nlu::nlu;
pub use orders::orders;
pub use pages::pages;
pub use payments::payments;
pub use system::system;
pub use workers::workers;

use crate::ApiError;
use autoglm_core::OrderId;

/// An order id from the path, checked.
fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(raw).map_err(|e| ApiError::bad_request(e.to_string()))
}
