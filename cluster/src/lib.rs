//! Cluster membership and ownership of actors across nodes (DESIGN.md §2
//! "Cluster"): [`config`] reads and checks `cluster.toml`; [`node`] joins the
//! cluster with ractor_cluster (cookie challenge, merged process groups),
//! sends heartbeats and marks silent members down ([`membership`]), and puts
//! each worker actor on one node by rendezvous hashing, guarded by a fenced
//! lease row, taking over the workers and live orders of lost members.

pub mod config;
pub mod membership;
pub mod node;

pub use config::{ClusterConfig, ClusterConfigError};
pub use membership::{Heartbeat, MemberState};
pub use node::{Cluster, ClusterError, ClusterView, LocalNode, MemberView};
