//! `cluster.toml`: how the nodes of one cluster find and trust each other.
//!
//! Typed and versioned; unknown keys are refused with the key's name; the
//! cookie is never in the file, only the name of the environment variable
//! that holds it. [`ClusterConfig::load`] reads and checks a file,
//! [`ClusterConfig::cookie`] reads the secret.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// The only format version this build reads.
pub const CLUSTER_CONFIG_VERSION: u32 = 1;

/// Shortest cookie accepted (bytes): a guessable cookie lets anyone join.
pub const MIN_COOKIE_LEN: usize = 16;

/// What is wrong with a cluster config, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (names the key and line).
        reason: String,
    },
    /// A value parses but does not make sense.
    #[error("{path}: {field}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Which key, dotted (`membership.down_after_ms`).
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The cookie's environment variable is missing or too weak.
    #[error("cluster cookie: {0}")]
    Cookie(String),
}

/// A whole `cluster.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Format version; must be [`CLUSTER_CONFIG_VERSION`].
    pub version: u32,
    /// This node.
    pub node: NodeSection,
    /// Trust between nodes.
    pub security: SecuritySection,
    /// Joining and failure detection.
    pub membership: MembershipSection,
    /// Which node runs which worker actor.
    #[serde(default)]
    pub ownership: OwnershipSection,
}

/// `[node]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Unique name in the cluster (a StatefulSet pod name fits).
    pub name: String,
    /// Where the cluster protocol listens (`host:port`).
    pub listen: String,
    /// Where other nodes reach this one (defaults to `listen`).
    #[serde(default)]
    pub advertise: Option<String>,
}

/// `[security]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySection {
    /// Name of the environment variable holding the shared cookie.
    pub cookie_env: String,
}

/// `[membership]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipSection {
    /// Nodes to contact when joining (`host:port`; any live member will do).
    #[serde(default)]
    pub seeds: Vec<String>,
    /// How often members send heartbeats, ms.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_interval_ms: u64,
    /// A member silent this long is marked down, ms.
    #[serde(default = "default_down_after_ms")]
    pub down_after_ms: u64,
}

/// `[ownership]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnershipSection {
    /// How long a node's lease on a worker lasts without renewal, ms.
    #[serde(default = "default_lease_ttl_ms")]
    pub lease_ttl_ms: u64,
}

impl Default for OwnershipSection {
    fn default() -> Self {
        Self { lease_ttl_ms: default_lease_ttl_ms() }
    }
}

fn default_heartbeat_ms() -> u64 {
    500
}

fn default_down_after_ms() -> u64 {
    3000
}

fn default_lease_ttl_ms() -> u64 {
    5000
}

impl ClusterConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<ClusterConfig, ClusterConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ClusterConfigError::Read { path: shown.clone(), reason: e.to_string() })?;
        Self::parse(&text, &shown)
    }

    /// Parses and checks the text of a `cluster.toml` (`path` names it in errors).
    pub fn parse(text: &str, path: &str) -> Result<ClusterConfig, ClusterConfigError> {
        let invalid =
            |field: &'static str, reason: String| ClusterConfigError::Invalid { path: path.to_string(), field, reason };
        // A cookie written into the file is refused before anything else: it must not be there.
        if let Ok(raw) = text.parse::<toml::Table>() {
            let in_security = raw.get("security").and_then(|s| s.as_table()).is_some_and(|s| s.contains_key("cookie"));
            if in_security || raw.contains_key("cookie") {
                return Err(invalid(
                    "security.cookie",
                    "the cookie must not be written in the file; put it in an environment variable and name \
                     that variable in security.cookie_env"
                        .into(),
                ));
            }
        }
        let cfg: ClusterConfig = toml::from_str(text)
            .map_err(|e| ClusterConfigError::Parse { path: path.to_string(), reason: e.to_string() })?;
        if cfg.version != CLUSTER_CONFIG_VERSION {
            return Err(invalid(
                "version",
                format!("version {} is not supported (this build reads version {CLUSTER_CONFIG_VERSION})", cfg.version),
            ));
        }
        let name = &cfg.node.name;
        if name.is_empty()
            || name.len() > 63
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(invalid("node.name", format!("{name:?} must be 1 to 63 letters, digits, '-', '_' or '.'")));
        }
        check_addr(&cfg.node.listen).map_err(|e| invalid("node.listen", e))?;
        if let Some(a) = &cfg.node.advertise {
            check_addr(a).map_err(|e| invalid("node.advertise", e))?;
        }
        for seed in &cfg.membership.seeds {
            check_addr(seed).map_err(|e| invalid("membership.seeds", e))?;
        }
        let env = &cfg.security.cookie_env;
        if env.is_empty() || !env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(invalid("security.cookie_env", format!("{env:?} is not an environment variable name")));
        }
        let m = &cfg.membership;
        if !(50..=60_000).contains(&m.heartbeat_interval_ms) {
            return Err(invalid("membership.heartbeat_interval_ms", "must be within 50..=60000".into()));
        }
        if m.down_after_ms < 3 * m.heartbeat_interval_ms {
            return Err(invalid(
                "membership.down_after_ms",
                format!(
                    "{} ms is less than three heartbeats ({} ms); a member would be marked down after one late packet",
                    m.down_after_ms,
                    3 * m.heartbeat_interval_ms
                ),
            ));
        }
        if cfg.ownership.lease_ttl_ms <= m.down_after_ms {
            return Err(invalid(
                "ownership.lease_ttl_ms",
                format!(
                    "{} ms must be longer than membership.down_after_ms ({} ms), or leases lapse before a member is \
                     even suspected",
                    cfg.ownership.lease_ttl_ms, m.down_after_ms
                ),
            ));
        }
        Ok(cfg)
    }

    /// Where other nodes reach this one.
    pub fn advertise(&self) -> &str {
        self.node.advertise.as_deref().unwrap_or(&self.node.listen)
    }

    /// The heartbeat period.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.membership.heartbeat_interval_ms)
    }

    /// How long silence lasts before a member is marked down.
    pub fn down_after(&self) -> Duration {
        Duration::from_millis(self.membership.down_after_ms)
    }

    /// The shared cookie, from the environment variable the file names.
    pub fn cookie(&self) -> Result<String, ClusterConfigError> {
        self.cookie_from(|name| std::env::var(name).ok())
    }

    /// The cookie, looked up with `env` (tests pass their own).
    pub fn cookie_from(&self, env: impl Fn(&str) -> Option<String>) -> Result<String, ClusterConfigError> {
        let name = &self.security.cookie_env;
        match env(name) {
            None => Err(ClusterConfigError::Cookie(format!("environment variable {name} is not set"))),
            Some(c) if c.len() < MIN_COOKIE_LEN => Err(ClusterConfigError::Cookie(format!(
                "{name} holds {} bytes; use at least {MIN_COOKIE_LEN} random bytes (e.g. `openssl rand -hex 32`)",
                c.len()
            ))),
            Some(c) => Ok(c),
        }
    }
}

/// `host:port` with a port; a literal IP or a host name.
fn check_addr(addr: &str) -> Result<(), String> {
    if addr.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(format!("{addr:?} is not host:port"));
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    match port.parse::<u16>() {
        Ok(p) if p > 0 && host_ok => Ok(()),
        _ => Err(format!("{addr:?} is not host:port")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../cluster.toml");

    fn parse(text: &str) -> Result<ClusterConfig, ClusterConfigError> {
        ClusterConfig::parse(text, "cluster.toml")
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(cfg) => panic!("expected an error, got {cfg:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_committed_example_parses() {
        let cfg = parse(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.node.name, "node-a");
        assert_eq!(cfg.advertise(), "127.0.0.1:4700");
        assert_eq!(cfg.membership.seeds.len(), 2);
        assert!(cfg.down_after() <= Duration::from_secs(5), "members are marked down within 5 s by default");
        assert_eq!(cfg.security.cookie_env, "AUTOGLM_CLUSTER_COOKIE");
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let text = EXAMPLE.replace("down_after_ms = 3000", "down_after_ms = 3000\nheartbeet_ms = 9");
        assert!(err(&text).contains("heartbeet_ms"), "{}", err(&text));
        let text = format!("{EXAMPLE}\n[gossip]\nfanout = 3\n");
        assert!(err(&text).contains("gossip"), "{}", err(&text));
    }

    #[test]
    fn the_cookie_never_lives_in_the_file() {
        let text = EXAMPLE.replace("cookie_env = \"AUTOGLM_CLUSTER_COOKIE\"", "cookie = \"s3cr3t\"");
        assert!(err(&text).contains("must not be written in the file"), "{}", err(&text));
        let cfg = parse(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
        assert!(cfg.cookie_from(|_| None).is_err_and(|e| e.to_string().contains("AUTOGLM_CLUSTER_COOKIE")));
        assert!(cfg.cookie_from(|_| Some("short".into())).is_err());
        let strong = "0123456789abcdef0123456789abcdef".to_string();
        assert_eq!(cfg.cookie_from(|_| Some(strong.clone())).ok(), Some(strong.clone()));
    }

    #[test]
    fn nonsense_values_are_refused_with_the_key() {
        for (from, to, key) in [
            ("version = 1", "version = 2", "version"),
            ("name = \"node-a\"", "name = \"node a\"", "node.name"),
            ("listen = \"127.0.0.1:4700\"", "listen = \"127.0.0.1\"", "node.listen"),
            ("\"127.0.0.1:4701\"", "\"nowhere\"", "membership.seeds"),
            ("down_after_ms = 3000", "down_after_ms = 600", "membership.down_after_ms"),
            ("lease_ttl_ms = 5000", "lease_ttl_ms = 1000", "ownership.lease_ttl_ms"),
            ("heartbeat_interval_ms = 500", "heartbeat_interval_ms = \"fast\"", "heartbeat_interval_ms"),
        ] {
            assert!(EXAMPLE.contains(from), "example lacks {from}");
            let e = err(&EXAMPLE.replace(from, to));
            assert!(e.contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn host_names_and_defaults_are_accepted() {
        let text = r#"
version = 1
[node]
name = "autoglm-0"
listen = "0.0.0.0:4700"
advertise = "autoglm-0.autoglm.default.svc.cluster.local:4700"
[security]
cookie_env = "AUTOGLM_CLUSTER_COOKIE"
[membership]
seeds = ["autoglm-1.autoglm:4700"]
"#;
        let cfg = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.heartbeat(), Duration::from_millis(500));
        assert_eq!(cfg.ownership.lease_ttl_ms, 5000);
    }
}
