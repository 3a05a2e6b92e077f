//! Pattern finders over a sentence's chars: order ids, phones, ratings, workers, time hints.
//!
//! Each finder takes the chars of the text and a mask of chars already
//! claimed by an earlier finder, and returns [`Found`] values with char spans.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::Found;

/// An ASCII word of the text (letters and digits), lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub start: usize,
    pub end: usize,
    pub lower: String,
}

/// The ASCII alphanumeric runs of `chars`.
pub(crate) fn words(chars: &[char]) -> Vec<Word> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let lower = chars[start..i].iter().map(|c| c.to_ascii_lowercase()).collect();
            out.push(Word { start, end: i, lower });
        } else {
            i += 1;
        }
    }
    out
}

fn text_of(chars: &[char], start: usize, end: usize) -> String {
    chars[start..end].iter().collect()
}

/// Whether `chars[at..]` starts with `word` (exact chars).
pub(crate) fn starts_with_at(chars: &[char], at: usize, word: &str) -> bool {
    let mut rest = chars.get(at..).unwrap_or(&[]).iter();
    word.chars().all(|c| rest.next() == Some(&c))
}

/// A fixed set of words, looked up by their first char (built once per list).
pub(crate) struct WordSet {
    by_first: HashMap<char, Vec<Vec<char>>>,
}

impl WordSet {
    /// The set of `words`.
    pub(crate) fn new(words: &[&str]) -> Self {
        let mut by_first: HashMap<char, Vec<Vec<char>>> = HashMap::new();
        for w in words {
            let chars: Vec<char> = w.chars().collect();
            if let Some(&first) = chars.first() {
                by_first.entry(first).or_default().push(chars);
            }
        }
        for list in by_first.values_mut() {
            list.sort_by_key(|w| std::cmp::Reverse(w.len()));
        }
        WordSet { by_first }
    }

    /// Length (chars) of the longest word of the set at `chars[at..]`.
    pub(crate) fn longest_at(&self, chars: &[char], at: usize) -> Option<usize> {
        let rest = chars.get(at..)?;
        let first = rest.first()?;
        self.by_first.get(first)?.iter().find(|w| rest.starts_with(w)).map(Vec::len)
    }
}

fn zh_time_words() -> &'static WordSet {
    static SET: OnceLock<WordSet> = OnceLock::new();
    SET.get_or_init(|| WordSet::new(ZH_TIME_WORDS))
}

fn en_time_words() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| EN_TIME_WORDS.iter().copied().collect())
}

fn free(taken: &[bool], start: usize, end: usize) -> bool {
    taken[start..end].iter().all(|t| !t)
}

/// Whether `chars[..at]` ends with `suffix` (lower-cased ASCII comparison), ignoring spaces before `at`.
fn ends_with_ci(chars: &[char], at: usize, suffix: &str) -> bool {
    let mut i = at;
    while i > 0 && chars[i - 1] == ' ' {
        i -= 1;
    }
    let s: Vec<char> = suffix.chars().collect();
    i >= s.len() && chars[i - s.len()..i].iter().zip(&s).all(|(a, b)| a.to_ascii_lowercase() == *b)
}

const ORDER_CUES: &[&str] = &["订单号", "订单", "单号", "order number", "order no", "order", "#", "编号"];

/// Whether an order cue ends just before `at` (spaces, `:`, `：`, `是`, `为` between allowed).
fn order_cue_before(chars: &[char], at: usize) -> bool {
    let mut i = at;
    while i > 0 && matches!(chars[i - 1], ' ' | ':' | '：' | '是' | '为' | '.') {
        i -= 1;
    }
    ORDER_CUES.iter().any(|cue| ends_with_ci(chars, i, cue))
}

/// Order ids: a letter then letters/digits with at least three digits (`A1023`, `A1k2x9q0001`),
/// or 4–12 digits right after an order cue (`订单号 1023`, `#1023`). Kept without `#`.
pub(crate) fn order_ids(chars: &[char], taken: &[bool]) -> Vec<Found<String>> {
    words(chars)
        .into_iter()
        .filter(|w| free(taken, w.start, w.end))
        .filter(|w| {
            let len = w.end - w.start;
            let digits = w.lower.chars().filter(char::is_ascii_digit).count();
            let first = chars[w.start];
            let lettered = first.is_ascii_alphabetic() && (4..=32).contains(&len) && digits >= 3;
            let worker = matches!(first, 'W' | 'w') && digits == len - 1;
            let numeric = digits == len && (4..=12).contains(&len) && order_cue_before(chars, w.start);
            (lettered && !worker) || numeric
        })
        .map(|w| Found { value: text_of(chars, w.start, w.end), start: w.start, end: w.end })
        .collect()
}

/// Chinese mobile numbers: 11 digits starting with 1[3-9], optionally grouped by spaces or dashes.
pub(crate) fn phones(chars: &[char], taken: &[bool]) -> Vec<Found<String>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let (digits, end) = digit_group(chars, i);
        let plausible = digits.len() == 11 && digits.starts_with('1') && !digits[1..2].contains(['0', '1', '2']);
        let bounded = chars.get(end).is_none_or(|c| !c.is_ascii_alphanumeric());
        if plausible && bounded && free(taken, i, end) {
            out.push(Found { value: digits, start: i, end });
        }
        i = end.max(i + 1);
    }
    out
}

/// Digits from `start`, allowing one space or dash between digits; returns them and the end.
fn digit_group(chars: &[char], start: usize) -> (String, usize) {
    let mut digits = String::new();
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            digits.push(c);
            i += 1;
        } else if matches!(c, ' ' | '-') && chars.get(i + 1).is_some_and(char::is_ascii_digit) && digits.len() < 11 {
            i += 1;
        } else {
            break;
        }
    }
    (digits, i)
}

fn zh_digit(c: char) -> Option<u8> {
    match c {
        '1' | '一' => Some(1),
        '2' | '二' | '两' => Some(2),
        '3' | '三' => Some(3),
        '4' | '四' => Some(4),
        '5' | '五' => Some(5),
        _ => None,
    }
}

/// Chinese ratings: `五星`, `5星`, `4颗星`, `4分`, `满分` (never `5分钟`, `3点5分`, `星期`).
pub(crate) fn ratings_zh(chars: &[char], taken: &[bool]) -> Vec<Found<u8>> {
    let mut out = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '满' && chars.get(i + 1) == Some(&'分') && free(taken, i, i + 2) {
            out.push(Found { value: 5, start: i, end: i + 2 });
            continue;
        }
        let Some(value) = zh_digit(c) else { continue };
        let single = i == 0 || !(chars[i - 1].is_ascii_digit() || "十百点时:：".contains(chars[i - 1]));
        let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if !single || next_digit {
            continue;
        }
        let mut j = i + 1;
        if matches!(chars.get(j), Some('颗' | '个')) {
            j += 1;
        }
        let unit_end = match (chars.get(j), chars.get(j + 1)) {
            (Some('星'), next) if next != Some(&'期') && next != Some(&'级') => j + 1,
            (Some('分'), next) if !matches!(next, Some('钟' | '之' | '半')) && j == i + 1 => j + 1,
            _ => continue,
        };
        if free(taken, i, unit_end) {
            out.push(Found { value, start: i, end: unit_end });
        }
    }
    out
}

fn en_number(word: &str) -> Option<u8> {
    match word {
        "1" | "one" => Some(1),
        "2" | "two" => Some(2),
        "3" | "three" => Some(3),
        "4" | "four" => Some(4),
        "5" | "five" => Some(5),
        _ => None,
    }
}

const RATE_VERBS: &[&str] =
    &["give", "gave", "giving", "rate", "rated", "rating", "score", "scored", "leave", "deserves", "deserve", "worth"];
const RATE_FILLERS: &[&str] = &["her", "him", "them", "it", "a", "an", "us", "this", "the", "you", "just", "only"];
const NOT_RATING_AFTER: &[&str] =
    &["am", "pm", "oclock", "o", "hours", "hour", "hrs", "minutes", "mins", "min", "days", "day", "weeks", "bucks"];

/// English ratings: `5 stars`, `5-star`, `four out of five`, `4/5`, `give her 4`, `rate it a 5`, `full marks`.
pub(crate) fn ratings_en(chars: &[char], taken: &[bool]) -> Vec<Found<u8>> {
    let ws = words(chars);
    let mut out = Vec::new();
    for (k, w) in ws.iter().enumerate() {
        if w.lower == "full" && ws.get(k + 1).is_some_and(|n| n.lower == "marks") {
            out.push(Found { value: 5, start: w.start, end: ws[k + 1].end });
            continue;
        }
        let Some(value) = en_number(&w.lower) else { continue };
        let next = ws.get(k + 1);
        let gap_ok = |n: &Word| chars[w.end..n.start].iter().all(|c| matches!(c, ' ' | '-'));
        let end = if let Some(n) = next.filter(|n| matches!(n.lower.as_str(), "star" | "stars") && gap_ok(n)) {
            Some(n.end)
        } else if let Some(end) = out_of_five(chars, &ws, k) {
            Some(end)
        } else if after_rate_verb(&ws, k, taken) && next.is_none_or(|n| !NOT_RATING_AFTER.contains(&n.lower.as_str())) {
            let clock = chars.get(w.end).is_some_and(|c| matches!(c, ':' | '.'));
            (!clock).then_some(w.end)
        } else {
            None
        };
        if let Some(end) = end.filter(|e| free(taken, w.start, *e)) {
            out.push(Found { value, start: w.start, end });
        }
    }
    out
}

/// End of `N out of 5` / `N/5` after word `k`, if present.
fn out_of_five(chars: &[char], ws: &[Word], k: usize) -> Option<usize> {
    let w = &ws[k];
    if chars.get(w.end) == Some(&'/') {
        let n = ws.get(k + 1).filter(|n| n.start == w.end + 1 && matches!(n.lower.as_str(), "5" | "five"))?;
        return Some(n.end);
    }
    let (a, b, c) = (ws.get(k + 1)?, ws.get(k + 2)?, ws.get(k + 3)?);
    (a.lower == "out" && b.lower == "of" && matches!(c.lower.as_str(), "5" | "five")).then_some(c.end)
}

/// Whether word `k` follows a rating verb, with up to three filler words (or a named worker) between
/// (`give her a 5`, `rate Ms. Wang a 4`).
fn after_rate_verb(ws: &[Word], k: usize, taken: &[bool]) -> bool {
    let mut j = k;
    for _ in 0..4 {
        if j == 0 {
            return false;
        }
        j -= 1;
        let word = ws[j].lower.as_str();
        if RATE_VERBS.contains(&word) {
            return true;
        }
        if !RATE_FILLERS.contains(&word) && !taken[ws[j].start] {
            return false;
        }
    }
    false
}

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏\
魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
const ZH_TITLES: &[&str] = &["阿姨", "师傅", "大姐", "老师", "姐", "嫂", "工"];
/// Surnames accepted in lower case after a title (`ms wang`); a capitalized word is accepted as any name.
#[rustfmt::skip]
const PINYIN_SURNAMES: &[&str] = &[
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "zhou", "wu", "xu", "sun", "ma", "zhu", "hu", "guo",
    "he", "gao", "lin", "luo", "zheng", "liang", "xie", "song", "tang", "han", "feng", "deng", "cao", "peng", "zeng",
    "xiao", "tian", "dong", "yuan", "pan", "jiang", "cai", "yu", "du", "ye", "cheng", "su", "wei", "lu", "ding", "shen",
];
const EN_TITLES: &[&str] = &["ms", "mrs", "mr", "miss", "mx", "auntie", "aunty", "master"];

/// Workers named by surname and title (`王阿姨`, `李师傅`), by English title (`Ms. Wang`), or by id (`W17`).
pub(crate) fn workers(chars: &[char], taken: &[bool]) -> Vec<Found<String>> {
    let mut out = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        // The title first: it is rarer than a surname char, and cheaper to rule out.
        let title = ZH_TITLES.iter().find(|t| starts_with_at(chars, i + 1, t));
        if title.is_none() || !SURNAMES.contains(c) || (i > 0 && SURNAMES.contains(chars[i - 1])) {
            continue;
        }
        if let Some(t) = title {
            let end = i + 1 + t.chars().count();
            if free(taken, i, end) {
                out.push(Found { value: text_of(chars, i, end), start: i, end });
            }
        }
    }
    let ws = words(chars);
    for (k, w) in ws.iter().enumerate() {
        let id = matches!(chars[w.start], 'W' | 'w')
            && w.end - w.start >= 2
            && w.lower[1..].chars().all(|c| c.is_ascii_digit())
            && (k > 0 && ws[k - 1].lower == "worker" || chars[w.start] == 'W');
        let named = EN_TITLES.contains(&w.lower.as_str())
            && ws.get(k + 1).is_some_and(|n| {
                let name = chars[n.start].is_ascii_uppercase() || PINYIN_SURNAMES.contains(&n.lower.as_str());
                name && chars[w.end..n.start].iter().all(|c| matches!(c, ' ' | '.'))
            });
        let (start, end) = if id {
            (w.start, w.end)
        } else if named {
            (w.start, ws[k + 1].end)
        } else {
            continue;
        };
        if free(taken, start, end) {
            out.push(Found { value: text_of(chars, start, end), start, end });
        }
    }
    out.sort_by_key(|f| f.start);
    out
}

#[rustfmt::skip]
const ZH_TIME_WORDS: &[&str] = &[
    "今天", "明天", "后天", "大后天", "今晚", "明晚", "明早", "上午", "下午", "晚上", "早上", "中午", "傍晚", "凌晨", "星期", "礼拜", "周一", "周二",
    "周三", "周四", "周五", "周六", "周日", "周天", "周末", "下周", "这周", "本周", "月底", "月初", "小时", "分钟", "点钟", "今儿", "明儿", "一会儿",
    "马上", "现在", "下个月", "这个月", "本月", "上个月", "下礼拜", "这礼拜",
];
#[rustfmt::skip]
const EN_TIME_WORDS: &[&str] = &[
    "today", "tomorrow", "tonight", "tmr", "tmrw", "morning", "afternoon", "evening", "noon", "midnight", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "tues", "wed", "thu", "thur",
    "thurs", "fri", "sat", "sun", "weekend", "week", "am", "pm", "oclock", "hours", "hour", "minutes", "asap", "now",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
];

/// Spans of words that hint at a date or time (明天, 下午, 3点, `tomorrow`, `3pm`, `10:30`).
///
/// Not a time parser: the rules use these for the intent guess and as boundaries of addresses.
pub(crate) fn time_hints(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some(len) = zh_time_words().longest_at(chars, i) {
            out.push((i, i + len));
            i += len;
            continue;
        }
        let clock = chars[i].is_ascii_digit() && matches!(chars.get(i + 1), Some('点' | '月' | '日'))
            || chars[i].is_ascii_digit()
                && chars.get(i + 1) == Some(&':')
                && chars.get(i + 2).is_some_and(char::is_ascii_digit);
        let zh_clock = "一二两三四五六七八九十".contains(chars[i]) && matches!(chars.get(i + 1), Some('点'));
        if clock || zh_clock {
            out.push((i, i + 2));
            i += 2;
            continue;
        }
        if let Some(end) = day_of_month(chars, i) {
            out.push((i, end));
            i = end;
            continue;
        }
        i += 1;
    }
    for w in words(chars) {
        let digits_then_ampm = w.lower.ends_with("am") || w.lower.ends_with("pm");
        let numeric_ampm =
            digits_then_ampm && w.lower[..w.lower.len() - 2].chars().all(|c| c.is_ascii_digit()) && w.lower.len() > 2;
        if en_time_words().contains(w.lower.as_str()) || numeric_ampm {
            out.push((w.start, w.end));
        }
    }
    out.sort_unstable();
    out
}

/// `15号` as a day of the month: 1–31 then 号, after a month, a verb like 改到, or nothing Chinese;
/// not a house number (幸福里50号) or a building (3号楼).
fn day_of_month(chars: &[char], i: usize) -> Option<usize> {
    let before = i.checked_sub(1).map(|k| chars[k]);
    let date_context = before.is_none_or(|c| {
        let cjk = ('\u{4e00}'..='\u{9fff}').contains(&c);
        (!cjk && !c.is_ascii_alphanumeric()) || "月到是改推至从和或就那这".contains(c)
    });
    if !chars[i].is_ascii_digit() || !date_context {
        return None;
    }
    let mut j = i;
    let mut day = 0u32;
    while j < chars.len() && chars[j].is_ascii_digit() {
        day = day.saturating_mul(10).saturating_add(chars[j].to_digit(10).unwrap_or(0));
        j += 1;
    }
    let building = chars.get(j + 1).is_some_and(|c| "楼院室门线栋".contains(*c));
    ((1..=31).contains(&day) && j - i <= 2 && chars.get(j) == Some(&'号') && !building).then_some(j + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn run<T>(f: fn(&[char], &[bool]) -> Vec<Found<T>>, s: &str) -> Vec<(T, String)> {
        let c = chars(s);
        f(&c, &vec![false; c.len()]).into_iter().map(|x| (x.value, c[x.start..x.end].iter().collect())).collect()
    }

    #[test]
    fn order_ids_like_the_engine_makes() {
        assert_eq!(run(order_ids, "取消订单A1023"), vec![("A1023".to_string(), "A1023".to_string())]);
        assert_eq!(run(order_ids, "订单 #A1k2x9q0001 到哪了")[0].0, "A1k2x9q0001");
        assert_eq!(run(order_ids, "订单号：20231")[0].0, "20231");
        assert_eq!(run(order_ids, "order #1023 please")[0].0, "1023");
        assert!(run(order_ids, "at 3pm on 2026 march").is_empty());
        assert!(run(order_ids, "worker W1234").is_empty());
        assert!(run(order_ids, "MP3 player").is_empty());
    }

    #[test]
    fn phones_are_eleven_digit_mobiles() {
        assert_eq!(run(phones, "电话13812345678")[0].0, "13812345678");
        assert_eq!(run(phones, "call 138-1234-5678 ok")[0].0, "13812345678");
        assert_eq!(run(phones, "138 1234 5678")[0].1, "138 1234 5678");
        assert!(run(phones, "12812345678").is_empty());
        assert!(run(phones, "138123456789").is_empty());
        assert!(run(phones, "A13812345678").is_empty());
    }

    #[test]
    fn zh_ratings_not_from_clocks() {
        assert_eq!(run(ratings_zh, "给五星好评"), vec![(5, "五星".to_string())]);
        assert_eq!(run(ratings_zh, "打4分吧")[0].0, 4);
        assert_eq!(run(ratings_zh, "3颗星")[0], (3, "3颗星".to_string()));
        assert_eq!(run(ratings_zh, "满分")[0].0, 5);
        assert!(run(ratings_zh, "下午3点5分").is_empty());
        assert!(run(ratings_zh, "5分钟后").is_empty());
        assert!(run(ratings_zh, "下星期三").is_empty());
        assert!(run(ratings_zh, "10分").is_empty());
        assert!(run(ratings_zh, "五星级酒店").is_empty());
    }

    #[test]
    fn en_ratings_need_context() {
        assert_eq!(run(ratings_en, "5 stars for sure"), vec![(5, "5 stars".to_string())]);
        assert_eq!(run(ratings_en, "a 4-star job")[0], (4, "4-star".to_string()));
        assert_eq!(run(ratings_en, "give her 4")[0], (4, "4".to_string()));
        assert_eq!(run(ratings_en, "I'd rate it a 3")[0].0, 3);
        assert_eq!(run(ratings_en, "four out of five")[0], (4, "four out of five".to_string()));
        assert_eq!(run(ratings_en, "solid 4/5")[0], (4, "4/5".to_string()));
        assert_eq!(run(ratings_en, "full marks")[0].0, 5);
        assert!(run(ratings_en, "come at 4 tomorrow").is_empty());
        assert!(run(ratings_en, "give me 2 hours").is_empty());
        assert!(run(ratings_en, "give it until 4pm").is_empty());
        assert!(run(ratings_en, "5 people").is_empty());
    }

    #[test]
    fn workers_by_name_title_or_id() {
        assert_eq!(run(workers, "换掉王阿姨")[0].0, "王阿姨");
        assert_eq!(run(workers, "李师傅明天来吗")[0].0, "李师傅");
        assert!(run(workers, "换个阿姨").is_empty());
        assert!(run(workers, "马桶堵了").is_empty());
        assert_eq!(run(workers, "Is Ms. Wang coming?")[0].0, "Ms. Wang");
        assert_eq!(run(workers, "not Mr Zhang again")[0].0, "Mr Zhang");
        assert_eq!(run(workers, "worker W17 was late")[0].0, "W17");
        assert!(run(workers, "miss the bus").is_empty());
        assert_eq!(run(workers, "ms wang was late")[0].0, "ms wang");
        assert!(run(workers, "mr nobody").is_empty());
    }

    #[test]
    fn time_hints_found() {
        assert_eq!(time_hints(&chars("明天上午10点")), vec![(0, 2), (2, 4), (5, 7)]);
        assert_eq!(time_hints(&chars("tomorrow at 3pm")).len(), 2);
        assert!(time_hints(&chars("clean the kitchen")).is_empty());
        assert_eq!(time_hints(&chars("15号")), vec![(0, 3)]);
        assert!(time_hints(&chars("建国路88号")).is_empty());
        assert!(time_hints(&chars("3号楼")).is_empty());
        assert!(time_hints(&chars("幸福里50号")).is_empty());
        assert_eq!(time_hints(&chars("改到15号")), vec![(2, 5)]);
    }
}
