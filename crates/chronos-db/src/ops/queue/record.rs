//! A queued write, as the fallback queue stores it and as `FallbackQueue::list` returns it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::index::QueueRow;
use crate::model::VersionKind;
use crate::route::Route;

/// A write that was acknowledged while storage failed, waiting to be replayed. It commits as
/// exactly the version its `WriteResult` announced (`ov`, `cv`, `at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuedWrite {
    /// Queue entry id (time-ordered).
    pub op_id: String,
    /// Where the record lives.
    pub route: Route,
    /// Record id.
    pub id: String,
    /// The object version it commits as.
    pub ov: u64,
    /// The collection version it commits with.
    pub cv: u64,
    /// The time of the write.
    pub at: DateTime<Utc>,
    /// Whether it is a logical delete.
    pub deleted: bool,
    /// Whether it may only commit onto a live record (an update or delete, not a restore).
    #[serde(default)]
    pub live_only: bool,
    /// The record's JSON.
    pub data: Value,
    /// Who wrote it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// Enrichment functions that produced it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub function_ids: Vec<String>,
    /// What kind of write it is (absent from writes queued before kinds were stored: see
    /// [`QueuedWrite::version_kind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<VersionKind>,
    /// Failed replay attempts so far.
    pub attempts: u32,
    /// When the next replay is due.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the write was queued, or why its last replay failed.
    pub last_error: String,
}

impl QueuedWrite {
    /// What kind of write it is: as stored, or as its version and content tell for a write
    /// queued before kinds were stored (an enrichment carries function ids).
    pub fn version_kind(&self) -> VersionKind {
        self.kind.unwrap_or(match (self.ov, self.deleted) {
            (0, _) => VersionKind::Create,
            (_, true) => VersionKind::Delete,
            _ if !self.function_ids.is_empty() => VersionKind::Enrich,
            _ => VersionKind::Update,
        })
    }

    /// The stored form.
    pub(crate) fn to_row(&self) -> Result<QueueRow> {
        let body =
            serde_json::to_string(self).map_err(|e| Error::internal("encode queued write", e))?;
        Ok(QueueRow {
            op_id: self.op_id.clone(),
            collection: self.route.collection.clone(),
            record_id: self.id.clone(),
            due_at: self.next_attempt_at.timestamp_micros(),
            body,
        })
    }

    /// Reads the stored form.
    pub(crate) fn from_row(row: &QueueRow) -> Result<Self> {
        serde_json::from_str(&row.body)
            .map_err(|e| Error::Corrupt(format!("queued write {}: {e}", row.op_id)))
    }
}
