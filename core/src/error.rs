//! Domain errors, in the domain's own words.

use crate::state::{OrderEvent, OrderState};

/// Why a domain rule refused a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// The order's state machine does not allow this event now.
    #[error("an order that is {from} cannot be {event}")]
    InvalidTransition { from: OrderState, event: OrderEvent },
    /// The requested start time is not in the future.
    #[error("the start time {0} is in the past")]
    StartInPast(String),
    /// The start time is further ahead than bookings are taken.
    #[error("bookings are taken at most {0} days ahead")]
    TooFarAhead(i64),
    /// Duration outside what the service allows.
    #[error("duration must be between {min} and {max} minutes in steps of 30, got {got}")]
    BadDuration { min: u32, max: u32, got: u32 },
    /// A value that does not parse or is out of range.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// Rooms only make sense for cleaning services.
    #[error("rooms can only be given for cleaning services, not {0}")]
    RoomsNotApplicable(String),
    /// The order was already rated.
    #[error("this order was already rated")]
    AlreadyRated,
    /// Too close to the start for this change.
    #[error("too late to {action}: at least {hours} hours notice is needed")]
    TooLate { action: &'static str, hours: i64 },
    /// The order was rescheduled as often as the policy allows.
    #[error("an order can be rescheduled at most {0} times")]
    TooManyReschedules(u32),
}
