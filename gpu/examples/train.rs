//! Trains the intent+slot model on the generated corpus and saves it.
//!
//! ```text
//! ./dev cargo run --release -p autoglm-gpu --example train -- [OUT_DIR] [EXAMPLES] [EPOCHS] [SEED] [THREADS]
//! ```
//! Defaults: `models/intent_slot`, 20000 examples, 8 epochs, seed 42, libtorch's
//! thread count. Runs on the first CUDA device when there is one, else on the CPU.

use std::path::PathBuf;

use autoglm_gpu::{devices, train, TrainConfig};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> Result<T, String> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s.parse().map_err(|_| format!("argument {i} ({s:?}) is not valid")),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(args.first().cloned().unwrap_or_else(|| "models/intent_slot".to_string()));
    let n: usize = arg(&args, 1, 20_000)?;
    let epochs: usize = arg(&args, 2, 8)?;
    let seed: u64 = arg(&args, 3, 42)?;
    let threads: usize = arg(&args, 4, 0)?;
    let device = devices().first().map(|d| d.device()).unwrap_or(tch::Device::Cpu);
    let examples = autoglm_nlu::corpus::generate(seed, n);
    let config = TrainConfig {
        seed,
        epochs,
        device,
        version: format!("seed{seed}-n{n}"),
        threads: (threads > 0).then_some(threads),
        ..Default::default()
    };
    println!(
        "training on {} examples, {epochs} epochs, {device:?}, {} threads",
        examples.len(),
        tch::get_num_threads()
    );
    let report = train(&config, &examples, |p| {
        if p.epoch == 1 {
            println!("({} libtorch threads)", tch::get_num_threads());
        }
        println!(
            "epoch {:>2}/{}  loss {:.4}  held-out intent acc {:.4}  slot F1 {:.4}  ({:.1}s)",
            p.epoch,
            p.epochs,
            p.loss,
            p.held_out.intent_accuracy,
            p.held_out.slot_f1,
            p.elapsed.as_secs_f64()
        );
    })?;
    report.model.save(&out)?;
    let m = report.metrics;
    println!(
        "done in {:.1}s: {} train / {} held-out; intent accuracy {:.4}, slot P {:.4} R {:.4} F1 {:.4}; {} weights",
        report.elapsed.as_secs_f64(),
        report.train_examples,
        report.held_out_examples,
        m.intent_accuracy,
        m.slot_precision,
        m.slot_recall,
        m.slot_f1,
        report.model.parameter_count()
    );
    println!("saved to {}", out.display());
    Ok(())
}
