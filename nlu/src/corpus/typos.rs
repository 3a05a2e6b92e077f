//! Deterministic typos: a dropped, doubled or swapped character, a homophone, a texting shortcut.
//!
//! Typos change one part of a draft before it is assembled, so spans stay exact.
//! Order ids, phones, ratings and addresses are never touched (their values would change).

use super::rng::SplitMix64;
use crate::{Lang, SlotKind};

/// Common Chinese homophone slips (the intended char, the one typed).
const ZH_HOMOPHONES: &[(char, char)] = &[
    ('的', '得'),
    ('在', '再'),
    ('吗', '嘛'),
    ('订', '定'),
    ('那', '哪'),
    ('做', '作'),
    ('已', '以'),
    ('候', '侯'),
    ('帮', '邦'),
    ('扫', '嫂'),
    ('洁', '结'),
    ('厨', '橱'),
    ('阳', '杨'),
    ('约', '乐'),
    ('改', '该'),
];
/// English texting shortcuts and common misspellings.
const EN_SHORTCUTS: &[(&str, &str)] = &[
    ("please", "pls"),
    ("please", "plz"),
    ("you", "u"),
    ("tomorrow", "tmrw"),
    ("tomorrow", "tomorow"),
    ("thanks", "thx"),
    ("the ", "teh "),
    ("are", "r"),
    ("tonight", "tonite"),
    ("kitchen", "kitchn"),
    ("cleaning", "cleanning"),
    ("bathroom", "bathrom"),
    ("schedule", "schedual"),
    ("cancel", "cancle"),
];

fn editable(kind: Option<SlotKind>) -> bool {
    matches!(kind, None | Some(SlotKind::Service | SlotKind::Room | SlotKind::Time))
}

/// Applies one typo to one editable part (if any is long enough).
pub fn apply(rng: &mut SplitMix64, lang: Lang, parts: &mut [(Option<SlotKind>, String)]) {
    let candidates: Vec<usize> =
        (0..parts.len()).filter(|&i| editable(parts[i].0) && parts[i].1.chars().count() >= 2).collect();
    let Some(&i) = rng.pick(&candidates) else { return };
    let text = &parts[i].1;
    let changed = match (lang, rng.below(4)) {
        (Lang::Zh, 0) => homophone(rng, text),
        (Lang::En, 0) => shortcut(rng, text),
        (_, 1) => drop_char(rng, text),
        (_, 2) => double_char(rng, text),
        _ => swap_chars(rng, text),
    };
    if let Some(new) = changed.filter(|t| !t.trim().is_empty()) {
        parts[i].1 = new;
    }
}

fn homophone(rng: &mut SplitMix64, text: &str) -> Option<String> {
    let found: Vec<&(char, char)> = ZH_HOMOPHONES.iter().filter(|(from, _)| text.contains(*from)).collect();
    let (from, to) = **rng.pick(&found)?;
    Some(text.replacen(from, &to.to_string(), 1))
}

fn shortcut(rng: &mut SplitMix64, text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let found: Vec<&(&str, &str)> = EN_SHORTCUTS.iter().filter(|(from, _)| lower.contains(from)).collect();
    let (from, to) = **rng.pick(&found)?;
    Some(lower.replacen(from, to, 1))
}

/// Positions of letters (CJK or ASCII), where a slip is plausible.
fn letter_positions(chars: &[char]) -> Vec<usize> {
    (0..chars.len()).filter(|&i| chars[i].is_alphabetic()).collect()
}

fn drop_char(rng: &mut SplitMix64, text: &str) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let &i = rng.pick(&letter_positions(&chars))?;
    chars.remove(i);
    Some(chars.into_iter().collect())
}

fn double_char(rng: &mut SplitMix64, text: &str) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    let &i = rng.pick(&letter_positions(&chars))?;
    chars.insert(i, chars[i]);
    Some(chars.into_iter().collect())
}

fn swap_chars(rng: &mut SplitMix64, text: &str) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    let pairs: Vec<usize> = (0..chars.len().saturating_sub(1))
        .filter(|&i| chars[i].is_alphabetic() && chars[i + 1].is_alphabetic())
        .collect();
    let &i = rng.pick(&pairs)?;
    chars.swap(i, i + 1);
    Some(chars.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_touch_only_editable_parts() {
        let mut rng = SplitMix64::new(9);
        for _ in 0..200 {
            let mut parts = vec![
                (None, "麻烦明天来".to_string()),
                (Some(SlotKind::OrderId), "A1023".to_string()),
                (Some(SlotKind::Service), "打扫".to_string()),
            ];
            apply(&mut rng, Lang::Zh, &mut parts);
            assert_eq!(parts[1].1, "A1023");
            assert!(parts.iter().all(|(_, t)| !t.is_empty()));
        }
        assert_eq!(homophone(&mut rng, "我在家"), Some("我再家".to_string()));
        assert_eq!(shortcut(&mut SplitMix64::new(0), "thanks"), Some("thx".to_string()));
    }
}
