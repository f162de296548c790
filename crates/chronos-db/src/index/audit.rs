//! The audit log kept in each index database (`chronos_audit`).

use async_trait::async_trait;
use serde_json::Value;

use super::records::IndexBackend;
use crate::error::Result;

/// An entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// When, in microseconds since the Unix epoch.
    pub at: i64,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// What was done, e.g. `erase`.
    pub action: String,
    /// Who did it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// Details (e.g. how many versions and blobs were removed).
    pub detail: Value,
}

/// The audit log of each index database.
#[async_trait]
pub trait AuditLog: IndexBackend {
    /// Appends to the audit log of database `db_name`.
    async fn append_audit(&self, db_name: &str, entry: &AuditEntry) -> Result<()>;

    /// The audit log of one collection, oldest first.
    async fn audit_log(&self, db_name: &str, collection: &str) -> Result<Vec<AuditEntry>>;
}
