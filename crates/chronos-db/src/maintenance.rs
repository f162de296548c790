//! Maintenance: the options and reports of the operations that look after stored data
//! rather than serve it — restore, verify, repair, retention, erase with its audit log,
//! and collection locks.
//!
//! ```
//! use chronos_db::maintenance::{RepairOptions, VerifyReport};
//! use chronos_db::{Chronos, ChronosConfig, DbType, Route, WriteMeta};
//! use serde_json::json;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let chronos = Chronos::init(ChronosConfig::embedded(dir.path()).with_tenant("t")).await?;
//! let notes = chronos.with(Route::tenant(DbType::Runtime, "t", "notes"))?;
//! notes.create(json!({"text": "hello"}), WriteMeta::new("app", "note")).await?;
//!
//! // Every version's hash chain, checked against its payload.
//! let report: VerifyReport = notes.verify_all().await?;
//! assert_eq!((report.verified, report.broken.len()), (1, 0));
//!
//! // Crash repair: nothing to do on a store whose writers all finished.
//! let repaired = chronos.repair(RepairOptions::default()).await?;
//! assert_eq!(repaired.removed, 0);
//! # Ok(()) }
//! ```

pub use crate::chronos::PruneReport;
pub use crate::index::AuditEntry;
pub use crate::ops::{
    BrokenLink, ChainBreak, CollectionLock, CollectionPrune, CollectionVerification, EraseReport,
    OrphanBlob, Progress, ProgressFn, RecordVerification, RepairOptions, RepairReport,
    RestoreAction, RestoreOptions, RestoreReport, RestoreTarget, VerifyReport,
};
