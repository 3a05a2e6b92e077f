//! English date-time expressions.
//!
//! A hand-written matcher over tokens (no regex): the sentence is lower-cased
//! and tokenized once (`lex`), then at each token every top-level matcher is
//! tried and the longest match wins; matching resumes after it. The matchers:
//! days (`date`, `holiday`), spans of days (`range`, `period`,
//! `span`), times and spans of a day (`clock`), their combinations and
//! offsets (`combine`), lengths (`duration`) and recurring times (`set`);
//! `number` reads numbers in digits or words. Each match carries the
//! Recognizers-Text values and the booking resolution ([`super::DomainTime`],
//! built from `value`). Day and span matches are memoized per token, since
//! many matchers ask for the same sub-expression.

use std::cell::RefCell;

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

use super::{DomainTime, TimeEntity, TimeKind};

mod clock;
mod combine;
mod date;
mod duration;
mod holiday;
mod lex;
mod number;
mod period;
mod range;
mod set;
mod span;
mod value;

use lex::{Tok, TokKind};

/// Finds the English date-time expressions of `text` (see [`super::parse`]).
pub fn parse(text: &str, reference: NaiveDateTime) -> Vec<TimeEntity> {
    let toks = lex::tokenize(text);
    let p = Parser {
        toks: &toks,
        now: reference,
        today: reference.date(),
        dates: RefCell::new(vec![None; toks.len()]),
        ranges: RefCell::new(vec![None; toks.len()]),
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match p.best_at(i) {
            Some(found) if found.end > i => {
                out.push(p.entity(text, i, found.end, found.kind, found.values, found.domain));
                i = found.end;
            }
            _ => i += 1,
        }
    }
    out
}

/// A match: its kind, the token after it, its values and booking resolution.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    kind: TimeKind,
    end: usize,
    values: Vec<Map<String, Value>>,
    domain: DomainTime,
}

/// Per-token results of a matcher: not tried yet (`None`), or its match (`Some(None)` when none).
type Memo<T> = RefCell<Vec<Option<Option<(usize, T)>>>>;

/// The tokens of one sentence and its reference time.
pub(crate) struct Parser<'a> {
    toks: &'a [Tok],
    now: NaiveDateTime,
    today: NaiveDate,
    /// `date_expr` results by token (the matchers ask for the same day many times).
    dates: Memo<value::DateV>,
    /// `range_expr` results by token.
    ranges: Memo<range::RangeV>,
}

impl Parser<'_> {
    /// Lower-cased text of token `i`, or "" past the end.
    fn w(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| t.text.as_str())
    }

    /// Whether token `i` is `word`.
    fn is(&self, i: usize, word: &str) -> bool {
        self.w(i) == word
    }

    /// Whether token `i` is one of `words`.
    fn any(&self, i: usize, words: &[&str]) -> bool {
        let w = self.w(i);
        !w.is_empty() && words.contains(&w)
    }

    /// Whether token `i` follows token `i - 1` with no space.
    fn glued(&self, i: usize) -> bool {
        self.toks.get(i).is_some_and(|t| !t.spaced)
    }

    /// The value of number token `i`.
    fn num(&self, i: usize) -> Option<u32> {
        self.toks.get(i).and_then(Tok::num)
    }

    /// Number of digits of token `i` when it is a number.
    fn digits(&self, i: usize) -> usize {
        self.toks.get(i).filter(|t| t.kind == TokKind::Num).map_or(0, |t| t.text.len())
    }

    /// Skips the optional word `word` at `i`.
    fn opt(&self, i: usize, word: &str) -> usize {
        if self.is(i, word) {
            i + 1
        } else {
            i
        }
    }

    /// The best (longest, then first-tried) match starting at token `i`.
    fn best_at(&self, i: usize) -> Option<Found> {
        let candidates = [
            self.set_at(i),
            self.open_at(i),
            self.datetime_range_at(i),
            self.datetime_at(i),
            self.date_range_at(i),
            self.date_at(i),
            self.time_range_at(i),
            self.time_at(i),
            self.duration_at(i),
        ];
        let mut best: Option<Found> = None;
        for f in candidates.into_iter().flatten() {
            // a matcher that looked past the last token must not produce a span
            if f.end > self.toks.len() || self.glued_to_neighbours(i, f.end) {
                continue;
            }
            if best.as_ref().is_none_or(|b| f.end > b.end) {
                best = Some(f);
            }
        }
        best
    }

    /// Whether tokens `from..to` are glued to letters or digits around them
    /// (`3am3io`, `4.85`, `b8ab-413d`): then they are part of another token.
    fn glued_to_neighbours(&self, from: usize, to: usize) -> bool {
        let alnum = |i: usize| self.toks.get(i).is_some_and(|t| t.kind != TokKind::Punct);
        let joiner = |i: usize| self.any(i, &["-", ".", "/", ":"]);
        let before = from > 0
            && self.glued(from)
            && (alnum(from - 1)
                || (joiner(from - 1) && from > 1 && self.glued(from - 1) && self.num(from - 2).is_some()));
        let after = self.glued(to)
            && (alnum(to)
                || (joiner(to) && self.glued(to + 1) && self.toks.get(to + 1).is_some_and(|t| t.kind == TokKind::Num)));
        before || after
    }

    /// The entity for tokens `from..to`.
    fn entity(
        &self,
        text: &str,
        from: usize,
        to: usize,
        kind: TimeKind,
        values: Vec<Map<String, Value>>,
        domain: DomainTime,
    ) -> TimeEntity {
        let start = self.toks[from].start;
        let end = self.toks[to - 1].end;
        let text: String = text.chars().skip(start).take(end - start).collect();
        TimeEntity { text, kind, start, end: end - 1, values, domain }
    }
}

#[cfg(test)]
mod tests;
