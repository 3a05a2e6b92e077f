//! Cluster membership and ownership of actors across nodes (DESIGN.md §2
//! "Cluster"). Built so far: [`config`], the typed and checked
//! `cluster.toml`. Joining (ractor_cluster), membership, leases and handover
//! are not built yet: `autoglm serve --cluster` checks the file and then
//! refuses to start, saying so.

pub mod config;

pub use config::{ClusterConfig, ClusterConfigError};
