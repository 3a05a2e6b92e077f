//! A node in a cluster: the ractor_cluster `NodeServer` (cookie challenge,
//! process groups merged across nodes), joining through the seeds, the
//! heartbeat loop, and ownership of worker actors (rendezvous hashing over
//! the live members, each guarded by a fenced lease row in the database).
//!
//! One loop per node runs every heartbeat interval: send this node's
//! heartbeat to every member, mark silent members down, then reconcile
//! ownership: start (after taking the lease) the workers this node should
//! run, hand over (stop, release the lease) those that belong elsewhere now,
//! renew the leases it holds, and adopt the live orders of members that
//! went down. Every step is bounded and a failing database only delays it.

use crate::config::ClusterConfig;
use crate::membership::{Change, Heartbeat, Member, MemberState, Members};
use autoglm_actors::wire;
use autoglm_actors::Engine;
use autoglm_core::ids::IdGen;
use autoglm_core::ownership::{owner, worker_resource};
use autoglm_core::{OrderId, Worker, WorkerId};
use autoglm_storage::{Db, StorageError};
use ractor::message::{BoxedDowncastErr, SerializedMessage};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use ractor_cluster::node::NodeServerSessionInformation;
use ractor_cluster::{NodeEventSubscription, NodeServer, NodeServerMessage};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The process group every node's member actor joins.
const MEMBERS_GROUP: &str = "cluster/members";

/// How often the list of workers is read again (new and deactivated workers).
const WORKER_LIST_EVERY: Duration = Duration::from_secs(2);

/// Why a node could not join.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The cluster listener could not start (address taken, bad address).
    #[error("cluster listener on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// An actor of the cluster machinery could not start.
    #[error("cluster: {0}")]
    Start(String),
}

/// What this node tells the others about itself.
#[derive(Debug, Clone)]
pub struct LocalNode {
    /// `node_id` of the node config (the number inside its ids).
    pub node_id: u16,
    /// Its HTTP edge, e.g. `http://127.0.0.1:8080`.
    pub http: String,
}

/// The cluster as one node sees it (`GET /ops/cluster`, `autoglm ops cluster`).
#[derive(Debug, Clone, Serialize)]
pub struct ClusterView {
    /// This node's name.
    pub node: String,
    /// Every member, this node first.
    pub members: Vec<MemberView>,
    /// Members up, this node included.
    pub up: usize,
    /// Heartbeat interval and down-after, ms.
    pub heartbeat_interval_ms: u64,
    /// A member silent this long is down.
    pub down_after_ms: u64,
    /// Worker leases this node holds.
    pub workers_owned: usize,
    /// Takeovers this node did: workers started after their owner went down
    /// or handed them over, and orders adopted from lost members.
    pub takeovers: TakeoverStats,
}

/// One member in [`ClusterView`].
#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    /// Node name.
    pub name: String,
    /// Its `node_id`.
    pub node_id: u16,
    /// `up` or `down`.
    pub state: MemberState,
    /// This node itself.
    #[serde(rename = "self")]
    pub is_self: bool,
    /// Its HTTP edge (its own `/ops/actors` is there).
    pub http: String,
    /// Its cluster address.
    pub cluster_addr: String,
    /// Milliseconds since its last heartbeat arrived (0 for this node).
    pub last_heartbeat_ms_ago: i64,
    /// Live actors by kind, as of its last heartbeat.
    pub actors: BTreeMap<String, usize>,
    /// Worker leases it holds.
    pub workers: usize,
}

/// Counts of what this node took over.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TakeoverStats {
    /// Worker actors started here whose lease another node held before.
    pub workers: u64,
    /// Live orders of lost members adopted here.
    pub orders: u64,
}

/// A running cluster membership; dropped or [`Cluster::leave`]d on shutdown.
pub struct Cluster {
    inner: Arc<Inner>,
    server: ActorRef<NodeServerMessage>,
    member: ActorRef<MemberMsg>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// Longest list of children per supervisor a member sends for the cluster-wide
/// actor tree (one cluster frame must stay well under ractor_cluster's limit).
const MAX_REMOTE_CHILDREN: usize = 2_000;

struct Inner {
    cfg: ClusterConfig,
    name: String,
    local: LocalNode,
    incarnation: u64,
    scope: String,
    seq: AtomicU64,
    leaving: AtomicBool,
    members: Mutex<Members>,
    owned: Mutex<BTreeMap<WorkerId, i64>>,
    stats: Mutex<TakeoverStats>,
    engine: Engine,
    db: Db,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Cluster {
    /// Starts the cluster listener with `cookie`, joins through the seeds and
    /// starts membership and ownership for `engine` (which must have been
    /// started with `clustered: true` and process-group scope `scope`).
    pub async fn start(
        cfg: ClusterConfig,
        cookie: String,
        engine: Engine,
        local: LocalNode,
        scope: String,
    ) -> Result<Cluster, ClusterError> {
        let listen = resolve(&cfg.node.listen)
            .await
            .map_err(|reason| ClusterError::Listen { addr: cfg.node.listen.clone(), reason })?;
        let advertise = cfg.node.advertise.clone().unwrap_or_else(|| cfg.node.listen.clone());
        let (adv_host, adv_port) = advertise.rsplit_once(':').unwrap_or((advertise.as_str(), ""));
        if adv_port != listen.port().to_string() {
            tracing::warn!(%advertise, listen = %listen, "the advertised port differs from the listen port; \
                peers reach this node on the listen port at the advertised host");
        }
        let server = NodeServer::new(
            listen.port(),
            cookie,
            cfg.node.name.clone(),
            adv_host.trim_start_matches('[').trim_end_matches(']').to_string(),
            None,
            Some(ractor_cluster::node::NodeConnectionMode::Transitive),
        )
        .with_listen_addr(listen.ip());
        let (server, _) = Actor::spawn(None, server, ())
            .await
            .map_err(|e| ClusterError::Listen { addr: cfg.node.listen.clone(), reason: e.to_string() })?;
        server
            .cast(NodeServerMessage::SubscribeToEvents {
                id: "autoglm-membership".into(),
                subscription: Box::new(SessionLog::default()),
            })
            .map_err(|e| ClusterError::Start(e.to_string()))?;
        let inner = Arc::new(Inner {
            name: cfg.node.name.clone(),
            members: Mutex::new(Members::new(cfg.membership.down_after_ms)),
            cfg,
            local,
            incarnation: now_ms().max(0) as u64,
            scope,
            seq: AtomicU64::new(0),
            leaving: AtomicBool::new(false),
            owned: Mutex::new(BTreeMap::new()),
            stats: Mutex::new(TakeoverStats::default()),
            db: engine.shared().db.clone(),
            engine,
        });
        let (member, _) = Actor::spawn(None, MemberActor, inner.clone())
            .await
            .map_err(|e| ClusterError::Start(format!("member actor: {e}")))?;
        ractor::pg::join_scoped(inner.scope.clone(), MEMBERS_GROUP.into(), vec![member.get_cell()]);
        tracing::info!(node = %inner.name, listen = %listen, seeds = ?inner.cfg.membership.seeds, "cluster node started");
        let cluster = Cluster { inner, server, member, tasks: Mutex::new(Vec::new()) };
        cluster.spawn_loops();
        Ok(cluster)
    }

    fn spawn_loops(&self) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        // Seeds: (re)connect to every seed this node has no session with.
        let (inner, server) = (self.inner.clone(), self.server.clone());
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut warned = HashSet::new();
            while !inner.leaving.load(Ordering::Relaxed) {
                tick.tick().await;
                connect_seeds(&inner, &server, &mut warned).await;
            }
        }));
        // Heartbeats and failure detection, never held up by the database.
        let (inner, server) = (self.inner.clone(), self.server.clone());
        tasks.push(tokio::spawn(async move {
            let every = Duration::from_millis(inner.cfg.membership.heartbeat_interval_ms);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let stall = Duration::from_millis(inner.cfg.membership.down_after_ms / 2);
            let mut last = tokio::time::Instant::now();
            while !inner.leaving.load(Ordering::Relaxed) {
                tick.tick().await;
                let gap = last.elapsed();
                last = tokio::time::Instant::now();
                inner.beat();
                let changes = {
                    let mut members = inner.members.lock().unwrap_or_else(|e| e.into_inner());
                    if gap >= stall {
                        // This node was not running (paused, starved): the others'
                        // heartbeats may be waiting in its mailbox. Not a reason to
                        // declare them all down.
                        tracing::warn!(?gap, "this node stalled; members get a fresh down-after period");
                        members.forgive(now_ms());
                    }
                    members.sweep(now_ms())
                };
                inner.log_changes(&changes);
                for change in changes {
                    if let Change::Down { name, .. } = change {
                        let inner = inner.clone();
                        tokio::spawn(async move { inner.adopt_orphans().await });
                        // Its session may look alive (a partition leaves TCP
                        // retransmitting for minutes): close it, so that the seed
                        // loop dials a fresh one that works as soon as it can.
                        let server = server.clone();
                        tokio::spawn(async move { close_sessions_of(&server, &name).await });
                    }
                }
            }
        }));
        // Ownership: leases, handover, takeover; a slow database slows only this.
        let inner = self.inner.clone();
        tasks.push(tokio::spawn(async move {
            let every = Duration::from_millis(inner.cfg.membership.heartbeat_interval_ms);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut owner = Ownership::new();
            let started = now_ms();
            let mut swept_orphans = false;
            while !inner.leaving.load(Ordering::Relaxed) {
                tick.tick().await;
                owner.reconcile(&inner).await;
                // Once membership has settled after start: adopt the live orders
                // of nodes that are not around (they died while this one was down).
                if !swept_orphans && now_ms() - started > inner.cfg.membership.down_after_ms as i64 {
                    swept_orphans = true;
                    inner.adopt_orphans().await;
                }
            }
        }));
    }

    /// The cluster as this node sees it.
    pub fn view(&self) -> ClusterView {
        self.inner.view()
    }

    /// The live actor trees of every member that answers within `wait`,
    /// this node's first, and the members up that did not answer.
    pub async fn actors_everywhere(&self, wait: Duration) -> (Vec<serde_json::Value>, Vec<String>) {
        let mut trees = vec![self.inner.actors()];
        let mut pending = Vec::new();
        for cell in ractor::pg::get_scoped_members(&self.inner.scope, &MEMBERS_GROUP.to_string()) {
            if cell.get_id().is_local() {
                continue;
            }
            let (tx, rx) = ractor::concurrency::oneshot();
            if cell.send_message(MemberMsg::Actors(RpcReplyPort::from((tx, wait)))).is_ok() {
                pending.push(tokio::time::timeout(wait, rx));
            }
        }
        for answer in pending {
            if let Ok(Ok(tree)) = answer.await {
                trees.push(tree);
            }
        }
        let answered: HashSet<String> = trees.iter().filter_map(|t| t["node"].as_str().map(String::from)).collect();
        let up = self.inner.members.lock().unwrap_or_else(|e| e.into_inner()).up();
        let missing = up.into_iter().filter(|m| !answered.contains(m)).collect();
        (trees, missing)
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Leaves the cluster: tells the others, stops this node's worker actors
    /// and releases their leases so the others take them at once (graceful
    /// drain), then stops the cluster listener.
    pub async fn leave(&self) {
        if self.inner.leaving.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner.beat();
        // The ownership loop first: nothing may take a lease after this point.
        let loops: Vec<_> = self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect();
        for t in loops {
            t.abort();
            let _ = t.await;
        }
        let owned = std::mem::take(&mut *self.inner.owned.lock().unwrap_or_else(|e| e.into_inner()));
        let me = self.inner.name.clone();
        for worker in owned.keys() {
            self.inner.engine.stop_worker(worker).await;
        }
        // Every worker lease held in this node's name, also one an interrupted
        // round took without starting its actor.
        let limit = Duration::from_millis(self.inner.cfg.ownership.lease_ttl_ms / 2);
        let held = bounded(limit, "listing leases", self.inner.db.leases_of(&me, now_ms())).await.unwrap_or_default();
        let mut released = 0;
        for lease in held.iter().filter(|l| l.resource.starts_with("worker/")) {
            match bounded(
                limit,
                "releasing a lease",
                self.inner.db.release_lease(&lease.resource, &me, lease.fencing_token),
            )
            .await
            {
                Ok(_) => released += 1,
                Err(e) => {
                    tracing::warn!(resource = %lease.resource, error = %e, "could not release a lease; it lapses instead")
                }
            }
        }
        tracing::info!(node = %me, workers = owned.len(), released, "left the cluster; workers handed over");
        // A last heartbeat with `leaving` after the workers are released.
        self.inner.beat();
        ractor::pg::leave_scoped(self.inner.scope.clone(), MEMBERS_GROUP.into(), vec![self.member.get_cell()]);
        self.member.stop(None);
        self.server.stop(None);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for t in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            t.abort();
        }
        self.member.stop(None);
        self.server.stop(None);
    }
}

impl Inner {
    /// What this node says about itself, as heartbeat number `seq`.
    fn heartbeat(&self, seq: u64) -> Heartbeat {
        Heartbeat {
            name: self.name.clone(),
            node_id: self.local.node_id,
            incarnation: self.incarnation,
            http: self.local.http.clone(),
            cluster_addr: self.cfg.node.advertise.clone().unwrap_or_else(|| self.cfg.node.listen.clone()),
            seq,
            actors: self.engine.actor_counts().into_iter().collect(),
            workers: self.owned.lock().unwrap_or_else(|e| e.into_inner()).len(),
            leaving: self.leaving.load(Ordering::Relaxed),
        }
    }

    /// Sends this node's heartbeat to every other member's member actor.
    fn beat(&self) {
        let beat = self.heartbeat(self.seq.fetch_add(1, Ordering::Relaxed) + 1);
        for cell in ractor::pg::get_scoped_members(&self.scope, &MEMBERS_GROUP.to_string()) {
            if cell.get_id().is_local() {
                continue;
            }
            if cell.send_message(MemberMsg::Beat(Box::new(beat.clone()))).is_err() {
                tracing::debug!(actor = %cell.get_id(), "heartbeat not sent (session closing)");
            }
        }
    }

    fn log_changes(&self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::Up(name) => tracing::info!(node = %self.name, member = %name, "member up"),
                Change::Down { name, .. } => {
                    tracing::warn!(node = %self.name, member = %name, "member down (silent or leaving)")
                }
            }
        }
    }

    /// The names ownership is computed over: the members up, and this node
    /// unless it is leaving.
    fn live(&self) -> Vec<String> {
        let mut live = self.members.lock().unwrap_or_else(|e| e.into_inner()).up();
        if !self.leaving.load(Ordering::Relaxed) {
            live.push(self.name.clone());
        }
        live
    }

    async fn adopt(&self, orders: Vec<OrderId>) {
        let live = self.live();
        let mut adopted = 0u64;
        for id in orders {
            if owner(id.as_str(), &live) != Some(self.name.as_str()) {
                continue;
            }
            match self.engine.adopt_order(&id).await {
                Ok(()) => adopted += 1,
                Err(e) => tracing::warn!(order = %id, error = %e, "could not adopt order"),
            }
        }
        if adopted > 0 {
            self.stats.lock().unwrap_or_else(|e| e.into_inner()).orders += adopted;
            tracing::info!(node = %self.name, orders = adopted, "adopted live orders of a lost member");
        }
    }

    /// Adopts live orders made by nodes that are not up (nor this node) and
    /// that rendezvous hashing over the live members gives to this one: on
    /// every member going down (so an order adopted by a member that died in
    /// turn is found again) and once after start.
    async fn adopt_orphans(&self) {
        let up: HashSet<u16> = {
            let members = self.members.lock().unwrap_or_else(|e| e.into_inner());
            members.up_node_ids().into_iter().chain([self.local.node_id]).collect()
        };
        let mut lost = HashSet::new();
        match self.engine.live_order_ids().await {
            Ok(ids) => {
                let orphans: Vec<OrderId> = ids
                    .into_iter()
                    .filter(|id| match IdGen::node_of(id.as_str()) {
                        Some(n) if !up.contains(&n) => {
                            lost.insert(n);
                            true
                        }
                        _ => false,
                    })
                    .collect();
                if !orphans.is_empty() {
                    tracing::info!(nodes = ?lost, orders = orphans.len(), "live orders of nodes that are not up");
                    self.adopt(orphans).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not look for orphaned orders"),
        }
    }

    fn actors(&self) -> serde_json::Value {
        let mut tree = serde_json::to_value(self.engine.actors()).unwrap_or_default();
        if let Some(roots) = tree.as_array_mut() {
            for root in roots {
                let Some(children) = root.get_mut("children").and_then(|c| c.as_array_mut()) else { continue };
                if children.len() > MAX_REMOTE_CHILDREN {
                    let cut = children.len() - MAX_REMOTE_CHILDREN;
                    children.truncate(MAX_REMOTE_CHILDREN);
                    root["children_truncated"] = serde_json::json!(cut);
                }
            }
        }
        serde_json::json!({ "node": self.name, "counts": self.engine.actor_counts(), "tree": tree })
    }

    fn view(&self) -> ClusterView {
        let now = now_ms();
        // Looking is not a heartbeat: the sequence number is not advanced.
        let me = self.heartbeat(self.seq.load(Ordering::Relaxed));
        let mut members = vec![MemberView {
            name: me.name.clone(),
            node_id: me.node_id,
            state: if me.leaving { MemberState::Down } else { MemberState::Up },
            is_self: true,
            http: me.http.clone(),
            cluster_addr: me.cluster_addr.clone(),
            last_heartbeat_ms_ago: 0,
            actors: me.actors.clone(),
            workers: me.workers,
        }];
        let table = self.members.lock().unwrap_or_else(|e| e.into_inner());
        members.extend(table.all().map(|m: &Member| MemberView {
            name: m.last.name.clone(),
            node_id: m.last.node_id,
            state: m.state,
            is_self: false,
            http: m.last.http.clone(),
            cluster_addr: m.last.cluster_addr.clone(),
            last_heartbeat_ms_ago: (now - m.heard_at_ms).max(0),
            actors: m.last.actors.clone(),
            workers: m.last.workers,
        }));
        ClusterView {
            node: self.name.clone(),
            up: members.iter().filter(|m| m.state == MemberState::Up).count(),
            members,
            heartbeat_interval_ms: self.cfg.membership.heartbeat_interval_ms,
            down_after_ms: self.cfg.membership.down_after_ms,
            workers_owned: me.workers,
            takeovers: self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

/// Worker ownership on this node: which leases it holds and what to do next.
struct Ownership {
    workers: Vec<WorkerId>,
    profiles: HashMap<WorkerId, Worker>,
    listed_at: Option<tokio::time::Instant>,
    renewed_at: Option<tokio::time::Instant>,
    last_renewal_ok: tokio::time::Instant,
    retry_at: HashMap<WorkerId, tokio::time::Instant>,
}

/// `fut`, or a query error once `limit` passed: a hanging database (a
/// partition) must not hold the ownership loop.
async fn bounded<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = Result<T, StorageError>>,
) -> Result<T, StorageError> {
    tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| Err(StorageError::Query(format!("{what} timed out"))))
}

impl Ownership {
    fn new() -> Self {
        Self {
            workers: Vec::new(),
            profiles: HashMap::new(),
            listed_at: None,
            renewed_at: None,
            last_renewal_ok: tokio::time::Instant::now(),
            retry_at: HashMap::new(),
        }
    }

    async fn reconcile(&mut self, inner: &Inner) {
        let started = tokio::time::Instant::now();
        let ttl = Duration::from_millis(inner.cfg.ownership.lease_ttl_ms);
        let limit = ttl / 2;
        self.renew(inner, started, ttl).await;
        if self.listed_at.is_none_or(|t| started.duration_since(t) >= WORKER_LIST_EVERY) {
            match bounded(limit, "listing workers", inner.db.list_workers()).await {
                Ok(list) => self.refresh(inner, list, started),
                Err(e) => tracing::warn!(error = %e, "could not list workers; ownership uses the last list"),
            }
        }
        let live = inner.live();
        let me = inner.name.as_str();
        let active: HashSet<&WorkerId> = self.workers.iter().collect();
        // Hand over what is no longer this node's (or no longer active).
        let leaving: Vec<(WorkerId, i64)> = {
            let owned = inner.owned.lock().unwrap_or_else(|e| e.into_inner());
            owned
                .iter()
                .filter(|(w, _)| !active.contains(w) || owner(w.as_str(), &live) != Some(me))
                .map(|(w, t)| (w.clone(), *t))
                .collect()
        };
        for (worker, token) in leaving {
            inner.engine.stop_worker(&worker).await;
            inner.owned.lock().unwrap_or_else(|e| e.into_inner()).remove(&worker);
            let resource = worker_resource(&worker);
            let released = bounded(limit, "releasing a lease", inner.db.release_lease(&resource, me, token));
            if let Err(e) = released.await {
                tracing::warn!(%worker, error = %e, "could not release a handed-over worker's lease; it lapses");
            }
            tracing::debug!(%worker, "worker handed over");
        }
        // Take what is this node's now, within a third of the TTL per round so
        // that a big takeover never delays the renewal of what it already holds.
        let retry = Duration::from_millis(inner.cfg.membership.heartbeat_interval_ms * 2);
        let wanted: Vec<WorkerId> = {
            let owned = inner.owned.lock().unwrap_or_else(|e| e.into_inner());
            self.workers
                .iter()
                .filter(|w| !owned.contains_key(*w) && owner(w.as_str(), &live) == Some(me))
                .filter(|w| self.retry_at.get(*w).is_none_or(|t| started >= *t))
                .cloned()
                .collect()
        };
        for worker in wanted {
            if started.elapsed() >= ttl / 3 || inner.leaving.load(Ordering::Relaxed) {
                break;
            }
            let now = tokio::time::Instant::now();
            let resource = worker_resource(&worker);
            let attempt = inner.db.acquire_lease(&resource, me, ttl.as_millis() as i64, now_ms());
            match bounded(limit, "taking a lease", attempt).await {
                Ok(Some(lease)) => {
                    self.retry_at.remove(&worker);
                    let started_actor =
                        tokio::time::timeout(limit, inner.engine.run_worker(&worker, lease.fencing_token));
                    match started_actor.await {
                        Ok(Ok(())) => {
                            inner.owned.lock().unwrap_or_else(|e| e.into_inner()).insert(worker, lease.fencing_token);
                            if lease.fencing_token > 1 {
                                inner.stats.lock().unwrap_or_else(|e| e.into_inner()).workers += 1;
                            }
                        }
                        failed => {
                            let why = match failed {
                                Ok(Err(e)) => e.to_string(),
                                _ => "timed out".into(),
                            };
                            tracing::warn!(%worker, error = %why, "could not start a leased worker; releasing");
                            inner.engine.stop_worker(&worker).await;
                            let _ = bounded(
                                limit,
                                "releasing a lease",
                                inner.db.release_lease(&resource, me, lease.fencing_token),
                            )
                            .await;
                            self.retry_at.insert(worker, now + retry);
                        }
                    }
                }
                // Still held by its previous owner: taken when it lapses or is released.
                Ok(None) => {
                    self.retry_at.insert(worker, now + retry);
                }
                Err(e) => {
                    tracing::warn!(%worker, error = %e, "could not take a worker's lease");
                    self.retry_at.insert(worker, now + retry);
                }
            }
        }
        self.retry_at.retain(|w, _| active.contains(w));
    }

    /// Takes a fresh worker list; running actors whose profile changed (on
    /// any node: skills, area, hours, rating) get the new one.
    fn refresh(&mut self, inner: &Inner, list: Vec<Worker>, now: tokio::time::Instant) {
        let owned: HashSet<WorkerId> = inner.owned.lock().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
        let mut profiles = HashMap::with_capacity(list.len());
        for w in list {
            if owned.contains(&w.id) && self.profiles.get(&w.id).is_some_and(|old| *old != w) && w.active {
                inner.engine.shared().update_worker_actor(w.clone());
            }
            profiles.insert(w.id.clone(), w);
        }
        self.workers = profiles.values().filter(|w| w.active).map(|w| w.id.clone()).collect();
        self.workers.sort();
        self.profiles = profiles;
        self.listed_at = Some(now);
    }

    /// Renews every lease this node holds, a third of the TTL apart; stops
    /// the actors of leases it lost, and all of them when renewal kept failing
    /// for a whole TTL (someone else may hold them by now). A lease renewed
    /// here but not run here (a release that failed, an acquire that timed out
    /// yet committed) is released, so it never stays stranded.
    async fn renew(&mut self, inner: &Inner, now: tokio::time::Instant, ttl: Duration) {
        if self.renewed_at.is_some_and(|t| now.duration_since(t) < ttl / 3) {
            return;
        }
        self.renewed_at = Some(now);
        let me = inner.name.as_str();
        let renewed = bounded(
            ttl / 2,
            "lease renewal",
            inner.db.renew_leases_of(me, "worker/", ttl.as_millis() as i64, now_ms()),
        )
        .await;
        let (lost, stranded): (Vec<WorkerId>, Vec<(String, i64)>) = match renewed {
            Ok(held) => {
                self.last_renewal_ok = now;
                let held: HashMap<String, i64> = held.into_iter().map(|l| (l.resource, l.fencing_token)).collect();
                let owned = inner.owned.lock().unwrap_or_else(|e| e.into_inner());
                let lost =
                    owned.iter().filter(|(w, t)| held.get(&worker_resource(w)) != Some(*t)).map(|(w, _)| w.clone());
                let mine: HashSet<String> = owned.keys().map(worker_resource).collect();
                let stranded = held.iter().filter(|(r, _)| !mine.contains(*r)).map(|(r, t)| (r.clone(), *t));
                (lost.collect(), stranded.collect())
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not renew worker leases");
                if now.duration_since(self.last_renewal_ok) < ttl {
                    return;
                }
                tracing::error!("worker leases not renewed for a whole TTL; stopping this node's workers");
                (inner.owned.lock().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect(), Vec::new())
            }
        };
        for worker in lost {
            tracing::warn!(%worker, "worker lease lost; stopping its actor here");
            inner.engine.stop_worker(&worker).await;
            inner.owned.lock().unwrap_or_else(|e| e.into_inner()).remove(&worker);
        }
        for (resource, token) in stranded {
            tracing::info!(%resource, "releasing a lease held here without its actor");
            let _ = bounded(ttl / 2, "releasing a lease", inner.db.release_lease(&resource, me, token)).await;
        }
    }
}

async fn connect_seeds(inner: &Inner, server: &ActorRef<NodeServerMessage>, warned: &mut HashSet<String>) {
    let me = inner.cfg.node.advertise.clone().unwrap_or_else(|| inner.cfg.node.listen.clone());
    let sessions = match ractor::call_t!(server, NodeServerMessage::GetSessions, 2000) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cluster server did not answer");
            return;
        }
    };
    let connected: HashSet<String> =
        sessions.values().filter_map(|s| s.peer_name.as_ref().map(|p| p.connection_string.clone())).collect();
    for seed in &inner.cfg.membership.seeds {
        if *seed == me || connected.contains(seed) {
            continue;
        }
        let attempt =
            tokio::time::timeout(Duration::from_secs(2), ractor_cluster::client_connect(server, seed.as_str()));
        match attempt.await {
            Ok(Ok(())) => {
                warned.remove(seed);
                tracing::debug!(%seed, "connecting to seed");
            }
            Ok(Err(e)) => {
                if warned.insert(seed.clone()) {
                    tracing::info!(%seed, error = %e, "seed not reachable yet; retrying every second");
                }
            }
            Err(_) => {
                if warned.insert(seed.clone()) {
                    tracing::info!(%seed, "seed did not answer in 2 s; retrying every second");
                }
            }
        }
    }
}

/// Closes this node's sessions with the member `name`.
async fn close_sessions_of(server: &ActorRef<NodeServerMessage>, name: &str) {
    let Ok(sessions) = ractor::call_t!(server, NodeServerMessage::GetSessions, 2000) else { return };
    let prefix = format!("{name}@");
    for s in sessions.values() {
        if s.peer_name.as_ref().is_some_and(|p| p.name.starts_with(&prefix)) {
            tracing::info!(member = %name, addr = %s.peer_addr, "closing the session of a member marked down");
            s.actor.stop(Some("member marked down".into()));
        }
    }
}

async fn resolve(addr: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = addr.parse::<SocketAddr>() {
        return Ok(a);
    }
    let mut found = tokio::net::lookup_host(addr).await.map_err(|e| e.to_string())?;
    found.next().ok_or_else(|| format!("{addr} resolves to no address"))
}

/// Logs sessions that close before authenticating: a peer with the wrong
/// cookie (or not a cluster node at all) is refused and gets nothing.
#[derive(Default)]
struct SessionLog {
    authenticated: Mutex<HashSet<u64>>,
}

impl NodeEventSubscription for SessionLog {
    fn node_session_opened(&self, ses: NodeServerSessionInformation) {
        tracing::debug!(peer = %ses.peer_addr, incoming = ses.is_server, "cluster session opened");
    }

    fn node_session_disconnected(&self, ses: NodeServerSessionInformation) {
        let was = self.authenticated.lock().unwrap_or_else(|e| e.into_inner()).remove(&ses.node_id);
        if was {
            let peer = ses.peer_name.as_ref().map(|p| p.name.clone()).unwrap_or_default();
            tracing::warn!(%peer, addr = %ses.peer_addr, "cluster session closed");
        } else {
            tracing::warn!(
                addr = %ses.peer_addr,
                incoming = ses.is_server,
                "cluster connection refused before authentication (wrong cookie, or not a cluster node)"
            );
        }
    }

    fn node_session_authenticated(&self, ses: NodeServerSessionInformation) {
        self.authenticated.lock().unwrap_or_else(|e| e.into_inner()).insert(ses.node_id);
        let peer = ses.peer_name.as_ref().map(|p| p.name.clone()).unwrap_or_default();
        tracing::info!(%peer, addr = %ses.peer_addr, "cluster session authenticated");
    }
}

/// Messages of the member actor: heartbeats from other nodes, and requests
/// for this node's live actor tree (the cluster-wide `/ops/actors`).
pub enum MemberMsg {
    /// A member's heartbeat.
    Beat(Box<Heartbeat>),
    /// This node's supervision tree: `{"node", "counts", "tree"}`.
    Actors(RpcReplyPort<serde_json::Value>),
}

impl ractor::Message for MemberMsg {
    fn serializable() -> bool {
        true
    }

    fn serialize(self) -> Result<SerializedMessage, BoxedDowncastErr> {
        Ok(match self {
            MemberMsg::Beat(beat) => {
                SerializedMessage::Cast { variant: "beat".into(), args: wire::encode(&*beat)?, metadata: None }
            }
            MemberMsg::Actors(reply) => SerializedMessage::Call {
                variant: "actors".into(),
                args: Vec::new(),
                reply: wire::bytes_port(reply),
                metadata: None,
            },
        })
    }

    fn deserialize(msg: SerializedMessage) -> Result<Self, BoxedDowncastErr> {
        match msg {
            SerializedMessage::Cast { variant, args, .. } if variant == "beat" => {
                Ok(MemberMsg::Beat(Box::new(wire::decode(&args)?)))
            }
            SerializedMessage::Call { variant, reply, .. } if variant == "actors" => {
                Ok(MemberMsg::Actors(wire::typed_port(reply)))
            }
            _ => Err(BoxedDowncastErr),
        }
    }
}

/// Receives the other members' heartbeats.
struct MemberActor;

impl Actor for MemberActor {
    type Msg = MemberMsg;
    type State = Arc<Inner>;
    type Arguments = Arc<Inner>;

    async fn pre_start(&self, _: ActorRef<MemberMsg>, inner: Arc<Inner>) -> Result<Arc<Inner>, ActorProcessingErr> {
        Ok(inner)
    }

    async fn handle(
        &self,
        _: ActorRef<MemberMsg>,
        msg: MemberMsg,
        inner: &mut Arc<Inner>,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            MemberMsg::Beat(beat) => {
                if inner.observe_change(*beat) {
                    let inner = inner.clone();
                    tokio::spawn(async move { inner.adopt_orphans().await });
                }
            }
            MemberMsg::Actors(reply) => {
                let _ = reply.send(inner.actors());
            }
        }
        Ok(())
    }
}

impl Inner {
    /// Records a heartbeat; true when its sender just said it is leaving
    /// (its live orders need a home now).
    fn observe_change(&self, beat: Heartbeat) -> bool {
        if beat.name == self.name {
            if beat.incarnation != self.incarnation {
                tracing::error!(node = %beat.name, "another node uses this node's name; names must be unique");
            }
            return false;
        }
        let change = self.members.lock().unwrap_or_else(|e| e.into_inner()).observe(beat, now_ms());
        let Some(change) = change else { return false };
        self.log_changes(std::slice::from_ref(&change));
        matches!(change, Change::Down { .. })
    }
}
