//! Grades the time parser on one `shared/eval` file (developer tool; `autoglm nlu eval` is the user-facing one).
//!
//! `cargo run -p autoglm-nlu --release --example time_eval -- ../shared/eval/recognizers_zh_datetime.jsonl [zh|en] [--failures]`

use autoglm_nlu::time::eval;
use autoglm_nlu::Lang;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: time_eval FILE [zh|en] [--failures]")?;
    let lang: Lang = args.get(1).map(|l| l.parse::<Lang>()).transpose().map_err(|e| e.to_string())?.unwrap_or(Lang::Zh);
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let cases = eval::load_cases(&text)?;
    let report = eval::run(&cases, lang, 20)?;
    if args.iter().any(|a| a == "--failures") {
        print!("{}", report.failures_text());
    }
    println!("{report}");
    Ok(())
}
