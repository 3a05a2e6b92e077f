//! `autoglm`: the node and its tools.

use anyhow::{bail, Context, Result};
use autoglm::client::Client;
use autoglm::config::Config;
use autoglm::{loadgen, node, ops, secrets};
use autoglm_core::auth::Role;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

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
    /// Inspect a running node.
    Ops {
        #[command(subcommand)]
        what: OpsCmd,
    },
    /// Load a running node and check invariants afterwards.
    Loadgen {
        /// Base URL of the node.
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
enum OpsCmd {
    /// The supervision tree with every live actor's snapshot.
    Actors {
        /// Base URL of the node.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Admin token (default: minted from --data-dir).
        #[arg(long, env = "AUTOGLM_TOKEN")]
        token: Option<String>,
        /// Data dir of the node, to mint an admin token.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Children shown per supervisor.
        #[arg(long, default_value_t = 50)]
        max_children: usize,
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
            init_tracing();
            if cluster.is_some() {
                bail!("--cluster: multi-node clusters are not available in this build yet; run without it for a single node");
            }
            let mut cfg = load_config(config.as_deref())?;
            if let Some(l) = listen {
                cfg.server.listen = l;
            }
            if let Some(d) = data_dir {
                cfg.server.data_dir = d;
            }
            serve(cfg, demo.then_some(demo_workers)).await
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
        Cmd::Ops { what: OpsCmd::Actors { url, token, data_dir, max_children } } => {
            let client = Client::new(&url, Some(admin_token(token, &data_dir)?));
            print!("{}", ops::actors(&client, max_children).await?);
            Ok(())
        }
        Cmd::Loadgen { target, rate, duration, mix, connections, customers, token, data_dir, json } => {
            let admin = Client::new(&target, Some(admin_token(token, &data_dir)?));
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
            let report = loadgen::run(&admin, &opts, |line| eprintln!("{line}")).await?;
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

async fn serve(cfg: Config, demo: Option<usize>) -> Result<()> {
    let grace = Duration::from_secs(cfg.server.shutdown_grace_secs);
    let data_dir = cfg.server.data_dir.clone();
    let mut node = node::start(cfg, node::StartOptions { demo_workers: demo }).await?;
    let url = node.url();
    let workers = node.engine().worker_count().await.unwrap_or(0);
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "autoglm".into());
    println!("AutoGLM node listening on {url} ({workers} workers)");
    println!("  health:   curl {url}/healthz");
    println!("  token:    T=$({exe} token --role customer --subject C1 --data-dir {})", data_dir.display());
    println!("  order:    curl -H \"Authorization: Bearer $T\" -d '{{\"service\":\"cleaning\",\"start\":\"<RFC3339, tomorrow 10:00+08:00>\",\"address\":{{\"text\":\"人民广场\",\"lat\":31.2304,\"lon\":121.4737}}}}' {url}/v1/orders");
    println!("  actors:   {exe} ops actors --url {url} --data-dir {}", data_dir.display());
    shutdown_signal().await;
    tracing::info!("shutting down: draining requests");
    node.begin_shutdown();
    if tokio::time::timeout(grace, node.wait()).await.is_err() {
        tracing::warn!("requests still running after the grace period");
    }
    node.engine().shutdown().await;
    Ok(())
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

fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).init();
}
