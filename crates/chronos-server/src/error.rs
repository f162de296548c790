//! The one error type of the service's setup and lifetime (request failures are
//! [`crate::Problem`]s).

use std::net::SocketAddr;

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration (the library's part or `serve`) is invalid, or the library failed
    /// to start or to shut down.
    #[error(transparent)]
    Chronos(#[from] chronos_db::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving connections failed.
    #[error("serving HTTP failed: {0}")]
    Serve(#[source] std::io::Error),
}
