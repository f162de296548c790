//! Crash-test hooks. With the `failpoints` feature, a write that reaches the point named by
//! the `CHRONOS_FAILPOINT` environment variable touches the file named by
//! `CHRONOS_FAILPOINT_MARKER` (if set) and then stops there for good, so a test can kill the
//! process at exactly that step. Within one process, a test can also pause the next write
//! of one collection at a point, look at the store while it waits, and let it go on. Without
//! the feature (the default) hooks compile to nothing.

/// After a version's payload blobs are put and before its row is committed.
pub const AFTER_BLOB_PUT: &str = "after-blob-put";
/// Inside a MongoDB commit transaction, after its writes and before it commits: a writer
/// killed here leaves the record held by an open transaction until the server times it out.
pub const IN_MONGODB_TRANSACTION: &str = "in-mongodb-transaction";
/// In a MongoDB commit without a transaction, after the version insert (the commit point) and
/// before the head moves: a writer killed here leaves the head behind its latest version.
pub const BEFORE_HEAD_MOVE: &str = "before-head-move";

/// Before a queued write claims its version (and the collection version it was given): a
/// change feed may give that collection version up meanwhile.
pub const BEFORE_QUEUE_CLAIM: &str = "before-queue-claim";

/// While a stored format is migrated, after one step has been committed and before the
/// next: a process killed here leaves a migration half done, for the next open to finish.
pub const AFTER_MIGRATION_STEP: &str = "after-migration-step";

/// Whether `CHRONOS_FAILPOINT` is `name`; if so, touches the marker file.
#[cfg(feature = "failpoints")]
fn reached(name: &str) -> bool {
    if std::env::var("CHRONOS_FAILPOINT").as_deref() != Ok(name) {
        return false;
    }
    tracing::warn!(failpoint = name, "failpoint reached; stopping here");
    if let Ok(marker) = std::env::var("CHRONOS_FAILPOINT_MARKER") {
        if let Err(e) = std::fs::write(&marker, name) {
            tracing::warn!(error = %e, "could not write the failpoint marker");
        }
    }
    true
}

/// Stops here forever when the `failpoints` feature is on and `CHRONOS_FAILPOINT` is `name`.
#[cfg(feature = "failpoints")]
pub async fn hit(name: &str) {
    if reached(name) {
        std::future::pending::<()>().await;
    }
}

/// [`hit`] for blocking code (a SQLite step on its own thread): the thread stops for good.
#[cfg(feature = "failpoints")]
pub fn hit_blocking(name: &str) {
    if reached(name) {
        loop {
            std::thread::park();
        }
    }
}

/// Does nothing: the `failpoints` feature is off.
#[cfg(not(feature = "failpoints"))]
pub fn hit_blocking(_name: &str) {}

/// Does nothing: the `failpoints` feature is off.
#[cfg(not(feature = "failpoints"))]
pub async fn hit(_name: &str) {}

/// Stops at `name` like [`hit`], and also waits there while a [`pause`] is armed for `name`
/// in collection `collection` (the first write to reach it takes the pause).
#[cfg(feature = "failpoints")]
pub async fn hit_in(name: &str, collection: &str) {
    hit(name).await;
    let gate = match gates().lock() {
        Ok(mut gates) => gates.remove(&(name.to_string(), collection.to_string())),
        Err(_) => None,
    };
    if let Some(gate) = gate {
        tracing::warn!(failpoint = name, collection, "paused at a failpoint");
        gate.reached.notify_one();
        let mut open = gate.open.subscribe();
        // An error means the pause was dropped: go on.
        let _ = open.wait_for(|open| *open).await;
    }
}

/// Does nothing: the `failpoints` feature is off.
#[cfg(not(feature = "failpoints"))]
pub async fn hit_in(_name: &str, _collection: &str) {}

#[cfg(feature = "failpoints")]
type Gates = std::sync::Mutex<std::collections::HashMap<(String, String), std::sync::Arc<Gate>>>;

#[cfg(feature = "failpoints")]
fn gates() -> &'static Gates {
    static GATES: std::sync::OnceLock<Gates> = std::sync::OnceLock::new();
    GATES.get_or_init(Default::default)
}

#[cfg(feature = "failpoints")]
#[derive(Debug)]
struct Gate {
    reached: tokio::sync::Notify,
    open: tokio::sync::watch::Sender<bool>,
}

/// A pause armed at one failpoint for the next write of one collection: that write waits
/// there until the pause is released or dropped.
#[cfg(feature = "failpoints")]
#[derive(Debug)]
pub struct Pause {
    gate: std::sync::Arc<Gate>,
}

/// Arms a pause at failpoint `name` (for example [`AFTER_BLOB_PUT`]) for the next write of
/// collection `collection` in this process.
#[cfg(feature = "failpoints")]
pub fn pause(name: &str, collection: &str) -> Pause {
    let gate = std::sync::Arc::new(Gate {
        reached: tokio::sync::Notify::new(),
        open: tokio::sync::watch::Sender::new(false),
    });
    if let Ok(mut gates) = gates().lock() {
        gates.insert((name.to_string(), collection.to_string()), gate.clone());
    }
    Pause { gate }
}

#[cfg(feature = "failpoints")]
impl Pause {
    /// Waits until a write is paused here.
    pub async fn reached(&self) {
        self.gate.reached.notified().await;
    }

    /// Lets the paused write (if any) go on.
    pub fn release(&self) {
        self.gate.open.send_replace(true);
    }
}

#[cfg(feature = "failpoints")]
impl Drop for Pause {
    fn drop(&mut self) {
        self.release();
    }
}
