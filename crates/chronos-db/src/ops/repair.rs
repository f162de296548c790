//! Repair after crashes: payload blobs that no committed version points at (a writer died
//! between its blob put and its commit, or an erase could not finish removing blobs) are
//! listed and removed, and heads left behind a committed version are rolled forward.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::info;

use super::Collection;
use crate::blob::PayloadKey;
use crate::error::Result;

/// How far a long maintenance run has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Items looked at so far (payload objects, for a repair).
    pub scanned: u64,
    /// Items found to act on so far (orphans, for a repair).
    pub found: u64,
}

/// A callback told of a maintenance run's progress as it goes.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How a repair runs.
#[derive(Clone)]
pub struct RepairOptions {
    /// Only report; change nothing.
    pub dry_run: bool,
    /// Blobs younger than this are left alone: they may belong to a write still in flight
    /// (between its blob put and its commit). Default 15 minutes.
    pub min_age: Duration,
    /// Told of the progress after every batch of payload objects.
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for RepairOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepairOptions")
            .field("dry_run", &self.dry_run)
            .field("min_age", &self.min_age)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

impl Default for RepairOptions {
    fn default() -> Self {
        RepairOptions {
            dry_run: false,
            min_age: Duration::from_secs(15 * 60),
            progress: None,
        }
    }
}

/// A blob no committed version points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrphanBlob {
    /// Bucket.
    pub bucket: String,
    /// Key in the bucket.
    pub key: String,
    /// When it was written.
    pub written_at: DateTime<Utc>,
}

/// What a repair found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RepairReport {
    /// Orphaned blobs (removed unless `dry_run`).
    pub orphans: Vec<OrphanBlob>,
    /// Orphans removed.
    pub removed: u64,
    /// Heads rolled forward to their latest committed version (counted, not moved, in a
    /// dry run).
    pub heads_rolled_forward: u64,
}

impl RepairReport {
    /// Adds another report's findings to this one.
    pub fn merge(&mut self, other: RepairReport) {
        self.orphans.extend(other.orphans);
        self.removed += other.removed;
        self.heads_rolled_forward += other.heads_rolled_forward;
    }
}

impl Collection {
    /// Checks the records whose blobs are listed in `blobs` (keys of this collection in its
    /// bucket, with their write times) and returns the orphans among them: payloads no
    /// committed version points at, older than `opts.min_age`. The caller removes them once
    /// its listing is done.
    pub(crate) async fn orphans_among(
        &self,
        blobs: Vec<(PayloadKey, String, DateTime<Utc>)>,
        opts: &RepairOptions,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrphanBlob>> {
        let ns = &self.inner.ns;
        let min_age = chrono::Duration::from_std(opts.min_age).unwrap_or(chrono::Duration::MAX);
        let mut by_record: BTreeMap<String, Vec<(PayloadKey, String, DateTime<Utc>)>> =
            BTreeMap::new();
        for blob in blobs {
            by_record.entry(blob.0.id.clone()).or_default().push(blob);
        }
        let mut orphans = Vec::new();
        for (id, blobs) in by_record {
            let versions = self.index().versions(ns, &id).await?;
            let committed: HashSet<&str> = versions
                .iter()
                .filter_map(|v| v.payload.object_key())
                .collect();
            for (parsed, key, written_at) in &blobs {
                if committed.contains(parsed.item_key.as_str()) || now - *written_at < min_age {
                    continue;
                }
                orphans.push(OrphanBlob {
                    bucket: self.bucket().to_string(),
                    key: key.clone(),
                    written_at: *written_at,
                });
            }
        }
        Ok(orphans)
    }

    /// Rolls forward every head of this collection that lags behind its record's latest
    /// committed version (only counts them in a dry run). Returns how many there were.
    pub(crate) async fn roll_lagging_heads(&self, dry_run: bool) -> Result<u64> {
        let ns = &self.inner.ns;
        let lagging = self.index().lagging_heads(ns).await?;
        if !dry_run {
            for id in &lagging {
                if self.index().roll_head_forward(ns, id).await? {
                    info!(collection = %ns.collection, id = %id, "head rolled forward");
                }
            }
        }
        Ok(lagging.len() as u64)
    }
}
