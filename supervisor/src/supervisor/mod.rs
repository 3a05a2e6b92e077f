//! Supervision on top of ractor: child specs, restart types and strategies,
//! restart intensity with backoff, and rehydration on restart.
//!
//! One supervisor per kind of child (orders, workers, model workers). A child
//! is described by a [`ChildSpec`]; its start function spawns it linked to the
//! supervisor and learns from [`StartCtx::attempt`] whether it must rehydrate
//! from storage. What happens when it exits is data ([`Restart`],
//! [`RestartPolicy`]), not code.

mod actor;
mod handle;
pub mod policy;
mod spec;

pub use actor::{RestartDue, Supervisor, SupervisorArgs, SupervisorMsg, SupervisorState, SUPERVISOR_KIND};
pub use handle::SupervisorHandle;
pub use policy::{Restart, RestartPolicy, Strategy};
pub use spec::{ChildInfo, ChildSpec, StartCtx, StartFn, SupervisorError};
