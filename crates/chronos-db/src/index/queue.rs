//! Rows of the durable fallback queue (`chronos_fallback_ops`) and its dead-letter collection,
//! as index stores keep them. The body is the queued write as JSON; the other fields are
//! copies for lookups.

use async_trait::async_trait;

use super::records::IndexBackend;
use super::rows::{CommitOutcome, Namespace};
use crate::error::Result;

/// One queued write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    /// Queue entry id; time-ordered, so entries sort in the order they were queued.
    pub op_id: String,
    /// Collection of the record.
    pub collection: String,
    /// Record id.
    pub record_id: String,
    /// When the next replay attempt is due, in microseconds since the Unix epoch.
    pub due_at: i64,
    /// The queued write (JSON).
    pub body: String,
}

/// Which rows of a queue to list (every condition given must hold), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueQuery {
    /// Only this entry.
    pub op_id: Option<String>,
    /// Only this collection.
    pub collection: Option<String>,
    /// Only this record (with `collection`).
    pub record_id: Option<String>,
    /// Only entries due at or before this time (microseconds).
    pub due_by: Option<i64>,
    /// Most rows to return.
    pub limit: usize,
}

/// A queued write to claim its version with: see [`QueueStore::claim_queued`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueueClaim {
    /// The queue table (`chronos_fallback_ops`) in the namespace's database.
    pub table: String,
    /// The queue row to insert.
    pub row: QueueRow,
    /// The object version the write will commit as.
    pub ov: u64,
    /// The collection version the write was acknowledged with: the claim holds it against
    /// the change log's sealing (see [`crate::index::ChangeLog`]), and a claim whose cv was
    /// sealed already is refused with a transient error.
    pub cv: u64,
    /// Whether it is a logical delete.
    pub deleted: bool,
    /// Refuse with `Deleted` when the version before it is a logical delete.
    pub require_live: bool,
}

/// The fallback queue's tables in each index database, and the claims queued writes hold in
/// the version index.
#[async_trait]
pub trait QueueStore: IndexBackend {
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
    /// `require_live` (the sequence rule of `index::rules`); then a claim row
    /// ([`crate::index::VersionRow::claim`]) takes `(id, ov)` in the version index and the
    /// queue row is stored. The unique `(id, ov)` is shared by committed versions and
    /// claims, so a direct writer and a queued writer can never both be acknowledged for one
    /// ov. Claims are invisible to every read.
    async fn claim_queued(&self, ns: &Namespace, claim: &QueueClaim) -> Result<CommitOutcome>;

    /// Removes the claim of queued write `op_id` on version `ov` of `id` (the write was
    /// cancelled). Returns whether it was there.
    async fn release_claim(&self, ns: &Namespace, id: &str, ov: u64, op_id: &str) -> Result<bool>;
}
