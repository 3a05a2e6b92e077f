//! Counters of what the engine did, named once here (`/metrics` renders them).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! counters {
    ($($field:ident => $method:ident, $name:literal, $help:literal;)+) => {
        /// Engine counters; cheap atomics, read by `/metrics` and `/ops`.
        #[derive(Debug, Default)]
        pub struct Metrics { $($field: AtomicU64,)+ }

        impl Metrics {
            $(
                #[doc = $help]
                pub fn $method(&self) { self.$field.fetch_add(1, Relaxed); }
            )+

            /// Every counter as (metric name, help, value).
            pub fn all(&self) -> Vec<(&'static str, &'static str, u64)> {
                vec![$(($name, $help, self.$field.load(Relaxed)),)+]
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
}

impl Metrics {
    /// Records a call for proposals sent to `n` workers.
    pub fn cfp(&self, n: usize) {
        self.cfp_sent.fetch_add(n as u64, Relaxed);
    }

    /// Records `n` bids received.
    pub fn bids(&self, n: usize) {
        self.bids_received.fetch_add(n as u64, Relaxed);
    }
}
