//! Numbers in digits or words as the matchers need them: days of the month
//! (`21st`, `twenty first`), years (`2019`, `nineteen eighty six`) and counts
//! (`3`, `a couple of`, `few`).

use super::lex::{ordinal_word, tens_word, unit_word};
use super::Parser;

impl Parser<'_> {
    /// A day of month: `21`, `21st`, `twenty first`, `thirty-first`.
    pub(super) fn day_number(&self, i: usize) -> Option<(usize, u32)> {
        let (j, n) = self.ordinal_or_number(i)?;
        (1..=31).contains(&n).then_some((j, n))
    }

    /// A number 1–99 or ordinal, in digits (`4`, `4th`) or words (`twenty four`, `fourth`, `twenty-fourth`).
    pub(super) fn ordinal_or_number(&self, i: usize) -> Option<(usize, u32)> {
        if let Some(n) = self.num(i) {
            if self.digits(i) > 2 {
                return None;
            }
            if self.glued(i + 1) && self.any(i + 1, &["st", "nd", "rd", "th"]) {
                return Some((i + 2, n));
            }
            return Some((i + 1, n));
        }
        let w = self.w(i);
        if let Some(n) = ordinal_word(w) {
            return Some((i + 1, n));
        }
        if let Some(t) = tens_word(w) {
            let j = if self.is(i + 1, "-") { i + 2 } else { i + 1 };
            if let Some(u) = ordinal_word(self.w(j)).or_else(|| unit_word(self.w(j))).filter(|u| *u < 10 && *u > 0) {
                return Some((j + 1, t + u));
            }
            return Some((i + 1, t));
        }
        unit_word(w).map(|n| (i + 1, n))
    }

    /// A day of month as an ordinal only (`4th`, `fourth`, `twenty fourth`).
    pub(super) fn ordinal_day(&self, i: usize) -> Option<(usize, u32)> {
        let (j, n) = self.day_number(i)?;
        let last = self.w(j - 1);
        let ordinal = ["st", "nd", "rd", "th"].contains(&last) || ordinal_word(last).is_some();
        ordinal.then_some((j, n))
    }

    /// A four-digit year 1000–2999 (or `two thousand and five`, `nineteen eighty six`).
    pub(super) fn year(&self, i: usize) -> Option<(usize, i32)> {
        if self.digits(i) == 4 {
            let y = self.num(i)? as i32;
            return (1000..3000).contains(&y).then_some((i + 1, y));
        }
        self.year_words(i)
    }

    fn year_words(&self, i: usize) -> Option<(usize, i32)> {
        let w = self.w(i);
        if w == "two" && self.is(i + 1, "thousand") {
            let mut j = self.opt(i + 2, "and");
            let rest = self.ordinal_or_number(j).filter(|_| ordinal_word(self.w(j)).is_none());
            if let Some((k, n)) = rest {
                j = k;
                return Some((j, 2000 + n as i32));
            }
            return Some((i + 2, 2000));
        }
        let hi = unit_word(w).filter(|n| (10..=20).contains(n))?;
        if self.is(i + 1, "hundred") {
            let (k, lo) = self.ordinal_or_number(i + 2)?;
            return Some((k, (hi * 100 + lo) as i32));
        }
        let lo_w = self.w(i + 1);
        tens_word(lo_w)?;
        let (k, lo) = self.ordinal_or_number(i + 1)?;
        if ordinal_word(self.w(k - 1)).is_some() {
            return None;
        }
        Some((k, (hi * 100 + lo) as i32))
    }

    /// A count: digits, number words, `a`, `an`, `couple`, `a couple of`, `few`.
    pub(super) fn count(&self, i: usize) -> Option<(usize, u32)> {
        if let Some(n) = self.num(i) {
            return (self.digits(i) <= 3).then_some((i + 1, n));
        }
        match self.w(i) {
            "a" | "an" if self.is(i + 1, "couple") => Some((self.opt(i + 2, "of"), 2)),
            "couple" => Some((self.opt(i + 1, "of"), 2)),
            "a" | "an" if self.is(i + 1, "few") => Some((i + 2, 3)),
            "few" | "several" | "some" => Some((i + 1, 3)),
            "a" | "an" | "one" => Some((i + 1, 1)),
            w if ordinal_word(w).is_none() => {
                let (j, n) = self.ordinal_or_number(i)?;
                (ordinal_word(self.w(j - 1)).is_none()).then_some((j, n))
            }
            _ => None,
        }
    }
}
