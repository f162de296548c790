//! Crash-test hooks. With the `failpoints` feature, a write that reaches the point named by
//! the `CHRONOS_FAILPOINT` environment variable touches the file named by
//! `CHRONOS_FAILPOINT_MARKER` (if set) and then stops there for good, so a test can kill the
//! process at exactly that step. Without the feature (the default) hooks compile to nothing.

/// After a version's payload blobs are put and before its row is committed.
pub const AFTER_BLOB_PUT: &str = "after-blob-put";
/// Inside a MongoDB commit transaction, after its writes and before it commits: a writer
/// killed here leaves the record held by an open transaction until the server times it out.
pub const IN_MONGODB_TRANSACTION: &str = "in-mongodb-transaction";
/// In a MongoDB commit without a transaction, after the version insert (the commit point) and
/// before the head moves: a writer killed here leaves the head behind its latest version.
pub const BEFORE_HEAD_MOVE: &str = "before-head-move";

/// Stops here forever when the `failpoints` feature is on and `CHRONOS_FAILPOINT` is `name`.
#[cfg(feature = "failpoints")]
pub async fn hit(name: &str) {
    if std::env::var("CHRONOS_FAILPOINT").as_deref() != Ok(name) {
        return;
    }
    tracing::warn!(failpoint = name, "failpoint reached; stopping here");
    if let Ok(marker) = std::env::var("CHRONOS_FAILPOINT_MARKER") {
        if let Err(e) = std::fs::write(&marker, name) {
            tracing::warn!(error = %e, "could not write the failpoint marker");
        }
    }
    std::future::pending::<()>().await;
}

/// Does nothing: the `failpoints` feature is off.
#[cfg(not(feature = "failpoints"))]
pub async fn hit(_name: &str) {}
