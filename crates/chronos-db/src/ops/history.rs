//! A record's history: its versions page by page, and what changed between two of them as an
//! RFC 6902 JSON Patch.

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::envelope::Envelope;
use super::write::from_micros;
use super::{check_id, Collection};
use crate::error::{Error, Result};
use crate::index::{VersionPick, VersionRow};
use crate::model::Version;

/// The most versions one history page holds.
pub(crate) const MAX_HISTORY_PAGE: usize = 1000;
/// The page size of a [`HistoryQuery`] that does not set one.
pub(crate) const DEFAULT_HISTORY_PAGE: usize = 100;
/// Payloads loaded at once for one history page.
const LOAD_CONCURRENCY: usize = 16;

/// Which versions of a record [`Collection::history`] lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryQuery {
    /// Versions after this object version (`None`: from the first one kept).
    pub after_ov: Option<u64>,
    /// At most this many versions, 1 to 1,000 (default 100).
    pub limit: usize,
    /// Whether each version comes with its data (and its enrichment function ids), which
    /// reads its payload; without it the page is answered from the index alone.
    pub include_data: bool,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        HistoryQuery {
            after_ov: None,
            limit: DEFAULT_HISTORY_PAGE,
            include_data: false,
        }
    }
}

impl HistoryQuery {
    /// Continues after version `ov`.
    pub fn after(mut self, ov: u64) -> Self {
        self.after_ov = Some(ov);
        self
    }

    /// At most `limit` versions.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// With each version's data.
    pub fn with_data(mut self) -> Self {
        self.include_data = true;
        self
    }
}

/// One page of a record's history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryPage {
    /// The versions, by ascending ov.
    pub versions: Vec<Version>,
    /// Pass as [`HistoryQuery::after_ov`] for the next page; `None` on the last page.
    pub next_after_ov: Option<u64>,
}

/// What changed between two versions of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Diff {
    /// Record id.
    pub id: String,
    /// The version the patch starts from.
    pub from_ov: u64,
    /// The version the patch leads to.
    pub to_ov: u64,
    /// The RFC 6902 JSON Patch that turns the data of `from_ov` into the data of `to_ov`
    /// (`json_patch::patch` applies it).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub patch: json_patch::Patch,
    /// The JSON Pointers (RFC 6901) of every location the patch touches, sorted, each once.
    pub changed_paths: Vec<String>,
}

impl Collection {
    /// A page of a record's versions, oldest first (see [`HistoryQuery`]). Versions removed
    /// by retention are not listed; an erased record, like one that never existed, is
    /// [`Error::NotFound`].
    pub async fn history(&self, id: &str, query: HistoryQuery) -> Result<HistoryPage> {
        check_id(id)?;
        if !(1..=MAX_HISTORY_PAGE).contains(&query.limit) {
            return Err(Error::Validation(format!(
                "history limit {} is outside 1..={MAX_HISTORY_PAGE}",
                query.limit
            )));
        }
        // One row more than asked tells whether another page follows.
        let mut rows = self
            .index()
            .version_page(&self.inner.ns, id, query.after_ov, query.limit + 1)
            .await?;
        let more = rows.len() > query.limit;
        rows.truncate(query.limit);
        if rows.is_empty() && self.head(id).await?.is_none() {
            return Err(Error::NotFound(format!("{}/{id}", self.name())));
        }
        let next_after_ov = match more {
            true => rows.last().map(|r| r.ov),
            false => None,
        };
        let versions = self.versions_of(rows, query.include_data).await?;
        Ok(HistoryPage {
            versions,
            next_after_ov,
        })
    }

    /// The JSON Patch that turns the data of version `from_ov` of a record into the data of
    /// version `to_ov` (either may be the older), and the paths it touches. A version that
    /// does not exist (never written, pruned, erased) is [`Error::NotFound`].
    pub async fn diff(&self, id: &str, from_ov: u64, to_ov: u64) -> Result<Diff> {
        check_id(id)?;
        let (from, to) = futures::try_join!(self.data_of(id, from_ov), self.data_of(id, to_ov))?;
        let patch = json_patch::diff(&from, &to);
        let mut changed_paths: Vec<String> = patch.iter().map(|op| op.path().to_string()).collect();
        changed_paths.sort();
        changed_paths.dedup();
        Ok(Diff {
            id: id.to_string(),
            from_ov,
            to_ov,
            patch,
            changed_paths,
        })
    }

    /// Index rows as listed versions (a history page, a page of the change feed), with each
    /// one's content read from its payload when `include_data`, [`LOAD_CONCURRENCY`] at a
    /// time.
    pub(super) async fn versions_of(
        &self,
        rows: Vec<VersionRow>,
        include_data: bool,
    ) -> Result<Vec<Version>> {
        let payloads: Vec<Option<Envelope>> = match include_data {
            false => rows.iter().map(|_| None).collect(),
            true => {
                let loads: Vec<_> = rows.iter().map(|r| self.load(&r.version)).collect();
                futures::stream::iter(loads)
                    .buffered(LOAD_CONCURRENCY)
                    .map_ok(Some)
                    .try_collect()
                    .await?
            }
        };
        rows.into_iter()
            .zip(payloads)
            .map(|(row, payload)| listed(row, payload))
            .collect()
    }

    /// The data of version `ov` of `id`.
    async fn data_of(&self, id: &str, ov: u64) -> Result<Value> {
        let found = self
            .index()
            .locate(&self.inner.ns, id, VersionPick::Ov(ov))
            .await?
            .ok_or_else(|| Error::NotFound(format!("{}/{id}@v{ov}", self.name())))?;
        Ok(self.load(&found.version).await?.data)
    }
}

/// A listed version from its index row and, when read, its payload (versions written before
/// the index kept enrichment function ids have them in their payload only).
fn listed(mut row: VersionRow, payload: Option<Envelope>) -> Result<Version> {
    let indexed = std::mem::take(&mut row.function_ids);
    let (data, function_ids) = match payload {
        Some(env) if indexed.is_empty() => (env.data, env.function_ids),
        Some(env) => (env.data, indexed),
        None => (Value::Null, indexed),
    };
    Ok(Version {
        at: from_micros(row.at)?,
        id: row.version.id,
        ov: row.version.ov,
        cv: row.version.cv,
        deleted: row.version.deleted,
        kind: row.kind,
        function_ids,
        actor: row.actor,
        reason: row.reason,
        data,
        url: None,
        blob_urls: Default::default(),
    })
}
