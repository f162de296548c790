//! The one error type of chronos-db.

use std::fmt;

/// A problem found while checking a configuration, with the JSON path where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// JSON path of the offending value, e.g. `databases.runtime.tenantDatabases[1].tenantId`.
    pub path: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl ConfigProblem {
    /// Builds a problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every way a chronos-db call can fail.
///
/// Variants are matchable; their messages say what was wrong and, where it helps, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's expected object version is stale, or a create named an id that exists;
    /// nothing was written.
    #[error("{}", conflict_message(collection, id, *expected, *current, *exists))]
    Conflict {
        /// Collection of the record.
        collection: String,
        /// Id of the record.
        id: String,
        /// The ov the caller expected.
        expected: u64,
        /// The ov the record has now.
        current: u64,
        /// The write created a record with the caller's id, and a record with that id
        /// exists (or is queued).
        exists: bool,
    },

    /// The record (or the asked-for version of it) does not exist or is deleted.
    #[error("not found: {0}")]
    NotFound(String),

    /// An input (id, payload, filter, query option) is invalid; nothing was changed.
    #[error("invalid input: {0}")]
    Validation(String),

    /// The configuration is invalid; every problem is listed with its JSON path.
    #[error("invalid configuration: {}", join_problems(.0))]
    Config(Vec<ConfigProblem>),

    /// A route does not resolve (unknown tenant or domain, missing tier, bad collection name).
    #[error("route error: {0}")]
    Route(String),

    /// A storage backend failed.
    #[error("{backend} backend failed during {operation}: {message}")]
    Backend {
        /// Which backend: `sqlite`, `mongodb`, `object_store`...
        backend: &'static str,
        /// What chronos-db was doing.
        operation: String,
        /// The backend's own message.
        message: String,
    },

    /// Stored data does not have the shape chronos-db wrote (corruption or foreign writes).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

fn conflict_message(
    collection: &str,
    id: &str,
    expected: u64,
    current: u64,
    exists: bool,
) -> String {
    if exists {
        format!("{collection}/{id} already exists (its current ov is {current}); create it under another id, or update it with ov {current}")
    } else {
        format!("version conflict on {collection}/{id}: expected ov {expected}, current ov is {current}; re-read the record and retry with ov {current}")
    }
}

fn join_problems(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A backend error from any displayable cause.
    pub fn backend(
        backend: &'static str,
        operation: impl Into<String>,
        cause: impl fmt::Display,
    ) -> Self {
        Error::Backend {
            backend,
            operation: operation.into(),
            message: cause.to_string(),
        }
    }

    /// Whether the same call may succeed later: a storage backend could not be reached or
    /// did not answer in time. Only such failures are queued by the fallback queue, and a
    /// queued write is replayed while its failures stay transient.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Backend { .. })
    }

    /// A single configuration problem.
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config(vec![ConfigProblem::new(path, message)])
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
