//! The worker's one error type. Each variant names a condition; the HTTP layer maps it to a
//! status code (`server::ApiError`), nothing below it knows about HTTP.

/// Everything that can go wrong in the worker below the HTTP edge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model or adapter id that the worker does not know.
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// A request parameter out of its domain; `param` names the field.
    #[error("{param}: {message}")]
    Invalid { param: String, message: String },
    /// The waiting queue is full.
    #[error("the worker is at capacity ({queued} requests queued); retry later")]
    Overloaded { queued: usize },
    /// The fine-tuning queue is full.
    #[error("{queued} fine-tuning jobs are already queued; retry when one has finished")]
    JobsFull { queued: usize },
    /// An adapter that exists but cannot be used (hash mismatch, corrupt file, wrong shapes).
    #[error("adapter {id} refused: {reason}")]
    AdapterRefused { id: String, reason: String },
    /// A model file that cannot be loaded.
    #[error("model: {0}")]
    Model(String),
    /// A failed tensor operation (a bug or an exhausted resource, never the caller's input).
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A filesystem error with the path it concerns.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The engine thread is gone (shutting down).
    #[error("the engine has stopped")]
    EngineStopped,
}

impl Error {
    /// An `Invalid` error for `param`.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { param: param.into(), message: message.into() }
    }

    /// An `Io` error for `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io { path: path.display().to_string(), source }
    }
}

/// The worker's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
