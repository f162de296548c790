//! Moving records in and out: [`Collection::export`](crate::Collection::export) streams
//! [`ExportedVersion`]s, [`Collection::import`](crate::Collection::import) reads them back,
//! and [`Collection::import_history`](crate::Collection::import_history) brings in a
//! history kept elsewhere as [`HistoricVersion`]s.

pub use crate::ops::{ExportedVersion, HistoricVersion, ImportOptions, ImportReport};
