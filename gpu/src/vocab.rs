//! Characters to ids: the normalisation the network sees and the vocabulary
//! built from a training corpus.
//!
//! Normalisation maps one character to exactly one character, so the char
//! offsets of tagged spans are offsets into the caller's text.

use std::collections::HashMap;

/// The padding id: fills short sentences up to the batch's length.
pub const PAD: i64 = 0;
/// The id of characters the vocabulary does not know.
pub const UNK: i64 = 1;
/// How the padding entry is spelled in a manifest.
pub const PAD_TOKEN: &str = "<pad>";
/// How the unknown entry is spelled in a manifest.
pub const UNK_TOKEN: &str = "<unk>";

/// Folds one character: full-width ASCII to ASCII, the ideographic space to a
/// space, letters to lower case (when that is one character).
pub fn fold_char(c: char) -> char {
    let c = match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The character vocabulary: `<pad>`, `<unk>`, then corpus characters by
/// falling frequency (ties by code point), so it is the same for the same corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct CharVocab {
    chars: Vec<char>,
    ids: HashMap<char, i64>,
}

impl CharVocab {
    /// Builds the vocabulary of `texts`, keeping characters seen at least `min_count` times.
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>, min_count: usize) -> Self {
        let mut counts: HashMap<char, usize> = HashMap::new();
        for text in texts {
            for c in text.chars() {
                *counts.entry(fold_char(c)).or_insert(0) += 1;
            }
        }
        let mut chars: Vec<(char, usize)> = counts.into_iter().filter(|(_, n)| *n >= min_count.max(1)).collect();
        chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Self::from_chars(chars.into_iter().map(|(c, _)| c).collect())
    }

    fn from_chars(chars: Vec<char>) -> Self {
        let ids = chars.iter().enumerate().map(|(i, c)| (*c, i as i64 + 2)).collect();
        Self { chars, ids }
    }

    /// Reads the manifest form (see [`CharVocab::to_entries`]); the error names the first bad entry.
    pub fn from_entries(entries: &[String]) -> Result<Self, String> {
        match entries {
            [pad, unk, ..] if pad == PAD_TOKEN && unk == UNK_TOKEN => {}
            _ => return Err(format!("vocab must start with {PAD_TOKEN:?}, {UNK_TOKEN:?}")),
        }
        let mut chars = Vec::with_capacity(entries.len() - 2);
        for (i, entry) in entries.iter().enumerate().skip(2) {
            let mut it = entry.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => chars.push(c),
                _ => return Err(format!("vocab entry {i} ({entry:?}) is not a single character")),
            }
        }
        let vocab = Self::from_chars(chars);
        if vocab.ids.len() != vocab.chars.len() {
            return Err("vocab has duplicate characters".to_string());
        }
        Ok(vocab)
    }

    /// The manifest form: `["<pad>", "<unk>", "a", "的", ...]`.
    pub fn to_entries(&self) -> Vec<String> {
        let mut out = vec![PAD_TOKEN.to_string(), UNK_TOKEN.to_string()];
        out.extend(self.chars.iter().map(|c| c.to_string()));
        out
    }

    /// Number of ids, `<pad>` and `<unk>` included.
    pub fn len(&self) -> usize {
        self.chars.len() + 2
    }

    /// Whether the vocabulary knows no character (only `<pad>` and `<unk>`).
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The id of one (unfolded) character.
    pub fn id(&self, c: char) -> i64 {
        self.ids.get(&fold_char(c)).copied().unwrap_or(UNK)
    }

    /// Ids of the first `max_len` characters of `text`; an empty text is one `<unk>`
    /// so that every row has at least one real position.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<i64> {
        let ids: Vec<i64> = text.chars().take(max_len).map(|c| self.id(c)).collect();
        if ids.is_empty() {
            vec![UNK]
        } else {
            ids
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_and_case_one_to_one() {
        assert_eq!(fold_char('Ａ'), 'a');
        assert_eq!(fold_char('１'), '1');
        assert_eq!(fold_char('\u{3000}'), ' ');
        assert_eq!(fold_char('K'), 'k');
        assert_eq!(fold_char('厨'), '厨');
        assert_eq!(fold_char('İ'), 'İ'); // lower case is two chars: left alone
    }

    #[test]
    fn vocab_is_ordered_and_round_trips() {
        let v = CharVocab::build(["abca", "Ab"], 1);
        assert_eq!(v.to_entries(), ["<pad>", "<unk>", "a", "b", "c"]);
        assert_eq!(v.encode("AbZ", 64), vec![2, 3, UNK]);
        assert_eq!(v.encode("", 64), vec![UNK]);
        assert_eq!(v.encode("aaaa", 2).len(), 2);
        assert_eq!(CharVocab::from_entries(&v.to_entries()), Ok(v));
        assert!(CharVocab::from_entries(&["<pad>".into(), "<unk>".into(), "ab".into()]).is_err());
        assert!(CharVocab::from_entries(&["x".into()]).is_err());
    }
}
