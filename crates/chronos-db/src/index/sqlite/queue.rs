//! Fallback queue tables on SQLite. Table names come from validated configuration
//! (`[A-Za-z0-9_-]`), so quoting them with `"` is safe.

use super::claims;
use super::queue_table::{list, put, remove};
use crate::error::Result;
use crate::index::{CommitOutcome, Namespace, QueueClaim, QueueQuery, QueueRow, QueueStore};

#[async_trait::async_trait]
impl QueueStore for super::SqliteIndex {
    async fn queue_put(&self, db_name: &str, table: &str, row: &QueueRow) -> Result<()> {
        let row = row.clone();
        self.run_queue(db_name, table, "queue a write", move |conn, t| {
            put(conn, t, &row)
        })
        .await
    }

    async fn queue_list(
        &self,
        db_name: &str,
        table: &str,
        query: &QueueQuery,
    ) -> Result<Vec<QueueRow>> {
        let query = query.clone();
        self.run_queue(db_name, table, "list queued writes", move |conn, t| {
            list(conn, t, &query)
        })
        .await
    }

    async fn queue_remove(&self, db_name: &str, table: &str, op_id: &str) -> Result<bool> {
        let op_id = op_id.to_string();
        self.run_queue(db_name, table, "remove a queued write", move |conn, t| {
            remove(conn, t, &op_id)
        })
        .await
    }

    async fn claim_queued(&self, ns: &Namespace, claim: &QueueClaim) -> Result<CommitOutcome> {
        let claim = claim.clone();
        self.run(ns, "queue a write", move |conn, t| {
            claims::claim(conn, t, &claim)
        })
        .await
    }

    async fn release_claim(&self, ns: &Namespace, id: &str, ov: u64, op_id: &str) -> Result<bool> {
        let (id, op_id) = (id.to_string(), op_id.to_string());
        self.run(ns, "release a queued write's claim", move |conn, t| {
            claims::release(conn, t, &id, ov, &op_id)
        })
        .await
    }
}
