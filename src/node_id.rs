//! One live node per `node_id` and database.
//!
//! The node id is part of every id a node generates, so two edges sharing a
//! database with the same `node_id` would hand out the same order ids. At
//! start a node takes a lease on `node_id/<n>` in the database (the leases
//! table with its fencing tokens) and renews it; a second node with the same
//! id refuses to start, naming the holder. The lease owner is the host and
//! the data dir, so the same node restarting (even after a crash) gets its
//! id back at once.

use anyhow::{bail, Result};
use autoglm_storage::Db;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long the claim lasts without renewal.
const TTL: Duration = Duration::from_secs(15);
/// How often it is renewed.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// A held `node_id`; renewed in the background until released.
pub struct NodeIdClaim {
    db: Db,
    resource: String,
    owner: String,
    token: i64,
    renewer: Option<tokio::task::JoinHandle<()>>,
}

/// Who this node is to the lease table: the host and the data dir.
fn owner(data_dir: &Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    // The lease column holds 128 characters.
    let mut owner = format!("{host}:{}", dir.display());
    if owner.len() > 128 {
        // Keep the end (the data dir tells nodes on one host apart), cut on a char boundary.
        let cut = (owner.len() - 128..owner.len()).find(|&i| owner.is_char_boundary(i)).unwrap_or(0);
        owner = owner[cut..].to_string();
    }
    owner
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl NodeIdClaim {
    /// Takes `node_id` for the node serving `data_dir`, or says who holds it.
    pub async fn take(db: &Db, node_id: u16, data_dir: &Path) -> Result<NodeIdClaim> {
        let resource = format!("node_id/{node_id}");
        let owner = owner(data_dir);
        let ttl = TTL.as_millis() as i64;
        match db.acquire_lease(&resource, &owner, ttl, now_ms()).await? {
            Some(lease) => {
                Ok(NodeIdClaim { db: db.clone(), resource, owner, token: lease.fencing_token, renewer: None })
            }
            None => {
                let holder = db.get_lease(&resource).await?;
                let (who, until) = holder
                    .map(|l| (l.owner, chrono::DateTime::from_timestamp_millis(l.expires_at_ms)))
                    .unwrap_or_else(|| ("another node".into(), None));
                let until = until.map(|t| format!(" (its claim runs until {t})")).unwrap_or_default();
                bail!(
                    "node_id {node_id} is in use by a live node on this database: {who}{until}; give every node \
                     sharing a database its own node_id (the top-level node_id key of the config)"
                )
            }
        }
    }

    /// Renews the claim every few seconds; if it is ever lost, `ready` goes
    /// false so load balancers stop sending traffic here.
    pub fn keep(&mut self, ready: Arc<AtomicBool>) {
        let (db, resource, owner, token) = (self.db.clone(), self.resource.clone(), self.owner.clone(), self.token);
        self.renewer = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(RENEW_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                match db.renew_lease(&resource, &owner, token, TTL.as_millis() as i64, now_ms()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        tracing::error!(%resource, "lost the node_id claim to another node; no longer ready");
                        ready.store(false, Ordering::Relaxed);
                        return;
                    }
                    // A database hiccup: the claim lasts TTL, the next tick tries again.
                    Err(e) => tracing::warn!(%resource, error = %e, "could not renew the node_id claim"),
                }
            }
        }));
    }

    /// Stops renewing and gives the id up (a graceful stop).
    pub async fn release(&mut self) {
        if let Some(task) = self.renewer.take() {
            task.abort();
        }
        if let Err(e) = self.db.release_lease(&self.resource, &self.owner, self.token).await {
            tracing::warn!(resource = %self.resource, error = %e, "could not release the node_id claim");
        }
    }
}

impl Drop for NodeIdClaim {
    fn drop(&mut self) {
        // Not released (a crash or a test dropping the node): the claim lapses after TTL.
        if let Some(task) = self.renewer.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_owner_keeps_its_end_within_the_column() {
        let deep = std::path::PathBuf::from(format!("/{}/数据/node-7", "x".repeat(200)));
        let o = owner(&deep);
        assert!(o.len() <= 128, "{} bytes", o.len());
        assert!(o.ends_with("数据/node-7"), "{o}");
        let short = owner(Path::new("/srv/autoglm"));
        assert!(short.ends_with(":/srv/autoglm"), "{short}");
    }
}
