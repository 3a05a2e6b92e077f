//! Services, rooms, intent cue words and synonyms; loadable from a TOML file an operator edits.
//!
//! The built-in lexicon is `nlu/data/lexicon.toml` (its header documents the
//! format). The crate is pure: a node reads its own file and calls
//! [`Lexicon::from_toml_str`]; hot reload is the node swapping an
//! `Arc<Lexicon>`. [`Lexicon::find`] is a longest-match scan over a trie
//! built at load time (a few µs per sentence).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use autoglm_core::catalog::{Room, Service};
use serde::Deserialize;

use crate::{Intent, Lang};

/// The built-in lexicon file.
pub const BUILTIN_TOML: &str = include_str!("../data/lexicon.toml");

/// What a lexicon entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LexLabel {
    /// A service (保洁 → cleaning).
    Service(Service),
    /// A room (厨房 → kitchen).
    Room(Room),
    /// A cue word of an intent (取消 → cancel_order).
    IntentCue(Intent),
    /// A word that looks like a service but names none (阿姨, 师傅).
    NoService,
}

/// The kind of a [`LexLabel`], without its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LexKind {
    /// A service word.
    Service,
    /// A room word.
    Room,
    /// An intent cue word.
    IntentCue,
    /// A word that names no service.
    NoService,
}

impl LexLabel {
    /// The kind of this label.
    pub fn kind(self) -> LexKind {
        match self {
            LexLabel::Service(_) => LexKind::Service,
            LexLabel::Room(_) => LexKind::Room,
            LexLabel::IntentCue(_) => LexKind::IntentCue,
            LexLabel::NoService => LexKind::NoService,
        }
    }
}

impl fmt::Display for LexLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexLabel::Service(s) => write!(f, "service {s}"),
            LexLabel::Room(r) => write!(f, "room {r}"),
            LexLabel::IntentCue(i) => write!(f, "intent {i}"),
            LexLabel::NoService => f.write_str("no_service"),
        }
    }
}

/// One surface form of the lexicon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The form, as written in the file (trimmed; English lower-cased).
    pub surface: String,
    /// The language list it came from.
    pub lang: Lang,
    /// What it names.
    pub label: LexLabel,
}

/// A lexicon entry found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexMatch {
    /// What the matched form names.
    pub label: LexLabel,
    /// First character (chars, not bytes).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// Index of the entry in [`Lexicon::entries`].
    pub entry: usize,
}

impl LexMatch {
    /// The kind of the match.
    pub fn kind(&self) -> LexKind {
        self.label.kind()
    }
}

/// Why a lexicon file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexiconError {
    /// Not TOML, or a key the format does not know.
    #[error("lexicon is not a valid lexicon file: {0}")]
    Syntax(String),
    /// A format version this build cannot read.
    #[error("lexicon version {0} is not supported; this build reads version 1")]
    Version(u32),
    /// `[services.x]`, `[rooms.x]` or `[intents.x]` with an unknown label.
    #[error("unknown {section} label {name:?} in [{section}.{name}]; allowed: {allowed}")]
    UnknownLabel {
        /// `services`, `rooms` or `intents`.
        section: &'static str,
        /// The label as written.
        name: String,
        /// The allowed labels, comma separated.
        allowed: String,
    },
    /// A table without any surface form.
    #[error("[{0}] has no surface forms (give at least one in zh = [...] or en = [...])")]
    EmptyTable(String),
    /// An empty (or blank) surface form.
    #[error("[{table}] {lang} has an empty surface form")]
    EmptyForm {
        /// The table.
        table: String,
        /// `zh` or `en`.
        lang: &'static str,
    },
    /// One surface form mapped to two labels.
    #[error("surface form {surface:?} maps to both {first} and {second}")]
    Duplicate {
        /// The form.
        surface: String,
        /// The label it was first given.
        first: LexLabel,
        /// The other label.
        second: LexLabel,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Forms {
    #[serde(default)]
    zh: Vec<String>,
    #[serde(default)]
    en: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    version: Option<u32>,
    #[serde(default)]
    services: BTreeMap<String, Forms>,
    #[serde(default)]
    rooms: BTreeMap<String, Forms>,
    #[serde(default)]
    intents: BTreeMap<String, Forms>,
    no_service: Option<Forms>,
}

/// A small, fast hasher for (node, char) trie edges.
#[derive(Default)]
struct EdgeHasher(u64);

impl Hasher for EdgeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(29) ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type EdgeMap = HashMap<(u32, char), u32, BuildHasherDefault<EdgeHasher>>;

/// A character trie over lower-cased surface forms.
#[derive(Debug, Clone, Default)]
struct Trie {
    edges: EdgeMap,
    /// Entry ending at each node, if any.
    terminal: Vec<Option<u32>>,
}

impl Trie {
    fn insert(&mut self, surface: &str, entry: u32) {
        if self.terminal.is_empty() {
            self.terminal.push(None);
        }
        let mut node = 0u32;
        for c in surface.chars() {
            let next = self.terminal.len() as u32;
            node = *self.edges.entry((node, c)).or_insert_with(|| next);
            if node == next {
                self.terminal.push(None);
            }
        }
        self.terminal[node as usize] = Some(entry);
    }

    fn step(&self, node: u32, c: char) -> Option<u32> {
        self.edges.get(&(node, c)).copied()
    }
}

/// The services, rooms, intent cues and no-service words the NLU knows.
#[derive(Debug, Clone)]
pub struct Lexicon {
    entries: Vec<Entry>,
    trie: Trie,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn fold(c: char) -> char {
    c.to_ascii_lowercase()
}

/// Trims, lower-cases ASCII and collapses inner whitespace to one space.
fn clean_surface(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").chars().map(fold).collect()
}

/// Parses the table names of one section into labels, naming the allowed ones on error.
fn parse_labels<'a, T: std::str::FromStr + Copy>(
    section: &'static str,
    tables: &'a BTreeMap<String, Forms>,
    all: &[T],
    name_of: impl Fn(T) -> &'static str,
) -> Result<Vec<(T, String, &'a Forms)>, LexiconError> {
    tables
        .iter()
        .map(|(name, forms)| match name.parse::<T>() {
            Ok(label) => Ok((label, format!("{section}.{name}"), forms)),
            Err(_) => Err(LexiconError::UnknownLabel {
                section,
                name: name.clone(),
                allowed: all.iter().map(|l| name_of(*l)).collect::<Vec<_>>().join(", "),
            }),
        })
        .collect()
}

impl Lexicon {
    /// The built-in lexicon (`nlu/data/lexicon.toml`).
    pub fn builtin() -> Lexicon {
        match Lexicon::from_toml_str(BUILTIN_TOML) {
            Ok(lexicon) => lexicon,
            // The file is part of the crate and tested; an empty lexicon keeps the NLU running regardless.
            Err(_) => Lexicon { entries: Vec::new(), trie: Trie::default() },
        }
    }

    /// Parses a lexicon file (format in `nlu/data/lexicon.toml`), checking labels, empties and duplicates.
    pub fn from_toml_str(text: &str) -> Result<Lexicon, LexiconError> {
        let file: LexiconFile = toml::from_str(text).map_err(|e| LexiconError::Syntax(e.to_string()))?;
        if let Some(v) = file.version.filter(|v| *v != 1) {
            return Err(LexiconError::Version(v));
        }
        let mut builder = Builder::default();
        for (service, table, forms) in parse_labels("services", &file.services, Service::ALL, Service::as_str)? {
            builder.add_table(&table, forms, LexLabel::Service(service))?;
        }
        for (room, table, forms) in parse_labels("rooms", &file.rooms, Room::ALL, Room::as_str)? {
            builder.add_table(&table, forms, LexLabel::Room(room))?;
        }
        for (intent, table, forms) in parse_labels("intents", &file.intents, Intent::ALL, Intent::as_str)? {
            builder.add_table(&table, forms, LexLabel::IntentCue(intent))?;
        }
        if let Some(forms) = &file.no_service {
            builder.add_table("no_service", forms, LexLabel::NoService)?;
        }
        Ok(builder.finish())
    }

    /// Every surface form, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of surface forms.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the lexicon has no forms.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The surface forms of `label` in `lang`, in file order.
    pub fn surfaces(&self, label: LexLabel, lang: Lang) -> Vec<&str> {
        self.entries.iter().filter(|e| e.label == label && e.lang == lang).map(|e| e.surface.as_str()).collect()
    }

    /// What `surface` names, if it is a form of the lexicon (case-insensitive for English).
    pub fn lookup(&self, surface: &str) -> Option<LexLabel> {
        let cleaned = clean_surface(surface);
        let mut node = 0u32;
        for c in cleaned.chars() {
            node = self.trie.step(node, c)?;
        }
        let entry = (*self.trie.terminal.get(node as usize)?)?;
        Some(self.entries[entry as usize].label)
    }

    /// Finds lexicon forms in `text`: leftmost, longest, non-overlapping, with char offsets.
    ///
    /// English forms match case-insensitively and only as whole words.
    pub fn find(&self, text: &str) -> Vec<LexMatch> {
        let chars: Vec<char> = text.chars().map(fold).collect();
        let mut found = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match self.longest_at(&chars, i) {
                Some(m) => {
                    i = m.end;
                    found.push(m);
                }
                None => i += 1,
            }
        }
        found
    }

    /// The longest entry starting at `start` whose word boundaries hold.
    fn longest_at(&self, chars: &[char], start: usize) -> Option<LexMatch> {
        if self.trie.terminal.is_empty() {
            return None;
        }
        let word_start = is_word_char(chars[start]);
        if word_start && start > 0 && is_word_char(chars[start - 1]) {
            return None;
        }
        let mut node = 0u32;
        let mut best = None;
        for (j, &c) in chars.iter().enumerate().skip(start) {
            let Some(next) = self.trie.step(node, c) else { break };
            node = next;
            if let Some(entry) = self.trie.terminal[node as usize] {
                let end = j + 1;
                let ends_word = is_word_char(c) && chars.get(end).is_some_and(|n| is_word_char(*n));
                if !ends_word {
                    best =
                        Some(LexMatch { label: self.entries[entry as usize].label, start, end, entry: entry as usize });
                }
            }
        }
        best
    }
}

#[derive(Default)]
struct Builder {
    entries: Vec<Entry>,
    by_surface: HashMap<String, usize>,
}

impl Builder {
    fn add_table(&mut self, table: &str, forms: &Forms, label: LexLabel) -> Result<(), LexiconError> {
        if forms.zh.is_empty() && forms.en.is_empty() {
            return Err(LexiconError::EmptyTable(table.to_string()));
        }
        for (lang, list, name) in [(Lang::Zh, &forms.zh, "zh"), (Lang::En, &forms.en, "en")] {
            for raw in list {
                let surface = clean_surface(raw);
                if surface.is_empty() {
                    return Err(LexiconError::EmptyForm { table: table.to_string(), lang: name });
                }
                self.add(surface, lang, label)?;
            }
        }
        Ok(())
    }

    fn add(&mut self, surface: String, lang: Lang, label: LexLabel) -> Result<(), LexiconError> {
        if let Some(&i) = self.by_surface.get(&surface) {
            let first = self.entries[i].label;
            if first == label {
                return Ok(());
            }
            return Err(LexiconError::Duplicate { surface, first, second: label });
        }
        self.by_surface.insert(surface.clone(), self.entries.len());
        self.entries.push(Entry { surface, lang, label });
        Ok(())
    }

    fn finish(self) -> Lexicon {
        let mut trie = Trie::default();
        for (i, e) in self.entries.iter().enumerate() {
            trie.insert(&e.surface, i as u32);
        }
        Lexicon { entries: self.entries, trie }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(lex: &Lexicon, text: &str) -> Vec<(LexLabel, String)> {
        let chars: Vec<char> = text.chars().collect();
        lex.find(text).into_iter().map(|m| (m.label, chars[m.start..m.end].iter().collect())).collect()
    }

    #[test]
    fn builtin_covers_every_service_and_room_in_both_languages() {
        let lex = Lexicon::from_toml_str(BUILTIN_TOML).expect("built-in lexicon parses");
        for s in Service::ALL {
            for lang in Lang::ALL {
                assert!(!lex.surfaces(LexLabel::Service(*s), *lang).is_empty(), "{s} {lang}");
            }
        }
        for r in Room::ALL {
            for lang in Lang::ALL {
                assert!(!lex.surfaces(LexLabel::Room(*r), *lang).is_empty(), "{r} {lang}");
            }
        }
        for i in Intent::ALL {
            assert!(!lex.surfaces(LexLabel::IntentCue(*i), Lang::Zh).is_empty(), "{i}");
        }
        assert!(lex.len() > 500, "{}", lex.len());
    }

    #[test]
    fn longest_match_wins() {
        let lex = Lexicon::builtin();
        assert_eq!(labels(&lex, "明天深度保洁"), vec![(LexLabel::Service(Service::DeepCleaning), "深度保洁".into())]);
        let found = labels(&lex, "马桶堵了，快来");
        assert_eq!(found[0], (LexLabel::Service(Service::Plumbing), "马桶堵了".into()));
        assert!(found.iter().all(|(l, _)| l.kind() != LexKind::Room));
        assert_eq!(lex.lookup("擦玻璃"), Some(LexLabel::Service(Service::WindowCleaning)));
        assert_eq!(lex.lookup("不对"), Some(LexLabel::IntentCue(Intent::Deny)));
        assert_eq!(labels(&lex, "不对")[0].0, LexLabel::IntentCue(Intent::Deny));
    }

    #[test]
    fn english_is_case_insensitive_and_whole_words() {
        let lex = Lexicon::builtin();
        let found = labels(&lex, "Please CLEAN the Living Room tomorrow");
        assert!(found.contains(&(LexLabel::Service(Service::Cleaning), "CLEAN".into())), "{found:?}");
        assert!(found.contains(&(LexLabel::Room(Room::LivingRoom), "Living Room".into())), "{found:?}");
        assert_eq!(labels(&lex, "I need a cleaner")[1], (LexLabel::Service(Service::Cleaning), "cleaner".into()));
        assert!(labels(&lex, "separate").is_empty());
        assert!(labels(&lex, "hissing").is_empty());
        let found = labels(&lex, "please rate it");
        assert!(found.contains(&(LexLabel::IntentCue(Intent::RateOrder), "rate".into())), "{found:?}");
    }

    #[test]
    fn chinese_text_with_english_words() {
        let lex = Lexicon::builtin();
        let found = labels(&lex, "ok的，明天来clean厨房");
        assert_eq!(found[0], (LexLabel::IntentCue(Intent::Confirm), "ok".into()));
        assert!(found.contains(&(LexLabel::Service(Service::Cleaning), "clean".into())));
        assert!(found.contains(&(LexLabel::Room(Room::Kitchen), "厨房".into())));
    }

    #[test]
    fn unknown_label_names_the_allowed_ones() {
        let err = Lexicon::from_toml_str("[services.gardening]\nzh = [\"园艺\"]").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("gardening") && msg.contains("deep_cleaning") && msg.contains("moving"), "{msg}");
        let err = Lexicon::from_toml_str("[rooms.garage]\nen = [\"garage\"]").unwrap_err().to_string();
        assert!(err.contains("garage") && err.contains("whole_home"), "{err}");
        let err = Lexicon::from_toml_str("[intents.chat]\nen = [\"hi\"]").unwrap_err().to_string();
        assert!(err.contains("book_service"), "{err}");
    }

    #[test]
    fn duplicates_and_empties_are_refused() {
        let dup = "[services.cleaning]\nzh = [\"保洁\"]\n[services.moving]\nzh = [\"保洁\"]";
        let err = Lexicon::from_toml_str(dup).unwrap_err();
        assert!(matches!(err, LexiconError::Duplicate { .. }), "{err}");
        assert!(err.to_string().contains("cleaning") && err.to_string().contains("moving"));
        let same = "[services.cleaning]\nzh = [\"保洁\", \"保洁\"]\nen = [\"Clean\", \"clean\"]";
        assert_eq!(Lexicon::from_toml_str(same).map(|l| l.len()), Ok(2));
        assert!(matches!(Lexicon::from_toml_str("[rooms.kitchen]\nzh = []"), Err(LexiconError::EmptyTable(_))));
        assert!(matches!(Lexicon::from_toml_str("[rooms.kitchen]\nzh = [\" \"]"), Err(LexiconError::EmptyForm { .. })));
        assert!(matches!(Lexicon::from_toml_str("[rooms.kitchen]\nfr = [\"cuisine\"]"), Err(LexiconError::Syntax(_))));
        assert!(matches!(Lexicon::from_toml_str("version = 2"), Err(LexiconError::Version(2))));
        assert!(matches!(Lexicon::from_toml_str("not toml ["), Err(LexiconError::Syntax(_))));
    }

    #[test]
    fn can_be_shared_across_threads_for_hot_reload() {
        fn shared<T: Send + Sync + 'static>(_: &T) {}
        shared(&std::sync::Arc::new(Lexicon::builtin()));
    }

    #[test]
    fn operator_file_replaces_builtin() {
        let lex =
            Lexicon::from_toml_str("[services.cleaning]\nzh = [\"收纳\"]\n[no_service]\nzh = [\"阿姨\"]").unwrap();
        assert_eq!(labels(&lex, "阿姨来收纳").len(), 2);
        assert!(labels(&lex, "保洁").is_empty());
    }

    #[test]
    fn finds_in_a_few_microseconds() {
        let lex = Lexicon::builtin();
        let text = "明天上午10点来打扫厨房和卫生间，顺便擦玻璃，please clean the living room too";
        let t = std::time::Instant::now();
        let n = 2000;
        let mut total = 0;
        for _ in 0..n {
            total += lex.find(text).len();
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        println!("lexicon find: {per:.2} µs per sentence ({} chars)", text.chars().count());
        assert!(total > 0);
        // Generous bound for debug builds on a shared machine; release runs ~1 µs.
        assert!(per < 200.0, "{per} µs per sentence");
    }
}
