//! MongoDB failures as chronos-db errors: each keeps the driver's error as its source and
//! says, from the error itself, whether a retry may pass.

use mongodb::error::{
    ErrorKind, WriteFailure, RETRYABLE_WRITE_ERROR, TRANSIENT_TRANSACTION_ERROR,
    UNKNOWN_TRANSACTION_COMMIT_RESULT,
};

use super::BACKEND;
use crate::error::Error;

/// Server error codes that say the server could not serve the operation now (stepping down,
/// shutting down, overloaded, timed out), after the MongoDB retryable-error specification.
const RETRYABLE_CODES: [i32; 18] = [
    6, 7, 50, 63, 89, 91, 112, 134, 150, 189, 251, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// Whether a retry of the operation may pass: the server could not be reached, selected or
/// heard from in time, or labelled the failure retryable.
pub(crate) fn is_transient(e: &mongodb::error::Error) -> bool {
    if [
        TRANSIENT_TRANSACTION_ERROR,
        RETRYABLE_WRITE_ERROR,
        UNKNOWN_TRANSACTION_COMMIT_RESULT,
    ]
    .iter()
    .any(|label| e.contains_label(label))
    {
        return true;
    }
    match e.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => true,
        ErrorKind::Command(c) => RETRYABLE_CODES.contains(&c.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => RETRYABLE_CODES.contains(&w.code),
        _ => false,
    }
}

/// The chronos-db error for a driver failure during `operation`.
/// A document that does not decode is [`Error::Corrupt`].
pub(crate) fn fail(operation: impl Into<String>, e: mongodb::error::Error) -> Error {
    if matches!(e.kind.as_ref(), ErrorKind::BsonDeserialization(_)) {
        return Error::Corrupt(format!("{}: {e}", operation.into()));
    }
    let transient = is_transient(&e);
    Error::storage(BACKEND, operation, e, transient)
}

/// [`fail`] as a `map_err` argument.
pub(crate) fn err(operation: &str) -> impl FnOnce(mongodb::error::Error) -> Error + '_ {
    move |e| fail(operation, e)
}

/// Whether a write failed on a unique index (E11000).
pub(crate) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .is_some_and(|ws| ws.iter().any(|w| w.code == 11000)),
        _ => false,
    }
}
