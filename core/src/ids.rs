//! Identifiers. Each is a short printable string with a one-letter prefix.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The one-letter prefix generated ids of this kind carry.
            pub const PREFIX: char = $prefix;

            /// Wraps an id after checking it is a sane identifier.
            pub fn parse(s: &str) -> Result<Self, crate::DomainError> {
                valid_id(s).map(|_| Self(s.to_string())).ok_or_else(|| crate::DomainError::Invalid {
                    field: stringify!($name),
                    reason: "ids are 1 to 64 letters, digits, '-' or '_'".into(),
                })
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
    };
}

id_type!(
    /// An order, e.g. `A1k2x9q0001`.
    OrderId, 'A'
);
id_type!(
    /// A worker, e.g. `W17`.
    WorkerId, 'W'
);
id_type!(
    /// A customer: the subject of a customer token.
    CustomerId, 'C'
);
id_type!(
    /// A payment, e.g. `P1k2x9q0001`.
    PaymentId, 'P'
);

fn valid_id(s: &str) -> Option<()> {
    let ok = !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(())
}

/// Builds unique ids from a node number, a millisecond clock and a sequence.
///
/// Ids sort by creation time, stay unique across restarts (the clock moves
/// on) and across nodes (the node number is part of the id).
#[derive(Debug, Clone)]
pub struct IdGen {
    node: u16,
    last_ms: u64,
    seq: u32,
}

impl IdGen {
    /// A generator for one node (0..=4095).
    pub fn new(node: u16) -> Self {
        Self { node: node & 0x0fff, last_ms: 0, seq: 0 }
    }

    /// The next id with `prefix`, given the current time in ms since the epoch.
    pub fn next(&mut self, prefix: char, now_ms: u64) -> String {
        if now_ms > self.last_ms {
            self.last_ms = now_ms;
            self.seq = 0;
        } else {
            // Same millisecond (or a clock step back): keep counting so ids stay unique.
            self.seq += 1;
            if self.seq >= 1 << 16 {
                self.last_ms += 1;
                self.seq = 0;
            }
        }
        format!("{prefix}{}{:03x}{:04x}", base36(self.last_ms), self.node, self.seq)
    }

    /// The node number inside an id made by [`IdGen::next`] (`None` for ids
    /// made elsewhere, e.g. `W17`). A cluster uses it to find the orders a
    /// lost node was running.
    pub fn node_of(id: &str) -> Option<u16> {
        let n = id.len();
        // prefix + at least one base-36 digit + 3 hex (node) + 4 hex (sequence)
        if n < 9 || !id.is_ascii() {
            return None;
        }
        let (node, seq) = (&id[n - 7..n - 4], &id[n - 4..]);
        if !seq.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(node, 16).ok()
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(9);
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_within_one_millisecond_and_across_nodes() {
        let mut a = IdGen::new(1);
        let mut b = IdGen::new(2);
        let mut seen = HashSet::new();
        for _ in 0..100_000 {
            assert!(seen.insert(a.next('A', 1_700_000_000_000)));
            assert!(seen.insert(b.next('A', 1_700_000_000_000)));
        }
    }

    #[test]
    fn the_node_can_be_read_back_from_an_id() {
        let mut g = IdGen::new(0xabc);
        assert_eq!(IdGen::node_of(&g.next('A', 1_800_000_000_000)), Some(0xabc));
        let mut g = IdGen::new(7);
        assert_eq!(IdGen::node_of(&g.next('A', 1)), Some(7));
        assert_eq!(IdGen::node_of("W17"), None);
        assert_eq!(IdGen::node_of("A1234zz0001"), None);
        assert_eq!(IdGen::node_of("Ax00z0001"), None);
    }

    #[test]
    fn ids_survive_a_clock_step_back() {
        let mut g = IdGen::new(0);
        let x = g.next('P', 2_000);
        let y = g.next('P', 1_000);
        assert_ne!(x, y);
        assert!(x.starts_with('P'));
    }

    #[test]
    fn parse_rejects_odd_ids() {
        assert!(OrderId::parse("A1023").is_ok());
        assert!(OrderId::parse("").is_err());
        assert!(OrderId::parse("A 1").is_err());
        assert!(OrderId::parse("../etc").is_err());
        assert!(OrderId::parse(&"x".repeat(65)).is_err());
    }
}
