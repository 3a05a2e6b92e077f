//! What the engine did, named once here: OpenTelemetry instruments that the
//! node's exporter renders at `/metrics` (Prometheus text). Instruments are
//! taken from the global meter when the engine starts, so the node installs
//! its meter provider first; without one they record nothing.

use autoglm_core::telemetry::{COUNT_BUCKETS, LATENCY_BUCKETS, METER};
use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry::KeyValue;
use std::time::Duration;

macro_rules! counters {
    ($($field:ident => $method:ident, $name:literal, $help:literal;)+) => {
        /// Engine counters and histograms.
        #[derive(Debug)]
        pub struct Metrics {
            $($field: Counter<u64>,)+
            negotiation_seconds: Histogram<f64>,
            negotiation_rounds: Histogram<u64>,
            negotiation_bids: Histogram<u64>,
        }

        impl Metrics {
            $(
                #[doc = $help]
                pub fn $method(&self) { self.$field.add(1, &[]); }
            )+

            fn from_meter(meter: &Meter) -> Self {
                // Each counter is touched once so that it is exported (as 0) before its
                // first event: dashboards and alerts see a series, not a gap.
                let counter = |name: &'static str, help: &'static str| {
                    let c = meter.u64_counter(name).with_description(help).build();
                    c.add(0, &[]);
                    c
                };
                Self {
                    $($field: counter($name, $help),)+
                    negotiation_seconds: meter
                        .f64_histogram("autoglm_negotiation_duration_seconds")
                        .with_description("Contract-net negotiations (all rounds) by outcome.")
                        .with_boundaries(LATENCY_BUCKETS.to_vec())
                        .build(),
                    negotiation_rounds: meter
                        .u64_histogram("autoglm_negotiation_rounds")
                        .with_description("Calls for proposals (waves) one negotiation sent.")
                        .with_boundaries(COUNT_BUCKETS.to_vec())
                        .build(),
                    negotiation_bids: meter
                        .u64_histogram("autoglm_negotiation_bids")
                        .with_description("Bids one negotiation received (bids per order).")
                        .with_boundaries(COUNT_BUCKETS.to_vec())
                        .build(),
                }
            }
        }
    };
}

counters! {
    created => created, "autoglm_orders_created_total", "Orders accepted for negotiation.";
    assigned => assigned, "autoglm_orders_assigned_total", "Orders a worker accepted.";
    unassignable => unassignable, "autoglm_orders_unassignable_total", "Orders nobody could take.";
    paid => paid, "autoglm_payments_paid_total", "Payments received.";
    expired => expired, "autoglm_payments_expired_total", "Payment windows that closed unpaid.";
    cancelled => cancelled, "autoglm_orders_cancelled_total", "Orders cancelled.";
    lost_races => lost_race, "autoglm_dispatch_lost_races_total", "Awards refused or lost at commit.";
    callbacks_rejected => callback_rejected, "autoglm_payment_callbacks_rejected_total", "Payment callbacks refused (forged, replayed, late).";
    reconciled => reconciled, "autoglm_payments_reconciled_total", "Payments found paid by reconciliation.";
    cfp_sent => cfp_one, "autoglm_dispatch_cfp_sent_total", "Calls for proposals sent to workers.";
    bids_received => bid_one, "autoglm_dispatch_bids_total", "Bids received from workers.";
    chat_turns => chat_turn, "autoglm_chat_turns_total", "Chat turns answered.";
}

impl Default for Metrics {
    fn default() -> Self {
        Self::from_meter(&opentelemetry::global::meter(METER))
    }
}

impl Metrics {
    /// Records a call for proposals sent to `n` workers.
    pub fn cfp(&self, n: usize) {
        self.cfp_sent.add(n as u64, &[]);
    }

    /// Records `n` bids received.
    pub fn bids(&self, n: usize) {
        self.bids_received.add(n as u64, &[]);
    }

    /// Records one finished negotiation: how long it took, how many waves
    /// of calls for proposals it sent, how many bids came back, and its
    /// `outcome` (`placed`, `nobody`, `error`).
    pub fn negotiation(&self, took: Duration, rounds: u64, bids: u64, outcome: &'static str) {
        let outcome = [KeyValue::new("outcome", outcome)];
        self.negotiation_seconds.record(took.as_secs_f64(), &outcome);
        self.negotiation_rounds.record(rounds, &outcome);
        self.negotiation_bids.record(bids, &outcome);
    }
}
