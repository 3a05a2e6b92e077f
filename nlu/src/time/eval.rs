//! Grading the time parser on the Recognizers-Text cases of `shared/eval`.
//!
//! A case passes when the parser returns exactly the expected entities, in
//! order: same type, same span (`start`, inclusive `end`) and the same
//! resolution values (compared as JSON objects, in any order). Negative cases
//! pass when nothing is returned.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Instant;

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::Value;

use super::{parse, TimeEntity};
use crate::Lang;

/// The reference used when a case gives none (upstream then uses the current time; all such cases are negative).
const FALLBACK_REFERENCE: &str = "2016-11-07T00:00:00";

/// One eval case (the fields of `shared/eval/recognizers_*_datetime.jsonl` that grading needs).
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Case id (`zh-DateTimeModel-0033`).
    pub id: String,
    /// The sentence.
    pub input: String,
    /// "Now", `YYYY-MM-DDTHH:MM:SS`, or null.
    pub reference: Option<String>,
    /// The expected entities (`text`, `type`, `start`, `end`, `values`).
    pub expected: Vec<Value>,
}

impl Case {
    /// The reference time of the case.
    pub fn reference_time(&self) -> Result<NaiveDateTime, String> {
        let text = self.reference.as_deref().unwrap_or(FALLBACK_REFERENCE);
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
            .map_err(|e| format!("case {}: bad reference {text:?}: {e}", self.id))
    }

    /// The category the report groups the case under: the first expected type, or `negative`.
    pub fn category(&self) -> String {
        match self.expected.first().and_then(|e| e.get("type")).and_then(Value::as_str) {
            Some(t) => t.trim_start_matches("datetimeV2.").to_string(),
            None => "negative".to_string(),
        }
    }
}

/// Reads JSON lines of cases; blank lines are skipped, a bad line is an error naming its number.
pub fn load_cases(jsonl: &str) -> Result<Vec<Case>, String> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1)))
        .collect()
}

/// Whether `got` matches the case's expectation.
pub fn grade(case: &Case, got: &[TimeEntity]) -> bool {
    case.expected.len() == got.len() && case.expected.iter().zip(got).all(|(want, got)| entity_matches(want, got))
}

fn entity_matches(want: &Value, got: &TimeEntity) -> bool {
    let field = |k: &str| want.get(k);
    let same_type = field("type").and_then(Value::as_str) == Some(got.kind.type_name());
    let same_span = field("start").and_then(Value::as_u64) == Some(got.start as u64)
        && field("end").and_then(Value::as_u64) == Some(got.end as u64);
    let want_values = field("values").and_then(Value::as_array).cloned().unwrap_or_default();
    let got_values: Vec<Value> = got.values.iter().cloned().map(Value::Object).collect();
    same_type && same_span && same_multiset(&want_values, &got_values)
}

fn same_multiset(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|x| match (0..b.len()).find(|&i| !used[i] && b[i] == *x) {
        Some(i) => {
            used[i] = true;
            true
        }
        None => false,
    })
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Case id.
    pub id: String,
    /// Report category.
    pub category: String,
    /// Whether it passed.
    pub passed: bool,
    /// Parse time, microseconds.
    pub micros: f64,
    /// The sentence.
    pub input: String,
    /// What was expected (JSON).
    pub expected: Vec<Value>,
    /// What the parser returned (JSON, Recognizers shape).
    pub got: Vec<Value>,
}

/// Results of a whole eval file.
#[derive(Debug, Clone)]
pub struct Report {
    /// Language graded.
    pub lang: Lang,
    /// Every case, in file order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Cases passed.
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed).count()
    }

    /// Share of cases passed, 0–1.
    pub fn pass_rate(&self) -> f64 {
        if self.outcomes.is_empty() {
            return 0.0;
        }
        self.passed() as f64 / self.outcomes.len() as f64
    }

    /// Median parse time per sentence, microseconds.
    pub fn median_micros(&self) -> f64 {
        let mut times: Vec<f64> = self.outcomes.iter().map(|o| o.micros).collect();
        times.sort_by(f64::total_cmp);
        times.get(times.len() / 2).copied().unwrap_or(0.0)
    }

    /// (passed, total) per category, sorted by category.
    pub fn by_category(&self) -> BTreeMap<String, (usize, usize)> {
        let mut rows = BTreeMap::new();
        for o in &self.outcomes {
            let row: &mut (usize, usize) = rows.entry(o.category.clone()).or_default();
            row.0 += o.passed as usize;
            row.1 += 1;
        }
        rows
    }

    /// The failed cases.
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| !o.passed)
    }

    /// Every failed case with what was expected and what came out, three lines each.
    pub fn failures_text(&self) -> String {
        let mut out = String::new();
        for o in self.failures() {
            let _ = writeln!(out, "FAIL {} [{}] {}", o.id, o.category, o.input);
            let _ = writeln!(out, "  want {}", Value::Array(o.expected.clone()));
            let _ = writeln!(out, "  got  {}", Value::Array(o.got.clone()));
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "time parser eval ({}): {} cases", self.lang, self.outcomes.len())?;
        writeln!(f, "{:<16} {:>7} {:>7} {:>8}", "category", "passed", "cases", "rate")?;
        for (category, (passed, total)) in self.by_category() {
            let rate = 100.0 * passed as f64 / total.max(1) as f64;
            writeln!(f, "{category:<16} {passed:>7} {total:>7} {rate:>7.1}%")?;
        }
        writeln!(
            f,
            "{:<16} {:>7} {:>7} {:>7.1}%",
            "total",
            self.passed(),
            self.outcomes.len(),
            100.0 * self.pass_rate()
        )?;
        write!(f, "median parse time: {:.1} µs/sentence", self.median_micros())
    }
}

/// Parses every case with `lang` and grades it. Each case is parsed once to
/// warm up and then timed over `timing_runs` runs (at least one).
pub fn run(cases: &[Case], lang: Lang, timing_runs: u32) -> Result<Report, String> {
    let runs = timing_runs.max(1);
    let mut outcomes = Vec::with_capacity(cases.len());
    for case in cases {
        let reference = case.reference_time()?;
        let got = parse(&case.input, lang, reference);
        let started = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(parse(std::hint::black_box(&case.input), lang, reference));
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / runs as f64;
        outcomes.push(Outcome {
            id: case.id.clone(),
            category: case.category(),
            passed: grade(case, &got),
            micros,
            input: case.input.clone(),
            expected: case.expected.clone(),
            got: got.iter().map(TimeEntity::to_recognizers_json).collect(),
        });
    }
    Ok(Report { lang, outcomes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{DomainTime, TimeKind};

    fn case(expected: &str) -> Case {
        serde_json::from_str(&format!(
            r#"{{"id":"t","input":"明天下午5:00","reference":"2016-11-07T14:07:00","expected":{expected}}}"#
        ))
        .expect("test case")
    }

    fn entity(values: Value) -> TimeEntity {
        TimeEntity {
            text: "明天下午5:00".into(),
            kind: TimeKind::DateTime,
            start: 0,
            end: 7,
            values: values.as_array().into_iter().flatten().filter_map(|v| v.as_object().cloned()).collect(),
            domain: DomainTime::default(),
        }
    }

    #[test]
    fn grades_type_span_and_values() {
        let c = case(
            r#"[{"text":"明天下午5:00","type":"datetimeV2.datetime","start":0,"end":7,
               "values":[{"timex":"2016-11-08T17:00","type":"datetime","value":"2016-11-08 17:00:00"}]}]"#,
        );
        let good = serde_json::json!([{"type":"datetime","value":"2016-11-08 17:00:00","timex":"2016-11-08T17:00"}]);
        assert!(grade(&c, &[entity(good)]));
        let wrong = serde_json::json!([{"timex":"2016-11-08T17:00","type":"datetime","value":"2016-11-08 05:00:00"}]);
        assert!(!grade(&c, &[entity(wrong)]));
        assert!(!grade(&c, &[]));
        assert_eq!(c.category(), "datetime");
    }

    #[test]
    fn negative_cases_pass_on_nothing() {
        let c = case("[]");
        assert!(grade(&c, &[]));
        assert_eq!(c.category(), "negative");
    }

    #[test]
    fn load_reports_the_bad_line() {
        let err = load_cases("\n{not json}\n").expect_err("bad line");
        assert!(err.starts_with("line 2"), "{err}");
    }
}
