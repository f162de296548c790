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
use crate::index::{HeadQuery, VersionRow};
use crate::model::VersionKind;
use crate::query::Sort;

/// Records whose versions are read per page of heads.
const EXPORT_RECORDS: usize = 100;
/// Versions of one record read per page.
const EXPORT_VERSIONS: usize = 500;
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

/// Where an export walk is: the record whose versions are being read and the heads left
/// on the current page.
struct ExportWalk {
    /// The last record id of the heads page read so far (`None`: none read yet).
    after_id: Option<String>,
    /// Ids of the current heads page not yet exported, in order.
    pending: std::collections::VecDeque<String>,
    /// The record being exported and the last ov exported of it.
    current: Option<(String, Option<u64>)>,
    /// The last heads page was short: no more after `pending`.
    heads_done: bool,
}

impl Collection {
    /// Every kept version of every record of this collection, records by id and each
    /// record's versions oldest first, read a page at a time: memory stays bounded by a
    /// page of versions whatever the collection's size. Erased records are absent; versions
    /// removed by retention are not exported.
    pub fn export(&self) -> impl Stream<Item = Result<ExportedVersion>> + Send + '_ {
        let walk = ExportWalk {
            after_id: None,
            pending: Default::default(),
            current: None,
            heads_done: false,
        };
        stream::try_unfold(walk, move |mut walk| async move {
            loop {
                if let Some((id, after_ov)) = walk.current.take() {
                    let rows = self
                        .index()
                        .version_page(&self.inner.ns, &id, after_ov, EXPORT_VERSIONS)
                        .await?;
                    if let Some(last) = rows.last() {
                        let full = rows.len() == EXPORT_VERSIONS;
                        walk.current = full.then(|| (id.clone(), Some(last.ov)));
                        let page = self.exported(rows).await?;
                        return Ok(Some((page, walk)));
                    }
                    continue;
                }
                if let Some(id) = walk.pending.pop_front() {
                    walk.current = Some((id, None));
                    continue;
                }
                if walk.heads_done {
                    return Ok(None);
                }
                let query = HeadQuery {
                    filter: None,
                    sort: Sort::default(),
                    limit: EXPORT_RECORDS,
                    after_id: walk.after_id.take(),
                    include_deleted: true,
                    written_after_cv: None,
                };
                let heads = self.index().list_heads(&self.inner.ns, &query).await?;
                walk.heads_done = heads.len() < EXPORT_RECORDS;
                walk.after_id = heads.last().map(|h| h.version.id.clone());
                walk.pending = heads.into_iter().map(|h| h.version.id).collect();
            }
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
