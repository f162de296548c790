//! Replaying queued writes: one pass over every queue, and the worker that runs a pass every
//! poll interval for as long as the instance lives.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use super::queue_homes;
use crate::error::Result;
use crate::index::{QueueQuery, QueueStore};
use crate::ops::{Collections, FallbackPolicy, QueuedWrite, Replayed, OPS_TABLE};

/// Most due writes taken from one database in one pass.
const PASS_LIMIT: usize = 1_000;

/// What one replay pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReplayReport {
    /// Writes committed.
    pub committed: u64,
    /// Writes found already committed (removed from the queue).
    pub already_applied: u64,
    /// Writes left waiting for an earlier write of the same record.
    pub waiting: u64,
    /// Writes that failed again and were rescheduled.
    pub rescheduled: u64,
    /// Writes moved to the dead-letter collection.
    pub dead_lettered: u64,
}

/// A random draw in [0, 1) from the random bits of a UUID v7.
fn jitter_unit() -> f64 {
    let bits = uuid::Uuid::now_v7().as_u128() & ((1u128 << 52) - 1);
    bits as f64 / (1u128 << 52) as f64
}

/// One queue of one database.
struct Home<'a> {
    store: &'a Arc<dyn QueueStore>,
    db: &'a str,
    policy: &'a FallbackPolicy,
}

impl Home<'_> {
    async fn remove(&self, w: &QueuedWrite) -> Result<()> {
        self.store
            .queue_remove(self.db, OPS_TABLE, &w.op_id)
            .await?;
        Ok(())
    }

    async fn dead_letter(&self, mut w: QueuedWrite, why: String) -> Result<()> {
        warn!(op = %w.op_id, id = %w.id, ov = w.ov, reason = %why, "queued write dead-lettered");
        w.last_error = why;
        self.store
            .queue_put(self.db, &self.policy.dead_letter, &w.to_row()?)
            .await?;
        self.remove(&w).await
    }

    /// Whether an older write of the same record is still queued.
    async fn has_earlier(&self, w: &QueuedWrite) -> Result<bool> {
        let query = QueueQuery {
            collection: Some(w.route.collection.clone()),
            record_id: Some(w.id.clone()),
            limit: 1,
            ..Default::default()
        };
        let oldest = self.store.queue_list(self.db, OPS_TABLE, &query).await?;
        Ok(oldest.first().is_some_and(|o| o.op_id < w.op_id))
    }

    /// Replays one write and updates the queue; returns whether the record is done for this
    /// pass (false: later writes of the record must wait).
    async fn replay(
        &self,
        collections: &Collections,
        w: QueuedWrite,
        report: &mut ReplayReport,
    ) -> Result<bool> {
        let outcome = match collections.with(&w.route) {
            Ok(coll) => coll.replay_queued(&w).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Replayed::Committed) => {
                debug!(op = %w.op_id, id = %w.id, ov = w.ov, "queued write replayed");
                report.committed += 1;
                self.remove(&w).await?;
                Ok(true)
            }
            Ok(Replayed::AlreadyApplied) => {
                report.already_applied += 1;
                self.remove(&w).await?;
                Ok(true)
            }
            Ok(Replayed::Waiting) => {
                if self.has_earlier(&w).await? {
                    report.waiting += 1;
                } else {
                    report.dead_lettered += 1;
                    let why = format!(
                        "version {} of the record was never committed, so version {} cannot be",
                        w.ov.saturating_sub(1),
                        w.ov
                    );
                    self.dead_letter(w, why).await?;
                }
                Ok(false)
            }
            Err(e) if e.is_transient() => {
                let mut w = w;
                w.attempts += 1;
                if w.attempts >= self.policy.max_retries {
                    report.dead_lettered += 1;
                    let why = format!("gave up after {} replays: {e}", w.attempts);
                    self.dead_letter(w, why).await?;
                } else {
                    report.rescheduled += 1;
                    let wait = self.policy.backoff(w.attempts, jitter_unit());
                    w.next_attempt_at = Utc::now()
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                    w.last_error = e.to_string();
                    self.store
                        .queue_put(self.db, OPS_TABLE, &w.to_row()?)
                        .await?;
                }
                Ok(false)
            }
            Err(e) => {
                report.dead_lettered += 1;
                self.dead_letter(w, e.to_string()).await?;
                Ok(false)
            }
        }
    }
}

/// Replays every due write of every configured database, oldest first; a record's later
/// writes wait while an earlier one is not committed. Errors of one database do not stop the
/// others; the first is returned after the pass.
pub(crate) async fn replay_pass(
    collections: &Collections,
    one_pass: &tokio::sync::Mutex<()>,
    policy: &FallbackPolicy,
) -> Result<ReplayReport> {
    let _one_pass_at_a_time = one_pass.lock().await;
    let mut report = ReplayReport::default();
    let mut first_error = None;
    let now = Utc::now().timestamp_micros();
    for (store, db) in queue_homes(collections.router()) {
        let home = Home {
            store: &store,
            db: &db,
            policy,
        };
        let due = QueueQuery {
            due_by: Some(now),
            limit: PASS_LIMIT,
            ..Default::default()
        };
        let rows = match store.queue_list(&db, OPS_TABLE, &due).await {
            Ok(rows) => rows,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let mut blocked = HashSet::new();
        for row in rows {
            let record = (row.collection.clone(), row.record_id.clone());
            if blocked.contains(&record) {
                continue;
            }
            let done = match QueuedWrite::from_row(&row) {
                Ok(w) => home.replay(collections, w, &mut report).await,
                Err(e) => Err(e),
            };
            match done {
                Ok(true) => {}
                Ok(false) => {
                    blocked.insert(record);
                }
                Err(e) => {
                    blocked.insert(record);
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    if report != ReplayReport::default() {
        info!(?report, "fallback replay pass");
    }
    first_error.map_or(Ok(report), Err)
}

/// Runs a replay pass every poll interval until the instance is dropped.
pub(crate) fn start_worker(
    collections: std::sync::Weak<Collections>,
    one_pass: Arc<tokio::sync::Mutex<()>>,
    policy: FallbackPolicy,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(policy.poll_interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(collections) = collections.upgrade() else {
                break;
            };
            if let Err(e) = replay_pass(&collections, &one_pass, &policy).await {
                warn!(error = %e, "fallback replay pass failed; retried on the next tick");
            }
        }
    });
}
