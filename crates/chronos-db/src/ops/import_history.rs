//! Importing one new record's history with its original times: the library's way to bring
//! in versions kept elsewhere (a legacy table, an audit trail), not from an export.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::export::ExportedVersion;
use super::import::{ImportOptions, ImportReport};
use super::{check_id, Collection};
use crate::error::{Error, Result};
use crate::model::{VersionKind, WriteMeta};

/// One version of a record's history for [`Collection::import_history`]: when it was
/// written and what the record was then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HistoricVersion {
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The record's JSON then.
    pub data: Value,
    /// Whether it was a logical delete.
    #[serde(default)]
    pub deleted: bool,
}

impl HistoricVersion {
    /// The record as `data` at time `at`.
    pub fn new(at: DateTime<Utc>, data: Value) -> Self {
        HistoricVersion {
            at,
            data,
            deleted: false,
        }
    }

    /// A logical delete at time `at` (its `data` is the record's last state).
    pub fn deleted(at: DateTime<Utc>, data: Value) -> Self {
        HistoricVersion {
            at,
            data,
            deleted: true,
        }
    }
}

impl Collection {
    /// Creates record `id` with the history `versions`, oldest first, keeping their times:
    /// the first becomes version 0 (a create), each next one the next version (an update,
    /// or a logical delete), all written by `meta`'s actor for its reason. Times must be
    /// strictly increasing. The record must be new: one that exists is a `Conflict`. Bad
    /// input (no version, times out of order, a bad id or record) is a `Validation` error;
    /// in every refusal nothing is stored. The collection versions are taken now, in order.
    pub async fn import_history(
        &self,
        id: &str,
        versions: Vec<HistoricVersion>,
        meta: WriteMeta,
    ) -> Result<ImportReport> {
        check_id(id)?;
        if versions.is_empty() {
            return Err(Error::Validation(format!(
                "{}/{id}: a history to import needs at least one version",
                self.name()
            )));
        }
        if let Some(head) = self.head(id).await? {
            return Err(self.id_taken(id, head.latest.ov));
        }
        let exported = versions
            .into_iter()
            .zip(0..)
            .map(|(v, ov)| ExportedVersion {
                collection: self.name().to_string(),
                id: id.to_string(),
                ov,
                at: v.at,
                deleted: v.deleted,
                kind: match (ov, v.deleted) {
                    (0, _) => VersionKind::Create,
                    (_, true) => VersionKind::Delete,
                    (_, false) => VersionKind::Update,
                },
                actor: meta.actor.clone(),
                reason: meta.reason.clone(),
                function_ids: Vec::new(),
                data: v.data,
            })
            .collect();
        self.import(exported, ImportOptions::default()).await
    }
}
