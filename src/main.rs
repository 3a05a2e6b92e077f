//! `autoglm`: the node and its tools.

use anyhow::{bail, Context, Result};
use autoglm::client::Client;
use autoglm::config::Config;
use autoglm::{loadgen, nlu_cli, node, ops, secrets};
use autoglm_core::auth::Role;
use autoglm_nlu::Lang;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// mimalloc instead of the system allocator: under load the node spends a
/// large share of its time allocating (JSON, strings, messages), and glibc's
/// malloc contends across tokio's threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "autoglm", version, about = "AutoGLM Home Services: the ordering engine")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a node (embedded defaults when no config is given).
    Serve {
        /// Config file (see autoglm.example.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Cluster config (cluster.toml); single node when absent.
        #[arg(long)]
        cluster: Option<PathBuf>,
        /// Listen address, overriding the config.
        #[arg(long)]
        listen: Option<String>,
        /// Data dir, overriding the config.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Seed a demo city of workers when the database has none.
        #[arg(long)]
        demo: bool,
        /// Workers in the demo city.
        #[arg(long, default_value_t = 240)]
        demo_workers: usize,
    },
    /// Print a bearer token the node using the same data dir (or secret) accepts.
    Token {
        /// customer, worker or admin.
        #[arg(long)]
        role: Role,
        /// Customer id, worker id or admin name.
        #[arg(long)]
        subject: String,
        /// Data dir of the node.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Config file (for a configured token secret).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 30 * 24 * 3600)]
        ttl_secs: i64,
    },
    /// Create or upgrade the database schema and exit.
    Migrate {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data dir, overriding the config.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Understand text: date-time entities, grading.
    Nlu {
        #[command(subcommand)]
        what: NluCmd,
    },
    /// Generate the synthetic corpus and train the intent+slot model.
    Train {
        /// Model folder to write (the node loads data/models/intent_slot by default).
        #[arg(long, default_value = "data/models/intent_slot")]
        out: PathBuf,
        /// Generated examples (a tenth is held out for the metrics).
        #[arg(long, default_value_t = 20_000)]
        examples: usize,
        /// Passes over the training split.
        #[arg(long, default_value_t = 8)]
        epochs: usize,
        /// Seed of the corpus, the split and the weights (same seed, same model).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// cpu or cuda:N (default: the first CUDA device, else the CPU).
        #[arg(long)]
        device: Option<String>,
    },
    /// Inspect a running node.
    Ops {
        #[command(subcommand)]
        what: OpsCmd,
    },
    /// Load a running node and check invariants afterwards.
    Loadgen {
        /// Base URL of the node; several nodes of one cluster comma-separated.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        target: String,
        /// Requests per second.
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// Seconds of load.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// What to send.
        #[arg(long, value_enum, default_value = "orders")]
        mix: loadgen::Mix,
        /// Most requests in flight.
        #[arg(long, default_value_t = 256)]
        connections: usize,
        /// Distinct customers.
        #[arg(long, default_value_t = 200)]
        customers: usize,
        /// Admin token (default: minted from --data-dir).
        #[arg(long, env = "AUTOGLM_TOKEN")]
        token: Option<String>,
        /// Data dir of the node, to mint an admin token.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum NluCmd {
    /// The NLU result (intent, slots, entities) of each sentence, as JSON.
    Parse {
        /// "Now": RFC 3339, or local time at +08:00 (default: now).
        #[arg(long)]
        reference: Option<String>,
        /// zh or en (default: detected).
        #[arg(long)]
        lang: Option<Lang>,
        /// Read {"text", "reference"?, "lang"?} JSON lines on stdin; write one result per line.
        #[arg(long)]
        jsonl: bool,
        /// Model folder (default: data/models/intent_slot; rules only when absent).
        #[arg(long, default_value = "data/models/intent_slot")]
        model: PathBuf,
        /// The sentence (default: one sentence per stdin line).
        text: Option<String>,
    },
    /// Date-time entities in the Recognizers-Text shape (one JSON array per sentence).
    Time {
        /// zh or en (default: detected per sentence).
        #[arg(long)]
        lang: Option<Lang>,
        /// "Now": RFC 3339 or YYYY-MM-DDTHH:MM:SS local time (default: now at +08:00).
        #[arg(long)]
        reference: Option<String>,
        /// Read {"text", "reference"?, "lang"?} JSON lines on stdin.
        #[arg(long)]
        jsonl: bool,
        /// The sentence (default: one sentence per stdin line).
        text: Option<String>,
    },
    /// Grade the time parser on shared/eval (per-category table, median µs per sentence).
    Eval {
        /// Folder holding recognizers_{zh,en}_datetime.jsonl (default: ../shared/eval).
        #[arg(long)]
        eval_dir: Option<PathBuf>,
        /// Also print every failed case with what was expected and what came out.
        #[arg(long)]
        failures: bool,
        /// Model folder for the NLU part (default: data/models/intent_slot; rules only when absent).
        #[arg(long, default_value = "data/models/intent_slot")]
        model: PathBuf,
    },
}

/// Where a running node is and how to get in as admin.
#[derive(clap::Args)]
struct NodeAccess {
    /// Base URL of the node.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Admin token (default: minted from --data-dir).
    #[arg(long, env = "AUTOGLM_TOKEN")]
    token: Option<String>,
    /// Data dir of the node, to mint an admin token.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
}

impl NodeAccess {
    fn client(self) -> Result<Client> {
        Ok(Client::new(&self.url, Some(admin_token(self.token, &self.data_dir)?)))
    }
}

#[derive(Subcommand)]
enum OpsCmd {
    /// Cluster members: state, last heartbeat, actors and workers per node.
    Cluster {
        #[command(flatten)]
        node: NodeAccess,
    },
    /// Devices and loaded models: version, state, requests, batches, queue, timings.
    Models {
        #[command(flatten)]
        node: NodeAccess,
    },
    /// The supervision tree with every live actor's snapshot.
    Actors {
        #[command(flatten)]
        node: NodeAccess,
        /// Children shown per supervisor.
        #[arg(long, default_value_t = 50)]
        max_children: usize,
        /// Every cluster member's actors, not only this node's.
        #[arg(long)]
        cluster: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Serve { config, cluster, listen, data_dir, demo, demo_workers } => {
            let cluster = match cluster {
                Some(path) => {
                    let cc = autoglm_cluster::ClusterConfig::load(&path)?;
                    let cookie = cc.cookie()?;
                    Some((cc, cookie))
                }
                None => None,
            };
            let mut cfg = load_config(config.as_deref())?;
            if let Some(l) = listen {
                cfg.server.listen = l;
            }
            if let Some(d) = data_dir {
                cfg.server.data_dir = d;
            }
            autoglm::telemetry::init_tracing(&cfg.telemetry)?;
            serve(cfg, node::StartOptions { demo_workers: demo.then_some(demo_workers), cluster }).await
        }
        Cmd::Token { role, subject, data_dir, config, ttl_secs } => {
            autoglm_core::CustomerId::parse(&subject).context("invalid --subject")?;
            let cfg = load_config(config.as_deref())?;
            let key = secrets::token_key(&cfg.auth.token_secret, &data_dir)?;
            println!("{}", node::issue(&key, role, &subject, ttl_secs));
            Ok(())
        }
        Cmd::Migrate { config, data_dir } => {
            let mut cfg = load_config(config.as_deref())?;
            if let Some(d) = data_dir {
                cfg.server.data_dir = d;
            }
            std::fs::create_dir_all(&cfg.server.data_dir)?;
            let db = autoglm_storage::Db::connect(&cfg.database_url(), &Default::default()).await?;
            db.migrate().await?;
            println!("database schema is up to date ({})", db.backend());
            Ok(())
        }
        Cmd::Nlu { what } => nlu_command(what).await,
        Cmd::Train { out, examples, epochs, seed, device } => {
            let opts = nlu_cli::TrainOptions { out, examples, epochs, seed, device };
            tokio::task::block_in_place(|| nlu_cli::train_command(&opts, std::io::stdout().lock()))
        }
        Cmd::Ops { what: OpsCmd::Actors { node, max_children, cluster } } => {
            print!("{}", ops::actors(&node.client()?, max_children, cluster).await?);
            Ok(())
        }
        Cmd::Ops { what: OpsCmd::Cluster { node } } => {
            print!("{}", ops::cluster(&node.client()?).await?);
            Ok(())
        }
        Cmd::Ops { what: OpsCmd::Models { node } } => {
            print!("{}", ops::models(&node.client()?).await?);
            Ok(())
        }
        Cmd::Loadgen { target, rate, duration, mix, connections, customers, token, data_dir, json } => {
            // Several nodes of one cluster: `--target URL,URL,...` (load round-robin;
            // tokens come from the first, invariants are checked there).
            let mut urls = target.split(',').map(str::trim).filter(|u| !u.is_empty()).map(String::from);
            let first = urls.next().context("--target needs a URL")?;
            let others: Vec<String> = urls.collect();
            let admin = Client::new(&first, Some(admin_token(token, &data_dir)?));
            let opts = loadgen::Options {
                rate,
                duration: Duration::from_secs(duration),
                mix,
                connections,
                customers,
                seed: rand::random(),
            };
            eprintln!(
                "loadgen: {rate}/s for {duration}s against {target} ({connections} in flight, {customers} customers)"
            );
            let report = loadgen::run(&admin, &others, &opts, |line| eprintln!("{line}")).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{}", report.render());
            }
            if !report.passed {
                bail!("load run failed: errors or broken invariants");
            }
            Ok(())
        }
    }
}

async fn serve(cfg: Config, opts: node::StartOptions) -> Result<()> {
    let grace = Duration::from_secs(cfg.server.shutdown_grace_secs);
    let data_dir = cfg.server.data_dir.clone();
    let demo = opts.demo_workers;
    let mut node = node::start(cfg, opts).await?;
    let url = node.url();
    let workers = node.engine().worker_count().await.unwrap_or(0);
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "autoglm".into());
    println!("AutoGLM node listening on {url} ({workers} workers)");
    println!("  health:   curl {url}/healthz");
    if demo.is_some() {
        demo_customer(&node).await;
        // Tokens stay in the URL fragment: the browser never sends them to a server.
        println!("  chat:     {url}/#token={}", node.token(Role::Customer, "C1"));
        println!("  ops:      {url}/ops#token={}", node.token(Role::Admin, "ops"));
    }
    println!("  token:    T=$({exe} token --role customer --subject C1 --data-dir {})", data_dir.display());
    println!("  order:    curl -H \"Authorization: Bearer $T\" -d '{{\"service\":\"cleaning\",\"start\":\"<RFC3339, tomorrow 10:00+08:00>\",\"address\":{{\"text\":\"人民广场\",\"lat\":31.2304,\"lon\":121.4737}}}}' {url}/v1/orders");
    println!("  actors:   {exe} ops actors --url {url} --data-dir {}", data_dir.display());
    shutdown_signal().await;
    tracing::info!("shutting down: draining requests");
    node.begin_shutdown();
    if tokio::time::timeout(grace, node.wait()).await.is_err() {
        tracing::warn!("requests still running after the grace period");
    }
    node.shutdown_services().await;
    autoglm::telemetry::shutdown_tracing().await;
    Ok(())
}

/// The demo customer C1 lives in the demo city: the chat books without asking for an address.
async fn demo_customer(node: &node::Node) {
    let c1 = autoglm_core::CustomerId("C1".into());
    let mut prefs = (*node.engine().prefs(&c1).await).clone();
    if prefs.address.is_none() {
        let centre = autoglm::demo::CENTRE;
        prefs.address =
            Some(autoglm_core::Address { text: "人民广场1号".into(), lat: centre.lat, lon: centre.lon });
        if let Err(e) = node.engine().set_prefs(&c1, prefs).await {
            tracing::warn!(error = %e, "could not give the demo customer an address");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn nlu_command(what: NluCmd) -> Result<()> {
    let stdout = std::io::stdout();
    match what {
        NluCmd::Parse { reference, lang, jsonl, model, text } => {
            let nlu = nlu_cli::cli_service(&model).await?;
            let offset = *nlu.now().offset();
            let reference = reference.map(|r| nlu_cli::reference_at(&r, offset)).transpose()?;
            let result =
                nlu_cli::parse_command(&nlu, reference, lang, jsonl, text, std::io::stdin().lock(), stdout.lock())
                    .await;
            nlu.pool().shutdown().await;
            result
        }
        NluCmd::Time { lang, reference, jsonl, text } => {
            let reference = match reference {
                Some(r) => nlu_cli::parse_reference(&r)?,
                None => chrono::Utc::now().naive_utc() + chrono::Duration::hours(8),
            };
            nlu_cli::time_command(lang, reference, jsonl, text, std::io::stdin().lock(), stdout.lock())
        }
        NluCmd::Eval { eval_dir, failures, model } => {
            let dir = eval_dir.unwrap_or_else(nlu_cli::default_eval_dir);
            for (file, lang) in
                [("recognizers_zh_datetime.jsonl", Lang::Zh), ("recognizers_en_datetime.jsonl", Lang::En)]
            {
                nlu_cli::eval_time_file(&dir.join(file), lang, failures, stdout.lock())?;
            }
            nlu_cli::eval_nlu(&model, failures, stdout.lock()).await
        }
    }
}

fn load_config(path: Option<&std::path::Path>) -> Result<Config> {
    match path {
        Some(p) => Config::load(p),
        None => Ok(Config::default()),
    }
}

fn admin_token(token: Option<String>, data_dir: &std::path::Path) -> Result<String> {
    match token {
        Some(t) => Ok(t),
        None => {
            if !data_dir.join("secret.key").exists() {
                bail!("no --token given and {} has no secret.key to mint one", data_dir.display());
            }
            let key = secrets::token_key("", data_dir)?;
            Ok(node::issue(&key, Role::Admin, "ops", 3600))
        }
    }
}
