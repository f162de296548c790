//! The index store: heads, the version index and collection counters.
//!
//! Backends know storage and nothing of the version protocol (that is `ops/`). A backend
//! implements [`IndexStore`]; the conformance suite then runs against it unchanged.

mod counts;
pub mod mongodb;
mod queue;
pub mod sqlite;

pub use counts::{CountKey, CountScope, CountsWritten};

pub use queue::{QueueQuery, QueueRow};

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::query::{Filter, Sort};

/// One collection in one index database.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    /// Index database name.
    pub db_name: String,
    /// Collection name.
    pub collection: String,
    /// Properties declared in `collectionMaps.indexedProps`, to create indexes for.
    pub indexed_props: Arc<Vec<String>>,
}

/// One committed version, as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    /// Record id.
    pub id: String,
    /// Object version.
    pub ov: u64,
    /// Collection version.
    pub cv: u64,
    /// Time of the write, in microseconds since the Unix epoch.
    pub at: i64,
    /// Logical delete marker.
    pub deleted: bool,
    /// Key of the payload blob in the route's bucket.
    pub blob_key: String,
    /// Indexed properties (flat: dotted path -> value).
    pub meta: Map<String, Value>,
    /// Who wrote it.
    pub actor: String,
    /// Why.
    pub reason: String,
}

/// The latest version of a record plus when the record was created.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadRow {
    /// The latest committed version.
    pub latest: VersionRow,
    /// Time of version 0, in microseconds since the Unix epoch.
    pub created_at: i64,
    /// The latest payload envelope kept in the head (`devShadow`), when small enough.
    pub shadow: Option<String>,
}

/// Result of trying to commit a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The version row is written and the head points at it.
    Committed,
    /// Another version won: the record's current ov is given.
    Conflict {
        /// The record's current ov.
        current_ov: u64,
    },
    /// A version > 0 was committed for a record that has no versions.
    Missing,
    /// The record's latest version is a logical delete and the commit asked for a live one.
    Deleted {
        /// The record's current ov.
        current_ov: u64,
    },
}

/// Result of committing a batch of new records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Every record of the batch is committed.
    Committed,
    /// These ids exist already.
    Taken {
        /// The ids that exist already.
        ids: Vec<String>,
        /// Whether the other records were committed all the same (a backend without
        /// transactions); otherwise none was.
        others_committed: bool,
    },
}

/// Which version of a record a read designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionPick {
    /// Object version `ov`.
    Ov(u64),
    /// The latest version written at or before this time (microseconds).
    AsOf(i64),
    /// The latest version whose collection version is at most this.
    AtCv(u64),
}

/// How a version is committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitOptions {
    /// Take the next collection version in the commit itself (the row's `cv` is ignored).
    pub assign_cv: bool,
    /// Refuse with `Deleted` when the record's latest version is a logical delete.
    pub require_live: bool,
    /// The version replays the queued write with this op id: it replaces that write's claim
    /// (see [`IndexStore::claim_queued`]) in the same atomic step, and is refused with
    /// `Missing` when the claim is gone (the write was cancelled or the record erased).
    pub claim: Option<String>,
}

/// Marks the version row that holds a queued write's place (its `blob_key` starts with this,
/// followed by the op id).
pub const CLAIM_KEY_PREFIX: &str = "queued:";

/// The `at` and `cv` of a claim row: beyond every real time and collection version, so no
/// range read (as-of, by cv) ever reaches one.
pub const CLAIM_SENTINEL: i64 = i64::MAX;

impl VersionRow {
    /// Whether this row is a queued write's claim rather than a committed version.
    pub fn is_claim(&self) -> bool {
        self.blob_key.starts_with(CLAIM_KEY_PREFIX)
    }

    /// The claim row that holds version `ov` of `id` for the queued write `op_id`.
    pub fn claim(id: &str, ov: u64, deleted: bool, op_id: &str) -> Self {
        VersionRow {
            id: id.to_string(),
            ov,
            cv: CLAIM_SENTINEL as u64,
            at: CLAIM_SENTINEL,
            deleted,
            blob_key: format!("{CLAIM_KEY_PREFIX}{op_id}"),
            meta: Map::new(),
            actor: String::new(),
            reason: String::new(),
        }
    }
}

/// Whether version `ov` may follow a record whose last version (committed or claimed) is
/// `last`: its ov and whether it is a logical delete (`None`: the record has no version).
/// `None` means it may; otherwise the outcome that refuses it.
pub(crate) fn sequence_outcome(
    last: Option<(u64, bool)>,
    ov: u64,
    require_live: bool,
) -> Option<CommitOutcome> {
    match (last, ov.checked_sub(1)) {
        (Some((cur, _)), prev) if Some(cur) != prev => {
            Some(CommitOutcome::Conflict { current_ov: cur })
        }
        (None, Some(_)) => Some(CommitOutcome::Missing),
        (Some((cur, true)), _) if require_live => Some(CommitOutcome::Deleted { current_ov: cur }),
        _ => None,
    }
}

/// A queued write to claim its version with: see [`IndexStore::claim_queued`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueueClaim {
    /// The queue table (`chronos_fallback_ops`) in the namespace's database.
    pub table: String,
    /// The queue row to insert.
    pub row: QueueRow,
    /// The object version the write will commit as.
    pub ov: u64,
    /// Whether it is a logical delete.
    pub deleted: bool,
    /// Refuse with `Deleted` when the version before it is a logical delete.
    pub require_live: bool,
}

/// An entry of the audit log kept in each index database (`chronos_audit`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// When, in microseconds since the Unix epoch.
    pub at: i64,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// What was done, e.g. `erase`.
    pub action: String,
    /// Who did it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// Details (e.g. how many versions and blobs were removed).
    pub detail: Value,
}

/// A listing of heads, already validated by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadQuery {
    /// Filter over indexed properties.
    pub filter: Option<Filter>,
    /// Order.
    pub sort: Sort,
    /// Most rows to return.
    pub limit: usize,
    /// Start after this record in `sort` order (it must exist).
    pub after_id: Option<String>,
    /// Include heads whose latest version is a logical delete.
    pub include_deleted: bool,
}

/// Storage of heads, versions and counters. Every method is scoped to one [`Namespace`].
///
/// Invariants a backend keeps: `(id, ov)` is unique (the commit point), across committed
/// versions and the claims of queued writes; `commit` checks that `ov` is exactly one past
/// the current head (or 0 for a new record) and moves the head in the same atomic step, or,
/// without transactions, rebuilds it from the version index. A commit whose `(id, ov)` is
/// claimed by a queued write is a `Conflict` reporting the claimed ov. Reads never return
/// claim rows.
#[async_trait]
pub trait IndexStore: Send + Sync + std::fmt::Debug {
    /// Short backend name for errors and health reports.
    fn kind(&self) -> &'static str;

    /// Checks the backend answers.
    async fn ping(&self) -> Result<()>;

    /// Closes the backend's connections (background workers included). Operations after it
    /// fail. By default nothing to close.
    async fn close(&self) {}

    /// Reserves `n` (at least 1) consecutive collection versions and returns the first (0 for
    /// the first write of a collection).
    async fn reserve_cvs(&self, ns: &Namespace, n: u64) -> Result<u64>;

    /// Returns the next collection version.
    async fn next_cv(&self, ns: &Namespace) -> Result<u64> {
        self.reserve_cvs(ns, 1).await
    }

    /// Whether `commit` can take the collection version within its own step at no extra cost
    /// (else callers reserve it beforehand, alongside the payload put).
    fn assigns_cv_in_commit(&self) -> bool;

    /// Commits a version row and moves the head to it, keeping `shadow` (the payload envelope,
    /// for `devShadow`) in the head. The row's `at` is raised to the head's when earlier, so
    /// time never goes backwards within a record; on `Committed`, `row.cv` and `row.at` hold
    /// what was stored.
    async fn commit(
        &self,
        ns: &Namespace,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: CommitOptions,
    ) -> Result<CommitOutcome>;

    /// Commits the first versions (ov 0) of new records, with their heads, in one batch (one
    /// transaction where the backend has them: all or nothing). A record that already exists
    /// makes it `Conflict`; without transactions the other records of the batch are then
    /// committed all the same.
    async fn commit_new(
        &self,
        ns: &Namespace,
        rows: &[(VersionRow, Option<String>)],
    ) -> Result<BatchOutcome>;

    /// The head of a record.
    async fn head(&self, ns: &Namespace, id: &str) -> Result<Option<HeadRow>>;

    /// The version of a record that `pick` designates.
    async fn pick_version(
        &self,
        ns: &Namespace,
        id: &str,
        pick: VersionPick,
    ) -> Result<Option<VersionRow>>;

    /// The head of a record for a payload read: only sure to carry what a listed head carries
    /// (see [`IndexStore::list_heads`]). By default the full [`IndexStore::head`].
    async fn head_for_read(&self, ns: &Namespace, id: &str) -> Result<Option<HeadRow>> {
        self.head(ns, id).await
    }

    /// The version `pick` designates, for a payload read: only sure to carry `id`, `ov`,
    /// `cv`, `at`, `deleted` and `blob_key` (`meta`, `actor` and `reason` may be empty). By
    /// default the full [`IndexStore::pick_version`].
    async fn version_for_read(
        &self,
        ns: &Namespace,
        id: &str,
        pick: VersionPick,
    ) -> Result<Option<VersionRow>> {
        self.pick_version(ns, id, pick).await
    }

    /// The head of a record and the version `pick` designates, read together (in one step
    /// where the backend can; by default as two concurrent reads).
    async fn head_and_version(
        &self,
        ns: &Namespace,
        id: &str,
        pick: VersionPick,
    ) -> Result<(Option<HeadRow>, Option<VersionRow>)> {
        tokio::try_join!(self.head(ns, id), self.pick_version(ns, id, pick))
    }

    /// Heads matching a query, in order. A listed head is only sure to carry what a payload
    /// read or an append needs (`latest.id`, `ov`, `cv`, `at`, `deleted`, `blob_key` and
    /// `shadow`); `latest.meta`, `actor`, `reason` and `created_at` may come back empty,
    /// which spares reading and decoding them (callers needing them read the head).
    async fn list_heads(&self, ns: &Namespace, query: &HeadQuery) -> Result<Vec<HeadRow>>;

    /// Every version of a record, oldest first.
    async fn versions(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>>;

    /// The lowest collection version of a committed write stamped after `at` (microseconds),
    /// if any: where the collection's timeline passes `at`.
    async fn first_cv_after(&self, ns: &Namespace, at: i64) -> Result<Option<u64>>;

    /// Removes versions `ovs` of a record, never the one its head points at. Returns the rows
    /// removed.
    async fn delete_versions(
        &self,
        ns: &Namespace,
        id: &str,
        ovs: &[u64],
    ) -> Result<Vec<VersionRow>>;

    /// Points a record's head at its latest committed version if it lags behind (a writer
    /// without transactions died between the two steps of its commit). Returns whether it
    /// moved.
    async fn roll_head_forward(&self, ns: &Namespace, id: &str) -> Result<bool>;

    /// Removes a record's head and every version. Returns the version rows removed.
    async fn erase(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>>;

    /// Collections that have records in an index database.
    async fn collections(&self, db_name: &str) -> Result<Vec<String>>;

    /// Appends to the audit log of an index database.
    async fn append_audit(&self, db_name: &str, entry: &AuditEntry) -> Result<()>;

    /// The audit log of one collection, oldest first.
    async fn audit_log(&self, db_name: &str, collection: &str) -> Result<Vec<AuditEntry>>;

    /// Takes the lock `name` of the collection for `owner` until `expires_at` (microseconds)
    /// unless another owner holds it unexpired. Returns whether it was taken. The same owner
    /// may take it again to extend it.
    async fn try_lock(
        &self,
        ns: &Namespace,
        name: &str,
        owner: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool>;

    /// Releases the lock `name` if `owner` holds it.
    async fn unlock(&self, ns: &Namespace, name: &str, owner: &str) -> Result<()>;

    /// Adds `counts` to the analytics counters (`cnt_total`) of database `db_name`, in order,
    /// reporting how many were applied.
    async fn add_counts(&self, db_name: &str, counts: &[(CountKey, u64)]) -> CountsWritten;

    /// The counters of `scope` in one bucket (`period`, `bucket`) of database `db_name`, by
    /// counter name.
    async fn read_counts(
        &self,
        db_name: &str,
        scope: &CountScope,
        period: &str,
        bucket: &str,
    ) -> Result<Vec<(String, u64)>>;

    /// Removes the counter buckets of kind `period` older than `before` from database
    /// `db_name`. Returns how many cells were removed.
    async fn prune_counts(&self, db_name: &str, period: &str, before: &str) -> Result<u64>;

    /// Inserts or replaces (by `op_id`) a row of queue table `table` in database `db_name`.
    async fn queue_put(&self, db_name: &str, table: &str, row: &QueueRow) -> Result<()>;

    /// Rows of queue table `table` matching `query`, oldest first.
    async fn queue_list(
        &self,
        db_name: &str,
        table: &str,
        query: &QueueQuery,
    ) -> Result<Vec<QueueRow>>;

    /// Removes a row of queue table `table`. Returns whether it was there.
    async fn queue_remove(&self, db_name: &str, table: &str, op_id: &str) -> Result<bool>;

    /// Queues a write and claims its version in one atomic step: the record's last version,
    /// committed or claimed, must be `claim.ov - 1` (none for ov 0), and live when
    /// `require_live`; then a claim row ([`VersionRow::claim`]) takes `(id, ov)` in the
    /// version index and the queue row is stored. The unique `(id, ov)` is shared by
    /// committed versions and claims, so a direct writer and a queued writer can never both
    /// be acknowledged for one ov. Claims are invisible to every read.
    async fn claim_queued(&self, ns: &Namespace, claim: &QueueClaim) -> Result<CommitOutcome>;

    /// Removes the claim of queued write `op_id` on version `ov` of `id` (the write was
    /// cancelled). Returns whether it was there.
    async fn release_claim(&self, ns: &Namespace, id: &str, ov: u64, op_id: &str) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record's last version, the ov written, whether it must be live, and the outcome.
    type Case = (Option<(u64, bool)>, u64, bool, Option<CommitOutcome>);

    #[test]
    fn sequence_rules() {
        let conflict = |current_ov| Some(CommitOutcome::Conflict { current_ov });
        let cases: [Case; 8] = [
            (None, 0, false, None),
            (None, 0, true, None),
            (None, 3, false, Some(CommitOutcome::Missing)),
            (Some((0, false)), 0, false, conflict(0)),
            (Some((2, false)), 3, true, None),
            (Some((2, false)), 2, false, conflict(2)),
            (
                Some((2, true)),
                3,
                true,
                Some(CommitOutcome::Deleted { current_ov: 2 }),
            ),
            (Some((2, true)), 3, false, None),
        ];
        for (last, ov, live, want) in cases {
            assert_eq!(
                sequence_outcome(last, ov, live),
                want,
                "{last:?} then {ov}, live {live}"
            );
        }
    }
}
