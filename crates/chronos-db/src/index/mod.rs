//! The index store: heads, the version index, counters, locks, the fallback queue and the
//! audit log.
//!
//! Each concern is its own small trait, and a backend implements each one:
//! [`RecordIndex`] (the version protocol's storage), [`ChangeLog`] (what a change feed
//! reads, and the sealing that makes the order of collection versions final),
//! [`RecordMaintenance`] (retention, repair, erase), [`LockStore`], [`CounterStore`], [`QueueStore`] and [`AuditLog`], all on
//! top of [`IndexBackend`] (name, ping, close). [`IndexStore`] is all of them together,
//! implemented for every type that implements each. The commit rules live in one
//! backend-neutral module (`rules`) that both backends call inside their atomic step; the
//! version protocol itself (payload first, then the commit) is `ops/`. Records and locks are
//! addressed per collection ([`Namespace`]); counters, the queue and the audit log per index
//! database (by name).

mod audit;
pub mod chain;
mod changes;
#[cfg(feature = "backend-api")]
pub mod contract;
mod counts;
pub mod format;
mod locks;
mod maintenance;
#[cfg(feature = "mongodb")]
pub mod mongodb;
mod queue;
mod records;
mod rows;
pub(crate) mod rules;
pub mod sqlite;

pub use audit::{AuditEntry, AuditLog};
pub use changes::{ChangeEntry, ChangeLog, ChangeScan, CvState};
pub use counts::{CountKey, CountScope, CounterStore, CountsWritten};
pub use locks::LockStore;
pub use maintenance::RecordMaintenance;
pub use queue::{QueueClaim, QueueQuery, QueueRow, QueueStore};
pub use records::{IndexBackend, RecordIndex};
pub use rows::{
    Anchor, BatchOutcome, CommitOptions, CommitOutcome, CvChoice, HeadQuery, HeadRow, Located,
    Namespace, PayloadRef, RecordRead, RecordState, VersionPick, VersionRef, VersionRow,
    CLAIM_KEY_PREFIX, CLAIM_SENTINEL,
};

/// Every capability of an index store: what a route's index connection provides.
pub trait IndexStore:
    RecordIndex + ChangeLog + RecordMaintenance + LockStore + CounterStore + QueueStore + AuditLog
{
}

impl<T> IndexStore for T where
    T: RecordIndex
        + ChangeLog
        + RecordMaintenance
        + LockStore
        + CounterStore
        + QueueStore
        + AuditLog
{
}
