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

/// The source of a storage or internal failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every way a chronos-db call can fail.
///
/// Variants are matchable; their messages say what was wrong and, where it helps, what to do.
/// Whether a failure may pass if the call is made again is [`Error::is_transient`], a property
/// of the failure itself (a lost connection is transient, a refused permission is not),
/// whichever variant carries it.
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

    /// A batch of new records (`create_many`) named ids that exist already.
    #[error("{}", batch_conflict_message(collection, ids, *others_committed))]
    BatchConflict {
        /// Collection of the batch.
        collection: String,
        /// The ids that exist already.
        ids: Vec<String>,
        /// Whether the batch's other records were committed all the same (an index store
        /// without transactions); otherwise nothing of the batch was written.
        others_committed: bool,
    },

    /// The record (or the asked-for version of it) does not exist.
    #[error("not found: {0}")]
    NotFound(String),

    /// The record exists, but its latest version is a logical delete, and the call needs a
    /// live record; nothing was changed.
    #[error("{collection}/{id} is deleted (ov {ov}); restore it before writing")]
    Deleted {
        /// Collection of the record.
        collection: String,
        /// Id of the record.
        id: String,
        /// The ov of its delete marker.
        ov: u64,
    },

    /// An input (id, payload, filter, query option) is invalid; nothing was changed.
    #[error("invalid input: {0}")]
    Validation(String),

    /// The call cannot run in the current state of the data (say, erasing a record whose
    /// writes are still queued); nothing was changed. The message says what to wait for.
    #[error("not now: {0}")]
    Precondition(String),

    /// The configuration is invalid; every problem is listed with its JSON path.
    #[error("invalid configuration: {}", join_problems(.0))]
    Config(Vec<ConfigProblem>),

    /// A route does not resolve (unknown tenant or domain, missing tier, bad collection name).
    #[error("route error: {0}")]
    Route(String),

    /// A storage backend failed.
    #[error("{backend} backend failed during {operation}: {source}")]
    Backend {
        /// Which backend: `sqlite`, `mongodb`, `object_store`...
        backend: &'static str,
        /// What chronos-db was doing.
        operation: String,
        /// Whether the backend could not be reached or did not answer in time (a retry may
        /// succeed), as opposed to refusing the operation.
        transient: bool,
        /// The backend's own error.
        #[source]
        source: BoxError,
    },

    /// The index backend does not have a capability the call needs (a fallback queue, locks,
    /// an audit log); nothing was written.
    #[error("the {backend} index backend has no {capability}, which {operation} needs")]
    Unsupported {
        /// Which backend.
        backend: &'static str,
        /// The capability it lacks.
        capability: &'static str,
        /// What chronos-db was asked to do.
        operation: &'static str,
    },

    /// Stored data does not have the shape chronos-db wrote (corruption or foreign writes),
    /// or encrypted bytes do not decrypt at the place they were read from (changed, cut
    /// short, or copied from another record, version or tenant).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),

    /// The data key that encrypted the payload was destroyed (the route was shredded, or the
    /// record erased with a key of its own): its versions can never be read again.
    #[error("shredded: {what} was encrypted under key {key_id}, which was destroyed; its data cannot be read")]
    Shredded {
        /// What could not be read.
        what: String,
        /// The destroyed key's id.
        key_id: String,
    },

    /// chronos-db itself failed (a step that cannot fail on valid input did); nothing was
    /// acknowledged. Worth a bug report.
    #[error("internal error during {operation}: {source}")]
    Internal {
        /// What chronos-db was doing.
        operation: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
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

fn batch_conflict_message(collection: &str, ids: &[String], others_committed: bool) -> String {
    let what = if others_committed {
        "the batch's other records were committed"
    } else {
        "nothing of the batch was written"
    };
    format!(
        "{collection}: these ids already exist: {}; {what}",
        ids.join(", ")
    )
}

fn join_problems(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A storage failure of `backend` during `operation`; `transient` when a retry may pass
    /// (the backend's helper decides from the source).
    pub(crate) fn storage(
        backend: &'static str,
        operation: impl Into<String>,
        source: impl Into<BoxError>,
        transient: bool,
    ) -> Self {
        Error::Backend {
            backend,
            operation: operation.into(),
            transient,
            source: source.into(),
        }
    }

    /// A failure of chronos-db itself during `operation`.
    pub(crate) fn internal(operation: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Internal {
            operation: operation.into(),
            source: source.into(),
        }
    }

    /// Whether the same call may succeed later: a storage backend could not be reached or
    /// did not answer in time. Only such failures are queued by the fallback queue, and a
    /// queued write is replayed while its failures stay transient.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Backend {
                transient: true,
                ..
            }
        )
    }

    /// Whether the call was refused because the data moved on (a stale ov, or ids that
    /// exist): re-read and decide again.
    pub fn is_conflict(&self) -> bool {
        self.kind() == ErrorKind::Conflict
    }

    /// A single configuration problem.
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config(vec![ConfigProblem::new(path, message)])
    }
}

/// What kind of failure an [`Error`] is: the stable classification bindings and services
/// map to codes and statuses, whichever variant carries it. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A stale expected ov, or ids that exist ([`Error::Conflict`], [`Error::BatchConflict`]).
    Conflict,
    /// The record or version does not exist.
    NotFound,
    /// The record's latest version is a logical delete.
    Deleted,
    /// An input is invalid.
    Validation,
    /// The state of the data (or a store of a newer format) forbids the call now.
    Precondition,
    /// The configuration is invalid.
    Config,
    /// The route does not resolve.
    Route,
    /// A storage backend failed; [`Error::is_transient`] says whether a retry may pass.
    Backend,
    /// The index backend does not have a capability the call needs.
    Unsupported,
    /// Stored data does not have the shape chronos-db wrote, or does not decrypt.
    Corrupt,
    /// The data's encryption key was destroyed (crypto-shredding).
    Shredded,
    /// chronos-db itself failed.
    Internal,
}

impl ErrorKind {
    /// A stable code in upper snake case (`CONFLICT`, `NOT_FOUND`, ...), the same in every
    /// binding.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Conflict => "CONFLICT",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Deleted => "DELETED",
            ErrorKind::Validation => "VALIDATION",
            ErrorKind::Precondition => "PRECONDITION",
            ErrorKind::Config => "CONFIG",
            ErrorKind::Route => "ROUTE",
            ErrorKind::Backend => "BACKEND",
            ErrorKind::Unsupported => "UNSUPPORTED",
            ErrorKind::Corrupt => "CORRUPT",
            ErrorKind::Shredded => "SHREDDED",
            ErrorKind::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Conflict { .. } | Error::BatchConflict { .. } => ErrorKind::Conflict,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Deleted { .. } => ErrorKind::Deleted,
            Error::Validation(_) => ErrorKind::Validation,
            Error::Precondition(_) => ErrorKind::Precondition,
            Error::Config(_) => ErrorKind::Config,
            Error::Route(_) => ErrorKind::Route,
            Error::Backend { .. } => ErrorKind::Backend,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Corrupt(_) => ErrorKind::Corrupt,
            Error::Shredded { .. } => ErrorKind::Shredded,
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_code() {
        let errors = [
            Error::NotFound("x".into()),
            Error::Validation("x".into()),
            Error::Precondition("x".into()),
            Error::config("a", "b"),
            Error::Route("x".into()),
            Error::storage("sqlite", "op", "down", true),
            Error::Corrupt("x".into()),
            Error::Unsupported {
                backend: "b",
                capability: "locks",
                operation: "try_lock",
            },
            Error::internal("op", "bug"),
            Error::Deleted {
                collection: "c".into(),
                id: "i".into(),
                ov: 1,
            },
            Error::BatchConflict {
                collection: "c".into(),
                ids: vec![],
                others_committed: false,
            },
            Error::Shredded {
                what: "r".into(),
                key_id: "k".into(),
            },
        ];
        let codes: std::collections::HashSet<_> = errors.iter().map(|e| e.kind().code()).collect();
        assert_eq!(codes.len(), errors.len());
        assert!(errors[10].is_conflict());
        assert_eq!(ErrorKind::NotFound.to_string(), "NOT_FOUND");
    }
}
