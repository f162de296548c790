//! Analytics counters on MongoDB: the `cnt_total` collection of a database, one document per
//! counter cell, advanced with upserting `$inc`.

use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::{Client, Collection};

use super::errors::{err, is_duplicate_key};
use crate::error::Result;
use crate::index::{CountKey, CountScope, CounterStore, CountsWritten};

const COLLECTION: &str = "cnt_total";

fn cells(client: &Client, db_name: &str) -> Collection<Document> {
    client.database(db_name).collection(COLLECTION)
}

fn cell_id(k: &CountKey) -> Document {
    doc! {
        "tenant": &k.scope.tenant,
        "db": &k.scope.db_name,
        "collection": &k.scope.collection,
        "period": k.period,
        "bucket": &k.bucket,
        "counter": &k.counter,
    }
}

/// Adds every count. Two first increments of one cell may race to insert it: the loser's
/// duplicate-key error is retried as a plain increment.
pub async fn add(client: &Client, db_name: &str, counts: &[(CountKey, u64)]) -> CountsWritten {
    let coll = cells(client, db_name);
    for (applied, (k, n)) in counts.iter().enumerate() {
        let n = i64::try_from(*n).unwrap_or(i64::MAX);
        let filter = doc! {"_id": cell_id(k)};
        let update = doc! {
            "$inc": {"value": n},
            "$setOnInsert": {
                "tenant": &k.scope.tenant,
                "db": &k.scope.db_name,
                "collection": &k.scope.collection,
                "period": k.period,
                "bucket": &k.bucket,
            },
        };
        let mut attempt = 0;
        loop {
            match coll
                .update_one(filter.clone(), update.clone())
                .upsert(true)
                .await
            {
                Ok(_) => break,
                Err(e) if is_duplicate_key(&e) && attempt < 3 => attempt += 1,
                Err(e) => {
                    return CountsWritten {
                        applied,
                        error: Some(err("add counters")(e)),
                    }
                }
            }
        }
    }
    CountsWritten::all(counts.len())
}

/// The counters of `scope` in one bucket.
pub async fn read(
    client: &Client,
    db_name: &str,
    scope: &CountScope,
    period: &str,
    bucket: &str,
) -> Result<Vec<(String, u64)>> {
    let found: Vec<Document> = cells(client, db_name)
        .find(doc! {
            "tenant": &scope.tenant,
            "db": &scope.db_name,
            "collection": &scope.collection,
            "period": period,
            "bucket": bucket,
        })
        .await
        .map_err(err("read counters"))?
        .try_collect()
        .await
        .map_err(err("read counters"))?;
    let mut out: Vec<(String, u64)> = found
        .iter()
        .filter_map(|d| {
            let counter = d.get_document("_id").ok()?.get_str("counter").ok()?;
            let value = match d.get("value")? {
                Bson::Int64(v) => *v,
                Bson::Int32(v) => i64::from(*v),
                _ => return None,
            };
            Some((counter.to_string(), u64::try_from(value).unwrap_or(0)))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Removes the buckets of kind `period` older than `before`.
pub async fn prune(client: &Client, db_name: &str, period: &str, before: &str) -> Result<u64> {
    let done = cells(client, db_name)
        .delete_many(doc! {"period": period, "bucket": {"$lt": before}})
        .await
        .map_err(err("prune counters"))?;
    Ok(done.deleted_count)
}

#[async_trait::async_trait]
impl CounterStore for super::MongoIndex {
    async fn add_counts(&self, db_name: &str, counts: &[(CountKey, u64)]) -> CountsWritten {
        if let Err(error) = self.ready(db_name).await {
            return CountsWritten {
                applied: 0,
                error: Some(error),
            };
        }
        add(&self.client, db_name, counts).await
    }

    async fn read_counts(
        &self,
        db_name: &str,
        scope: &CountScope,
        period: &str,
        bucket: &str,
    ) -> Result<Vec<(String, u64)>> {
        self.ready(db_name).await?;
        read(&self.client, db_name, scope, period, bucket).await
    }

    async fn prune_counts(&self, db_name: &str, period: &str, before: &str) -> Result<u64> {
        self.ready(db_name).await?;
        prune(&self.client, db_name, period, before).await
    }
}
