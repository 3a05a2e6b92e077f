//! Slot values for the generator: time phrases, order ids, ratings, addresses, phones, workers.
//!
//! Each function draws one surface form in one language; the generator marks
//! the whole of it as a span of the matching [`crate::SlotKind`].

use super::rng::SplitMix64;
use crate::Lang;

fn pick(rng: &mut SplitMix64, items: &[&str]) -> String {
    rng.pick(items).map(|s| s.to_string()).unwrap_or_default()
}

const ZH_DIGITS: [&str; 13] = ["零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"];

/// A time phrase: 明天上午10点, 下周三下午, 后天, 今晚7点, `tomorrow at 3pm`, `next Tuesday morning`…
pub fn time(rng: &mut SplitMix64, lang: Lang) -> String {
    match lang {
        Lang::Zh => zh_time(rng),
        Lang::En => en_time(rng),
    }
}

#[rustfmt::skip]
const ZH_FIXED_TIMES: &[&str] = &[
    "今晚", "今晚7点", "今晚八点", "明早", "明早8点", "一会儿", "现在", "下午", "上午", "周末", "这周末", "月底",
    "明天一早", "后天晚上八点半", "下周一上午九点", "下午2点到4点", "明天上午9点到11点", "两个小时后", "明晚",
    "今天下午", "下礼拜二", "本周六上午", "大后天中午12点", "明天中午", "3月8号下午2点", "今天之内",
];
#[rustfmt::skip]
const ZH_DAYS: &[&str] = &[
    "今天", "明天", "明天", "后天", "大后天", "这周六", "这周五", "这周日", "周六", "周日", "周三", "星期六",
    "下星期三", "3月8号", "3月10日", "3月12号", "4月1号", "下个月5号", "礼拜天", "明儿", "15号", "本周四",
];
const ZH_WEEKDAYS: &[&str] = &["一", "二", "三", "四", "五", "六", "日", "天"];

fn zh_time(rng: &mut SplitMix64) -> String {
    if rng.chance(0.15) {
        return pick(rng, ZH_FIXED_TIMES);
    }
    let mut out = String::new();
    if rng.chance(0.85) {
        if rng.chance(0.25) {
            out.push_str(if rng.chance(0.5) { "下周" } else { "下星期" });
            out.push_str(&pick(rng, ZH_WEEKDAYS[..7].as_ref()));
        } else {
            out.push_str(&pick(rng, ZH_DAYS));
        }
    }
    let part = if rng.chance(0.6) { Some(rng.below(6)) } else { None };
    let (lo, hi) = match part {
        Some(0) => {
            out.push_str("上午");
            (8, 11)
        }
        Some(1) => {
            out.push_str("下午");
            (1, 6)
        }
        Some(2) => {
            out.push_str("晚上");
            (6, 9)
        }
        Some(3) => {
            out.push_str("早上");
            (7, 9)
        }
        Some(4) => {
            out.push_str("中午");
            (11, 12)
        }
        Some(_) => {
            out.push_str("傍晚");
            (5, 6)
        }
        None => (1, 11),
    };
    if out.is_empty() || rng.chance(0.65) {
        out.push_str(&zh_clock(rng, lo, hi));
    }
    out
}

fn zh_clock(rng: &mut SplitMix64, lo: u32, hi: u32) -> String {
    let h = rng.range(lo, hi);
    let style = rng.below(10);
    if style == 0 {
        let m = ["00", "30", "15", "45"][rng.below(4)];
        return format!("{h}:{m}");
    }
    let hour = if style < 6 { format!("{h}点") } else { format!("{}点", ZH_DIGITS[h as usize]) };
    let minute = ["", "", "", "半", "半", "30", "一刻", "左右", "钟"][rng.below(9)];
    format!("{hour}{minute}")
}

#[rustfmt::skip]
const EN_FIXED_TIMES: &[&str] = &[
    "tonight", "tonight at 7", "this weekend", "asap", "right now", "this afternoon", "this evening",
    "tomorrow morning", "end of the month", "in two hours", "noon tomorrow", "from 2 to 4pm tomorrow",
    "between 9 and 11 on Friday", "tmrw", "later today", "first thing tomorrow", "Saturday morning",
    "this Sunday afternoon", "sometime next week", "tomorrow evening", "today at noon",
];
#[rustfmt::skip]
const EN_DAYS: &[&str] = &[
    "today", "tomorrow", "tomorrow", "tomorrow", "the day after tomorrow", "this Friday", "this Saturday",
    "on Saturday", "Sunday", "on Wednesday", "March 8", "March 10th", "on the 12th", "Thursday", "on Monday",
    "this Tuesday", "Mar 9", "3/12", "on Friday",
];
const EN_WEEKDAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn en_time(rng: &mut SplitMix64) -> String {
    if rng.chance(0.15) {
        return pick(rng, EN_FIXED_TIMES);
    }
    let day = if rng.chance(0.25) { format!("next {}", pick(rng, EN_WEEKDAYS)) } else { pick(rng, EN_DAYS) };
    let day = if rng.chance(0.3) { day.to_lowercase() } else { day };
    match rng.below(6) {
        0 => day,
        1 => format!("{day} {}", pick(rng, &["morning", "afternoon", "evening", "night"])),
        2 => format!("{} {day}", en_clock(rng)),
        3 => format!("{day} in the {}", pick(rng, &["morning", "afternoon", "evening"])),
        _ => format!("{day} {}{}", pick(rng, &["at ", "at ", "around ", "by ", ""]), en_clock(rng)),
    }
}

fn en_clock(rng: &mut SplitMix64) -> String {
    let h = rng.range(1, 12);
    match rng.below(7) {
        0 => format!("{h}:30"),
        1 => format!("{h}:{}pm", ["00", "15", "30", "45"][rng.below(4)]),
        2 => format!("{h} pm"),
        3 => format!("{h}am"),
        4 => format!("{h} o'clock"),
        5 if h == 12 => "noon".to_string(),
        _ => format!("{h}pm"),
    }
}

/// An order id like the engine's: `A1023` or `A1k2x9q0001`.
pub fn order_id(rng: &mut SplitMix64) -> String {
    const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if rng.chance(0.5) {
        return format!("A{}", rng.range(1000, 99_999));
    }
    let mut id = format!("A{}", rng.range(1, 9));
    for _ in 0..5 {
        id.push(ALNUM[rng.below(ALNUM.len())] as char);
    }
    id.push_str(&format!("{:04}", rng.range(1, 9999)));
    id
}

/// A rating with its unit (五星, 4分, 满分, `5 stars`, `4 out of 5`) and its value.
pub fn rating(rng: &mut SplitMix64, lang: Lang) -> (String, u8) {
    let value = [5, 5, 5, 4, 4, 3, 2, 1][rng.below(8)];
    let zh_num = ["", "一", "两", "三", "四", "五"][value as usize];
    let text = match (lang, rng.below(5)) {
        (Lang::Zh, 0) => format!("{value}星"),
        (Lang::Zh, 1) => format!("{zh_num}星"),
        (Lang::Zh, 2) => format!("{value}分"),
        (Lang::Zh, 3) => format!("{}颗星", if value == 2 { "两" } else { zh_num }),
        (Lang::Zh, _) if value == 5 => "满分".to_string(),
        (Lang::Zh, _) => format!("{zh_num}星"),
        (Lang::En, 0) => format!("{value} star{}", if value == 1 { "" } else { "s" }),
        (Lang::En, 1) => format!("{} stars", ["", "one", "two", "three", "four", "five"][value as usize]),
        (Lang::En, 2) => format!("{value} out of 5"),
        (Lang::En, 3) => format!("{value}/5"),
        (Lang::En, _) => format!("{value}-star"),
    };
    (text, value)
}

const ZH_DISTRICTS: &[&str] =
    &["朝阳区", "海淀区", "浦东新区", "徐汇区", "天河区", "南山区", "西湖区", "武侯区", "江汉区", "鼓楼区", ""];
#[rustfmt::skip]
const ZH_ROADS: &[&str] = &[
    "建国路", "中关村大街", "世纪大道", "体育西路", "科技园南路", "文三路", "人民南路", "解放大道", "中山路",
    "长安街", "望京西路", "南京东路", "幸福里", "花园街",
];
const ZH_ESTATES: &[&str] =
    &["望京花园", "阳光小区", "万科城市花园", "碧桂园", "华庭小区", "翠苑", "金地名京", "保利公寓", "锦绣家园"];

/// An address: 朝阳区建国路88号, 望京花园3栋2单元501, `12 Main Street, Apt 4`.
pub fn address(rng: &mut SplitMix64, lang: Lang) -> String {
    match lang {
        Lang::Zh => zh_address(rng),
        Lang::En => en_address(rng),
    }
}

fn zh_address(rng: &mut SplitMix64) -> String {
    let district = pick(rng, ZH_DISTRICTS);
    match rng.below(3) {
        0 => format!("{district}{}{}号", pick(rng, ZH_ROADS), rng.range(1, 300)),
        1 => format!(
            "{}{}栋{}单元{}{:02}",
            pick(rng, ZH_ESTATES),
            rng.range(1, 30),
            rng.range(1, 6),
            rng.range(1, 30),
            rng.range(1, 8)
        ),
        _ => format!(
            "{district}{}{}号{}{}号楼{}室",
            pick(rng, ZH_ROADS),
            rng.range(1, 300),
            pick(rng, ZH_ESTATES),
            rng.range(1, 20),
            rng.range(101, 2802)
        ),
    }
}

const EN_STREET_NAMES: &[&str] =
    &["Main", "Oak", "Maple", "Baker", "West Lake", "Park", "Hillside", "Nanjing", "Riverside", "Elm", "Pine"];
const EN_STREETS: &[&str] = &["Street", "St", "Road", "Rd", "Avenue", "Ave", "Lane", "Drive", "Court", "Way"];

fn en_address(rng: &mut SplitMix64) -> String {
    let mut out = format!("{} {} {}", rng.range(1, 999), pick(rng, EN_STREET_NAMES), pick(rng, EN_STREETS));
    if rng.chance(0.35) {
        out.push_str(&format!(", {} {}", pick(rng, &["Apt", "apt", "Unit", "Suite"]), rng.range(1, 40)));
    }
    out
}

/// A Chinese mobile number as typed, and its digits.
pub fn phone(rng: &mut SplitMix64) -> (String, String) {
    let mut digits = format!("1{}", rng.range(3, 9));
    for _ in 0..9 {
        digits.push(char::from(b'0' + rng.below(10) as u8));
    }
    let typed = match rng.below(6) {
        0 => format!("{}-{}-{}", &digits[..3], &digits[3..7], &digits[7..]),
        1 => format!("{} {} {}", &digits[..3], &digits[3..7], &digits[7..]),
        _ => digits.clone(),
    };
    (typed, digits)
}

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "胡", "郭"];
const PINYIN: &[&str] = &["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Zhou", "Wu", "Xu", "Sun"];

/// A worker reference: 王阿姨, 李师傅, `Ms. Wang`, `Mr Li`.
pub fn worker(rng: &mut SplitMix64, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{}{}", pick(rng, SURNAMES), pick(rng, &["阿姨", "阿姨", "师傅", "师傅", "大姐"])),
        Lang::En => {
            format!("{} {}", pick(rng, &["Ms.", "Mr.", "Mrs.", "Ms", "Mr", "Auntie", "Master"]), pick(rng, PINYIN))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_look_right() {
        let mut rng = SplitMix64::new(3);
        for _ in 0..200 {
            let (typed, digits) = phone(&mut rng);
            assert_eq!(digits.len(), 11);
            assert_eq!(typed.chars().filter(char::is_ascii_digit).collect::<String>(), digits);
            let id = order_id(&mut rng);
            assert!(id.starts_with('A') && id.chars().filter(char::is_ascii_digit).count() >= 3, "{id}");
            let (_, r) = rating(&mut rng, Lang::Zh);
            assert!((1..=5).contains(&r));
            assert!(!time(&mut rng, Lang::Zh).is_empty());
            assert!(!time(&mut rng, Lang::En).is_empty());
        }
    }
}
