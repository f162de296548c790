//! Fallback queue collections on MongoDB: one document per queued write, `_id` = op id (which
//! sorts in queue order).

use super::claims;
use super::errors::err;
use super::queue_table::{list, put, remove};
use crate::error::Result;
use crate::index::{CommitOutcome, Namespace, QueueClaim, QueueQuery, QueueRow, QueueStore};

#[async_trait::async_trait]
impl QueueStore for super::MongoIndex {
    async fn queue_put(&self, db_name: &str, table: &str, row: &QueueRow) -> Result<()> {
        self.queue_ready(db_name, table).await?;
        put(&self.client, db_name, table, row).await
    }

    async fn queue_list(
        &self,
        db_name: &str,
        table: &str,
        query: &QueueQuery,
    ) -> Result<Vec<QueueRow>> {
        self.ready(db_name).await?;
        list(&self.client, db_name, table, query).await
    }

    async fn queue_remove(&self, db_name: &str, table: &str, op_id: &str) -> Result<bool> {
        self.ready(db_name).await?;
        remove(&self.client, db_name, table, op_id).await
    }

    async fn claim_queued(&self, ns: &Namespace, claim: &QueueClaim) -> Result<CommitOutcome> {
        let c = self.colls(ns).await?;
        self.queue_ready(&ns.db_name, &claim.table).await?;
        if self.use_transactions().await? {
            claims::claim_in_transaction(&self.client, &c, &ns.db_name, claim).await
        } else {
            claims::claim_without_transaction(&self.client, &c, &ns.db_name, claim).await
        }
    }

    async fn release_claim(&self, ns: &Namespace, id: &str, ov: u64, op_id: &str) -> Result<bool> {
        let c = self.colls(ns).await?;
        let gone = c
            .ver
            .delete_one(claims::claim_filter(id, ov, op_id))
            .await
            .map_err(err("release a queued write's claim"))?;
        Ok(gone.deleted_count == 1)
    }
}
