//! A cursor-free scanner over normalized characters: every helper takes a position and
//! returns the position after what it matched, so alternatives can be tried without state.

/// The normalized sentence as characters.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    chars: &'a [char],
}

impl<'a> Text<'a> {
    /// Wraps normalized characters.
    pub fn new(chars: &'a [char]) -> Self {
        Text { chars }
    }

    /// Number of characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// The character at `at`.
    pub fn at(&self, at: usize) -> Option<char> {
        self.chars.get(at).copied()
    }

    /// Whether `c` is at `at`.
    pub fn is(&self, at: usize, c: char) -> bool {
        self.at(at) == Some(c)
    }

    /// The end of `word` when it is written at `at`.
    pub fn lit(&self, at: usize, word: &str) -> Option<usize> {
        let mut i = at;
        for w in word.chars() {
            if self.at(i)? != w {
                return None;
            }
            i += 1;
        }
        Some(i)
    }

    /// The longest word of `table` written at `at`: (index in `table`, end); the first on a tie.
    pub fn longest<W: WordTable + ?Sized>(&self, at: usize, table: &W) -> Option<(usize, usize)> {
        (0..table.entries())
            .filter_map(|k| self.lit(at, table.word(k)).map(|end| (k, end)))
            .max_by_key(|&(k, end)| (end, std::cmp::Reverse(k)))
    }

    /// Whether `word` ends exactly at `end` (exclusive).
    pub fn ends_with(&self, end: usize, word: &str) -> bool {
        let n = word.chars().count();
        end >= n && self.lit(end - n, word) == Some(end)
    }

    /// ASCII digits at `at`: (value, end, digit count); at most 9 digits are read.
    pub fn digits(&self, at: usize) -> Option<(u32, usize, usize)> {
        let mut i = at;
        let mut value: u32 = 0;
        while let Some(d) = self.at(i).and_then(|c| c.to_digit(10)) {
            if i - at >= 9 {
                return None;
            }
            value = value * 10 + d;
            i += 1;
        }
        (i > at).then_some((value, i, i - at))
    }

    /// A number at `at` not glued to a preceding digit: digits with an optional decimal part.
    pub fn number(&self, at: usize) -> Option<(f64, usize)> {
        if at > 0 && self.at(at - 1).is_some_and(|c| c.is_ascii_digit() || c == '.') {
            return None;
        }
        let (whole, end, _) = self.digits(at)?;
        if self.is(end, '.') {
            if let Some((frac, fend, n)) = self.digits(end + 1) {
                return Some((whole as f64 + frac as f64 / 10f64.powi(n as i32), fend));
            }
        }
        Some((whole as f64, end))
    }

    /// Skips spaces.
    pub fn skip_spaces(&self, at: usize) -> usize {
        let mut i = at;
        while self.is(i, ' ') {
            i += 1;
        }
        i
    }

    /// Whether a match may start at `at`: not inside a number or a Latin word.
    pub fn is_boundary(&self, at: usize) -> bool {
        match (at.checked_sub(1).and_then(|p| self.at(p)), self.at(at)) {
            (Some(p), Some(c)) if c.is_ascii_alphanumeric() => !(p.is_ascii_alphanumeric() || p == '.' || p == ':'),
            _ => true,
        }
    }
}

/// A table whose entries are, or start with, a word (so lookups need no word list).
pub trait WordTable {
    /// Number of entries.
    fn entries(&self) -> usize;
    /// The word of entry `k`.
    fn word(&self, k: usize) -> &str;
}

impl<const N: usize> WordTable for [&str; N] {
    fn entries(&self) -> usize {
        N
    }
    fn word(&self, k: usize) -> &str {
        self[k]
    }
}

impl WordTable for [&str] {
    fn entries(&self) -> usize {
        self.len()
    }
    fn word(&self, k: usize) -> &str {
        self[k]
    }
}

impl<T> WordTable for [(&str, T)] {
    fn entries(&self) -> usize {
        self.len()
    }
    fn word(&self, k: usize) -> &str {
        self[k].0
    }
}

impl<A, B> WordTable for [(&str, A, B)] {
    fn entries(&self) -> usize {
        self.len()
    }
    fn word(&self, k: usize) -> &str {
        self[k].0
    }
}

/// A weekday digit or character (`1`–`7`, `日`, `天`) at `at`: (1 = Monday … 7 = Sunday, end).
pub fn weekday(t: &Text, at: usize) -> Option<(u32, usize)> {
    match t.at(at)? {
        c @ '1'..='7' if !t.at(at + 1).is_some_and(|n| n.is_ascii_digit()) => Some((c as u32 - '0' as u32, at + 1)),
        '日' | '天' => Some((7, at + 1)),
        // Left as written by the normalizer when glued to digits (`周二10点`).
        c @ ('一' | '二' | '三' | '四' | '五' | '六') => {
            Some(("一二三四五六".chars().position(|x| x == c)? as u32 + 1, at + 1))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_words_and_numbers() {
        let chars: Vec<char> = "下下周3 12.5天".chars().collect();
        let t = Text::new(&chars);
        assert_eq!(t.longest(0, &["下", "下下", "下下周"]), Some((2, 3)));
        assert_eq!(weekday(&t, 3), Some((3, 4)));
        assert_eq!(t.number(5), Some((12.5, 9)));
        assert_eq!(t.number(6), None);
        assert!(t.ends_with(3, "下周"));
    }
}
