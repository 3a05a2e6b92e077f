//! Live inspection of actors, in the spirit of quickwit's `observable_state`.
//!
//! Every live actor holds a [`Probe`] into the node's [`Registry`]. The actor
//! publishes its state through the probe whenever it changes, so ops can read
//! a [`Snapshot`] of any actor (or the whole supervision tree) at any time
//! without sending it a message. Everything here is synchronous and cheap:
//! a registration is one map insert, a publish touches only the actor's own
//! entry.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ractor::rpc::CallResult;
use ractor::{ActorRef, Message, MessagingErr, RactorErr, RpcReplyPort};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A point-in-time view of one live actor, with its supervised children.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// The kind of actor (`order`, `worker`, `supervisor`, `model_worker`, ...).
    pub kind: String,
    /// The actor's id within its kind.
    pub id: String,
    /// The cluster node the actor runs on.
    pub node: String,
    /// A short state name (`negotiating`, `idle`, `restarting`, ...).
    pub state: String,
    /// Key fields the actor chose to expose.
    pub fields: Value,
    /// Messages sent to the actor and not yet taken up by its handler.
    pub mailbox_len: usize,
    /// How often the actor has been restarted by its supervisor.
    pub restarts: u32,
    /// When this incarnation of the actor was registered.
    pub started_at: DateTime<Utc>,
    /// Actors registered with this one as their parent (empty from [`Registry::get`]).
    pub children: Vec<Snapshot>,
}

/// Implemented by actor states so that a [`Probe`] can publish them.
pub trait Inspect {
    /// The kind of actor, as used in registry keys.
    fn kind(&self) -> &'static str;
    /// A short state name.
    fn snapshot_state(&self) -> String;
    /// Key fields worth showing to ops.
    fn snapshot_fields(&self) -> Value;
}

/// Counts messages queued for an actor; ractor does not expose mailbox length.
///
/// Senders call [`Inbox::enqueued`] before sending, the actor calls
/// [`Inbox::dequeued`] at the top of `handle`.
#[derive(Clone, Debug, Default)]
pub struct Inbox(Arc<AtomicUsize>);

impl Inbox {
    /// A fresh, empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one message sent to the actor.
    pub fn enqueued(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Record one message taken up by the actor (never goes below zero).
    pub fn dequeued(&self) {
        // A failed update means the counter was already zero: nothing to undo.
        let _ = self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Messages currently waiting.
    pub fn len(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An actor reference paired with its [`Inbox`], so that sends are counted.
pub struct Tracked<M> {
    /// The actor messages go to.
    pub actor: ActorRef<M>,
    /// The counter the actor drains in `handle`.
    pub inbox: Inbox,
}

impl<M> Clone for Tracked<M> {
    fn clone(&self) -> Self {
        Self { actor: self.actor.clone(), inbox: self.inbox.clone() }
    }
}

impl<M: Message> Tracked<M> {
    /// Pair an actor with its inbox counter (usually `probe.inbox()`).
    pub fn new(actor: ActorRef<M>, inbox: Inbox) -> Self {
        Self { actor, inbox }
    }

    /// Send without waiting for a reply, counting the message.
    pub fn cast(&self, msg: M) -> Result<(), MessagingErr<M>> {
        self.inbox.enqueued();
        self.actor.cast(msg).inspect_err(|_| self.inbox.dequeued())
    }

    /// Send a request built by `build` and wait for its reply, counting the message.
    pub async fn call<R, F>(&self, build: F, timeout: Option<Duration>) -> Result<R, RactorErr<M>>
    where
        F: FnOnce(RpcReplyPort<R>) -> M,
        R: Send + 'static,
    {
        self.inbox.enqueued();
        match self.actor.call(build, timeout).await {
            Ok(CallResult::Success(reply)) => Ok(reply),
            Ok(other) => Err(RactorErr::from(other)),
            Err(e) => {
                self.inbox.dequeued();
                Err(e.into())
            }
        }
    }
}

/// What an actor last published about itself.
struct Published {
    state: String,
    fields: Value,
    gauges: Option<Arc<Gauges>>,
}

/// Numbers an actor changes on nearly every message (bookings, bids, ...),
/// kept in atomics so that updating one costs a store, and added to the
/// published fields only when someone looks ([`Probe::attach_gauges`]).
pub struct Gauges {
    names: &'static [&'static str],
    values: Box<[AtomicI64]>,
}

impl Gauges {
    /// Gauges with these names, all 0.
    pub fn new(names: &'static [&'static str]) -> Arc<Self> {
        Arc::new(Self { names, values: names.iter().map(|_| AtomicI64::new(0)).collect() })
    }

    /// Sets gauge number `i` (the index into the names); out of range does nothing.
    pub fn set(&self, i: usize, value: i64) {
        if let Some(v) = self.values.get(i) {
            v.store(value, Ordering::Relaxed);
        }
    }

    /// Gauge number `i`, 0 when out of range.
    pub fn get(&self, i: usize) -> i64 {
        self.values.get(i).map_or(0, |v| v.load(Ordering::Relaxed))
    }

    fn write_into(&self, fields: &mut Value) {
        if let Value::Object(map) = fields {
            for (i, name) in self.names.iter().enumerate() {
                map.insert((*name).to_string(), Value::from(self.get(i)));
            }
        }
    }
}

/// One registered actor incarnation.
struct Entry {
    kind: String,
    id: String,
    parent: Option<String>,
    started_at: DateTime<Utc>,
    inbox: Inbox,
    restarts: AtomicU32,
    published: Mutex<Published>,
}

impl Entry {
    fn snapshot(&self, node: &str, children: Vec<Snapshot>) -> Snapshot {
        let (state, fields) = {
            let p = self.published.lock().unwrap_or_else(|e| e.into_inner());
            let mut fields = p.fields.clone();
            if let Some(g) = &p.gauges {
                g.write_into(&mut fields);
            }
            (p.state.clone(), fields)
        };
        Snapshot {
            kind: self.kind.clone(),
            id: self.id.clone(),
            node: node.to_string(),
            state,
            fields,
            mailbox_len: self.inbox.len(),
            restarts: self.restarts.load(Ordering::Relaxed),
            started_at: self.started_at,
            children,
        }
    }
}

struct RegistryInner {
    node: String,
    entries: RwLock<HashMap<String, Arc<Entry>>>,
}

impl RegistryInner {
    /// Remove `key` only if it still points at `entry` (a restart may have replaced it).
    fn remove_if_current(&self, key: &str, entry: &Arc<Entry>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.get(key).is_some_and(|cur| Arc::ptr_eq(cur, entry)) {
            entries.remove(key);
        }
    }
}

/// The registry key of an actor: `"{kind}/{id}"`.
pub fn registry_key(kind: &str, id: &str) -> String {
    format!("{kind}/{id}")
}

/// The live actor registry of one node; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<RegistryInner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("node", &self.inner.node).field("len", &self.len()).finish()
    }
}

impl Registry {
    /// An empty registry for the node called `node`.
    pub fn new(node: impl Into<String>) -> Self {
        Self { inner: Arc::new(RegistryInner { node: node.into(), entries: RwLock::new(HashMap::new()) }) }
    }

    /// The node this registry describes.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Register an actor under `"{kind}/{id}"` with a fresh inbox counter.
    ///
    /// An existing entry under the same key (the previous incarnation of a
    /// restarted actor) is replaced, keeping its restart count.
    pub fn register(&self, kind: &str, id: &str, parent: Option<&str>) -> Probe {
        self.register_with_inbox(kind, id, parent, Inbox::new())
    }

    /// Like [`Registry::register`], counting the mailbox with an existing `inbox`.
    pub fn register_with_inbox(&self, kind: &str, id: &str, parent: Option<&str>, inbox: Inbox) -> Probe {
        let key = registry_key(kind, id);
        let entry = Arc::new(Entry {
            kind: kind.to_string(),
            id: id.to_string(),
            parent: parent.map(str::to_string),
            started_at: Utc::now(),
            inbox,
            restarts: AtomicU32::new(0),
            published: Mutex::new(Published {
                state: STARTING.to_string(),
                fields: Value::Object(Default::default()),
                gauges: None,
            }),
        });
        {
            let mut entries = self.inner.entries.write().unwrap_or_else(|e| e.into_inner());
            if let Some(previous) = entries.get(&key) {
                let restarts = previous.restarts.load(Ordering::Relaxed);
                entry.restarts.store(restarts, Ordering::Relaxed);
            }
            entries.insert(key.clone(), entry.clone());
        }
        Probe { inner: Arc::new(ProbeInner { registry: self.inner.clone(), key, entry }) }
    }

    /// Set the restart count of the entry under `key`; false if there is none.
    pub fn set_restarts(&self, key: &str, restarts: u32) -> bool {
        let entries = self.inner.entries.read().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some(entry) => {
                entry.restarts.store(restarts, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// The snapshot of one actor by key, without its children.
    pub fn get(&self, key: &str) -> Option<Snapshot> {
        let entry = self.entry(key)?;
        Some(entry.snapshot(&self.inner.node, Vec::new()))
    }

    /// The snapshot of one actor by key, with everything registered below it.
    pub fn subtree(&self, key: &str) -> Option<Snapshot> {
        let all = self.all_entries();
        let index = ChildIndex::new(&all);
        let mut visited = HashSet::new();
        all.get(key).map(|_| index.build(key, &all, &self.inner.node, &mut visited))
    }

    /// Every registered actor as a forest: roots, each with nested children,
    /// sorted by kind then id at every level.
    pub fn tree(&self) -> Vec<Snapshot> {
        let all = self.all_entries();
        let index = ChildIndex::new(&all);
        let node = self.inner.node.as_str();
        let mut visited = HashSet::new();
        let mut roots: Vec<Snapshot> =
            index.roots.iter().map(|key| index.build(key, &all, node, &mut visited)).collect();
        // Entries in a parent cycle are reachable from no root; show them anyway.
        let mut stranded: Vec<&String> = all.keys().filter(|k| !visited.contains(*k)).collect();
        stranded.sort();
        for key in stranded {
            if !visited.contains(key) {
                roots.push(index.build(key, &all, node, &mut visited));
            }
        }
        sort_snapshots(&mut roots);
        roots
    }

    /// Snapshots (without children) of every actor of one kind, sorted by id.
    pub fn by_kind(&self, kind: &str) -> Vec<Snapshot> {
        let mut out: Vec<Snapshot> = self
            .all_entries()
            .values()
            .filter(|e| e.kind == kind)
            .map(|e| e.snapshot(&self.inner.node, Vec::new()))
            .collect();
        sort_snapshots(&mut out);
        out
    }

    /// How many actors of each kind are registered.
    pub fn count_by_kind(&self) -> BTreeMap<String, usize> {
        let entries = self.inner.entries.read().unwrap_or_else(|e| e.into_inner());
        let mut counts = BTreeMap::new();
        for entry in entries.values() {
            *counts.entry(entry.kind.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// How many actors are registered.
    pub fn len(&self) -> usize {
        self.inner.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no actor is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(&self, key: &str) -> Option<Arc<Entry>> {
        let entries = self.inner.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(key).cloned()
    }

    /// Copy the entry pointers out so snapshots are built without holding the map lock.
    fn all_entries(&self) -> HashMap<String, Arc<Entry>> {
        self.inner.entries.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The state name an entry has until its actor publishes one.
pub(crate) const STARTING: &str = "starting";

/// Parent → children links of one registry copy.
struct ChildIndex<'a> {
    children: HashMap<&'a str, Vec<&'a str>>,
    roots: Vec<&'a str>,
}

impl<'a> ChildIndex<'a> {
    fn new(all: &'a HashMap<String, Arc<Entry>>) -> Self {
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut roots = Vec::new();
        for (key, entry) in all {
            match entry.parent.as_deref() {
                Some(parent) if parent != key && all.contains_key(parent) => {
                    children.entry(parent).or_default().push(key)
                }
                _ => roots.push(key.as_str()),
            }
        }
        Self { children, roots }
    }

    fn build(
        &self,
        key: &str,
        all: &HashMap<String, Arc<Entry>>,
        node: &str,
        visited: &mut HashSet<String>,
    ) -> Snapshot {
        visited.insert(key.to_string());
        let mut kids = Vec::new();
        for child in self.children.get(key).into_iter().flatten() {
            if !visited.contains(*child) {
                kids.push(self.build(child, all, node, visited));
            }
        }
        sort_snapshots(&mut kids);
        // `key` always comes from `all`, so the entry exists.
        match all.get(key) {
            Some(entry) => entry.snapshot(node, kids),
            None => Snapshot {
                kind: String::new(),
                id: key.to_string(),
                node: node.to_string(),
                state: "gone".to_string(),
                fields: Value::Null,
                mailbox_len: 0,
                restarts: 0,
                started_at: Utc::now(),
                children: kids,
            },
        }
    }
}

fn sort_snapshots(list: &mut [Snapshot]) {
    list.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
}

struct ProbeInner {
    registry: Arc<RegistryInner>,
    key: String,
    entry: Arc<Entry>,
}

impl Drop for ProbeInner {
    fn drop(&mut self) {
        self.registry.remove_if_current(&self.key, &self.entry);
    }
}

/// An actor's handle on its own registry entry; dropping the last clone
/// removes the entry (unless a newer incarnation replaced it).
#[derive(Clone)]
pub struct Probe {
    inner: Arc<ProbeInner>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Probe").field(&self.inner.key).finish()
    }
}

impl Probe {
    /// The registry key, `"{kind}/{id}"`.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The registry this probe writes to.
    pub fn registry(&self) -> Registry {
        Registry { inner: self.inner.registry.clone() }
    }

    /// Replace the published state and fields.
    pub fn publish(&self, state: &str, fields: Value) {
        let mut p = self.inner.entry.published.lock().unwrap_or_else(|e| e.into_inner());
        if p.state != state {
            p.state = state.to_string();
        }
        p.fields = fields;
    }

    /// Shows `gauges` among the published fields from now on (their current
    /// values at each snapshot, over any published field of the same name).
    pub fn attach_gauges(&self, gauges: Arc<Gauges>) {
        self.inner.entry.published.lock().unwrap_or_else(|e| e.into_inner()).gauges = Some(gauges);
    }

    /// Publish what an [`Inspect`] state says about itself.
    pub fn publish_from(&self, x: &impl Inspect) {
        self.publish(&x.snapshot_state(), x.snapshot_fields());
    }

    /// Set the state to `state` only if the actor has not published one yet.
    pub(crate) fn publish_if_starting(&self, state: &str) {
        let mut p = self.inner.entry.published.lock().unwrap_or_else(|e| e.into_inner());
        if p.state == STARTING {
            p.state = state.to_string();
        }
    }

    /// The mailbox counter of this actor.
    pub fn inbox(&self) -> Inbox {
        self.inner.entry.inbox.clone()
    }

    /// Pair `actor` with this probe's inbox counter.
    pub fn tracked<M: Message>(&self, actor: ActorRef<M>) -> Tracked<M> {
        Tracked::new(actor, self.inbox())
    }

    /// Set the restart count shown for this actor.
    pub fn set_restarts(&self, restarts: u32) {
        self.inner.entry.restarts.store(restarts, Ordering::Relaxed);
    }

    /// This actor's current snapshot, without children.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.entry.snapshot(&self.inner.registry.node, Vec::new())
    }

    /// Remove the entry now (idempotent; a newer incarnation's entry is left alone).
    pub fn deregister(&self) {
        self.inner.registry.remove_if_current(&self.inner.key, &self.inner.entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inbox_saturates_at_zero() {
        let inbox = Inbox::new();
        inbox.dequeued();
        assert_eq!(inbox.len(), 0);
        inbox.enqueued();
        inbox.enqueued();
        inbox.dequeued();
        assert_eq!(inbox.len(), 1);
    }

    #[test]
    fn replacement_keeps_restarts_and_old_probe_drop_keeps_new_entry() {
        let reg = Registry::new("n1");
        let old = reg.register("order", "A1", None);
        old.set_restarts(3);
        let new = reg.register("order", "A1", None);
        assert_eq!(new.snapshot().restarts, 3);
        drop(old);
        assert_eq!(reg.len(), 1);
        new.publish("confirmed", json!({"worker": "W1"}));
        assert_eq!(reg.get("order/A1").map(|s| s.state), Some("confirmed".into()));
        drop(new);
        assert!(reg.is_empty());
    }

    #[test]
    fn gauges_show_their_current_values_among_the_published_fields() {
        let reg = Registry::new("n1");
        let probe = reg.register("worker", "W1", None);
        probe.publish("available", json!({"name": "Li", "bids": 99}));
        let gauges = Gauges::new(&["bids", "bookings"]);
        probe.attach_gauges(gauges.clone());
        gauges.set(0, 3);
        gauges.set(1, 2);
        gauges.set(7, 1); // out of range: ignored
        let fields = reg.get("worker/W1").map(|s| s.fields);
        assert_eq!(fields, Some(json!({"name": "Li", "bids": 3, "bookings": 2})));
        gauges.set(1, 0);
        probe.publish("available", json!({"name": "Li Na"}));
        let fields = reg.get("worker/W1").map(|s| s.fields);
        assert_eq!(fields, Some(json!({"name": "Li Na", "bids": 3, "bookings": 0})));
    }

    #[test]
    fn tree_nests_and_sorts_and_survives_cycles() {
        let reg = Registry::new("n1");
        let sup = reg.register("supervisor", "orders", None);
        let b = reg.register("order", "B", Some(sup.key()));
        let a = reg.register("order", "A", Some(sup.key()));
        let w = reg.register("worker", "W", None);
        let tree = reg.tree();
        let ids: Vec<_> = tree.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["orders", "W"]);
        let kids: Vec<_> = tree[0].children.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(kids, ["A", "B"]);
        assert_eq!(reg.count_by_kind().get("order"), Some(&2));
        let x = reg.register("loop", "x", Some("loop/y"));
        let y = reg.register("loop", "y", Some("loop/x"));
        assert_eq!(reg.tree().len(), 3);
        drop((sup, a, b, w, x, y));
        assert!(reg.is_empty());
    }
}
