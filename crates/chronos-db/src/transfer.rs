//! Moving records in and out: [`Collection::export`](crate::Collection::export) streams
//! [`ExportedVersion`]s, [`Collection::import`](crate::Collection::import) reads them back,
//! and [`Collection::import_history`](crate::Collection::import_history) brings in a
//! history kept elsewhere as [`HistoricVersion`]s.
//!
//! ```
//! use chronos_db::transfer::ImportOptions;
//! use chronos_db::{Chronos, ChronosConfig, DbType, ReadOptions, Route, WriteMeta};
//! use futures::TryStreamExt;
//! use serde_json::json;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (from, to) = (tempfile::tempdir()?, tempfile::tempdir()?);
//! let route = Route::generic(DbType::Runtime, "notes");
//! let source = Chronos::init(ChronosConfig::embedded(from.path())).await?;
//! let notes = source.with(route.clone())?;
//! let w = notes.create(json!({"text": "draft"}), WriteMeta::new("me", "write")).await?;
//! notes.update(&w.id, json!({"text": "final"}), w.ov, WriteMeta::new("me", "edit")).await?;
//!
//! // Every version, with its original times and authors, into another store.
//! let versions: Vec<_> = notes.export().try_collect().await?;
//! let target = Chronos::init(ChronosConfig::embedded(to.path())).await?;
//! let copy = target.with(route)?;
//! let report = copy.import(versions, ImportOptions::default()).await?;
//! assert_eq!((report.imported, report.versions_written), (1, 2));
//! let first = copy.get_version(&w.id, 0, ReadOptions::default()).await?.expect("imported");
//! assert_eq!((first.data["text"].as_str(), first.at), (Some("draft"), w.at));
//! # source.shutdown().await?; target.shutdown().await?; Ok(()) }
//! ```

pub use crate::ops::{ExportedVersion, HistoricVersion, ImportOptions, ImportReport};
