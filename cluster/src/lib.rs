//! Cluster membership and ownership of actors across nodes (cluster.toml, ractor_cluster, leases). Not built yet: single-node only in this build.
