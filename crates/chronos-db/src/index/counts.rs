//! Analytics counter rows (`cnt_total`), as index stores keep them.

use async_trait::async_trait;

use super::records::IndexBackend;
use crate::error::Result;

/// One counter cell: a counter of one collection in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountKey {
    /// Whose records are counted.
    pub scope: CountScope,
    /// Counter name: `created`, `updated`, `deleted` or `rule:<name>`.
    pub counter: String,
    /// Bucket kind: `total`, `day`, `week` or `month`.
    pub period: &'static str,
    /// Bucket within the kind: empty for `total`, `2026-11-25`, `2026-W48`, `2026-11`. Buckets of
    /// one kind order as their text does, so retention compares them as strings.
    pub bucket: String,
}

/// The records a counter counts: one collection of one database, for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountScope {
    /// Tenant (tenant tier), `domain:<name>` (domain tier) or empty (generic tier).
    pub tenant: String,
    /// The record database.
    pub db_name: String,
    /// The collection.
    pub collection: String,
}

/// The outcome of adding counts: cells are applied in order, so on an error the first
/// `applied` cells are counted and the rest are not.
#[derive(Debug)]
pub struct CountsWritten {
    /// How many cells (from the start) were applied.
    pub applied: usize,
    /// Why the rest were not.
    pub error: Option<crate::error::Error>,
}

impl CountsWritten {
    /// Every one of `n` cells applied.
    pub fn all(n: usize) -> Self {
        CountsWritten {
            applied: n,
            error: None,
        }
    }
}

/// Analytics counters of each index database (`cnt_total`).
#[async_trait]
pub trait CounterStore: IndexBackend {
    /// Adds `counts` to the counters of database `db_name`, in order, reporting how many were
    /// applied.
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
}
