//! The order state machine (DESIGN.md §2). Every transition goes through
//! [`OrderState::apply`]; nothing else changes an order's state.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Workers are being asked; no one is assigned yet.
    Negotiating,
    /// A worker holds the slot; the customer has a payment window.
    AwaitingPayment,
    /// Paid and assigned.
    Confirmed,
    /// The worker checked in.
    InService,
    /// The job is done (a rating may follow).
    Completed,
    /// Cancelled by the customer, the payment window or an operator.
    Cancelled,
    /// No worker could take it.
    Unassignable,
}

/// Something that happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// A worker accepted the award.
    Assign,
    /// Another worker took over (change of worker, or the worker declined).
    Reassign,
    /// No worker could be found.
    GiveUp,
    /// The payment arrived.
    Pay,
    /// The payment window closed unpaid.
    ExpirePayment,
    /// The customer (or an operator) cancelled.
    Cancel,
    /// Moved to another time, with the same or another worker.
    Reschedule,
    /// The worker arrived.
    CheckIn,
    /// The worker finished.
    Complete,
    /// The customer rated the job.
    Rate,
}

impl OrderState {
    /// Every state.
    pub const ALL: [OrderState; 7] = [
        OrderState::Negotiating,
        OrderState::AwaitingPayment,
        OrderState::Confirmed,
        OrderState::InService,
        OrderState::Completed,
        OrderState::Cancelled,
        OrderState::Unassignable,
    ];

    /// The state after `event`, or why it is not allowed.
    pub fn apply(self, event: OrderEvent) -> Result<OrderState, crate::DomainError> {
        use OrderEvent as E;
        use OrderState as S;
        let next = match (self, event) {
            (S::Negotiating, E::Assign) => S::AwaitingPayment,
            (S::Negotiating | S::AwaitingPayment | S::Confirmed, E::GiveUp) => S::Unassignable,
            (S::Negotiating, E::Cancel) => S::Cancelled,
            (S::AwaitingPayment, E::Pay) => S::Confirmed,
            (S::AwaitingPayment, E::ExpirePayment) => S::Cancelled,
            (S::AwaitingPayment, E::Cancel) => S::Cancelled,
            (S::AwaitingPayment, E::Reschedule | E::Reassign) => S::AwaitingPayment,
            (S::Confirmed, E::Reschedule | E::Reassign) => S::Confirmed,
            (S::Confirmed, E::Cancel) => S::Cancelled,
            (S::Confirmed, E::CheckIn) => S::InService,
            (S::InService, E::Complete) => S::Completed,
            (S::Completed, E::Rate) => S::Completed,
            (from, event) => return Err(crate::DomainError::InvalidTransition { from, event }),
        };
        Ok(next)
    }

    /// Whether nothing more can happen to the order's booking.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderState::Completed | OrderState::Cancelled | OrderState::Unassignable)
    }

    /// Whether the order holds a worker's time.
    pub fn holds_reservation(self) -> bool {
        matches!(self, OrderState::AwaitingPayment | OrderState::Confirmed | OrderState::InService)
    }

    /// The state as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Negotiating => "negotiating",
            OrderState::AwaitingPayment => "awaiting_payment",
            OrderState::Confirmed => "confirmed",
            OrderState::InService => "in_service",
            OrderState::Completed => "completed",
            OrderState::Cancelled => "cancelled",
            OrderState::Unassignable => "unassignable",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl OrderEvent {
    /// Every event.
    pub const ALL: [OrderEvent; 10] = [
        OrderEvent::Assign,
        OrderEvent::Reassign,
        OrderEvent::GiveUp,
        OrderEvent::Pay,
        OrderEvent::ExpirePayment,
        OrderEvent::Cancel,
        OrderEvent::Reschedule,
        OrderEvent::CheckIn,
        OrderEvent::Complete,
        OrderEvent::Rate,
    ];

    /// The event as logs and the audit table spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderEvent::Assign => "assign",
            OrderEvent::Reassign => "reassign",
            OrderEvent::GiveUp => "give_up",
            OrderEvent::Pay => "pay",
            OrderEvent::ExpirePayment => "expire_payment",
            OrderEvent::Cancel => "cancel",
            OrderEvent::Reschedule => "reschedule",
            OrderEvent::CheckIn => "check_in",
            OrderEvent::Complete => "complete",
            OrderEvent::Rate => "rate",
        }
    }

    /// Words for error messages ("an order that is cancelled cannot be paid").
    fn past_participle(self) -> &'static str {
        match self {
            OrderEvent::Assign => "assigned",
            OrderEvent::Reassign => "given another worker",
            OrderEvent::GiveUp => "given up",
            OrderEvent::Pay => "paid",
            OrderEvent::ExpirePayment => "expired",
            OrderEvent::Cancel => "cancelled",
            OrderEvent::Reschedule => "rescheduled",
            OrderEvent::CheckIn => "checked in",
            OrderEvent::Complete => "completed",
            OrderEvent::Rate => "rated",
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for OrderEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.past_participle())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use OrderEvent as E;
    use OrderState as S;

    /// The full table of allowed transitions, written out independently of `apply`.
    const ALLOWED: &[(S, E, S)] = &[
        (S::Negotiating, E::Assign, S::AwaitingPayment),
        (S::Negotiating, E::GiveUp, S::Unassignable),
        (S::AwaitingPayment, E::GiveUp, S::Unassignable),
        (S::Confirmed, E::GiveUp, S::Unassignable),
        (S::Negotiating, E::Cancel, S::Cancelled),
        (S::AwaitingPayment, E::Pay, S::Confirmed),
        (S::AwaitingPayment, E::ExpirePayment, S::Cancelled),
        (S::AwaitingPayment, E::Cancel, S::Cancelled),
        (S::AwaitingPayment, E::Reschedule, S::AwaitingPayment),
        (S::AwaitingPayment, E::Reassign, S::AwaitingPayment),
        (S::Confirmed, E::Reschedule, S::Confirmed),
        (S::Confirmed, E::Reassign, S::Confirmed),
        (S::Confirmed, E::Cancel, S::Cancelled),
        (S::Confirmed, E::CheckIn, S::InService),
        (S::InService, E::Complete, S::Completed),
        (S::Completed, E::Rate, S::Completed),
    ];

    #[test]
    fn every_pair_matches_the_table() {
        for from in S::ALL {
            for event in E::ALL {
                let expected = ALLOWED.iter().find(|(f, e, _)| *f == from && *e == event);
                match (from.apply(event), expected) {
                    (Ok(to), Some((_, _, want))) => assert_eq!(to, *want, "{from:?} {event:?}"),
                    (Err(crate::DomainError::InvalidTransition { .. }), None) => {}
                    (got, want) => panic!("{from:?} + {event:?}: got {got:?}, table says {want:?}"),
                }
            }
        }
    }

    #[test]
    fn errors_read_as_sentences() {
        let err = S::Cancelled.apply(E::Pay).unwrap_err().to_string();
        assert_eq!(err, "an order that is cancelled cannot be paid");
    }

    fn any_event() -> impl Strategy<Value = OrderEvent> {
        proptest::sample::select(E::ALL.to_vec())
    }

    proptest! {
        /// Along any sequence of events, terminal states only ever allow rating,
        /// reservations are held only in the middle states, and a rejected
        /// event leaves the state unchanged.
        #[test]
        fn random_walks_respect_the_lifecycle(events in proptest::collection::vec(any_event(), 0..40)) {
            let mut state = S::Negotiating;
            let mut paid = false;
            for event in events {
                let before = state;
                match state.apply(event) {
                    Ok(next) => {
                        if before.is_terminal() {
                            prop_assert_eq!((before, event, next), (S::Completed, E::Rate, S::Completed));
                        }
                        if event == E::Pay { paid = true; }
                        if next == S::InService { prop_assert!(paid, "service started unpaid"); }
                        state = next;
                    }
                    Err(_) => prop_assert_eq!(state, before),
                }
            }
            prop_assert!(!state.holds_reservation() || !state.is_terminal());
        }

        /// Once terminal, an order never leaves its terminal state.
        #[test]
        fn terminal_is_forever(events in proptest::collection::vec(any_event(), 1..20),
                               start in proptest::sample::select(vec![S::Completed, S::Cancelled, S::Unassignable])) {
            let mut state = start;
            for e in events {
                if let Ok(next) = state.apply(e) { state = next; }
                prop_assert_eq!(state, start);
            }
        }
    }
}
