//! What can go wrong when the engine serves a request.

use autoglm_core::DomainError;
use autoglm_storage::{StorageError, WriteError};

/// An engine failure, in words a user or operator can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// No such thing (or not visible to the caller).
    #[error("{0} {1} not found")]
    NotFound(&'static str, String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A domain rule refused it.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// It conflicts with the current state (idempotency key reuse, a race).
    #[error("{0}")]
    Conflict(String),
    /// A request with this idempotency key was already made (the key's row is taken).
    #[error("duplicate request")]
    Duplicate,
    /// The request is malformed in a way the domain does not name.
    #[error("{0}")]
    BadRequest(String),
    /// Too much work queued; try again shortly.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// A part the engine needs is down.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A payment callback was refused.
    #[error("payment callback refused: {0}")]
    Payment(String),
}

impl From<StorageError> for EngineError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "storage failure");
        EngineError::Unavailable("storage is not answering".into())
    }
}

impl From<WriteError> for EngineError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Storage(s) => s.into(),
            WriteError::StaleVersion { .. } => EngineError::Conflict("the order changed meanwhile; try again".into()),
            WriteError::SlotTaken { .. } => EngineError::Conflict("that time was just taken".into()),
            WriteError::DuplicateKey => EngineError::Duplicate,
            // Only a negotiation commits with a fence, and it moves to the next bid.
            WriteError::Fenced { .. } => {
                EngineError::Unavailable("the worker moved to another node meanwhile; try again".into())
            }
        }
    }
}
