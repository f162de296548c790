//! The fallback queue's table on this backend: its rows, written, listed and removed by
//! plain functions, so the queue's trait implementation and the claims of queued writes
//! (which put a queue row in their own atomic step) both build on them.

use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, IndexModel};

use super::errors::err;
use crate::error::{Error, Result};
use crate::index::{QueueQuery, QueueRow};

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
    collection(client, db_name, name)
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
    client.database(db_name).collection(name)
}

/// Inserts or replaces a row.
pub async fn put(client: &Client, db_name: &str, name: &str, row: &QueueRow) -> Result<()> {
    collection(client, db_name, name)
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
    let found: Vec<Document> = collection(client, db_name, name)
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
    let done = collection(client, db_name, name)
        .delete_one(doc! {"_id": op_id})
        .await
        .map_err(err("remove a queued write"))?;
    Ok(done.deleted_count > 0)
}
