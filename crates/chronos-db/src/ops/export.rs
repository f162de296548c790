//! Export: every kept version of a collection, record by record and oldest first, with its
//! original id, ov, time, kind, provenance and data: the form `import` reads back into
//! another deployment (JSON Lines on the command line).

use chrono::{DateTime, Utc};
use futures::stream::{self, Stream};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::write::from_micros;
use super::Collection;
use crate::error::Result;
use crate::index::VersionRow;
use crate::model::VersionKind;

/// Versions read per page.
const EXPORT_PAGE: usize = 500;
/// Payloads read at once.
const EXPORT_READS: usize = 16;

/// One version as export writes it and import reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExportedVersion {
    /// The collection it belongs to.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Object version.
    pub ov: u64,
    /// When it was written (microsecond precision).
    pub at: DateTime<Utc>,
    /// Whether it is a logical delete.
    pub deleted: bool,
    /// What kind of write produced it.
    pub kind: VersionKind,
    /// Who wrote it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// Enrichment functions that produced it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub function_ids: Vec<String>,
    /// The record's JSON.
    pub data: Value,
}

impl Collection {
    /// Every kept version of every record of this collection, records by id and each
    /// record's versions oldest first, read a page of versions at a time: memory stays
    /// bounded by a page whatever the collection's size. Erased records are absent; versions
    /// removed by retention are not exported.
    pub fn export(&self) -> impl Stream<Item = Result<ExportedVersion>> + Send + '_ {
        // The position after the last version exported; `None` once the last page was short.
        let start: Option<Option<(String, u64)>> = Some(None);
        stream::try_unfold(start, move |position| async move {
            let Some(after) = position else {
                return Ok(None);
            };
            let rows = self
                .index()
                .version_scan(&self.inner.ns, after, EXPORT_PAGE)
                .await?;
            let next = match rows.last() {
                Some(last) if rows.len() == EXPORT_PAGE => Some(Some((last.id.clone(), last.ov))),
                _ => None,
            };
            let page = self.exported(rows).await?;
            Ok(Some((page, next)))
        })
        .map_ok(|page: Vec<ExportedVersion>| stream::iter(page.into_iter().map(Ok)))
        .try_flatten()
    }

    /// A page of version rows with their data, as exported.
    async fn exported(&self, rows: Vec<VersionRow>) -> Result<Vec<ExportedVersion>> {
        let loads: Vec<_> = rows.iter().map(|r| self.load(&r.version)).collect();
        let items: Vec<_> = stream::iter(loads)
            .buffered(EXPORT_READS)
            .try_collect()
            .await?;
        rows.into_iter()
            .zip(items)
            .map(|(row, item)| {
                Ok(ExportedVersion {
                    collection: self.name().to_string(),
                    at: from_micros(row.at)?,
                    id: row.version.id,
                    ov: row.version.ov,
                    deleted: row.version.deleted,
                    kind: row.kind,
                    actor: row.actor,
                    reason: row.reason,
                    function_ids: item.function_ids,
                    data: item.data,
                })
            })
            .collect()
    }
}
