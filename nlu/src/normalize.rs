//! Text normalizer: full/half width, traditional → simplified, whitespace, Chinese numerals.
//!
//! [`normalize`] rewrites a sentence into the form the rule extractors and the
//! time parser read, and keeps, for every normalized character, the span of
//! original characters it came from, so that a span found on the normalized
//! text maps back to the input ([`Normalized::original_span`]).
//!
//! What it does, in order:
//! - full-width ASCII (`ＡＢＣ１２３，：`) and the ideographic space become
//!   half-width; dash variants (`–`, `—`) become `-`;
//! - traditional characters of the domain vocabulary become simplified
//!   (`掃`→`扫`, `點`→`点`, `週`→`周`, `臺`→`台`…);
//! - whitespace runs collapse to one space, and whitespace next to a Chinese
//!   character is dropped (`4 天` → `4天`), which keeps `9:00 a.m.` readable;
//! - Chinese numerals become ASCII digits where they are numbers
//!   (see "Numerals" below).
//!
//! # Numerals
//!
//! Numerals are converted when they read as a number: a run of two or more
//! numeral characters (`二十三`, `二零零四`, `三千五`), or a single one next to a
//! counter or time word (`三点`, `两天`, `一刻`, `一个小时`, `周一`, `第一`, `初一`,
//! `五到六点`). A single numeral inside a word stays (`一起`, `一下`, `一定`,
//! `万一`, `统一`), as does `一点` meaning "a little" (`快一点`, `晚一点`) and
//! `十分` meaning "very". Digit strings without a multiplier are read digit by
//! digit (`二零零四` → `2004`, `零八` → `08`); with one, as a value, including the
//! spoken short forms (`一百二` → `120`, `三千五` → `3500`). `半` is left alone:
//! the time parser reads `半` as :30 and `半个月` as half a month. A run glued to
//! ASCII digits stays (`29五点` would otherwise read `295点`), and so do idioms
//! (`乱七八糟`) and holiday names the time parser knows (`五一`, `双十一`).

/// A normalized sentence and the map back to the original characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The normalized text.
    pub text: String,
    chars: Vec<char>,
    /// For each normalized char: the original char range `[start, end)` it came from.
    map: Vec<(usize, usize)>,
}

impl Normalized {
    /// The normalized text as characters (what the scanners index).
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// Number of normalized characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Whether the normalized text is empty.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Maps the normalized char range `[start, end)` to the original char range `[start, end)`.
    ///
    /// Out-of-range or empty ranges are clamped; an empty range maps to an empty one.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        let end = end.min(self.map.len());
        if start >= end {
            let at = self.map.get(start).map(|m| m.0).or_else(|| self.map.last().map(|m| m.1)).unwrap_or(0);
            return (at, at);
        }
        (self.map[start].0, self.map[end - 1].1)
    }

    /// The per-character map `(original start, original end)`, monotonic in both ends.
    pub fn map(&self) -> &[(usize, usize)] {
        &self.map
    }
}

/// Normalizes `input` (see the module documentation).
pub fn normalize(input: &str) -> Normalized {
    let folded = fold_chars(input);
    let spaced = collapse_whitespace(folded);
    let (chars, map) = numerals(&spaced);
    Normalized { text: chars.iter().collect(), chars, map }
}

/// One char with the original range it stands for.
type Mapped = (char, usize, usize);

/// Width folding, dash variants and traditional → simplified only: one char
/// for one char, so char offsets into the result are offsets into `input`
/// (the rule extractor and the model read this; spans carry over unchanged).
pub fn fold(input: &str) -> String {
    input.chars().map(fold_char).collect()
}

/// Width folding, dash variants and traditional → simplified, char by char.
fn fold_chars(input: &str) -> Vec<Mapped> {
    let mut out: Vec<Mapped> = Vec::with_capacity(input.len());
    for (i, c) in input.chars().enumerate() {
        out.push((fold_char(c), i, i + 1));
    }
    out
}

fn fold_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '–' | '—' => '-',
        _ => simplified(c),
    }
}

/// Traditional → simplified for the characters of the domain vocabulary.
fn simplified(c: char) -> char {
    const TABLE: &[(char, char)] = &[
        ('掃', '扫'),
        ('廚', '厨'),
        ('點', '点'),
        ('號', '号'),
        ('週', '周'),
        ('時', '时'),
        ('鐘', '钟'),
        ('嬰', '婴'),
        ('護', '护'),
        ('電', '电'),
        ('訂', '订'),
        ('單', '单'),
        ('換', '换'),
        ('預', '预'),
        ('約', '约'),
        ('潔', '洁'),
        ('後', '后'),
        ('個', '个'),
        ('來', '来'),
        ('間', '间'),
        ('臥', '卧'),
        ('陽', '阳'),
        ('臺', '台'),
        ('衛', '卫'),
        ('禮', '礼'),
        ('兩', '两'),
        ('這', '这'),
        ('裡', '里'),
        ('歲', '岁'),
        ('過', '过'),
        ('開', '开'),
        ('從', '从'),
        ('幾', '几'),
        ('還', '还'),
        ('頭', '头'),
        ('紀', '纪'),
        ('請', '请'),
        ('嗎', '吗'),
        ('師', '师'),
        ('會', '会'),
        ('東', '东'),
        ('廳', '厅'),
        ('樓', '楼'),
        ('門', '门'),
        ('髒', '脏'),
        ('費', '费'),
        ('務', '务'),
        ('機', '机'),
        ('曆', '历'),
        ('農', '农'),
        ('舊', '旧'),
        ('兒', '儿'),
        ('們', '们'),
        ('麼', '么'),
        ('無', '无'),
        ('與', '与'),
        ('邊', '边'),
        ('帶', '带'),
        ('長', '长'),
        ('內', '内'),
        ('際', '际'),
        ('見', '见'),
        ('區', '区'),
        ('確', '确'),
        ('認', '认'),
        ('對', '对'),
        ('幫', '帮'),
        ('說', '说'),
        ('謝', '谢'),
        ('問', '问'),
        ('沒', '没'),
        ('給', '给'),
        ('讓', '让'),
        ('錢', '钱'),
        ('評', '评'),
        ('價', '价'),
        ('滿', '满'),
        ('戶', '户'),
        ('煙', '烟'),
        ('馬', '马'),
        ('維', '维'),
        ('裝', '装'),
        ('寶', '宝'),
        ('媽', '妈'),
        ('診', '诊'),
        ('層', '层'),
        ('現', '现'),
        ('煩', '烦'),
        ('準', '准'),
        ('備', '备'),
        ('應', '应'),
        ('該', '该'),
        ('進', '进'),
        ('車', '车'),
        ('傢', '家'),
        ('廁', '厕'),
        ('淨', '净'),
        ('亂', '乱'),
        ('齡', '龄'),
        ('顧', '顾'),
        ('聽', '听'),
        ('買', '买'),
        ('賬', '账'),
        ('帳', '账'),
        ('氣', '气'),
        ('熱', '热'),
        ('塊', '块'),
        ('於', '于'),
        ('達', '达'),
        ('線', '线'),
        ('網', '网'),
        ('題', '题'),
        ('訊', '讯'),
        ('碼', '码'),
        ('話', '话'),
        ('處', '处'),
        ('壞', '坏'),
        ('據', '据'),
        ('驗', '验'),
        ('誰', '谁'),
        ('當', '当'),
        ('樣', '样'),
        ('為', '为'),
        ('麗', '丽'),
        ('園', '园'),
        ('廣', '广'),
        ('場', '场'),
        ('鄉', '乡'),
        ('縣', '县'),
        ('鎮', '镇'),
        ('閣', '阁'),
        ('庫', '库'),
        ('燈', '灯'),
        ('關', '关'),
        ('鍋', '锅'),
        ('爐', '炉'),
        ('調', '调'),
        ('視', '视'),
        ('濕', '湿'),
        ('灑', '洒'),
        ('統', '统'),
        ('樂', '乐'),
        ('級', '级'),
        ('專', '专'),
        ('業', '业'),
        ('團', '团'),
        ('隊', '队'),
        ('陳', '陈'),
        ('劉', '刘'),
        ('張', '张'),
        ('趙', '赵'),
        ('楊', '杨'),
        ('黃', '黄'),
        ('吳', '吴'),
        ('孫', '孙'),
        ('鄭', '郑'),
        ('馮', '冯'),
        ('蔣', '蒋'),
        ('韓', '韩'),
        ('葉', '叶'),
        ('鄧', '邓'),
        ('許', '许'),
        ('蘇', '苏'),
        ('盧', '卢'),
        ('錯', '错'),
        ('壹', '一'),
        ('貳', '二'),
        ('參', '三'),
        ('肆', '四'),
        ('伍', '五'),
        ('陸', '六'),
        ('柒', '七'),
        ('捌', '八'),
        ('玖', '九'),
    ];
    if c.is_ascii() {
        return c;
    }
    TABLE.iter().find(|(t, _)| *t == c).map_or(c, |(_, s)| *s)
}

/// Whether `c` is a CJK ideograph or CJK punctuation (where spaces carry no meaning).
pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{3000}'..='\u{303F}')
}

/// Collapses whitespace runs to one space; drops them at the ends and next to a CJK char.
fn collapse_whitespace(chars: Vec<Mapped>) -> Vec<Mapped> {
    let mut out: Vec<Mapped> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let (c, s, e) = chars[i];
        if !c.is_whitespace() {
            out.push((c, s, e));
            i += 1;
            continue;
        }
        let run_start = i;
        while i < chars.len() && chars[i].0.is_whitespace() {
            i += 1;
        }
        let before = out.last().map(|m| m.0);
        let after = chars.get(i).map(|m| m.0);
        let keep = matches!((before, after), (Some(b), Some(a)) if !is_cjk(b) && !is_cjk(a));
        if keep {
            out.push((' ', chars[run_start].1, chars[i - 1].2));
        }
    }
    out
}

/// The value of a numeral digit character (`零〇一二两…九`).
fn digit_value(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn multiplier(c: char) -> Option<u64> {
    Some(match c {
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        '万' => 10_000,
        '亿' => 100_000_000,
        _ => return None,
    })
}

fn is_numeral(c: char) -> bool {
    digit_value(c).is_some() || multiplier(c).is_some()
}

/// Words after a single numeral that make it a number (`三点`, `两天`, `一刻`).
const COUNTERS: &[&str] = &[
    "点",
    "时",
    "分",
    "秒",
    "号",
    "日",
    "月",
    "年",
    "天",
    "周",
    "星期",
    "礼拜",
    "刻",
    "小时",
    "钟",
    "世纪",
    "岁",
    "季度",
    "个小时",
    "个钟",
    "个月",
    "个星期",
    "个礼拜",
    "个周",
    "个季度",
    "个半",
    "次",
    "位",
    "间",
    "套",
    "室",
    "厅",
    "卫",
];

/// Words before a single numeral that make it a number (`第一`, `初一`, `周一`).
const PREFIXES: &[&str] = &["第", "初", "周", "星期", "礼拜", "点", "时"];

/// Chars that form a word with a following `一` (`统一`, `同一`, `唯一`, `万一`).
const WORDS_ENDING_IN_ONE: &[char] = &['统', '唯', '同', '万', '专', '逐', '划', '合', '均', '如', '之'];

/// Chars before `一点` that make it a clock time, not "a little".
const CLOCK_CONTEXT: &[char] =
    &['午', '晨', '上', '天', '日', '号', '到', '至', '从', '在', '是', '约', '于', '凌', '-', ' ', ',', '，', '、'];

fn starts_with_at(chars: &[Mapped], at: usize, word: &str) -> bool {
    let mut i = at;
    for w in word.chars() {
        match chars.get(i) {
            Some(m) if m.0 == w => i += 1,
            _ => return false,
        }
    }
    true
}

fn ends_with_at(chars: &[Mapped], end: usize, word: &str) -> bool {
    let n = word.chars().count();
    end >= n && starts_with_at(chars, end - n, word)
}

/// Whether the numeral run `[start, end)` reads as a number in its context.
fn is_number_in_context(chars: &[Mapped], start: usize, end: usize) -> bool {
    if end - start >= 2 {
        return true;
    }
    let c = chars[start].0;
    if c == '十' && starts_with_at(chars, end, "分") {
        return ends_with_at(chars, start, "点")
            || ends_with_at(chars, start, "时")
            || starts_with_at(chars, end, "分钟");
    }
    let before = start.checked_sub(1).map(|i| chars[i].0);
    if c == '一' && before.is_some_and(|b| WORDS_ENDING_IN_ONE.contains(&b)) {
        return false; // `统一`, `同一天`, `唯一`
    }
    if starts_with_at(chars, end, "时") && !starts_with_at(chars, end, "时间") {
        // `三时十五分` is a clock time, `一时想不起来` is not.
        let next = chars.get(end + 1).map(|m| m.0);
        let clock_next = next.is_some_and(|n| n.is_ascii_digit() || is_numeral(n) || matches!(n, '分' | '整' | '半'));
        return clock_next || before.is_some_and(|b| CLOCK_CONTEXT.contains(&b) && b != ' ');
    }
    if c == '一' && starts_with_at(chars, end, "点") {
        if starts_with_at(chars, end, "点点") || starts_with_at(chars, end, "点儿") {
            return false; // `一点点`, `一点儿`: a little
        }
        let strong =
            chars.get(end + 1).is_some_and(|m| m.0 == '半' || m.0 == '钟' || m.0.is_ascii_digit() || is_numeral(m.0));
        return strong || before.is_none_or(|b| CLOCK_CONTEXT.contains(&b) || b.is_ascii_punctuation());
    }
    if COUNTERS.iter().any(|w| starts_with_at(chars, end, w)) || PREFIXES.iter().any(|w| ends_with_at(chars, start, w))
    {
        return true;
    }
    // `五到六点`: a bare number before a range connector and another number.
    let connector = chars.get(end).is_some_and(|m| matches!(m.0, '到' | '至' | '-' | '~'));
    connector && chars.get(end + 1).is_some_and(|m| digit_value(m.0).is_some() || m.0 == '十' || m.0.is_ascii_digit())
}

/// The digits a numeral run stands for: digit by digit without a multiplier, else its value.
fn numeral_digits(run: &[char]) -> Option<String> {
    if run.iter().all(|&c| digit_value(c).is_some()) {
        return Some(run.iter().filter_map(|&c| digit_value(c)).map(|d| char::from(b'0' + d as u8)).collect());
    }
    numeral_value(run).map(|v| v.to_string())
}

/// The value of a numeral with multipliers, spoken short forms included (`一百二` = 120).
fn numeral_value(run: &[char]) -> Option<u64> {
    let mut total: u64 = 0; // completed 万/亿 groups
    let mut section: u64 = 0; // below 万
    let mut digit: Option<u64> = None;
    let mut last_unit: u64 = 0;
    let mut zero_seen = false;
    for &c in run {
        if let Some(d) = digit_value(c) {
            if d == 0 {
                zero_seen = true;
            }
            digit = Some(d);
        } else if let Some(m) = multiplier(c) {
            let d = digit.take().unwrap_or(if m == 10 { 1 } else { 0 });
            if m >= 10_000 {
                total = total.checked_add(section.checked_add(d)?.checked_mul(m)?)?;
                section = 0;
            } else {
                section = section.checked_add(d.checked_mul(m)?)?;
            }
            last_unit = m;
            zero_seen = false;
        } else {
            return None;
        }
    }
    if let Some(d) = digit {
        // `一百二` = 120, `三千五` = 3500, `一万五` = 15000; not after a zero (`一百零二` = 102).
        let short = if !zero_seen && last_unit >= 100 { last_unit / 10 } else { 1 };
        section = section.checked_add(d.checked_mul(short)?)?;
    }
    total.checked_add(section)
}

/// Idioms whose numerals are not numbers.
/// `五一` and `双十一` are holidays, which the time parser reads by name.
const IDIOMS: &[&str] =
    &["五一", "双十一", "乱七八糟", "七上八下", "三三两两", "一五一十", "七七八八", "十全十美", "一一"];

/// Converts the Chinese numerals that read as numbers into ASCII digits.
fn numerals(chars: &[Mapped]) -> (Vec<char>, Vec<(usize, usize)>) {
    let mut out = Vec::with_capacity(chars.len());
    let mut map = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].0;
        let starts_run = digit_value(c).is_some() || c == '十';
        if !starts_run {
            out.push(c);
            map.push((chars[i].1, chars[i].2));
            i += 1;
            continue;
        }
        let mut end = i;
        while end < chars.len() && is_numeral(chars[end].0) {
            end += 1;
        }
        let in_idiom = IDIOMS.iter().any(|w| {
            let n = w.chars().count();
            (i.saturating_sub(n)..=i).any(|s| starts_with_at(chars, s, w) && s + n > i)
        });
        let run: Vec<char> = chars[i..end].iter().map(|m| m.0).collect();
        // Next to ASCII digits a converted run would merge into another number (`29五点` → `295点`).
        let next_to_digit = i.checked_sub(1).is_some_and(|p| chars[p].0.is_ascii_digit())
            || chars.get(end).is_some_and(|m| m.0.is_ascii_digit());
        let keep = in_idiom || next_to_digit || !is_number_in_context(chars, i, end);
        let digits = if keep { None } else { numeral_digits(&run) };
        match digits {
            Some(d) => {
                let span = (chars[i].1, chars[end - 1].2);
                for ch in d.chars() {
                    out.push(ch);
                    map.push(span);
                }
            }
            None => {
                for m in &chars[i..end] {
                    out.push(m.0);
                    map.push((m.1, m.2));
                }
            }
        }
        i = end;
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s).text
    }

    #[test]
    fn full_width_becomes_half_width() {
        assert_eq!(norm("ＡＢＣ１２３，：！"), "ABC123,:!");
        assert_eq!(norm("１０：３０"), "10:30");
    }

    #[test]
    fn chinese_clock_numerals_become_digits() {
        assert_eq!(norm("十点半"), "10点半");
        assert_eq!(norm("两点一刻"), "2点1刻");
        assert_eq!(norm("三刻"), "3刻");
        assert_eq!(norm("九点二十"), "9点20");
        assert_eq!(norm("一点零五分"), "1点05分");
        assert_eq!(norm("下午一点"), "下午1点");
    }

    #[test]
    fn chinese_values_become_digits() {
        assert_eq!(norm("二十三号"), "23号");
        assert_eq!(norm("一百二"), "120");
        assert_eq!(norm("三千五"), "3500");
        assert_eq!(norm("一百零五"), "105");
        assert_eq!(norm("一万五"), "15000");
        assert_eq!(norm("二零零四年"), "2004年");
        assert_eq!(norm("〇六年"), "06年");
        assert_eq!(norm("零点"), "0点");
        assert_eq!(norm("一个小时"), "1个小时");
        assert_eq!(norm("早上七到八点"), "早上7到8点");
    }

    #[test]
    fn numerals_inside_words_stay() {
        assert_eq!(norm("我们一起去"), "我们一起去");
        assert_eq!(norm("等一下"), "等一下");
        assert_eq!(norm("万一下雨"), "万一下雨");
        assert_eq!(norm("一定要来"), "一定要来");
        assert_eq!(norm("快一点"), "快一点");
        assert_eq!(norm("一点点"), "一点点");
        assert_eq!(norm("明天一点"), "明天1点");
        assert_eq!(norm("十分感谢"), "十分感谢");
        assert_eq!(norm("统一时间"), "统一时间");
        assert_eq!(norm("同一天"), "同一天");
        assert_eq!(norm("一时想不起来"), "一时想不起来");
        assert_eq!(norm("三时十五分"), "3时15分");
        assert_eq!(norm("下午三时"), "下午3时");
        assert_eq!(norm("乱七八糟"), "乱七八糟");
        assert_eq!(norm("星期一"), "星期1");
        assert_eq!(norm("29五点"), "29五点");
    }

    #[test]
    fn traditional_becomes_simplified() {
        assert_eq!(norm("打掃廚房"), "打扫厨房");
        assert_eq!(norm("三點"), "3点");
        assert_eq!(norm("下週三預約"), "下周3预约");
        assert_eq!(norm("陽臺衛生間"), "阳台卫生间");
        assert_eq!(norm("嬰兒護理"), "婴儿护理");
        assert_eq!(norm("訂單換時間"), "订单换时间");
        assert_eq!(norm("後天來個保潔"), "后天来个保洁");
        assert_eq!(norm("臥室電器"), "卧室电器");
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(norm("  明天   上午 "), "明天上午");
        assert_eq!(norm("6 天"), "6天");
        assert_eq!(norm("8:00   a.m.  明天"), "8:00 a.m.明天");
        assert_eq!(norm("clean  the\tkitchen"), "clean the kitchen");
    }

    #[test]
    fn spans_map_back_to_the_input() {
        let n = normalize("明天 二十三号 来");
        assert_eq!(n.text, "明天23号来");
        // "23号" is normalized chars 2..5, original chars 3..7 ("二十三号").
        assert_eq!(n.original_span(2, 5), (3, 7));
        assert_eq!(n.original_span(0, 2), (0, 2));
        assert_eq!(n.original_span(5, 6), (8, 9));
        assert_eq!(n.original_span(4, 4), (6, 6));
        assert_eq!(n.original_span(9, 12), (9, 9));
    }

    proptest::proptest! {
        #[test]
        fn map_is_monotonic_and_in_bounds(s in "[ 一二两三十百千万零点半号天年月周刻个小时 ａ１：a-z0-9點週-]{0,40}") {
            let n = normalize(&s);
            let len = s.chars().count();
            proptest::prop_assert_eq!(n.map().len(), n.chars().len());
            let mut prev = (0, 0);
            for &(a, b) in n.map() {
                proptest::prop_assert!(a < b && b <= len);
                proptest::prop_assert!(a >= prev.0 && b >= prev.1);
                prev = (a, b);
            }
        }
    }
}
