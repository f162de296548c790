//! Maintenance of the record index: retention, crash repair and erase.

use async_trait::async_trait;

use super::records::IndexBackend;
use super::rows::{Namespace, VersionRow};
use crate::error::Result;

/// What retention, repair and erase need beyond the version protocol.
#[async_trait]
pub trait RecordMaintenance: IndexBackend {
    /// Removes the versions `doomed` names (record id, its ovs), never one a head points
    /// at, for many records in one step (one transaction where the backend has them), and
    /// gives the space back where the backend can. Returns the rows removed.
    async fn delete_versions(
        &self,
        ns: &Namespace,
        doomed: &[(String, Vec<u64>)],
    ) -> Result<Vec<VersionRow>>;

    /// Points a record's head at its latest committed version if it lags behind (a writer
    /// without transactions died between the two steps of its commit). Returns whether it
    /// moved.
    async fn roll_head_forward(&self, ns: &Namespace, id: &str) -> Result<bool>;

    /// The ids of records whose head is missing or behind their latest committed version
    /// (claims of queued writes do not count), found by one pass over the collection's
    /// versions and heads in id order.
    async fn lagging_heads(&self, ns: &Namespace) -> Result<Vec<String>>;

    /// Removes a record's head and every version. Returns the version rows removed.
    async fn erase(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>>;

    /// Collections that have records in an index database.
    async fn collections(&self, db_name: &str) -> Result<Vec<String>>;
}
