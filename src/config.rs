//! `autoglm.toml`: typed, versioned, every key documented in the example
//! file; `${VAR}` is replaced by the environment variable VAR (for secrets).

use anyhow::{bail, Context, Result};
use autoglm_actors::config::{ActorConfig, DispatchConfig, PaymentConfig};
use autoglm_actors::EngineConfig;
use autoglm_core::policy::Policies;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The only config version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// The node's configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Format version; must be 1.
    pub version: u32,
    /// HTTP edge.
    pub server: ServerConfig,
    /// Relational database.
    pub database: DatabaseConfig,
    /// Redis (optional: in-process caches when absent).
    pub redis: RedisConfig,
    /// Order read cache.
    pub cache: CacheSection,
    /// Group-commit writer.
    pub writer: WriterSection,
    /// Node number in generated ids.
    pub node_id: u16,
    /// Local offset of customers, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// Contract-net dispatch.
    pub dispatch: DispatchConfig,
    /// Prices, windows, fees.
    pub policy: Policies,
    /// Actor lifetimes and restarts.
    pub actors: ActorConfig,
    /// Payment gateway.
    pub payments: PaymentConfig,
    /// Tokens.
    pub auth: AuthConfig,
    /// Understanding text: models, lexicon.
    pub nlu: NluSection,
    /// The chat: sessions, dialogue defaults, the optional LLM.
    pub chat: ChatSection,
    /// Logs and traces.
    pub telemetry: TelemetrySection,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with `trace_id` and `span_id` inside a traced span.
    Json,
}

/// `[telemetry]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySection {
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// OTLP/HTTP collector base URL (`http://collector:4318`); empty: no trace export.
    pub otlp_endpoint: String,
}

/// Where chat sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionBackend {
    /// In this process (lost on restart; one node only).
    Memory,
    /// In Redis (`[redis] url`), shared by every node.
    Redis,
}

/// `[chat]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatSection {
    /// `memory` or `redis`.
    pub sessions: SessionBackend,
    /// Minutes a conversation lives after its last turn.
    pub session_ttl_minutes: u64,
    /// How long a message waits for an earlier message of the same conversation.
    pub lock_wait_ms: u64,
    /// Hour a bare 上午 / "morning" stands for.
    pub morning_hour: u32,
    /// Hour a bare 下午 / "afternoon" stands for.
    pub afternoon_hour: u32,
    /// Hour a bare 晚上 / "evening" stands for.
    pub evening_hour: u32,
    /// Where free-text addresses are placed until a geocoder is configured.
    pub city_centre: autoglm_core::GeoPoint,
    /// An OpenAI-compatible endpoint for low-confidence turns (off when absent).
    pub llm: Option<autoglm_actors::LlmConfig>,
}

impl Default for ChatSection {
    fn default() -> Self {
        let dialogue = autoglm_nlu::dialogue::DialogueConfig::default();
        Self {
            sessions: SessionBackend::Memory,
            session_ttl_minutes: 30,
            lock_wait_ms: 2000,
            morning_hour: dialogue.morning_hour,
            afternoon_hour: dialogue.afternoon_hour,
            evening_hour: dialogue.evening_hour,
            city_centre: autoglm_actors::ChatConfig::default().city_centre,
            llm: None,
        }
    }
}

impl ChatSection {
    /// The chat service's settings.
    pub fn chat_config(&self) -> autoglm_actors::ChatConfig {
        autoglm_actors::ChatConfig {
            dialogue: autoglm_nlu::dialogue::DialogueConfig {
                morning_hour: self.morning_hour,
                afternoon_hour: self.afternoon_hour,
                evening_hour: self.evening_hour,
            },
            city_centre: self.city_centre,
        }
    }

    /// The session store's settings.
    pub fn session_config(&self) -> autoglm_storage::SessionConfig {
        autoglm_storage::SessionConfig {
            ttl: std::time::Duration::from_secs(self.session_ttl_minutes.max(1) * 60),
            lock_wait: std::time::Duration::from_millis(self.lock_wait_ms.max(1)),
            ..autoglm_storage::SessionConfig::default()
        }
    }
}

/// `[nlu]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NluSection {
    /// Folder of model folders (relative: inside the data dir). The pool's
    /// default model is loaded from `<models_dir>/<pool.default_model>` at start.
    pub models_dir: PathBuf,
    /// An operator's lexicon file (TOML, the format of nlu/data/lexicon.toml);
    /// empty: the built-in lexicon. Re-read when it changes.
    pub lexicon: String,
    /// Seconds between checks of the lexicon file for changes.
    pub lexicon_reload_secs: u64,
    /// The model pool: batching, queue, devices.
    pub pool: autoglm_gpu::PoolConfig,
}

impl Default for NluSection {
    fn default() -> Self {
        Self {
            models_dir: "models".into(),
            lexicon: String::new(),
            lexicon_reload_secs: 5,
            pool: autoglm_gpu::PoolConfig::default(),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Folder for the SQLite file and the node's secret key.
    pub data_dir: PathBuf,
    /// Largest request body, bytes.
    pub body_limit_bytes: u64,
    /// Seconds to finish in-flight requests on shutdown.
    pub shutdown_grace_secs: u64,
}

/// `[database]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://…`, `postgres://…` or `mysql://…`; empty: SQLite in the data dir.
    pub url: String,
    /// Pool size (PostgreSQL, MariaDB).
    pub max_connections: u32,
}

/// `[redis]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://host:port`; empty: no Redis (in-process caches only).
    pub url: String,
}

/// `[cache]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSection {
    /// Orders kept in process.
    pub l1_capacity: u64,
    /// Seconds an order stays in the in-process cache.
    pub l1_ttl_secs: u64,
    /// Seconds an order stays in Redis.
    pub l2_ttl_secs: u64,
}

/// `[writer]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WriterSection {
    /// Most changes per transaction.
    pub max_batch: usize,
    /// Longest wait for more changes after the first, microseconds.
    pub max_wait_us: u64,
    /// Changes queued before submitters wait.
    pub queue: usize,
    /// Batches committed at once, each on its own connection (PostgreSQL
    /// and MariaDB; SQLite always uses one).
    pub lanes: usize,
}

/// `[auth]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Token signing secret (use `${VAR}`); empty: the data dir's secret key.
    pub token_secret: String,
}

impl Default for Config {
    fn default() -> Self {
        let engine = EngineConfig::default();
        Self {
            version: CONFIG_VERSION,
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            redis: RedisConfig::default(),
            cache: CacheSection::default(),
            writer: WriterSection::default(),
            node_id: 0,
            utc_offset_minutes: 480,
            dispatch: engine.dispatch,
            policy: engine.policy,
            actors: engine.actors,
            payments: engine.payments,
            auth: AuthConfig::default(),
            nlu: NluSection::default(),
            chat: ChatSection::default(),
            telemetry: TelemetrySection::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: "data".into(),
            body_limit_bytes: 64 * 1024,
            shutdown_grace_secs: 10,
        }
    }
}

impl Default for CacheSection {
    fn default() -> Self {
        Self { l1_capacity: 100_000, l1_ttl_secs: 300, l2_ttl_secs: 600 }
    }
}

impl Default for WriterSection {
    fn default() -> Self {
        Self { max_batch: 256, max_wait_us: 1000, queue: 16_384, lanes: 4 }
    }
}

impl Config {
    /// Reads `path`, substituting `${VAR}`s, and checks it.
    pub fn load(path: &Path) -> Result<Config> {
        let raw = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let text = substitute_env(&raw)?;
        let cfg: Config = toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))?;
        if cfg.version != CONFIG_VERSION {
            bail!(
                "{}: config version {} is not supported (this build reads version {CONFIG_VERSION})",
                path.display(),
                cfg.version
            );
        }
        Ok(cfg)
    }

    /// The engine's part of the configuration.
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            node_id: self.node_id,
            utc_offset_minutes: self.utc_offset_minutes,
            policy: self.policy.clone(),
            dispatch: self.dispatch.clone(),
            actors: self.actors.clone(),
            payments: self.payments.clone(),
        }
    }

    /// The folder of model folders, resolved against the data dir.
    pub fn models_dir(&self) -> PathBuf {
        self.server.data_dir.join(&self.nlu.models_dir)
    }

    /// The database URL: the configured one, or SQLite in the data dir.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.server.data_dir.join("autoglm.db").display())
        } else {
            self.database.url.clone()
        }
    }
}

/// Replaces every `${NAME}` outside comment lines with the environment
/// variable NAME; a missing variable is an error that names it.
pub fn substitute_env(raw: &str) -> Result<String> {
    let mut out = String::with_capacity(raw.len());
    for line in raw.split_inclusive('\n') {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
        } else {
            out.push_str(&substitute_line(line)?);
        }
    }
    Ok(out)
}

fn substitute_line(raw: &str) -> Result<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}').context("unterminated ${ in config")?;
        let name = &after[..end];
        let value =
            std::env::var(name).with_context(|| format!("config refers to ${{{name}}} but {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_matches_defaults_where_it_says_so() {
        let text = include_str!("../autoglm.example.toml");
        let text = substitute_env(text).unwrap_or_else(|e| panic!("{e:#}"));
        let cfg: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let defaults = Config::default();
        assert_eq!(cfg.version, 1);
        assert_eq!(cfg.dispatch.distance, 0.4);
        assert_eq!(cfg.dispatch.skill, 0.6);
        // Services the example does not list keep their default prices.
        for service in autoglm_core::Service::ALL {
            assert_eq!(cfg.policy.service(*service), defaults.policy.service(*service), "{service}");
        }
        assert_eq!(cfg.policy.cancellation, defaults.policy.cancellation);
        assert_eq!(cfg.policy.payment_window_minutes, defaults.policy.payment_window_minutes);
        assert_eq!(cfg.server.listen, defaults.server.listen);
        assert_eq!(cfg.nlu.pool, defaults.nlu.pool);
        assert_eq!(cfg.nlu.models_dir, defaults.nlu.models_dir);
        assert_eq!(cfg.chat.chat_config(), defaults.chat.chat_config());
        assert_eq!(cfg.chat.sessions, defaults.chat.sessions);
        assert_eq!(cfg.chat.session_config().ttl, defaults.chat.session_config().ttl);
        assert_eq!(cfg.telemetry, defaults.telemetry);
        std::env::set_var("AUTOGLM_TEST_SECRET", "s3cr3t");
        let text = substitute_env("[auth]\ntoken_secret = \"${AUTOGLM_TEST_SECRET}\"\n").unwrap_or_default();
        let cfg: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.auth.token_secret, "s3cr3t");
    }

    #[test]
    fn unknown_keys_and_missing_variables_are_named() {
        let err = toml::from_str::<Config>("[server]\nlisten = \"x\"\ncolour = 1\n").unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
        let err = substitute_env("a = \"${AUTOGLM_SURELY_UNSET_VAR}\"").unwrap_err().to_string();
        assert!(err.contains("AUTOGLM_SURELY_UNSET_VAR"), "{err}");
    }
}
