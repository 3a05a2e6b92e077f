//! Wiring one node together: storage, caches, writer, gateway, engine and
//! the HTTP edge. `autoglm serve` and the end-to-end tests both use it.

use crate::config::{Config, SessionBackend};
use crate::node_id::NodeIdClaim;
use crate::{demo, secrets};
use anyhow::{Context, Result};
use autoglm_actors::payments::SandboxGateway;
use autoglm_actors::{ChatError, ChatService, Engine, EngineParts, LlmClient, Understand};
use autoglm_cluster::{Cluster, ClusterConfig, LocalNode};
use autoglm_core::auth::{Claims, Role, TokenKey};
use autoglm_gpu::service::read_lexicon;
use autoglm_gpu::{ModelPool, NluError, NluService};
use autoglm_http::AppState;
use autoglm_nlu::lexicon::Lexicon;
use autoglm_nlu::NluResult;
use autoglm_storage::{CacheConfig, Db, DbOptions, OrderCache, Sessions, Writer, WriterConfig};
use chrono::{DateTime, FixedOffset};
use futures::future::BoxFuture;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// A running node.
pub struct Node {
    /// Where the HTTP edge listens.
    pub addr: SocketAddr,
    /// Handlers' state (engine, token key).
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    node_id: std::sync::Mutex<Option<NodeIdClaim>>,
}

/// Longest L1 order-cache TTL in a cluster, seconds.
const CLUSTER_L1_TTL_SECS: u64 = 1;

/// How to start a node beyond its config file.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Seed this many demo workers when the database has none.
    pub demo_workers: Option<usize>,
    /// Join a cluster (`--cluster cluster.toml`) with this cookie.
    pub cluster: Option<(ClusterConfig, String)>,
}

impl Node {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A token this node accepts.
    pub fn token(&self, role: Role, subject: &str) -> String {
        issue(&self.state.tokens, role, subject, 24 * 3600)
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.state.engine
    }

    /// Stops taking requests, finishes in-flight ones, stops the engine.
    pub async fn stop(mut self) {
        self.state.ready.store(false, Ordering::Relaxed);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.server).await;
        self.shutdown_services().await;
    }

    /// Stops the model pool and the engine (after the HTTP edge has drained);
    /// a cluster member first hands its workers over and leaves.
    pub async fn shutdown_services(&self) {
        if let Some(cluster) = &self.state.cluster {
            cluster.leave().await;
        }
        if let Some(nlu) = &self.state.nlu {
            nlu.pool().shutdown().await;
        }
        self.state.engine.shutdown().await;
        let claim = self.node_id.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut claim) = claim {
            claim.release().await;
        }
    }

    /// Waits until the server task ends (after a shutdown signal).
    pub async fn wait(&mut self) {
        let _ = (&mut self.server).await;
    }

    /// Signals the server to stop accepting and drain.
    pub fn begin_shutdown(&mut self) {
        self.state.ready.store(false, Ordering::Relaxed);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Signs a token valid for `ttl_secs`.
pub fn issue(key: &TokenKey, role: Role, subject: &str, ttl_secs: i64) -> String {
    key.issue(&Claims { role, sub: subject.to_string(), exp: chrono::Utc::now().timestamp() + ttl_secs })
}

/// Starts a node: migrates the database, seeds the demo city if asked,
/// starts the engine and serves HTTP on `cfg.server.listen`.
pub async fn start(cfg: Config, opts: StartOptions) -> Result<Node> {
    // Before anything creates its instruments.
    crate::telemetry::init_metrics()?;
    let data_dir = cfg.server.data_dir.clone();
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let tokens = secrets::token_key(&cfg.auth.token_secret, &data_dir)?;
    let callback_secret = secrets::callback_secret(&cfg.payments.callback_secret, &data_dir)?;

    let url = cfg.database_url();
    let pool_size = if cfg.database.max_connections == 0 { 16 } else { cfg.database.max_connections };
    let db_opts = DbOptions { max_connections: pool_size, ..DbOptions::default() };
    let db =
        Db::connect(&url, &db_opts).await.with_context(|| format!("connecting to the {} database", scheme(&url)))?;
    db.migrate().await.context("migrating the database")?;
    tracing::info!(backend = db.backend(), "database ready");
    let mut node_id = NodeIdClaim::take(&db, cfg.node_id, &data_dir).await?;

    if let Some(n) = opts.demo_workers {
        if db.count_workers().await? == 0 {
            for w in demo::workers(n, 2026) {
                db.upsert_worker(&w).await?;
            }
            tracing::info!(workers = n, "seeded the demo city");
        }
    }

    let redis = if cfg.redis.url.is_empty() {
        None
    } else {
        Some(autoglm_storage::connect_redis(&cfg.redis.url).await.context("connecting to Redis")?)
    };
    // The in-process L1 is not invalidated by other nodes' writes: in a cluster
    // it only absorbs bursts (Redis, when configured, is the shared L2).
    let l1_ttl_secs = if opts.cluster.is_some() && cfg.cache.l1_ttl_secs > CLUSTER_L1_TTL_SECS {
        tracing::info!(
            configured = cfg.cache.l1_ttl_secs,
            used = CLUSTER_L1_TTL_SECS,
            "[cache] l1_ttl_secs capped in a cluster"
        );
        CLUSTER_L1_TTL_SECS
    } else {
        cfg.cache.l1_ttl_secs
    };
    let cache = OrderCache::new(
        CacheConfig {
            l1_capacity: cfg.cache.l1_capacity,
            l1_ttl: Duration::from_secs(l1_ttl_secs),
            l2_ttl: Duration::from_secs(cfg.cache.l2_ttl_secs),
        },
        redis,
    );
    let writer = Writer::spawn(
        db.clone(),
        WriterConfig {
            max_batch: cfg.writer.max_batch.max(1),
            max_wait: Duration::from_micros(cfg.writer.max_wait_us),
            queue: cfg.writer.queue.max(16),
            // Each lane holds a connection while it writes; reads need one too.
            lanes: cfg.writer.lanes.clamp(1, (pool_size as usize).saturating_sub(1).max(1)),
        },
    );
    let sandbox = Arc::new(SandboxGateway::new(callback_secret));
    // Every node of a cluster negotiates in the same process-group scope.
    let scope = "autoglm".to_string();
    let node_name = match &opts.cluster {
        Some((cc, _)) => cc.node.name.clone(),
        None => format!("node-{}", cfg.node_id),
    };
    let engine = Engine::start(EngineParts {
        cfg: cfg.engine(),
        db,
        writer,
        cache,
        gateway: sandbox.clone(),
        sandbox: Some(sandbox.clone()),
        node: node_name,
        scope: scope.clone(),
        clustered: opts.cluster.is_some(),
    })
    .await
    .context("starting the engine")?;

    let listener = tokio::net::TcpListener::bind(&cfg.server.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.server.listen))?;
    let addr = listener.local_addr()?;
    sandbox.set_callback_url(format!("http://{addr}/v1/payments/callback"));

    let nlu = start_nlu(&cfg, &engine).await?;
    let chat = start_chat(&cfg, &engine, &nlu).await?;
    let mut state = AppState::new(engine.clone(), tokens).with_nlu(nlu, cfg.models_dir()).with_chat(chat);
    if let Some((cc, cookie)) = opts.cluster {
        let local = LocalNode { node_id: cfg.node_id, http: format!("http://{addr}") };
        let cluster = Cluster::start(cc, cookie, engine, local, scope).await.context("joining the cluster")?;
        state = state.with_cluster(Arc::new(cluster));
    }
    state.body_limit = cfg.server.body_limit_bytes;
    node_id.keep(state.ready.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(autoglm_http::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Ok(Node { addr, state, shutdown: Some(tx), server, node_id: std::sync::Mutex::new(Some(node_id)) })
}

/// Starts the model pool (its workers appear under /ops/actors), loads the
/// default model when one was trained, and watches the operator's lexicon.
async fn start_nlu(cfg: &Config, engine: &Engine) -> Result<NluService> {
    let pool = ModelPool::start_with_registry(cfg.nlu.pool.clone(), engine.registry().clone(), None)
        .await
        .context("starting the model pool")?;
    let lexicon = if cfg.nlu.lexicon.is_empty() {
        Lexicon::builtin()
    } else {
        read_lexicon(Path::new(&cfg.nlu.lexicon)).map_err(anyhow::Error::msg).context("[nlu] lexicon")?
    };
    let offset =
        chrono::FixedOffset::east_opt(cfg.utc_offset_minutes * 60).context("utc_offset_minutes out of range")?;
    let nlu = NluService::new(pool, lexicon, offset);
    let model_dir = cfg.models_dir().join(&cfg.nlu.pool.default_model);
    match nlu.load_default_model(&model_dir).await {
        Ok(()) => tracing::info!(dir = %model_dir.display(), "model loaded"),
        Err(why) => tracing::warn!("{why}"),
    }
    if !cfg.nlu.lexicon.is_empty() {
        nlu.watch_lexicon(cfg.nlu.lexicon.clone().into(), Duration::from_secs(cfg.nlu.lexicon_reload_secs.max(1)));
    }
    Ok(nlu)
}

/// The chat over the engine and the NLU, with sessions where `[chat]` says.
async fn start_chat(cfg: &Config, engine: &Engine, nlu: &NluService) -> Result<ChatService> {
    let sessions = match cfg.chat.sessions {
        SessionBackend::Memory => Sessions::memory(cfg.chat.session_config()),
        SessionBackend::Redis => {
            if cfg.redis.url.is_empty() {
                anyhow::bail!("[chat] sessions = \"redis\" needs [redis] url");
            }
            Sessions::redis(&cfg.redis.url, cfg.chat.session_config())
                .await
                .context("connecting the chat session store to Redis")?
        }
    };
    let llm = match cfg.chat.llm.clone() {
        Some(llm) => Some(LlmClient::new(llm).map_err(anyhow::Error::msg).context("[chat.llm]")?),
        None => None,
    };
    tracing::info!(sessions = sessions.backend(), llm = llm.is_some(), "chat ready");
    ChatService::new(engine.clone(), sessions, Arc::new(NluChat(nlu.clone())), llm, cfg.chat.chat_config())
        .map_err(anyhow::Error::msg)
        .context("[chat]")
}

/// The chat's view of the NLU service.
struct NluChat(NluService);

impl Understand for NluChat {
    fn understand<'a>(
        &'a self,
        text: &'a str,
        reference: DateTime<FixedOffset>,
    ) -> BoxFuture<'a, Result<NluResult, ChatError>> {
        Box::pin(async move {
            self.0.parse(text, None, Some(reference)).await.map_err(|e| match e {
                NluError::InvalidText(m) => ChatError::BadRequest(m),
                NluError::Overloaded(m) => ChatError::Overloaded(m.to_string()),
            })
        })
    }
}

fn scheme(url: &str) -> &str {
    url.split(':').next().unwrap_or("database")
}
