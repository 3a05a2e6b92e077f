//! Configurable business policy: prices, booking window, cancellation fees,
//! rescheduling limits and the payment window (`[policy]` in the config).

use crate::catalog::Service;
use crate::money::Money;
use crate::order::Order;
use crate::state::OrderState;
use crate::DomainError;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Price and duration rules of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePrice {
    /// Price per hour in cents.
    pub hourly_cents: i64,
    /// Duration when the customer gives none.
    pub default_minutes: u32,
    /// Shortest booking.
    pub min_minutes: u32,
    /// Longest booking.
    pub max_minutes: u32,
}

/// Every rule a booking is checked against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policies {
    /// Minutes a customer has to pay before the order is cancelled.
    pub payment_window_minutes: u32,
    /// How far ahead bookings are taken.
    pub booking_horizon_days: u32,
    /// The earliest start, in minutes from now.
    pub min_lead_minutes: u32,
    /// Cancellation fees.
    pub cancellation: CancellationPolicy,
    /// Rescheduling limits.
    pub reschedule: ReschedulePolicy,
    /// Prices per service.
    pub prices: BTreeMap<Service, ServicePrice>,
}

/// Free cancellation until some hours before the start, then a percentage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CancellationPolicy {
    /// Cancelling at least this many hours before the start is free.
    pub free_until_hours_before: i64,
    /// Otherwise this percentage of the price is kept.
    pub late_fee_percent: u32,
}

/// How late and how often an order may be moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReschedulePolicy {
    /// Notice needed before the current start.
    pub min_notice_hours: i64,
    /// Times one order may be rescheduled.
    pub max_times: u32,
}

impl Default for CancellationPolicy {
    fn default() -> Self {
        Self { free_until_hours_before: 24, late_fee_percent: 20 }
    }
}

impl Default for ReschedulePolicy {
    fn default() -> Self {
        Self { min_notice_hours: 2, max_times: 3 }
    }
}

fn price(hourly_yuan: i64, default_h: u32, min_h: u32, max_h: u32) -> ServicePrice {
    ServicePrice {
        hourly_cents: hourly_yuan * 100,
        default_minutes: default_h * 60,
        min_minutes: min_h * 60,
        max_minutes: max_h * 60,
    }
}

impl Default for Policies {
    fn default() -> Self {
        use Service::*;
        let prices = [
            (Cleaning, price(120, 2, 1, 8)),
            (DeepCleaning, price(150, 4, 2, 10)),
            (MoveInCleaning, price(160, 4, 2, 10)),
            (WindowCleaning, price(130, 2, 1, 8)),
            (ApplianceCleaning, price(140, 2, 1, 6)),
            (Nanny, price(60, 8, 4, 12)),
            (MaternityNurse, price(80, 10, 4, 12)),
            (ElderlyCare, price(70, 4, 2, 12)),
            (Plumbing, price(100, 1, 1, 6)),
            (Electrical, price(110, 1, 1, 6)),
            (ApplianceRepair, price(120, 1, 1, 6)),
            (Moving, price(200, 3, 2, 10)),
        ]
        .into_iter()
        .collect();
        Self {
            payment_window_minutes: 15,
            booking_horizon_days: 90,
            min_lead_minutes: 30,
            cancellation: CancellationPolicy::default(),
            reschedule: ReschedulePolicy::default(),
            prices,
        }
    }
}

impl Policies {
    /// The price rules of `service` (every service has some; defaults fill gaps).
    pub fn service(&self, service: Service) -> ServicePrice {
        self.prices
            .get(&service)
            .cloned()
            .or_else(|| Policies::default().prices.get(&service).cloned())
            .unwrap_or(ServicePrice { hourly_cents: 10_000, default_minutes: 120, min_minutes: 60, max_minutes: 480 })
    }

    /// The duration to book: the requested one, checked, or the service default.
    pub fn duration(&self, service: Service, requested: Option<u32>) -> Result<u32, DomainError> {
        let p = self.service(service);
        let got = requested.unwrap_or(p.default_minutes);
        if got < p.min_minutes || got > p.max_minutes || !got.is_multiple_of(30) {
            return Err(DomainError::BadDuration { min: p.min_minutes, max: p.max_minutes, got });
        }
        Ok(got)
    }

    /// The price of `minutes` of `service`.
    pub fn quote(&self, service: Service, minutes: u32) -> Money {
        Money::cny(self.service(service).hourly_cents * minutes as i64 / 60)
    }

    /// Checks a start time is bookable at `now`.
    pub fn check_start(&self, start: &DateTime<FixedOffset>, now: &DateTime<FixedOffset>) -> Result<(), DomainError> {
        let lead = start.signed_duration_since(*now).num_minutes();
        if lead < self.min_lead_minutes as i64 {
            return Err(DomainError::StartInPast(start.to_rfc3339()));
        }
        if lead > self.booking_horizon_days as i64 * 24 * 60 {
            return Err(DomainError::TooFarAhead(self.booking_horizon_days as i64));
        }
        Ok(())
    }

    /// The fee for cancelling `order` at `now`.
    pub fn cancellation_fee(&self, order: &Order, now: &DateTime<FixedOffset>) -> Money {
        // Nothing was paid before confirmation, so there is nothing to keep.
        if order.state != OrderState::Confirmed {
            return Money::ZERO;
        }
        let hours_before = order.start.signed_duration_since(*now).num_hours();
        if hours_before >= self.cancellation.free_until_hours_before {
            Money::ZERO
        } else {
            order.price.percent(self.cancellation.late_fee_percent)
        }
    }

    /// Checks `order` may move to `new_start` at `now`.
    pub fn check_reschedule(
        &self,
        order: &Order,
        new_start: &DateTime<FixedOffset>,
        now: &DateTime<FixedOffset>,
    ) -> Result<(), DomainError> {
        if order.reschedules >= self.reschedule.max_times {
            return Err(DomainError::TooManyReschedules(self.reschedule.max_times));
        }
        if order.start.signed_duration_since(*now).num_hours() < self.reschedule.min_notice_hours {
            return Err(DomainError::TooLate { action: "reschedule", hours: self.reschedule.min_notice_hours });
        }
        self.check_start(new_start, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::tests::sample_order;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap_or_default()
    }

    #[test]
    fn quote_matches_the_design_example() {
        let p = Policies::default();
        assert_eq!(p.quote(Service::Cleaning, 120), Money::cny(24000));
        assert_eq!(p.duration(Service::Cleaning, None), Ok(120));
        assert!(p.duration(Service::Cleaning, Some(45)).is_err());
        assert!(p.duration(Service::Cleaning, Some(24 * 60)).is_err());
    }

    #[test]
    fn cancellation_is_free_early_and_costs_late_when_paid() {
        let p = Policies::default();
        let mut o = sample_order();
        o.state = OrderState::Confirmed;
        assert_eq!(p.cancellation_fee(&o, &at("2026-03-04T10:00:00+08:00")), Money::ZERO);
        assert_eq!(p.cancellation_fee(&o, &at("2026-03-06T08:00:00+08:00")), Money::cny(4800));
        o.state = OrderState::AwaitingPayment;
        assert_eq!(p.cancellation_fee(&o, &at("2026-03-06T08:00:00+08:00")), Money::ZERO);
    }

    #[test]
    fn start_must_be_ahead_and_within_the_horizon() {
        let p = Policies::default();
        let now = at("2026-03-05T10:00:00+08:00");
        assert!(p.check_start(&at("2026-03-06T10:00:00+08:00"), &now).is_ok());
        assert!(matches!(p.check_start(&at("2026-03-05T09:00:00+08:00"), &now), Err(DomainError::StartInPast(_))));
        assert!(matches!(p.check_start(&at("2027-03-05T09:00:00+08:00"), &now), Err(DomainError::TooFarAhead(_))));
    }

    #[test]
    fn reschedule_needs_notice_and_has_a_limit() {
        let p = Policies::default();
        let mut o = sample_order();
        let now = at("2026-03-05T10:00:00+08:00");
        assert!(p.check_reschedule(&o, &at("2026-03-07T10:00:00+08:00"), &now).is_ok());
        assert!(p.check_reschedule(&o, &at("2026-03-07T10:00:00+08:00"), &at("2026-03-06T09:00:00+08:00")).is_err());
        o.reschedules = 3;
        assert_eq!(
            p.check_reschedule(&o, &at("2026-03-07T10:00:00+08:00"), &now),
            Err(DomainError::TooManyReschedules(3))
        );
    }
}
