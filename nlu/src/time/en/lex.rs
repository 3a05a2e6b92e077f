//! Tokens and number words for the English parser.
//!
//! The sentence is lower-cased once, char by char (so char offsets stay those
//! of the input), and cut into words (letter runs), numbers (digit runs) and
//! single punctuation marks. Matchers then work on token indices.

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    /// A run of letters.
    Word,
    /// A run of ASCII digits.
    Num,
    /// One other non-space char.
    Punct,
}

/// One token: its lower-cased text and char span.
#[derive(Debug, Clone)]
pub struct Tok {
    /// Word, number or punctuation.
    pub kind: TokKind,
    /// Lower-cased text.
    pub text: String,
    /// First char offset.
    pub start: usize,
    /// One past the last char offset.
    pub end: usize,
    /// Whether whitespace (or the sentence start) comes right before.
    pub spaced: bool,
}

impl Tok {
    /// The value of a number token (digits only, at most 9 of them).
    pub fn num(&self) -> Option<u32> {
        if self.kind == TokKind::Num && self.text.len() <= 9 {
            self.text.parse().ok()
        } else {
            None
        }
    }
}

/// Cuts `text` into tokens, lower-cased, with char offsets.
pub fn tokenize(text: &str) -> Vec<Tok> {
    let mut toks: Vec<Tok> = Vec::new();
    let mut spaced = true;
    for (pos, c) in text.chars().enumerate() {
        if c.is_whitespace() {
            spaced = true;
            continue;
        }
        let lc = c.to_lowercase().next().unwrap_or(c);
        let kind = if c.is_ascii_digit() {
            TokKind::Num
        } else if c.is_alphabetic() {
            TokKind::Word
        } else {
            TokKind::Punct
        };
        match toks.last_mut() {
            Some(last) if !spaced && kind != TokKind::Punct && last.kind == kind && last.end == pos => {
                last.text.push(lc);
                last.end = pos + 1;
            }
            _ => toks.push(Tok { kind, text: lc.to_string(), start: pos, end: pos + 1, spaced }),
        }
        spaced = false;
    }
    toks
}

/// The value of a cardinal number word below 100 that stands alone (`one` … `ninety`).
pub fn unit_word(w: &str) -> Option<u32> {
    Some(match w {
        "zero" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        _ => return tens_word(w),
    })
}

/// The value of a tens word (`twenty` … `ninety`).
pub fn tens_word(w: &str) -> Option<u32> {
    Some(match w {
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// The value of an ordinal word (`first` … `thirty`, `twentieth`).
pub fn ordinal_word(w: &str) -> Option<u32> {
    Some(match w {
        "first" => 1,
        "second" => 2,
        "third" => 3,
        "fourth" => 4,
        "fifth" => 5,
        "sixth" => 6,
        "seventh" => 7,
        "eighth" => 8,
        "ninth" => 9,
        "tenth" => 10,
        "eleventh" => 11,
        "twelfth" => 12,
        "thirteenth" => 13,
        "fourteenth" => 14,
        "fifteenth" => 15,
        "sixteenth" => 16,
        "seventeenth" => 17,
        "eighteenth" => 18,
        "nineteenth" => 19,
        "twentieth" => 20,
        "thirtieth" => 30,
        _ => return None,
    })
}

/// Month number of a month name or abbreviation.
pub fn month_word(w: &str) -> Option<u32> {
    Some(match w {
        "january" | "jan" => 1,
        "february" | "feb" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    })
}

/// Day of week (Monday = 1 … Sunday = 7) of a weekday name or abbreviation.
pub fn weekday_word(w: &str) -> Option<u32> {
    Some(match w {
        "monday" | "mon" => 1,
        "tuesday" | "tue" | "tues" => 2,
        "wednesday" | "wed" => 3,
        "thursday" | "thu" | "thur" | "thurs" => 4,
        "friday" | "fri" => 5,
        "saturday" | "sat" => 6,
        "sunday" | "sun" => 7,
        _ => return None,
    })
}

/// Day of week of a plural weekday (`mondays`).
pub fn weekday_plural(w: &str) -> Option<u32> {
    w.strip_suffix('s').filter(|s| s.len() > 5).and_then(weekday_word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_char_offsets() {
        let t = tokenize("Ça 10:30AM, 4th");
        let texts: Vec<&str> = t.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["ça", "10", ":", "30", "am", ",", "4", "th"]);
        assert_eq!((t[0].start, t[0].end), (0, 2));
        assert_eq!((t[4].start, t[4].end, t[4].spaced), (8, 10, false));
        assert!(t[6].spaced);
    }

    #[test]
    fn words_have_values() {
        assert_eq!(unit_word("twelve"), Some(12));
        assert_eq!(ordinal_word("third"), Some(3));
        assert_eq!(month_word("sept"), Some(9));
        assert_eq!(weekday_plural("fridays"), Some(5));
        assert_eq!(weekday_plural("sats"), None);
    }
}
