//! Money in integer cents; never floating point.

use serde::{Deserialize, Serialize};

/// An amount of money in the smallest unit of its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Money {
    /// Amount in cents (fen for CNY).
    pub amount_cents: i64,
    /// ISO 4217 code; the platform bills in CNY.
    pub currency: Currency,
}

/// Currencies the platform bills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub enum Currency {
    /// Chinese yuan renminbi.
    #[default]
    CNY,
}

impl Money {
    /// An amount in CNY cents.
    pub const fn cny(amount_cents: i64) -> Self {
        Self { amount_cents, currency: Currency::CNY }
    }

    /// Zero CNY.
    pub const ZERO: Money = Money::cny(0);

    /// `percent` per cent of this amount, rounded half up to the cent.
    pub fn percent(self, percent: u32) -> Self {
        let cents = (self.amount_cents * percent as i64 + 50) / 100;
        Self { amount_cents: cents, currency: self.currency }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "¥{}.{:02}", self.amount_cents / 100, self.amount_cents % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_half_up() {
        assert_eq!(Money::cny(24000).percent(20), Money::cny(4800));
        assert_eq!(Money::cny(5).percent(50), Money::cny(3));
        assert_eq!(Money::cny(0).percent(100), Money::ZERO);
    }

    #[test]
    fn displays_in_yuan() {
        assert_eq!(Money::cny(24005).to_string(), "¥240.05");
    }
}
