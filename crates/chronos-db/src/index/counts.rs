//! Analytics counter rows (`cnt_total`), as index stores keep them.

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
