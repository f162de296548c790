//! The index store: heads, the version index, counters, locks, the fallback queue and the
//! audit log.
//!
//! Each concern is its own small trait, and a backend implements each one:
//! [`RecordIndex`] (the version protocol's storage), [`ChangeLog`] (what a change feed
//! reads, and the sealing that makes the order of collection versions final),
//! [`RecordMaintenance`] (retention, repair, erase) and [`CounterStore`] are what every backend
//! has; [`QueueStore`], [`LockStore`], [`AuditLog`] and [`KeyStore`] are optional, and a backend says which
//! it has through [`IndexStore`]'s accessors. All of them sit on [`IndexBackend`] (name, ping,
//! close), and each consumer holds the one capability it uses. The commit rules live in one
//! backend-neutral module (`rules`, public with the `backend-api` feature, so a custom
//! backend applies the same rules) that both backends call inside their atomic step; the
//! version protocol itself (payload first, then the commit) is `ops/`. Records and locks are
//! addressed per collection ([`Namespace`]); counters, the queue and the audit log per index
//! database (by name).

use std::sync::Arc;

mod audit;
pub mod chain;
mod changes;
#[cfg(feature = "backend-api")]
pub mod contract;
mod counts;
pub mod format;
mod keys;
mod locks;
mod maintenance;
#[cfg(feature = "mongodb")]
pub mod mongodb;
mod queue;
mod records;
mod rows;
#[cfg(feature = "backend-api")]
pub mod rules;
#[cfg(not(feature = "backend-api"))]
pub(crate) mod rules;
pub mod sqlite;

pub use audit::{AuditEntry, AuditLog};
pub use changes::{ChangeEntry, ChangeLog, ChangeScan, CvState};
pub use counts::{CountKey, CountScope, CounterStore, CountsWritten};
pub use keys::{KeySlot, KeyStore, StoredKey};
pub use locks::LockStore;
pub use maintenance::RecordMaintenance;
pub use queue::{QueueClaim, QueueQuery, QueueRow, QueueStore};
pub use records::{IndexBackend, RecordIndex};
pub use rows::{
    Anchor, BatchOutcome, CommitOptions, CommitOutcome, CvChoice, HeadQuery, HeadRow, Located,
    Namespace, PayloadRef, RecordRead, RecordState, VersionPick, VersionRef, VersionRow,
    CLAIM_KEY_PREFIX, CLAIM_SENTINEL,
};

/// What a route's index connection provides: the capabilities every backend has (records,
/// the change log, maintenance, counters) and, reported by each backend, the optional ones.
///
/// A backend without a fallback queue, locks or an audit log answers `None` for it (the
/// default), and chronos-db reports the operation that needs it as
/// [`crate::ErrorKind::Unsupported`]; nothing is stubbed. The accessors take the store's
/// `Arc`, so the caller holds exactly the capability it uses (a replay worker a
/// `QueueStore`, the counter sink a `CounterStore`).
pub trait IndexStore: RecordIndex + ChangeLog + RecordMaintenance + CounterStore {
    /// The fallback queue and the claims of queued writes, when this backend keeps them.
    fn queue(self: Arc<Self>) -> Option<Arc<dyn QueueStore>> {
        None
    }

    /// Named collection locks, when this backend keeps them.
    fn locks(self: Arc<Self>) -> Option<Arc<dyn LockStore>> {
        None
    }

    /// The audit log of erasures, when this backend keeps one.
    fn audit(self: Arc<Self>) -> Option<Arc<dyn AuditLog>> {
        None
    }

    /// The wrapped data keys of encryption, when this backend keeps them.
    fn keys(self: Arc<Self>) -> Option<Arc<dyn KeyStore>> {
        None
    }
}

/// Implements [`IndexStore`] for a backend that has every optional capability (a fallback
/// queue, locks, an audit log and a key store), as both built-in backends do.
macro_rules! every_capability {
    ($backend:ty) => {
        impl $crate::index::IndexStore for $backend {
            fn queue(
                self: std::sync::Arc<Self>,
            ) -> Option<std::sync::Arc<dyn $crate::index::QueueStore>> {
                Some(self)
            }

            fn locks(
                self: std::sync::Arc<Self>,
            ) -> Option<std::sync::Arc<dyn $crate::index::LockStore>> {
                Some(self)
            }

            fn audit(
                self: std::sync::Arc<Self>,
            ) -> Option<std::sync::Arc<dyn $crate::index::AuditLog>> {
                Some(self)
            }

            fn keys(
                self: std::sync::Arc<Self>,
            ) -> Option<std::sync::Arc<dyn $crate::index::KeyStore>> {
                Some(self)
            }
        }
    };
}
pub(crate) use every_capability;

/// `found` (an optional capability of `store`), or the error saying that `store` lacks
/// `capability`, which `operation` needs.
pub(crate) fn require<T: ?Sized>(
    found: Option<Arc<T>>,
    store: &dyn IndexStore,
    capability: &'static str,
    operation: &'static str,
) -> crate::error::Result<Arc<T>> {
    found.ok_or_else(|| crate::error::Error::Unsupported {
        backend: store.kind(),
        capability,
        operation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_capability_is_reported_as_unsupported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(sqlite::SqliteIndex::open(dir.path()).unwrap());
        let none: Option<Arc<dyn LockStore>> = None;
        let e = require(none, store.as_ref(), "locks", "try_lock").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unsupported);
        assert!(!e.is_transient());
        assert_eq!(
            e.to_string(),
            "the sqlite index backend has no locks, which try_lock needs"
        );
        assert!(require(store.clone().locks(), store.as_ref(), "locks", "x").is_ok());
        assert!(store.clone().queue().is_some() && store.audit().is_some());
    }
}
