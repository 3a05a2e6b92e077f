//! Parts of day (`上午`, `晚上`) and clock times (`10点`, `10:30`, `十点半`, `两点一刻`).

use chrono::NaiveTime;

use super::scan::Text;

/// A part of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// 凌晨: hours as written.
    Dawn,
    /// 早上, 早晨, 早间, 早.
    Morning,
    /// 上午.
    Forenoon,
    /// 中午.
    Noon,
    /// 下午, 午后.
    Afternoon,
    /// 傍晚.
    Dusk,
    /// 晚上, 晚间, 晚.
    Evening,
    /// 夜里, 深夜, 半夜.
    Night,
}

impl Part {
    /// The timex of the part (`MO`, `AF`, `EV`, `NI`, `MI`).
    pub fn timex(self) -> &'static str {
        match self {
            Part::Dawn | Part::Morning | Part::Forenoon => "MO",
            Part::Noon => "MI",
            Part::Afternoon => "AF",
            Part::Dusk | Part::Evening => "EV",
            Part::Night => "NI",
        }
    }

    /// The Recognizers-Text span of the part: (start hour, end time).
    pub fn span(self) -> (NaiveTime, NaiveTime) {
        let hm = |h, m, s| NaiveTime::from_hms_opt(h, m, s).unwrap_or(NaiveTime::MIN);
        match self.timex() {
            "MO" => (hm(8, 0, 0), hm(12, 0, 0)),
            "MI" => (hm(11, 0, 0), hm(13, 0, 0)),
            "AF" => (hm(12, 0, 0), hm(16, 0, 0)),
            "EV" => (hm(16, 0, 0), hm(20, 0, 0)),
            _ => (hm(20, 0, 0), hm(23, 59, 59)),
        }
    }

    /// The booking default hour of the part (DESIGN.md §3).
    pub fn default_hour(self) -> u32 {
        match self {
            Part::Dawn => 5,
            Part::Morning => 8,
            Part::Forenoon => 9,
            Part::Noon => 12,
            Part::Afternoon => 14,
            Part::Dusk => 18,
            Part::Evening => 19,
            Part::Night => 22,
        }
    }

    /// The 24-hour clock hour of `hour` said in this part of the day.
    pub fn adjust(self, hour: u32) -> u32 {
        match self {
            Part::Dawn | Part::Morning | Part::Forenoon => {
                if hour == 12 {
                    0
                } else {
                    hour
                }
            }
            Part::Noon => {
                if hour < 6 {
                    hour + 12
                } else {
                    hour
                }
            }
            Part::Afternoon | Part::Dusk | Part::Evening | Part::Night => {
                if (1..12).contains(&hour) {
                    hour + 12
                } else {
                    hour
                }
            }
        }
    }
}

/// Part-of-day words that may stand alone.
const PART_WORDS: &[(&str, Part)] = &[
    ("凌晨", Part::Dawn),
    ("早上", Part::Morning),
    ("早晨", Part::Morning),
    ("早间", Part::Morning),
    ("清晨", Part::Morning),
    ("上午", Part::Forenoon),
    ("中午", Part::Noon),
    ("下午", Part::Afternoon),
    ("午后", Part::Afternoon),
    ("傍晚", Part::Dusk),
    ("晚上", Part::Evening),
    ("晚间", Part::Evening),
    ("夜里", Part::Night),
    ("夜间", Part::Night),
    ("深夜", Part::Night),
    ("半夜", Part::Night),
];

/// A part-of-day word at `at`; `short` also accepts the one-char `早` / `晚` (after a date).
pub fn part(t: &Text, at: usize, short: bool) -> Option<(Part, usize)> {
    if let Some((k, end)) = t.longest(at, PART_WORDS) {
        return Some((PART_WORDS[k].1, end));
    }
    match t.at(at)? {
        '早' if short => Some((Part::Morning, at + 1)),
        '晚' if short => Some((Part::Evening, at + 1)),
        _ => None,
    }
}

/// How precisely a clock time was said (decides the timex: `T18`, `T18:00`, `T18:00:05`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    /// `6点`.
    Hour,
    /// `6:00`, `6点半`, `6点20`.
    Minute,
    /// `6点20分5秒`.
    Second,
}

/// A clock time as said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Hour as written (0–24).
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
    /// What was said.
    pub precision: Precision,
    /// The part of day said with it.
    pub part: Option<Part>,
    /// `am` (false) / `pm` (true) when written.
    pub meridiem: Option<bool>,
}

impl Clock {
    /// Whether the hour could be morning or evening (Recognizers gives both).
    pub fn is_ambiguous(&self) -> bool {
        self.part.is_none() && self.meridiem.is_none() && (1..=12).contains(&self.hour)
    }

    /// The 24-hour hour as Recognizers-Text reads it (the morning reading when ambiguous).
    pub fn hour24(&self) -> u32 {
        let h = match (self.meridiem, self.part) {
            (Some(true), _) if self.hour < 12 => self.hour + 12,
            (Some(false), _) if self.hour == 12 => 0,
            (None, Some(p)) => p.adjust(self.hour),
            _ => self.hour,
        };
        h % 24
    }

    /// The clock as a time of day with the hour `hour24`.
    pub fn time_at(&self, hour24: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour24 % 24, self.minute, self.second).unwrap_or(NaiveTime::MIN)
    }

    /// The timex of the time of day with the hour `hour24` (`T18`, `T18:30`, `T18:30:05`).
    pub fn timex_at(&self, hour24: u32) -> String {
        match self.precision {
            Precision::Hour => format!("T{:02}", hour24 % 24),
            Precision::Minute => format!("T{:02}:{:02}", hour24 % 24, self.minute),
            Precision::Second => format!("T{:02}:{:02}:{:02}", hour24 % 24, self.minute, self.second),
        }
    }

    /// The hour under the booking conventions: a bare 1–6 is afternoon, 7–11 morning.
    pub fn booking_hour(&self) -> u32 {
        if self.part.is_some() || self.meridiem.is_some() {
            return self.hour24();
        }
        match self.hour {
            1..=6 => self.hour + 12,
            h => h % 24,
        }
    }
}

/// A clock time at `at`, with an optional part of day before it: `下午3点半`, `10:30`, `16时45分`.
///
/// The one-char parts `早` / `晚` count here too (`晚8点`), and a trailing `左右` ("about") is
/// part of the expression but changes nothing.
pub fn clock(t: &Text, at: usize) -> Option<(Clock, usize)> {
    let (part, start) = match part(t, at, false).or_else(|| part(t, at, true)) {
        Some((p, end)) => (Some(p), end),
        None => (None, at),
    };
    let (mut c, end) = bare_clock(t, start)?;
    c.part = part;
    Some((c, t.lit(end, "左右").unwrap_or(end)))
}

/// A clock time without a part of day.
pub fn bare_clock(t: &Text, at: usize) -> Option<(Clock, usize)> {
    if !t.is_boundary(at) {
        return None;
    }
    let (hour, end, n) = t.digits(at)?;
    if n > 2 || hour > 24 {
        return None;
    }
    let mut c = Clock { hour, minute: 0, second: 0, precision: Precision::Hour, part: None, meridiem: None };
    let end = if t.is(end, ':') {
        colon_clock(t, end, &mut c)?
    } else if let Some(e) = word_clock(t, end, &mut c) {
        e
    } else {
        // `10am`: an hour with only a meridiem.
        let e = meridiem(t, end, &mut c);
        if e == end || hour > 12 {
            return None;
        }
        e
    };
    Some((c, end))
}

/// `10:30`, `10:20:30 p.m.`
fn colon_clock(t: &Text, colon: usize, c: &mut Clock) -> Option<usize> {
    let (minute, mut end, n) = t.digits(colon + 1)?;
    if n != 2 || minute > 59 {
        return None;
    }
    c.minute = minute;
    c.precision = Precision::Minute;
    if t.is(end, ':') {
        if let Some((second, send, 2)) = t.digits(end + 1) {
            if second > 59 {
                return None;
            }
            c.second = second;
            c.precision = Precision::Second;
            end = send;
        }
    }
    Some(meridiem(t, end, c))
}

/// `am`, `a.m.`, `pm`, `p.m.` after a clock time (a space allowed).
fn meridiem(t: &Text, at: usize, c: &mut Clock) -> usize {
    let i = t.skip_spaces(at);
    const WORDS: &[&str] = &["am", "a.m.", "pm", "p.m.", "AM", "A.M.", "PM", "P.M.", "a.m", "p.m"];
    match t.longest(i, WORDS) {
        Some((k, end)) if !t.at(end).is_some_and(|n| n.is_ascii_alphabetic()) => {
            c.meridiem = Some(WORDS[k].starts_with(['p', 'P']));
            end
        }
        _ => at,
    }
}

/// `10点`, `十点半`, `两点一刻`, `9点20`, `17点55分23秒`, `八点整`.
fn word_clock(t: &Text, at: usize, c: &mut Clock) -> Option<usize> {
    let mut end = t.lit(at, "点").or_else(|| t.lit(at, "时"))?;
    if t.lit(end, "点").is_some() || t.lit(end, "候").is_some() {
        // `3点点` is not a time; `时候` is "when".
        return None;
    }
    if let Some(e) = t.lit(end, "钟") {
        end = e;
    }
    if let Some(e) = t.lit(end, "整") {
        return Some(e);
    }
    if let Some(e) = t.lit(end, "半") {
        c.minute = 30;
        c.precision = Precision::Minute;
        return Some(e);
    }
    if let Some((q @ (1 | 3), e, 1)) = t.digits(end) {
        if let Some(e) = t.lit(e, "刻") {
            c.minute = q * 15;
            c.precision = Precision::Minute;
            return Some(e);
        }
    }
    if let Some((minute, e, 1..=2)) = t.digits(end) {
        if minute < 60 && t.lit(e, "刻").is_none() && !t.at(e).is_some_and(|n| matches!(n, '天' | '号' | '日' | '月'))
        {
            c.minute = minute;
            c.precision = Precision::Minute;
            end = t.lit(e, "分").unwrap_or(e);
            if let Some((second, se, 1..=2)) = t.digits(end) {
                if let Some(s) = t.lit(se, "秒").filter(|_| second < 60) {
                    c.second = second;
                    c.precision = Precision::Second;
                    end = s;
                }
            }
        }
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<(Clock, usize)> {
        let chars: Vec<char> = s.chars().collect();
        clock(&Text::new(&chars), 0)
    }

    #[test]
    fn reads_clock_forms() {
        let (c, end) = parse("下午3点半").expect("clock");
        assert_eq!((c.hour24(), c.minute, end), (15, 30, 5));
        let (c, _) = parse("2点1刻").expect("clock");
        assert_eq!((c.hour, c.minute, c.is_ambiguous()), (2, 15, true));
        let (c, _) = parse("11:30:10 p.m.").expect("clock");
        assert_eq!((c.hour24(), c.second, c.precision), (23, 10, Precision::Second));
        let (c, end) = parse("晚8点左右").expect("clock");
        assert_eq!((c.hour24(), end), (20, 5));
        let (c, _) = parse("凌晨2点").expect("clock");
        assert_eq!(c.hour24(), 2);
        assert!(parse("3点点").is_none());
        let (c, _) = parse("10pm").expect("clock");
        assert_eq!(c.hour24(), 22);
        assert!(parse("10").is_none());
        assert!(parse("时候").is_none());
    }

    #[test]
    fn booking_hours_follow_design() {
        let hour = |s: &str| parse(s).map(|(c, _)| c.booking_hour());
        assert_eq!(hour("3点"), Some(15));
        assert_eq!(hour("9点"), Some(9));
        assert_eq!(hour("12点"), Some(12));
        assert_eq!(hour("上午11点"), Some(11));
        assert_eq!(hour("晚上8点"), Some(20));
    }
}
