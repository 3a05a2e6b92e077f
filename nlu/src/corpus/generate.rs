//! The generator: templates × lexicon synonyms × slot values × fillers × typos, with exact spans.

use autoglm_core::catalog::{Room, Service};

use super::rng::SplitMix64;
use super::{phrases, templates, Example};
use crate::lexicon::{LexLabel, Lexicon};
use crate::model::SlotSpan;
use crate::{Intent, Lang, SlotKind};

/// Relative frequency of each intent, in [`Intent::ALL`] order (bookings most, short turns least).
const INTENT_WEIGHTS: [u32; 11] = [20, 9, 8, 7, 9, 6, 8, 12, 7, 6, 8];

const ZH_PLEASE: &[&str] = &["", "", "", "麻烦", "请", "帮我", "麻烦你", "能不能", "您好，", "那个，", "麻烦帮我"];
const ZH_END: &[&str] = &["", "", "", "", "吧", "呢", "哈", "啊", "一下", "，谢谢", "~", "！", "。", "？", "哦", "呀"];
const ZH_HI: &[&str] = &["", "", "你好，", "您好，", "在吗，", "hi，", "喂，", "哈喽，"];
const EN_PLEASE: &[&str] = &["", "", "", "please ", "could you ", "can you ", "pls ", "plz ", "hey, "];
const EN_END: &[&str] = &["", "", "", "", " please", " thanks", " thx", "!", ".", "?", " asap", " pls", " :)"];
const EN_HI: &[&str] = &["", "", "hi, ", "hello, ", "hey ", "good morning, ", "Hi! "];

const ZH_PROBLEM: &[&str] = &["坏", "堵", "漏", "跳闸", "不亮", "不制冷", "停电", "短路"];
const EN_PROBLEM: &[&str] =
    &[" is ", "isn't", " not ", "broken", "tripping", "tripped", "leak", "clogged", "blocked", "burst", "dripping"];
const EN_ACTIONS: &[&str] = &[
    "clean", "tidy", "vacuum", "mop", "wash", "look", "watch", "help", "fix", "repair", "install", "care", "unclog",
    "babysit", "move", "get", "send", "call", "push",
];
const EN_VERBS: &[&str] = &["clean", "tidy", "vacuum", "mop", "wash", "deep", "spring"];

/// One utterance being built: literal parts and slot parts.
struct Draft<'a> {
    rng: &'a mut SplitMix64,
    lexicon: &'a Lexicon,
    lang: Lang,
    parts: Vec<(Option<SlotKind>, String)>,
    service: Option<Service>,
    rooms: Vec<Room>,
}

/// Generates `n` examples from `lexicon`, deterministically from `seed`.
pub fn generate_with(lexicon: &Lexicon, seed: u64, n: usize) -> Vec<Example> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| one(&mut rng, lexicon)).collect()
}

fn one(rng: &mut SplitMix64, lexicon: &Lexicon) -> Example {
    let intent = Intent::ALL[rng.weighted(&INTENT_WEIGHTS)];
    let lang = if rng.chance(0.55) { Lang::Zh } else { Lang::En };
    for _ in 0..8 {
        let template = rng.pick(templates::templates(intent, lang)).copied().unwrap_or("");
        let mut draft = Draft { rng: &mut *rng, lexicon, lang, parts: Vec::new(), service: None, rooms: Vec::new() };
        draft.expand(template);
        let example = draft.finish(intent);
        if !example.text.trim().is_empty() {
            return example;
        }
    }
    let text = if lang == Lang::Zh { "你好" } else { "hello" };
    Example { text: text.to_string(), lang, intent: Intent::Other, spans: Vec::new() }
}

/// Keeps or drops each `[…]` group (half the time); groups do not nest.
fn choose_optionals(rng: &mut SplitMix64, template: &str) -> String {
    let mut out = String::new();
    let mut keep = true;
    for c in template.chars() {
        match c {
            '[' => keep = rng.chance(0.5),
            ']' => keep = true,
            _ if keep => out.push(c),
            _ => {}
        }
    }
    out
}

impl Draft<'_> {
    fn expand(&mut self, template: &str) {
        let text = choose_optionals(self.rng, template);
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            self.literal(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                self.literal(&rest[open..]);
                return;
            };
            let name = &rest[open + 1..open + close];
            self.fill(name);
            rest = &rest[open + close + 1..];
        }
        self.literal(rest);
    }

    fn literal(&mut self, text: &str) {
        if !text.is_empty() {
            self.parts.push((None, text.to_string()));
        }
    }

    fn slot(&mut self, kind: SlotKind, text: String) {
        if !text.is_empty() {
            self.parts.push((Some(kind), text));
        }
    }

    fn filler(&mut self, zh: &[&str], en: &[&str]) {
        let list = if self.lang == Lang::Zh { zh } else { en };
        let text = self.rng.pick(list).copied().unwrap_or("");
        self.literal(text);
    }

    fn fill(&mut self, name: &str) {
        let lang = self.lang;
        // `{kind=text}`: fixed text that is a slot (五星 in 五星好评, `cleaner` in `where is my cleaner`).
        if let Some((kind, text)) = name.split_once('=') {
            match kind.parse::<SlotKind>() {
                Ok(kind) => self.slot(kind, text.to_string()),
                Err(_) => self.literal(text),
            }
            return;
        }
        match name {
            "svc" => self.service(is_noun, Service::ALL),
            "rsvc" => self.service(is_noun, ROOM_SERVICES),
            "vsvc" => self.service(|s, lang| lang == Lang::Zh || is_en_verb(s), ROOM_SERVICES),
            "psvc" => self.service(is_problem, Service::ALL),
            "rooms" => self.rooms(),
            "room" | "room2" => self.room(),
            "time" | "time2" => {
                let t = phrases::time(self.rng, lang);
                self.slot(SlotKind::Time, t);
            }
            "oid" => {
                if self.rng.chance(0.2) {
                    self.literal("#");
                }
                let id = phrases::order_id(self.rng);
                self.slot(SlotKind::OrderId, id);
            }
            "rating" => {
                let (text, _) = phrases::rating(self.rng, lang);
                self.slot(SlotKind::Rating, text);
            }
            "rnum" => {
                let n = *self.rng.pick(&["5", "4", "3", "2", "1", "five", "four"]).unwrap_or(&"5");
                let article = if self.rng.chance(0.3) { "a " } else { "" };
                self.literal(article);
                self.slot(SlotKind::Rating, n.to_string());
            }
            "addr" => {
                let a = phrases::address(self.rng, lang);
                self.slot(SlotKind::Address, a);
            }
            "phone" => {
                let (typed, _) = phrases::phone(self.rng);
                self.slot(SlotKind::Phone, typed);
            }
            "worker" => {
                let w = phrases::worker(self.rng, lang);
                self.slot(SlotKind::Worker, w);
            }
            "p" => self.filler(ZH_PLEASE, EN_PLEASE),
            "e" => self.filler(ZH_END, EN_END),
            "hi" => self.filler(ZH_HI, EN_HI),
            "confirm" => self.cue(Intent::Confirm),
            "deny" => self.cue(Intent::Deny),
            other => self.literal(other),
        }
    }

    fn cue(&mut self, intent: Intent) {
        let cues = self.lexicon.surfaces(LexLabel::IntentCue(intent), self.lang);
        let fallback = match (intent, self.lang) {
            (Intent::Confirm, Lang::Zh) => "好的",
            (Intent::Confirm, Lang::En) => "yes",
            (_, Lang::Zh) => "不对",
            (_, Lang::En) => "no",
        };
        let text = self.rng.pick(&cues).copied().unwrap_or(fallback).to_string();
        self.literal(&text);
    }

    /// A service form that `fits`; keeps the utterance's service once chosen, else tries the others.
    fn service(&mut self, fits: fn(&str, Lang) -> bool, among: &[Service]) {
        let lexicon = self.lexicon;
        let lang = self.lang;
        let first = match self.service.filter(|s| among.contains(s)) {
            Some(s) => s,
            None => pick_service(self.rng, among),
        };
        let offset = self.rng.below(Service::ALL.len());
        let others = (0..Service::ALL.len()).map(|i| Service::ALL[(i + offset) % Service::ALL.len()]);
        let fitting = std::iter::once(first).chain(others).find_map(|label| {
            let forms: Vec<&str> =
                lexicon.surfaces(LexLabel::Service(label), lang).into_iter().filter(|f| fits(f, lang)).collect();
            (!forms.is_empty()).then_some((label, forms))
        });
        let (label, forms) = fitting.unwrap_or_else(|| (first, lexicon.surfaces(LexLabel::Service(first), lang)));
        let text = match self.rng.pick(&forms) {
            Some(t) => t.to_string(),
            None => (if lang == Lang::Zh { "保洁" } else { "cleaning" }).to_string(),
        };
        self.service = Some(label);
        self.slot(SlotKind::Service, text);
    }

    fn rooms(&mut self) {
        self.room();
        if self.rng.chance(0.3) && !self.rooms.contains(&Room::WholeHome) {
            let joiner = match self.lang {
                Lang::Zh => *self.rng.pick(&["和", "、", "跟", "还有"]).unwrap_or(&"和"),
                Lang::En => *self.rng.pick(&[" and ", ", ", " and the "]).unwrap_or(&" and "),
            };
            self.literal(joiner);
            self.room();
        }
    }

    /// One room form, of a room not yet named in this utterance.
    fn room(&mut self) {
        let fresh: Vec<Room> = Room::ALL.iter().copied().filter(|r| !self.rooms.contains(r)).collect();
        let label = self.rng.pick(&fresh).copied().unwrap_or(Room::Kitchen);
        let forms = self.lexicon.surfaces(LexLabel::Room(label), self.lang);
        let text = self.rng.pick(&forms).map(|s| s.to_string());
        self.rooms.push(label);
        match text {
            Some(t) => self.slot(SlotKind::Room, t),
            None => self.literal(if self.lang == Lang::Zh { "家里" } else { "home" }),
        }
    }

    fn finish(mut self, intent: Intent) -> Example {
        if self.lang == Lang::Zh {
            self.chat_style();
        }
        if self.rng.chance(0.12) {
            super::typos::apply(self.rng, self.lang, &mut self.parts);
        }
        if self.lang == Lang::En {
            let style = self.rng.below(10);
            for (_, text) in self.parts.iter_mut() {
                if style < 3 {
                    *text = text.to_ascii_lowercase();
                }
            }
            if style == 9 {
                if let Some((_, first)) = self.parts.first_mut() {
                    *first = capitalize(first);
                }
            }
        }
        assemble(self.parts, self.lang, intent)
    }
}

impl Draft<'_> {
    /// Chat habits, on literal parts only: commas typed as spaces or left out, trailing ~ or 。。。
    fn chat_style(&mut self) {
        let comma = match self.rng.below(8) {
            0 | 1 => Some(" "),
            2 => Some(""),
            _ => None,
        };
        if let Some(with) = comma {
            for (kind, text) in self.parts.iter_mut() {
                if kind.is_none() && text.contains('，') {
                    *text = text.replace('，', with);
                }
            }
        }
        if self.rng.chance(0.1) {
            let tail = *self.rng.pick(&["~", "。。。", "！！", "??", " 谢谢", "哈"]).unwrap_or(&"~");
            self.parts.push((None, tail.to_string()));
        }
    }
}

const ROOM_SERVICES: &[Service] =
    &[Service::Cleaning, Service::Cleaning, Service::Cleaning, Service::DeepCleaning, Service::WindowCleaning];

fn pick_service(rng: &mut SplitMix64, among: &[Service]) -> Service {
    // Cleaning is the most common request; give it extra weight where it is allowed.
    if among.contains(&Service::Cleaning) && rng.chance(0.25) {
        return Service::Cleaning;
    }
    rng.pick(among).copied().unwrap_or(Service::Cleaning)
}

fn is_problem(surface: &str, lang: Lang) -> bool {
    match lang {
        Lang::Zh => ZH_PROBLEM.iter().any(|p| surface.contains(p)),
        Lang::En => EN_PROBLEM.iter().any(|p| surface.contains(p)),
    }
}

/// A form that names the service rather than a problem or (in English) an action.
fn is_noun(surface: &str, lang: Lang) -> bool {
    let first = surface.split([' ', '-']).next().unwrap_or("");
    let verb = lang == Lang::En && EN_ACTIONS.contains(&first) && !surface.ends_with("ing");
    !is_problem(surface, lang) && !verb
}

fn is_en_verb(surface: &str) -> bool {
    let first = surface.split([' ', '-']).next().unwrap_or("");
    EN_VERBS.contains(&first) && !surface.ends_with("ing") && !surface.ends_with("er") && !surface.ends_with("ers")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Joins the parts into text and spans (char offsets), trimming outer spaces and doubled inner ones.
fn assemble(parts: Vec<(Option<SlotKind>, String)>, lang: Lang, intent: Intent) -> Example {
    let mut text = String::new();
    let mut len = 0usize;
    let mut spans = Vec::new();
    for (kind, part) in parts {
        let mut part = part.as_str();
        if kind.is_none() && (len == 0 || text.ends_with(' ')) {
            part = part.trim_start();
        }
        let count = part.chars().count();
        if let Some(kind) = kind {
            spans.push(SlotSpan { kind, start: len, end: len + count });
        }
        text.push_str(part);
        len += count;
    }
    while text.ends_with(' ') && spans.last().is_none_or(|s| s.end < len) {
        text.pop();
        len -= 1;
    }
    // Bare ids and phones carry no CJK: the language is what detection will say.
    let lang = if lang == Lang::Zh { Lang::detect(&text) } else { lang };
    Example { text, lang, intent, spans }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_spans_over_chars() {
        let parts = vec![
            (None, " 请".to_string()),
            (Some(SlotKind::Time), "明天上午10点".to_string()),
            (None, "来".to_string()),
            (Some(SlotKind::Service), "打扫".to_string()),
            (None, " ".to_string()),
        ];
        let ex = assemble(parts, Lang::Zh, Intent::BookService);
        assert_eq!(ex.text, "请明天上午10点来打扫");
        assert_eq!(ex.spans[0], SlotSpan { kind: SlotKind::Time, start: 1, end: 8 });
        assert_eq!(ex.spans[1], SlotSpan { kind: SlotKind::Service, start: 9, end: 11 });
    }

    #[test]
    fn optionals_and_classes() {
        let mut rng = SplitMix64::new(1);
        let kept: Vec<String> = (0..50).map(|_| choose_optionals(&mut rng, "a[b]c")).collect();
        assert!(kept.iter().any(|s| s == "abc") && kept.iter().any(|s| s == "ac"));
        assert!(is_problem("马桶堵了", Lang::Zh) && !is_problem("保洁", Lang::Zh));
        assert!(is_problem("toilet is clogged", Lang::En));
        assert!(is_en_verb("clean") && is_en_verb("deep clean") && !is_en_verb("cleaning") && !is_en_verb("cleaner"));
    }
}
