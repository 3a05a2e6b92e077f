//! Who is in the cluster and who is alive, from heartbeats (pure: the caller
//! passes the time).
//!
//! Every node sends a [`Heartbeat`] to every other member each interval. A
//! member is *up* while its last heartbeat is younger than `down_after`, then
//! *down*; a down member that speaks again is up again (a new incarnation
//! when it restarted). Ownership is computed over the up members and this node.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a node says about itself, every heartbeat interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Node name (`[node] name` of cluster.toml), unique in the cluster.
    pub name: String,
    /// The node's `node_id` (the number inside the ids it makes).
    pub node_id: u16,
    /// Start time of this incarnation, epoch ms (changes when it restarts).
    pub incarnation: u64,
    /// Where its HTTP edge listens (`http://host:port`), for links between nodes.
    pub http: String,
    /// Its cluster address (`host:port`).
    pub cluster_addr: String,
    /// Sequence number of this heartbeat within the incarnation.
    pub seq: u64,
    /// Live actors on the node by kind.
    pub actors: BTreeMap<String, usize>,
    /// Worker leases the node holds.
    pub workers: usize,
    /// Whether the node is draining (stopping): others take its workers now.
    #[serde(default)]
    pub leaving: bool,
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// Heard from within `down_after`.
    Up,
    /// Silent for `down_after` or longer, or said it is leaving.
    Down,
}

/// One member as this node sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// The member's latest heartbeat.
    pub last: Heartbeat,
    /// When it arrived here, epoch ms.
    pub heard_at_ms: i64,
    /// Up or down.
    pub state: MemberState,
    /// When the state last changed, epoch ms.
    pub since_ms: i64,
}

/// A change the caller acts on (log, take over, hand over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A member joined, or came back.
    Up(String),
    /// A member went silent (or left); its workers and orders need a new home.
    Down {
        /// Its name.
        name: String,
        /// Its `node_id`.
        node_id: u16,
    },
}

/// The members this node knows (not including itself).
#[derive(Debug, Clone)]
pub struct Members {
    down_after_ms: i64,
    members: BTreeMap<String, Member>,
}

impl Members {
    /// An empty table; members silent for `down_after_ms` are marked down.
    pub fn new(down_after_ms: u64) -> Self {
        Self { down_after_ms: down_after_ms as i64, members: BTreeMap::new() }
    }

    /// Records a heartbeat received at `now_ms`; `Some(Up)` when the member is
    /// new or was down. Stale heartbeats (older seq of the same incarnation)
    /// are ignored.
    pub fn observe(&mut self, beat: Heartbeat, now_ms: i64) -> Option<Change> {
        let name = beat.name.clone();
        let leaving = beat.leaving;
        match self.members.get_mut(&name) {
            Some(m) => {
                let same = m.last.incarnation == beat.incarnation;
                if same && beat.seq <= m.last.seq {
                    return None;
                }
                if beat.incarnation < m.last.incarnation {
                    return None;
                }
                m.last = beat;
                m.heard_at_ms = now_ms;
                let want = if leaving { MemberState::Down } else { MemberState::Up };
                if m.state != want {
                    m.state = want;
                    m.since_ms = now_ms;
                    return Some(match want {
                        MemberState::Up => Change::Up(name),
                        MemberState::Down => Change::Down { name, node_id: m.last.node_id },
                    });
                }
                None
            }
            None => {
                let state = if leaving { MemberState::Down } else { MemberState::Up };
                self.members.insert(name.clone(), Member { last: beat, heard_at_ms: now_ms, state, since_ms: now_ms });
                (state == MemberState::Up).then_some(Change::Up(name))
            }
        }
    }

    /// Marks members silent for `down_after` as down; returns who went down.
    pub fn sweep(&mut self, now_ms: i64) -> Vec<Change> {
        let mut out = Vec::new();
        for (name, m) in &mut self.members {
            if m.state == MemberState::Up && now_ms - m.heard_at_ms >= self.down_after_ms {
                m.state = MemberState::Down;
                m.since_ms = now_ms;
                out.push(Change::Down { name: name.clone(), node_id: m.last.node_id });
            }
        }
        out
    }

    /// Treats every member that is up as heard from at `now_ms`: after this
    /// node itself stalled, silence it could not observe is not held against them.
    pub fn forgive(&mut self, now_ms: i64) {
        for m in self.members.values_mut() {
            if m.state == MemberState::Up {
                m.heard_at_ms = m.heard_at_ms.max(now_ms);
            }
        }
    }

    /// Names of the members that are up, sorted.
    pub fn up(&self) -> Vec<String> {
        self.members.values().filter(|m| m.state == MemberState::Up).map(|m| m.last.name.clone()).collect()
    }

    /// Node ids of members that are up.
    pub fn up_node_ids(&self) -> Vec<u16> {
        self.members.values().filter(|m| m.state == MemberState::Up).map(|m| m.last.node_id).collect()
    }

    /// Every known member.
    pub fn all(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(name: &str, seq: u64) -> Heartbeat {
        Heartbeat {
            name: name.into(),
            node_id: 2,
            incarnation: 100,
            http: "http://127.0.0.1:1".into(),
            cluster_addr: "127.0.0.1:2".into(),
            seq,
            actors: BTreeMap::new(),
            workers: 0,
            leaving: false,
        }
    }

    #[test]
    fn a_member_is_up_until_silent_for_down_after() {
        let mut m = Members::new(1000);
        assert_eq!(m.observe(beat("b", 1), 0), Some(Change::Up("b".into())));
        assert_eq!(m.observe(beat("b", 2), 500), None);
        assert!(m.sweep(1499).is_empty());
        assert_eq!(m.sweep(1500), vec![Change::Down { name: "b".into(), node_id: 2 }]);
        assert!(m.up().is_empty());
        assert!(m.sweep(5000).is_empty(), "reported once");
        // It speaks again: up again.
        assert_eq!(m.observe(beat("b", 3), 6000), Some(Change::Up("b".into())));
        assert_eq!(m.up(), vec!["b".to_string()]);
    }

    #[test]
    fn old_or_repeated_heartbeats_change_nothing() {
        let mut m = Members::new(1000);
        m.observe(beat("b", 5), 0);
        assert_eq!(m.observe(beat("b", 4), 900), None);
        // The stale one did not refresh it.
        assert_eq!(m.sweep(1000).len(), 1);
        let old = Heartbeat { incarnation: 50, seq: 99, ..beat("b", 0) };
        assert_eq!(m.observe(old, 1100), None);
        assert!(m.up().is_empty());
        // A restarted node (newer incarnation) starts counting again.
        let new = Heartbeat { incarnation: 200, seq: 1, ..beat("b", 0) };
        assert_eq!(m.observe(new, 1200), Some(Change::Up("b".into())));
    }

    #[test]
    fn a_stall_here_is_not_held_against_the_others() {
        let mut m = Members::new(1000);
        m.observe(beat("b", 1), 0);
        m.forgive(5000);
        assert!(m.sweep(5500).is_empty());
        assert_eq!(m.sweep(6000).len(), 1);
    }

    #[test]
    fn a_leaving_member_is_down_at_once() {
        let mut m = Members::new(1000);
        m.observe(beat("b", 1), 0);
        let bye = Heartbeat { leaving: true, ..beat("b", 2) };
        assert_eq!(m.observe(bye, 10), Some(Change::Down { name: "b".into(), node_id: 2 }));
        assert!(m.up().is_empty());
    }
}
