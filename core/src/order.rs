//! Orders: the request a customer makes and the order the platform keeps.

use crate::catalog::{Room, Service};
use crate::geo::Address;
use crate::ids::{CustomerId, OrderId, PaymentId, WorkerId};
use crate::money::Money;
use crate::payment::PaymentState;
use crate::policy::Policies;
use crate::slot::SlotRange;
use crate::state::{OrderEvent, OrderState};
use crate::worker::SkillLevel;
use crate::DomainError;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// A structured order request (`POST /v1/orders`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// The service wanted.
    pub service: Service,
    /// Rooms, for cleaning services; empty means the whole home.
    #[serde(default)]
    pub rooms: Vec<Room>,
    /// When the job starts, with the customer's offset.
    pub start: DateTime<FixedOffset>,
    /// How long; the service's default when absent.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Where.
    pub address: Address,
    /// Anything the worker should know.
    #[serde(default)]
    pub notes: Option<String>,
}

/// A request that passed every check, with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRequest {
    /// The service.
    pub service: Service,
    /// Rooms, deduplicated; `whole_home` for cleaning without rooms.
    pub rooms: Vec<Room>,
    /// Start time.
    pub start: DateTime<FixedOffset>,
    /// Duration in minutes.
    pub duration_minutes: u32,
    /// Where.
    pub address: Address,
    /// Notes, trimmed.
    pub notes: Option<String>,
    /// The price quoted.
    pub price: Money,
}

impl OrderRequest {
    /// Checks the request against `policies` at `now` and fills defaults.
    pub fn validate(self, policies: &Policies, now: &DateTime<FixedOffset>) -> Result<ValidRequest, DomainError> {
        let mut rooms = self.rooms;
        rooms.sort();
        rooms.dedup();
        if !rooms.is_empty() && !self.service.takes_rooms() {
            return Err(DomainError::RoomsNotApplicable(self.service.to_string()));
        }
        if rooms.contains(&Room::WholeHome) || (rooms.is_empty() && self.service.defaults_to_whole_home()) {
            rooms = vec![Room::WholeHome];
        }
        let duration_minutes = policies.duration(self.service, self.duration_minutes)?;
        policies.check_start(&self.start, now)?;
        self.address.validate()?;
        let notes = self.notes.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if notes.as_ref().is_some_and(|n| n.chars().count() > 500) {
            return Err(DomainError::Invalid { field: "notes", reason: "at most 500 characters".into() });
        }
        Ok(ValidRequest {
            service: self.service,
            rooms,
            start: self.start,
            duration_minutes,
            address: self.address,
            notes,
            price: policies.quote(self.service, duration_minutes),
        })
    }
}

/// The worker an order is assigned to, as the order shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignedWorker {
    /// Worker id.
    pub id: WorkerId,
    /// Display name.
    pub name: String,
    /// Rating when assigned.
    pub rating: f64,
    /// Skill for this order's service.
    pub skill_level: SkillLevel,
}

impl From<&crate::dispatch::Bid> for AssignedWorker {
    /// The worker of a winning bid, as the order will show them.
    fn from(bid: &crate::dispatch::Bid) -> Self {
        Self { id: bid.worker.clone(), name: bid.name.clone(), rating: bid.rating, skill_level: bid.skill_level }
    }
}

/// The payment of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentInfo {
    /// Payment id.
    pub id: PaymentId,
    /// Where the payment is.
    pub state: PaymentState,
    /// When an unpaid payment lapses.
    pub expires_at: Option<DateTime<FixedOffset>>,
}

/// An order as every route returns it (DESIGN.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Order id.
    pub id: OrderId,
    /// The customer who placed it.
    pub customer_id: CustomerId,
    /// Lifecycle state.
    pub state: OrderState,
    /// Service booked.
    pub service: Service,
    /// Rooms, for cleaning.
    pub rooms: Vec<Room>,
    /// Start time.
    pub start: DateTime<FixedOffset>,
    /// Duration.
    pub duration_minutes: u32,
    /// Where.
    pub address: Address,
    /// Notes for the worker.
    pub notes: Option<String>,
    /// The assigned worker.
    pub worker: Option<AssignedWorker>,
    /// Price.
    pub price: Money,
    /// Payment.
    pub payment: Option<PaymentInfo>,
    /// Fee kept on cancellation.
    pub cancellation_fee: Option<Money>,
    /// Stars given by the customer, 1-5.
    pub rating: Option<u8>,
    /// Times rescheduled.
    pub reschedules: u32,
    /// Other start times that could work, when unassignable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<DateTime<FixedOffset>>,
    /// Created.
    pub created_at: DateTime<FixedOffset>,
    /// Last changed.
    pub updated_at: DateTime<FixedOffset>,
    /// Bumped on every change; guards against lost updates.
    pub version: i64,
}

impl Order {
    /// A new order in `negotiating` from a checked request.
    pub fn new(id: OrderId, customer_id: CustomerId, req: ValidRequest, now: DateTime<FixedOffset>) -> Order {
        Order {
            id,
            customer_id,
            state: OrderState::Negotiating,
            service: req.service,
            rooms: req.rooms,
            start: req.start,
            duration_minutes: req.duration_minutes,
            address: req.address,
            notes: req.notes,
            worker: None,
            price: req.price,
            payment: None,
            cancellation_fee: None,
            rating: None,
            reschedules: 0,
            alternatives: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// The slots this order occupies.
    pub fn slots(&self) -> SlotRange {
        SlotRange::covering(&self.start, self.duration_minutes)
    }

    /// Applies `event` through the state machine; the only way state changes.
    pub fn apply(&mut self, event: OrderEvent, now: DateTime<FixedOffset>) -> Result<OrderState, DomainError> {
        if event == OrderEvent::Rate && self.rating.is_some() {
            return Err(DomainError::AlreadyRated);
        }
        let from = self.state;
        self.state = from.apply(event)?;
        self.updated_at = now;
        self.version += 1;
        Ok(from)
    }

    /// Settles the payment of an order that ends without the job being done:
    /// money received is refunded, a pending payment lapses. Returns the
    /// payment's new state, if the order had a payment still open or paid.
    pub fn close_payment(&mut self) -> Option<PaymentState> {
        let p = self.payment.as_mut()?;
        let next = match p.state {
            PaymentState::Paid => PaymentState::Refunded,
            PaymentState::Pending => PaymentState::Expired,
            PaymentState::Expired | PaymentState::Refunded => return None,
        };
        p.state = next;
        p.expires_at = None;
        Some(next)
    }

    /// Records a rating of 1-5 stars on a completed order.
    pub fn rate(&mut self, stars: u8, now: DateTime<FixedOffset>) -> Result<(), DomainError> {
        if !(1..=5).contains(&stars) {
            return Err(DomainError::Invalid { field: "rating", reason: "1 to 5 stars".into() });
        }
        self.apply(OrderEvent::Rate, now)?;
        self.rating = Some(stars);
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap_or_default()
    }

    pub(crate) fn request() -> OrderRequest {
        OrderRequest {
            service: Service::Cleaning,
            rooms: vec![],
            start: at("2026-03-06T10:00:00+08:00"),
            duration_minutes: None,
            address: Address { text: "徐汇区 1 号".into(), lat: 31.23, lon: 121.47 },
            notes: None,
        }
    }

    pub(crate) fn sample_order() -> Order {
        let now = at("2026-03-05T09:00:00+08:00");
        let valid = request().validate(&Policies::default(), &now).unwrap_or_else(|e| panic!("{e}"));
        Order::new("A1".into(), "C1".into(), valid, now)
    }

    #[test]
    fn cleaning_without_rooms_is_the_whole_home() {
        let o = sample_order();
        assert_eq!(o.rooms, vec![Room::WholeHome]);
        assert_eq!(o.duration_minutes, 120);
        assert_eq!(o.price, Money::cny(24000));
        assert_eq!(o.slots().len(), 4);
    }

    #[test]
    fn bad_requests_are_refused() {
        let now = at("2026-03-05T09:00:00+08:00");
        let p = Policies::default();
        let mut r = request();
        r.service = Service::Plumbing;
        r.rooms = vec![Room::Kitchen];
        assert!(matches!(r.validate(&p, &now), Err(DomainError::RoomsNotApplicable(_))));
        let mut r = request();
        r.start = at("2026-03-05T08:00:00+08:00");
        assert!(matches!(r.validate(&p, &now), Err(DomainError::StartInPast(_))));
        let mut r = request();
        r.address.lat = 100.0;
        assert!(r.validate(&p, &now).is_err());
        let mut r = request();
        r.notes = Some("x".repeat(501));
        assert!(r.validate(&p, &now).is_err());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let json = r#"{"service":"cleaning","start":"2026-03-06T10:00:00+08:00",
            "address":{"text":"a","lat":31.2,"lon":121.4},"colour":"red"}"#;
        let err = serde_json::from_str::<OrderRequest>(json).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn closing_refunds_paid_and_lapses_pending_payments() {
        let mut o = sample_order();
        assert_eq!(o.close_payment(), None, "no payment yet");
        let info = |state| PaymentInfo { id: "P1".into(), state, expires_at: None };
        o.payment = Some(info(PaymentState::Paid));
        assert_eq!(o.close_payment(), Some(PaymentState::Refunded));
        assert_eq!(o.close_payment(), None, "already settled");
        o.payment = Some(info(PaymentState::Pending));
        assert_eq!(o.close_payment(), Some(PaymentState::Expired));
    }

    #[test]
    fn rating_happens_once_and_only_when_completed() {
        let mut o = sample_order();
        let now = at("2026-03-06T13:00:00+08:00");
        assert!(o.rate(5, now).is_err());
        o.state = OrderState::Completed;
        assert!(o.rate(0, now).is_err());
        assert!(o.rate(5, now).is_ok());
        assert_eq!(o.rate(4, now), Err(DomainError::AlreadyRated));
        assert_eq!(o.rating, Some(5));
    }
}
