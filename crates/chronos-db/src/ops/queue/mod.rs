//! The collection side of the fallback queue: queueing a write that storage failed to take,
//! queueing later writes of the same record behind it, and replaying a queued write.

use chrono::{SubsecRound, Utc};
use serde_json::Value;
use tracing::warn;

mod policy;
mod record;

pub(crate) use policy::{FallbackPolicy, DEFAULT_DEAD_LETTER, OPS_TABLE};
pub use record::QueuedWrite;

use super::new_version::{AppendMode, NewVersion, Prev};
use super::Collection;
use crate::error::{Error, Result};
use crate::index::{CommitOutcome, QueueClaim, QueueQuery, VersionPick};
use crate::model::{VersionKind, WriteMeta, WriteResult};

/// Claims a queued write makes before it reports that change feeds keep sealing its
/// collection versions (each attempt takes a fresh one, which a feed only seals once it is
/// older than the feed's settle time).
const CLAIM_ATTEMPTS: u32 = 3;

/// What replaying a queued write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replayed {
    /// The version is committed now.
    Committed,
    /// The version was already committed (by an earlier replay whose queue update was lost).
    AlreadyApplied,
    /// The record is not yet at the version before this one.
    Waiting,
}

impl Collection {
    fn queue_on(&self) -> bool {
        self.inner.fallback.is_some()
    }

    /// The last queued write of a record, when the fallback queue is on.
    pub(super) async fn queued_tail(&self, id: &str) -> Result<Option<QueuedWrite>> {
        if !self.queue_on() {
            return Ok(None);
        }
        let ns = &self.inner.ns;
        let query = QueueQuery {
            collection: Some(ns.collection.clone()),
            record_id: Some(id.to_string()),
            limit: usize::MAX,
            ..Default::default()
        };
        // A backend without a queue has nothing queued.
        let Some(queue) = self.inner.target.index.clone().queue() else {
            return Ok(None);
        };
        let rows = queue.queue_list(&ns.db_name, OPS_TABLE, &query).await?;
        rows.last().map(QueuedWrite::from_row).transpose()
    }

    /// Queues a write of a record behind its queued writes: it has to build on the last of
    /// them, as a direct write builds on the head.
    pub(super) async fn queue_behind(
        &self,
        tail: &QueuedWrite,
        expected_ov: u64,
        data: Value,
        deleted: bool,
        meta: WriteMeta,
    ) -> Result<WriteResult> {
        if tail.ov != expected_ov {
            return Err(self.conflict(&tail.id, expected_ov, tail.ov));
        }
        if tail.deleted {
            return Err(self.deleted(&tail.id, tail.ov));
        }
        let cv = self.next_cv().await?;
        // Stored times have microsecond precision; acknowledge the time as it will be stored.
        let at = Utc::now().trunc_subsecs(6).max(tail.at);
        self.enqueue(QueuedWrite {
            op_id: uuid::Uuid::now_v7().to_string(),
            route: self.inner.route.clone(),
            id: tail.id.clone(),
            ov: tail.ov + 1,
            cv,
            at,
            deleted,
            live_only: !deleted,
            data,
            actor: meta.actor,
            reason: meta.reason,
            function_ids: Vec::new(),
            kind: Some(if deleted {
                VersionKind::Delete
            } else {
                VersionKind::Update
            }),
            attempts: 0,
            next_attempt_at: at,
            last_error: format!("queued behind write {}", tail.op_id),
        })
        .await
    }

    /// Stores a write in the fallback queue and acknowledges it, once its version is
    /// claimed: in one atomic step the record's last version, committed or queued, must be
    /// the one it follows, and no other writer can take its ov afterwards.
    ///
    /// A change feed may give the write's collection version up (seal it) before the claim;
    /// nothing is stored then, and the write claims again with a fresh one, at most
    /// [`CLAIM_ATTEMPTS`] times.
    pub(super) async fn enqueue(&self, mut w: QueuedWrite) -> Result<WriteResult> {
        let ns = &self.inner.ns;
        let queue = self.queue_store("queue a write")?;
        let mut attempt = 1;
        loop {
            let claim = QueueClaim {
                table: OPS_TABLE.to_string(),
                row: w.to_row()?,
                ov: w.ov,
                cv: w.cv,
                deleted: w.deleted,
                require_live: w.live_only,
            };
            crate::failpoint::hit_in(crate::failpoint::BEFORE_QUEUE_CLAIM, self.name()).await;
            match queue.claim_queued(ns, &claim).await? {
                CommitOutcome::Committed => break,
                CommitOutcome::CvSealed if attempt < CLAIM_ATTEMPTS => {
                    attempt += 1;
                    w.cv = self.next_cv().await?;
                }
                refused => return Err(self.refusal(&w.id, w.ov, refused)),
            }
        }
        warn!(
            collection = %ns.collection, id = %w.id, ov = w.ov, op = %w.op_id,
            reason = %w.last_error, "write queued for replay"
        );
        Ok(WriteResult {
            id: w.id,
            ov: w.ov,
            cv: w.cv,
            at: w.at,
            queued: Some(w.op_id),
        })
    }

    /// Replays a queued write: commits it when the record stands at the version before it,
    /// recognises it when it is already committed, waits when an earlier write is missing.
    /// A record that moved on without it is a `Conflict`.
    pub(crate) async fn replay_queued(&self, w: &QueuedWrite) -> Result<Replayed> {
        let head = self.head(&w.id).await?;
        let current = head.as_ref().map(|h| h.latest.ov);
        let before = w.ov.checked_sub(1);
        if current == before {
            let appended = self
                .append(NewVersion {
                    id: &w.id,
                    prev: head.as_ref().map_or(Prev::New, |h| Prev::Head(&h.latest)),
                    data: w.data.clone(),
                    deleted: w.deleted,
                    meta: WriteMeta::new(w.actor.clone(), w.reason.clone()),
                    kind: w.version_kind(),
                    function_ids: w.function_ids.clone(),
                    mode: AppendMode::Replay {
                        op_id: &w.op_id,
                        cv: w.cv,
                        at: w.at,
                        live_only: w.live_only,
                    },
                })
                .await;
            return match appended {
                Ok(_) => Ok(Replayed::Committed),
                // Another replayer (a concurrent pass, another instance) may have won.
                Err(Error::Conflict { .. }) if self.is_committed(w).await? => {
                    Ok(Replayed::AlreadyApplied)
                }
                Err(e) => Err(e),
            };
        }
        match current {
            Some(ov) if ov >= w.ov => {
                if self.is_committed(w).await? {
                    Ok(Replayed::AlreadyApplied)
                } else {
                    Err(self.conflict(&w.id, w.ov.saturating_sub(1), ov))
                }
            }
            _ => Ok(Replayed::Waiting),
        }
    }

    /// Removes the claim a queued write holds on its version (it is being cancelled).
    pub(crate) async fn release_claim(&self, w: &QueuedWrite) -> Result<bool> {
        self.queue_store("cancel a queued write")?
            .release_claim(&self.inner.ns, &w.id, w.ov, &w.op_id)
            .await
    }

    /// Whether the version a queued write announced is committed (its collection version is
    /// unique to it).
    async fn is_committed(&self, w: &QueuedWrite) -> Result<bool> {
        let row = self.version(&w.id, VersionPick::Ov(w.ov)).await?;
        Ok(row.is_some_and(|r| r.cv == w.cv))
    }
}
