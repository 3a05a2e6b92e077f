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
        write!(out, "{}", report.failures_text())?;
    }
    writeln!(out, "{report}\n")?;
    Ok(report)
}

/// How `autoglm train` trains.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Model folder to write.
    pub out: PathBuf,
    /// Generated examples (a tenth is held out).
    pub examples: usize,
    /// Passes over the training split.
    pub epochs: usize,
    /// Seeds the corpus, the split, the weights and the shuffling.
    pub seed: u64,
    /// `cpu`, `cuda:N`, or `None` for the first CUDA device, else the CPU.
    pub device: Option<String>,
}

/// `autoglm train`: generates the corpus, trains with progress per epoch,
/// saves the model folder, and scores the model on the hand-written set.
pub fn train_command(opts: &TrainOptions, mut out: impl Write) -> Result<()> {
    use autoglm_gpu::{devices, pool::parse_device, train, TrainConfig};
    let device = match &opts.device {
        Some(name) => parse_device(name)?,
        None => devices().into_iter().next().context("no device found")?,
    };
    let lexicon = autoglm_nlu::lexicon::Lexicon::builtin();
    let examples = autoglm_nlu::corpus::generate_with(&lexicon, opts.seed, opts.examples);
    writeln!(
        out,
        "training intent_slot on {} generated examples, {} epochs, seed {}, on {}",
        examples.len(),
        opts.epochs,
        opts.seed,
        device.name
    )?;
    let config = TrainConfig {
        seed: opts.seed,
        epochs: opts.epochs,
        device: device.device(),
        version: format!("{}-seed{}-n{}", env!("CARGO_PKG_VERSION"), opts.seed, opts.examples),
        ..TrainConfig::default()
    };
    let report = train(&config, &examples, |p| {
        let _ = writeln!(
            out,
            "  epoch {:>2}/{}  loss {:.4}  held-out intent {:.2}%  slot F1 {:.4}  {:>6.1}s",
            p.epoch,
            p.epochs,
            p.loss,
            100.0 * p.held_out.intent_accuracy,
            p.held_out.slot_f1,
            p.elapsed.as_secs_f64()
        );
    })?;
    report.model.save(&opts.out)?;
    let m = &report.metrics;
    writeln!(
        out,
        "trained in {:.1}s ({} train / {} held out, {} weights)\nheld-out split: intent accuracy {:.2}%, slot P {:.4} R {:.4} F1 {:.4}",
        report.elapsed.as_secs_f64(),
        report.train_examples,
        report.held_out_examples,
        report.model.parameter_count(),
        100.0 * m.intent_accuracy,
        m.slot_precision,
        m.slot_recall,
        m.slot_f1
    )?;
    let hand = model_on_handwritten(&report.model)?;
    writeln!(
        out,
        "hand-written set ({} cases, model alone): intent accuracy {:.2}%, slot F1 {:.4}",
        hand.cases,
        100.0 * hand.intent_accuracy(),
        hand.slots().f1()
    )?;
    writeln!(out, "saved to {}", opts.out.display())?;
    Ok(())
}

/// The model alone (no rules) on the hand-written set: intent accuracy and span F1.
pub fn model_on_handwritten(model: &autoglm_gpu::NluModel) -> Result<autoglm_nlu::metrics::Evaluation> {
    let cases = autoglm_nlu::corpus::load_labelled(autoglm_nlu::corpus::HANDWRITTEN).map_err(anyhow::Error::msg)?;
    model_on_labelled(model, &cases)
}

/// The model alone (no rules) on labelled cases: intent accuracy and span F1.
pub fn model_on_labelled(
    model: &autoglm_gpu::NluModel,
    cases: &[autoglm_nlu::corpus::Labelled],
) -> Result<autoglm_nlu::metrics::Evaluation> {
    let examples: Vec<_> = cases.iter().map(|c| c.example()).collect();
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let outputs = model.predict_texts(&texts)?;
    let mut eval = autoglm_nlu::metrics::Evaluation::new();
    for (example, output) in examples.iter().zip(&outputs) {
        eval.add(example.intent, &example.spans, output.intent, &output.spans);
    }
    Ok(eval)
}

/// One `--jsonl` input line of `autoglm nlu parse`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParseLine {
    text: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    lang: Option<Lang>,
}

/// Lines of `--jsonl` input understood per model batch.
const PARSE_CHUNK: usize = 256;

/// `autoglm nlu parse`: one NLU result per sentence (per JSON line with
/// `--jsonl`; a line that cannot be read gets `{"error": …}` so outputs stay
/// aligned with inputs).
pub async fn parse_command(
    nlu: &autoglm_gpu::NluService,
    reference: Option<chrono::DateTime<chrono::FixedOffset>>,
    lang: Option<Lang>,
    jsonl: bool,
    text: Option<String>,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<()> {
    type Item = Result<(String, Option<Lang>, Option<chrono::DateTime<chrono::FixedOffset>>), String>;
    let offset = *nlu.now().offset();
    let read = |line: &str| -> Item {
        if !jsonl {
            return Ok((line.to_string(), lang, reference));
        }
        let parsed: ParseLine = serde_json::from_str(line).map_err(|e| format!("invalid line: {e}"))?;
        let at = match parsed.reference.as_deref() {
            Some(r) => Some(reference_at(r, offset).map_err(|e| e.to_string())?),
            None => reference,
        };
        Ok((parsed.text, parsed.lang.or(lang), at))
    };
    let lines: Vec<String> = match text {
        Some(t) => vec![t],
        None => input.lines().collect::<std::io::Result<Vec<_>>>().context("reading stdin")?,
    };
    let items: Vec<Item> = lines.iter().filter(|l| !l.trim().is_empty()).map(|l| read(l)).collect();
    for chunk in items.chunks(PARSE_CHUNK) {
        let good: Vec<_> = chunk.iter().filter_map(|i| i.as_ref().ok().cloned()).collect();
        let mut results = nlu.parse_batch(&good).await?.into_iter();
        for item in chunk {
            let value = match item {
                Err(e) => serde_json::json!({ "error": e }),
                Ok(_) => match results.next() {
                    Some(Ok(r)) => serde_json::to_value(r)?,
                    Some(Err(e)) => serde_json::json!({ "error": e.to_string() }),
                    None => serde_json::json!({ "error": "no result" }),
                },
            };
            writeln!(out, "{value}")?;
        }
    }
    Ok(())
}

/// A reference time with an offset: RFC 3339 as given, or a local time at `offset`.
pub fn reference_at(text: &str, offset: chrono::FixedOffset) -> Result<chrono::DateTime<chrono::FixedOffset>> {
    use chrono::TimeZone;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    let local = parse_reference(text)?;
    offset.from_local_datetime(&local).single().with_context(|| format!("reference {text:?} does not exist"))
}

/// An NLU service for the command line: a CPU/GPU pool with the model in
/// `model_dir` when there is one (rules only otherwise, said on stderr).
pub async fn cli_service(model_dir: &Path) -> Result<autoglm_gpu::NluService> {
    let pool = autoglm_gpu::ModelPool::start(autoglm_gpu::PoolConfig::default()).await?;
    let offset = chrono::FixedOffset::east_opt(8 * 3600).context("offset")?;
    let nlu = autoglm_gpu::NluService::new(pool, autoglm_nlu::lexicon::Lexicon::builtin(), offset);
    if let Err(why) = nlu.load_default_model(model_dir).await {
        eprintln!("note: {why}");
    }
    Ok(nlu)
}

/// The NLU part of `autoglm nlu eval`: each labelled set through the whole
/// NLU (rules + model + time parser), and through the model alone.
pub async fn eval_nlu(model_dir: &Path, failures: bool, mut out: impl Write) -> Result<()> {
    let nlu = cli_service(model_dir).await?;
    let with_model = !nlu.pool().models().await.is_empty();
    let model = if with_model { Some(autoglm_gpu::NluModel::load(model_dir, tch::Device::Cpu)?) } else { None };
    for (name, jsonl) in autoglm_nlu::evaluate::SETS {
        let cases = autoglm_nlu::corpus::load_labelled(jsonl).map_err(|e| anyhow::anyhow!("{name} set: {e}"))?;
        eval_set(&nlu, name, &cases, model.as_ref(), failures, &mut out).await?;
    }
    if let Some(model) = &model {
        let m = &model.manifest().metrics;
        writeln!(
            out,
            "model on its generated held-out split ({} examples): intent accuracy {:.2}%, slot F1 {:.4}",
            m.examples,
            100.0 * m.intent_accuracy,
            m.slot_f1
        )?;
    }
    nlu.pool().shutdown().await;
    Ok(())
}

async fn eval_set(
    nlu: &autoglm_gpu::NluService,
    name: &str,
    cases: &[autoglm_nlu::corpus::Labelled],
    model: Option<&autoglm_gpu::NluModel>,
    failures: bool,
    out: &mut impl Write,
) -> Result<()> {
    use chrono::TimeZone;
    let offset = *nlu.now().offset();
    let items: Vec<_> = cases
        .iter()
        .map(|c| (c.text.clone(), Some(c.lang), offset.from_local_datetime(&c.reference).single()))
        .collect();
    let results: Vec<_> = nlu.parse_batch(&items).await?.into_iter().collect::<Result<_, _>>()?;
    let report = autoglm_nlu::evaluate::score(cases, &results);
    let source = if model.is_some() { "rules + model + time parser" } else { "rules + time parser, no model" };
    writeln!(out, "NLU on the {name} set ({} cases; {source})", report.cases)?;
    writeln!(out, "{report}")?;
    if failures {
        for (line, text, wrong) in &report.misses {
            writeln!(out, "MISS {name}:{line}: {text}\n  {}", wrong.join("\n  "))?;
        }
    }
    if let Some(model) = model {
        let eval = model_on_labelled(model, cases)?;
        writeln!(out, "\nmodel alone on the {name} set:\n{eval}")?;
    }
    writeln!(out)?;
    Ok(())
}
