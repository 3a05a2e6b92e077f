//! Address heuristics: Chinese runs with place markers (路, 号, 小区, 栋, 室…), English `12 Main Street`.

use std::sync::OnceLock;

use super::patterns::{starts_with_at, words, WordSet};
use super::Found;

/// Words after which an address follows (their chars also end the text before it).
const ZH_CUES: &[&str] =
    &["地址是", "地址为", "地址在", "地址", "住址是", "住址", "住在", "家住", "家在", "位于", "送到", "在", "到", "是"];
/// Words dropped from the front of a candidate.
const ZH_FILLERS: &[&str] = &["我们家", "我家", "我的", "我", "家", "来", "去", "上门", "过来", "的", "：", ":", " "];
/// Chars that end a clause.
#[rustfmt::skip]
const PUNCT: &[char] = &[
    '，', '。', ',', '.', '!', '?', '！', '？', '；', ';', '\n', '、', '~', '～', '…', '(', ')', '（', '）', '【', '】', '"', '“', '”',
];
/// Chars that can end an address (a road, a number, a building, a room…).
#[rustfmt::skip]
const ZH_END: &[char] = &[
    '路', '街', '巷', '弄', '号', '栋', '幢', '室', '区', '县', '市', '镇', '村', '楼', '座', '院', '苑', '园', '厦', '寓', '层',
];

fn is_punct(c: char) -> bool {
    PUNCT.contains(&c)
}

/// Finds addresses; `blocked[i]` marks chars that cannot be part of one (lexicon words, time words, ids…).
pub(crate) fn addresses(chars: &[char], blocked: &[bool]) -> Vec<Found<String>> {
    let mut out = zh_addresses(chars, blocked);
    out.extend(en_addresses(chars, blocked));
    out.sort_by_key(|f| f.start);
    out
}

fn is_end_marker(chars: &[char], k: usize) -> bool {
    ZH_END.contains(&chars[k]) || (chars[k] == '元' && k > 0 && chars[k - 1] == '单')
}

fn zh_addresses(chars: &[char], blocked: &[bool]) -> Vec<Found<String>> {
    static CUES: OnceLock<WordSet> = OnceLock::new();
    let cues = CUES.get_or_init(|| WordSet::new(ZH_CUES));
    let mut out = Vec::new();
    let mut i = 0;
    let mut cued = false;
    while i < chars.len() {
        if blocked[i] || is_punct(chars[i]) {
            cued = false;
            i += 1;
            continue;
        }
        if let Some(len) = cues.longest_at(chars, i) {
            cued = true;
            i += len;
            continue;
        }
        let start = i;
        while i < chars.len() && !blocked[i] && !is_punct(chars[i]) && cues.longest_at(chars, i).is_none() {
            i += 1;
        }
        if let Some(found) = zh_candidate(chars, start, i, cued) {
            out.push(found);
        }
        cued = false;
    }
    out
}

/// Trims a run to an address, if it looks like one.
fn zh_candidate(chars: &[char], mut start: usize, end: usize, cued: bool) -> Option<Found<String>> {
    while let Some(f) = ZH_FILLERS.iter().find(|f| start < end && starts_with_at(chars, start, f)) {
        start += f.chars().count();
    }
    let last = (start..end).rev().find(|&k| is_end_marker(chars, k))?;
    let mut stop = last + 1;
    while stop < end && (chars[stop].is_ascii_alphanumeric() || matches!(chars[stop], '-' | '室' | '号' | '层')) {
        stop += 1;
    }
    let markers = (start..stop).filter(|&k| is_end_marker(chars, k)).count();
    // 号 alone is as likely a date (15号) as a house number.
    let place_marker = (start..stop).any(|k| is_end_marker(chars, k) && chars[k] != '号');
    let digit = chars[start..stop].iter().any(|c| c.is_ascii_digit());
    let len = stop - start;
    let ok = if cued {
        len >= 2 && (markers >= 2 || place_marker)
    } else {
        len >= 4 && (markers >= 2 || (digit && place_marker))
    };
    ok.then(|| Found { value: chars[start..stop].iter().collect(), start, end: stop })
}

#[rustfmt::skip]
const STREET: &[&str] = &[
    "street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "dr", "boulevard", "blvd", "way", "court",
    "ct", "place", "pl", "terrace", "crescent", "close", "square", "sq", "parkway", "pkwy", "highway", "hwy",
];
const ABBREVIATED: &[&str] = &["st", "rd", "ave", "ln", "dr", "blvd", "ct", "pl", "sq", "pkwy", "hwy"];
const UNIT: &[&str] = &["apt", "apartment", "unit", "suite", "flat", "room", "floor"];
const NOT_HOUSE_NUMBER_AFTER: &[&str] = &["am", "pm", "oclock", "o", "hours", "stars", "star", "minutes", "days"];

/// `12 Main Street`, `221B Baker St, Apt 4`: a number, up to three words, a street word, an optional unit.
fn en_addresses(chars: &[char], blocked: &[bool]) -> Vec<Found<String>> {
    let ws = words(chars);
    let mut out = Vec::new();
    let mut k = 0;
    while k < ws.len() {
        let w = &ws[k];
        let number = chars[w.start].is_ascii_digit() && !blocked[w.start];
        let next_is_unit = ws.get(k + 1).is_some_and(|n| NOT_HOUSE_NUMBER_AFTER.contains(&n.lower.as_str()));
        if !number || next_is_unit || chars.get(w.end) == Some(&':') {
            k += 1;
            continue;
        }
        let street = (k + 2..=(k + 4).min(ws.len().saturating_sub(1))).find(|&j| {
            STREET.contains(&ws[j].lower.as_str())
                && (k..j).all(|m| chars[ws[m].end..ws[m + 1].start].iter().all(|c| *c == ' '))
                && (k + 1..=j).all(|m| !blocked[ws[m].start])
        });
        let Some(j) = street else {
            k += 1;
            continue;
        };
        let mut end = ws[j].end;
        if chars.get(end) == Some(&'.') && ABBREVIATED.contains(&ws[j].lower.as_str()) {
            end += 1;
        }
        end = unit_end(chars, &ws, j, end);
        let start = unit_start(chars, &ws, k);
        out.push(Found { value: chars[start..end].iter().collect(), start, end });
        k = j + 1;
    }
    out
}

/// Extends an address back over `Apt 3B, ` before the house number of word `k`.
fn unit_start(chars: &[char], ws: &[crate::rules::patterns::Word], k: usize) -> usize {
    let start = ws[k].start;
    if k < 2 {
        return start;
    }
    let (u, n) = (&ws[k - 2], &ws[k - 1]);
    let gaps_ok = chars[u.end..n.start].iter().all(|c| matches!(c, ' ' | '#' | '.'))
        && chars[n.end..start].iter().all(|c| matches!(c, ' ' | ','));
    if gaps_ok && UNIT.contains(&u.lower.as_str()) && n.lower.chars().any(|c| c.is_ascii_digit()) {
        u.start
    } else {
        start
    }
}

/// Extends an address over `, Apt 4B` / ` unit 3` / ` #12` after word `j`.
fn unit_end(chars: &[char], ws: &[crate::rules::patterns::Word], j: usize, end: usize) -> usize {
    let (Some(u), Some(n)) = (ws.get(j + 1), ws.get(j + 2)) else { return end };
    let gap_ok = chars[end..u.start].iter().all(|c| matches!(c, ' ' | ',' | '#'));
    let num_gap_ok = chars[u.end..n.start].iter().all(|c| matches!(c, ' ' | '#' | '.'));
    if gap_ok && num_gap_ok && UNIT.contains(&u.lower.as_str()) && n.lower.chars().any(|c| c.is_ascii_digit()) {
        n.end
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Vec<String> {
        let c: Vec<char> = s.chars().collect();
        addresses(&c, &vec![false; c.len()]).into_iter().map(|f| f.value).collect()
    }

    #[test]
    fn chinese_addresses() {
        assert_eq!(run("地址是朝阳区建国路88号"), vec!["朝阳区建国路88号"]);
        assert_eq!(run("我住在望京花园3栋2单元501，明天来"), vec!["望京花园3栋2单元501"]);
        assert_eq!(run("海淀区中关村大街27号"), vec!["海淀区中关村大街27号"]);
        assert_eq!(run("在万科城市花园"), vec!["万科城市花园"]);
        assert!(run("这个小区").is_empty());
        assert!(run("我在家").is_empty());
        assert!(run("改到15号").is_empty());
        assert!(run("推到下个月5号").is_empty());
        assert!(run("好的谢谢").is_empty());
    }

    #[test]
    fn english_addresses() {
        assert_eq!(run("I live at 12 Main Street"), vec!["12 Main Street"]);
        assert_eq!(run("come to 221B Baker St, Apt 4 tomorrow"), vec!["221B Baker St, Apt 4"]);
        assert_eq!(run("88 West Lake Road."), vec!["88 West Lake Road"]);
        assert!(run("at 3 pm on Main Street").is_empty());
        assert!(run("5 stars").is_empty());
        assert_eq!(run("apt 3B, 17 Pine Street"), vec!["apt 3B, 17 Pine Street"]);
    }
}
