//! Fallback queue collections on MongoDB: one document per queued write, `_id` = op id (which
//! sorts in queue order).

use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, IndexModel};

use super::claims;
use super::errors::err;
use crate::error::{Error, Result};
use crate::index::{CommitOutcome, Namespace, QueueClaim, QueueQuery, QueueRow, QueueStore};

fn table(client: &Client, db_name: &str, name: &str) -> Collection<Document> {
    client.database(db_name).collection(name)
}

/// Creates the lookup indexes of a queue collection (idempotent).
pub async fn ensure_indexes(client: &Client, db_name: &str, name: &str) -> Result<()> {
    let models = [
        doc! {"collection": 1, "recordId": 1, "_id": 1},
        doc! {"dueAt": 1},
    ]
    .into_iter()
    .map(|keys| {
        IndexModel::builder()
            .keys(keys)
            .options(IndexOptions::builder().build())
            .build()
    });
    table(client, db_name, name)
        .create_indexes(models)
        .await
        .map(|_| ())
        .map_err(err("create queue indexes"))
}

/// The document of a row.
pub fn row_doc(row: &QueueRow) -> Document {
    doc! {
        "_id": &row.op_id,
        "collection": &row.collection,
        "recordId": &row.record_id,
        "dueAt": row.due_at,
        "body": &row.body,
    }
}

/// A queue collection.
pub fn collection(client: &Client, db_name: &str, name: &str) -> Collection<Document> {
    table(client, db_name, name)
}

/// Inserts or replaces a row.
pub async fn put(client: &Client, db_name: &str, name: &str, row: &QueueRow) -> Result<()> {
    table(client, db_name, name)
        .replace_one(doc! {"_id": &row.op_id}, row_doc(row))
        .upsert(true)
        .await
        .map(|_| ())
        .map_err(err("queue a write"))
}

/// Rows matching `q`, oldest first.
pub async fn list(
    client: &Client,
    db_name: &str,
    name: &str,
    q: &QueueQuery,
) -> Result<Vec<QueueRow>> {
    let mut filter = Document::new();
    if let Some(op) = &q.op_id {
        filter.insert("_id", op);
    }
    if let Some(c) = &q.collection {
        filter.insert("collection", c);
    }
    if let Some(r) = &q.record_id {
        filter.insert("recordId", r);
    }
    if let Some(due) = q.due_by {
        filter.insert("dueAt", doc! {"$lte": due});
    }
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let found: Vec<Document> = table(client, db_name, name)
        .find(filter)
        .sort(doc! {"_id": 1})
        .limit(limit)
        .await
        .map_err(err("list queued writes"))?
        .try_collect()
        .await
        .map_err(err("list queued writes"))?;
    found.iter().map(row).collect()
}

fn row(d: &Document) -> Result<QueueRow> {
    let text = |k: &str| {
        d.get_str(k)
            .map(str::to_string)
            .map_err(|e| Error::Corrupt(format!("queued write field {k}: {e}")))
    };
    Ok(QueueRow {
        op_id: text("_id")?,
        collection: text("collection")?,
        record_id: text("recordId")?,
        due_at: d
            .get_i64("dueAt")
            .map_err(|e| Error::Corrupt(format!("queued write field dueAt: {e}")))?,
        body: text("body")?,
    })
}

/// Removes a row; returns whether it was there.
pub async fn remove(client: &Client, db_name: &str, name: &str, op_id: &str) -> Result<bool> {
    let done = table(client, db_name, name)
        .delete_one(doc! {"_id": op_id})
        .await
        .map_err(err("remove a queued write"))?;
    Ok(done.deleted_count > 0)
}

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
