//! Hard erase: every version row and every payload of a record removed, with an audit entry of
//! who erased what and when.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::info;

use super::{check_id, Collection};
use crate::blob::record_prefix;
use crate::config::CounterEvent;
use crate::error::Result;
use crate::index::AuditEntry;
use crate::model::WriteMeta;

/// What an erase removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EraseReport {
    /// Record id.
    pub id: String,
    /// Version rows removed.
    pub versions_removed: u64,
    /// Payload blobs removed (including uncommitted leftovers).
    pub blobs_removed: u64,
}

impl Collection {
    /// Erases a record for good: its head, every version row and every payload blob (and,
    /// with per-record encryption keys, the record's key, so copies of its payloads made
    /// before stay unreadable), then records who erased it, when and why in the database's
    /// audit log (`keyDestroyed` names the destroyed key). `expected_ov` guards
    /// against erasing a record that changed since it was read. Works on deleted records too.
    pub async fn erase(&self, id: &str, expected_ov: u64, meta: WriteMeta) -> Result<EraseReport> {
        check_id(id)?;
        // The audit entry is part of an erase: without an audit log, nothing is erased.
        let audit = self.audit_store("erase")?;
        let head = self.existing_head(id).await?;
        if head.latest.ov != expected_ov {
            return Err(self.conflict(id, expected_ov, head.latest.ov));
        }
        let ns = &self.inner.ns;
        let counters = if head.latest.deleted {
            Vec::new()
        } else {
            // Payload rules see the last data; if it cannot be read, they see the indexed
            // properties only. The erasure goes ahead either way.
            let data = match self.load(&head.latest).await {
                Ok(item) => item.data,
                Err(_) => serde_json::Value::Object(head.latest.meta.clone()),
            };
            self.inner
                .tally
                .counters_for(CounterEvent::Delete, &head.latest.meta, &data)
        };
        // Rows first: from here on no reader can reach the blobs being removed.
        let rows = self.index().erase(ns, id).await?;
        if !counters.is_empty() {
            self.inner.tally.record(&counters).await;
        }
        let blobs = self
            .inner
            .target
            .blobs
            .delete_prefix(&record_prefix(&ns.db_name, &ns.collection, id))
            .await?;
        // With per-record keys, the record's key goes too: copies of its payloads made
        // before (backups, object versions) can never be decrypted again.
        let key_destroyed = match &self.inner.keys {
            Some(keys) => keys.destroy_record_key(&ns.collection, id).await?,
            None => None,
        };
        let report = EraseReport {
            id: id.to_string(),
            versions_removed: rows.len() as u64,
            blobs_removed: blobs,
        };
        let entry = AuditEntry {
            at: Utc::now().timestamp_micros(),
            collection: ns.collection.clone(),
            id: id.to_string(),
            action: "erase".into(),
            actor: meta.actor,
            reason: meta.reason,
            detail: json!({
                "lastOv": head.latest.ov,
                "versionsRemoved": report.versions_removed,
                "blobsRemoved": report.blobs_removed,
                "keyDestroyed": key_destroyed,
            }),
        };
        audit.append_audit(&ns.db_name, &entry).await?;
        info!(collection = %ns.collection, id, versions = report.versions_removed, "erased record");
        Ok(report)
    }

    /// The audit log of this collection (erasures), oldest first.
    pub async fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.audit_store("audit_log")?
            .audit_log(&self.inner.ns.db_name, &self.inner.ns.collection)
            .await
    }

    pub(super) fn logical_delete(&self) -> bool {
        self.inner.logical_delete
    }
}
