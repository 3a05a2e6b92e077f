//! The `autoglm` node: configuration, wiring and the command-line tools
//! (`serve`, `token`, `ops`, `loadgen`). The binary is a thin CLI over this.

pub mod client;
pub mod config;
pub mod demo;
pub mod loadgen;
pub mod nlu_cli;
pub mod node;
pub mod node_id;
pub mod ops;
pub mod secrets;
pub mod telemetry;
