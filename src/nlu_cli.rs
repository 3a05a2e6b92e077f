//! `autoglm nlu …`: the NLU in a terminal (time entities, grading).

use anyhow::{bail, Context, Result};
use autoglm_nlu::time::{self, eval};
use autoglm_nlu::Lang;
use chrono::NaiveDateTime;
use serde::Deserialize;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// Parses a reference time: RFC 3339 (its local wall-clock part is used) or `YYYY-MM-DDTHH:MM[:SS]`.
pub fn parse_reference(text: &str) -> Result<NaiveDateTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.naive_local());
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t);
        }
    }
    bail!("invalid reference time {text:?}: expected RFC 3339 (2026-03-05T09:00:00+08:00) or 2026-03-05T09:00:00")
}

/// One `--jsonl` input line of `autoglm nlu time`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeLine {
    #[serde(alias = "input")]
    text: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    lang: Option<Lang>,
}

/// `autoglm nlu time`: prints the date-time entities of each sentence in the
/// Recognizers-Text shape, one JSON array per input line.
pub fn time_command(
    lang: Option<Lang>,
    reference: NaiveDateTime,
    jsonl: bool,
    text: Option<String>,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<()> {
    let mut emit = |text: &str, lang: Option<Lang>, reference: NaiveDateTime| -> Result<()> {
        let lang = lang.unwrap_or_else(|| Lang::detect(text));
        let entities: Vec<_> = time::parse(text, lang, reference).iter().map(|e| e.to_recognizers_json()).collect();
        writeln!(out, "{}", serde_json::Value::Array(entities))?;
        Ok(())
    };
    if let Some(text) = text {
        return emit(&text, lang, reference);
    }
    for (n, line) in input.lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        if jsonl {
            let parsed: TimeLine = serde_json::from_str(&line).with_context(|| format!("line {}", n + 1))?;
            let reference = match parsed.reference.as_deref() {
                Some(r) => parse_reference(r).with_context(|| format!("line {}", n + 1))?,
                None => reference,
            };
            emit(&parsed.text, parsed.lang.or(lang), reference)?;
        } else {
            emit(&line, lang, reference)?;
        }
    }
    Ok(())
}

/// Where `autoglm nlu eval` looks for the Recognizers-Text cases when not told.
pub fn default_eval_dir() -> PathBuf {
    for candidate in ["../shared/eval", "shared/eval", "/work/shared/eval"] {
        let path = PathBuf::from(candidate);
        if path.join("recognizers_zh_datetime.jsonl").exists() {
            return path;
        }
    }
    PathBuf::from("../shared/eval")
}

/// Grades the time parser on one eval file; prints the table (and the failures when asked).
pub fn eval_time_file(path: &Path, lang: Lang, failures: bool, mut out: impl Write) -> Result<eval::Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let cases = eval::load_cases(&text).map_err(anyhow::Error::msg).with_context(|| path.display().to_string())?;
    let report = eval::run(&cases, lang, 20).map_err(anyhow::Error::msg)?;
    if failures {
        for o in report.failures() {
            writeln!(out, "FAIL {} [{}] {}", o.id, o.category, o.input)?;
            writeln!(out, "  want {}", serde_json::Value::Array(o.expected.clone()))?;
            writeln!(out, "  got  {}", serde_json::Value::Array(o.got.clone()))?;
        }
    }
    writeln!(out, "{report}\n")?;
    Ok(report)
}
