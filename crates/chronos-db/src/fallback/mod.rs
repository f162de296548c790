//! The fallback queue: writes that storage failed to take (after the backends' own retries)
//! are persisted in the route's index database (`chronos_fallback_ops`) and acknowledged; a
//! worker replays them in order with exponential backoff and jitter, and after `maxRetries`
//! failed replays moves them to the dead-letter collection. Validation errors and conflicts
//! are never queued: they are answered at once.
//!
//! The queue lives in the index store, so it covers object-storage outages and transient
//! index failures; when the index store itself is down the write fails with
//! `Error::Backend` and is not acknowledged.
//!
//! A queued write is acknowledged with `queued: Some(op id)` in its [`crate::WriteResult`];
//! [`crate::Chronos::fallback`] inspects and steers the queue:
//!
//! ```
//! use chronos_db::fallback::QueueKind;
//! use chronos_db::{Chronos, ChronosConfig};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut config: serde_json::Value =
//!     serde_json::from_str(&ChronosConfig::embedded(dir.path()).to_json_string()?)?;
//! config["fallback"] = serde_json::json!({"enabled": true, "maxRetries": 8, "retryDelayMs": 500});
//! let chronos = Chronos::init(ChronosConfig::from_json_value(config)?).await?;
//!
//! let queue = chronos.fallback();
//! for write in queue.list(QueueKind::DeadLetter).await? {
//!     // Back into the queue with its attempts reset (or `cancel` it for good).
//!     queue.retry(&write.op_id).await?;
//! }
//! let report = queue.replay_now().await?; // the worker does this every poll interval
//! assert_eq!(report.committed, 0); // nothing was queued here
//! # Ok(()) }
//! ```

mod replay;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};

pub use crate::ops::QueuedWrite;
pub use replay::ReplayReport;
pub(crate) use replay::{replay_pass, start_worker};

use crate::error::{Error, Result};
use crate::index::{QueueQuery, QueueStore};
use crate::ops::{Collections, FallbackPolicy, DEFAULT_DEAD_LETTER, OPS_TABLE};
use crate::route::Router;

/// Which part of the queue to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum QueueKind {
    /// Writes waiting to be replayed (`chronos_fallback_ops`).
    Pending,
    /// Writes that kept failing (the dead-letter collection).
    DeadLetter,
}

/// Every (queue, database) pair the configuration names, once: the fallback queue of each
/// index store that keeps one (a store without a queue has nothing queued).
pub(crate) fn queue_homes(router: &Router) -> Vec<(Arc<dyn QueueStore>, String)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for db in router.databases() {
        for store in db.stores {
            let key = (
                Arc::as_ptr(&store).cast::<()>() as usize,
                db.db_name.clone(),
            );
            if !seen.insert(key) {
                continue;
            }
            if let Some(queue) = store.queue() {
                out.push((queue, db.db_name.clone()));
            }
        }
    }
    out
}

/// Inspects, retries and cancels queued writes. Get one with `Chronos::fallback`.
#[derive(Debug, Clone)]
pub struct FallbackQueue {
    collections: Arc<Collections>,
    replaying: Arc<tokio::sync::Mutex<()>>,
}

impl FallbackQueue {
    pub(crate) fn new(
        collections: Arc<Collections>,
        replaying: Arc<tokio::sync::Mutex<()>>,
    ) -> Self {
        FallbackQueue {
            collections,
            replaying,
        }
    }

    fn policy(&self) -> Option<FallbackPolicy> {
        FallbackPolicy::from_config(self.collections.config().fallback.as_ref())
    }

    fn dead_letter(&self) -> String {
        self.policy()
            .map_or_else(|| DEFAULT_DEAD_LETTER.to_string(), |p| p.dead_letter)
    }

    fn table(&self, kind: QueueKind) -> String {
        match kind {
            QueueKind::Pending => OPS_TABLE.to_string(),
            QueueKind::DeadLetter => self.dead_letter(),
        }
    }

    /// Every queued write of one kind in every configured database, oldest first per
    /// database.
    pub async fn list(&self, kind: QueueKind) -> Result<Vec<QueuedWrite>> {
        let table = self.table(kind);
        let all = QueueQuery {
            limit: usize::MAX,
            ..Default::default()
        };
        let mut out = Vec::new();
        for (store, db) in queue_homes(self.collections.router()) {
            for row in store.queue_list(&db, &table, &all).await? {
                out.push(QueuedWrite::from_row(&row)?);
            }
        }
        Ok(out)
    }

    /// Finds a queued write by id: its home and the queue kind holding it.
    async fn find(
        &self,
        op_id: &str,
    ) -> Result<(Arc<dyn QueueStore>, String, QueueKind, QueuedWrite)> {
        let one = QueueQuery {
            op_id: Some(op_id.to_string()),
            limit: 1,
            ..Default::default()
        };
        for (store, db) in queue_homes(self.collections.router()) {
            for kind in [QueueKind::Pending, QueueKind::DeadLetter] {
                if let Some(row) = store
                    .queue_list(&db, &self.table(kind), &one)
                    .await?
                    .first()
                {
                    let w = QueuedWrite::from_row(row)?;
                    return Ok((store, db, kind, w));
                }
            }
        }
        Err(Error::NotFound(format!("no queued write {op_id:?}")))
    }

    /// Makes a queued write due now: a pending one is replayed on the next pass, a
    /// dead-lettered one goes back to the queue with its attempts reset.
    pub async fn retry(&self, op_id: &str) -> Result<QueuedWrite> {
        let (store, db, kind, mut w) = self.find(op_id).await?;
        w.next_attempt_at = Utc::now();
        if kind == QueueKind::DeadLetter {
            w.attempts = 0;
        }
        store.queue_put(&db, OPS_TABLE, &w.to_row()?).await?;
        if kind == QueueKind::DeadLetter {
            store.queue_remove(&db, &self.dead_letter(), op_id).await?;
        }
        Ok(w)
    }

    /// Removes a queued write (pending or dead-lettered) for good and returns it. A cancelled
    /// write is never committed; later queued writes of the same record then cannot commit
    /// either and end in the dead-letter collection.
    pub async fn cancel(&self, op_id: &str) -> Result<QueuedWrite> {
        let (store, db, kind, w) = self.find(op_id).await?;
        // The claim goes first: a write whose claim is gone can no longer commit.
        self.collections.with(&w.route)?.release_claim(&w).await?;
        store.queue_remove(&db, &self.table(kind), op_id).await?;
        tracing::info!(op = op_id, id = %w.id, "queued write cancelled");
        Ok(w)
    }

    /// Replays every due write now (the worker does this on its own every poll interval).
    pub async fn replay_now(&self) -> Result<ReplayReport> {
        match self.policy() {
            Some(policy) => replay_pass(&self.collections, &self.replaying, &policy).await,
            None => Ok(ReplayReport::default()),
        }
    }
}
