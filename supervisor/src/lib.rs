//! Supervision and live inspection for AutoGLM's actors.
//!
//! - [`inspect`]: the node's live actor [`Registry`]; every actor holds a
//!   [`Probe`] and publishes a [`Snapshot`] of itself that ops read at any time.
//! - [`supervisor`]: a ractor [`Supervisor`] that starts children from
//!   [`ChildSpec`]s and restarts them per a [`RestartPolicy`].

#![warn(missing_docs)]

pub mod inspect;
mod metrics;
pub mod supervisor;

pub use inspect::{registry_key, Gauges, Inbox, Inspect, Probe, Registry, Snapshot, Tracked};
pub use supervisor::{
    ChildInfo, ChildSpec, Restart, RestartPolicy, StartCtx, StartFn, Strategy, Supervisor, SupervisorArgs,
    SupervisorError, SupervisorHandle, SupervisorMsg, SUPERVISOR_KIND,
};
