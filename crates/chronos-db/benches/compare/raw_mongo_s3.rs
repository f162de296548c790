//! The raw baseline of the production pair: the minimal calls each operation needs, done
//! directly with the `mongodb` driver (version and head written in one transaction, as
//! chronos-db does on a replica set) and `object_store`'s S3 client (built the same way).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chronos_db::blob::s3::{self, SharedHttp};
use chronos_db::config::S3Connection;
use futures::{StreamExt, TryStreamExt};
use mongodb::bson::{doc, Document};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Client, Collection, IndexModel};
use object_store::aws::AmazonS3;
use object_store::path::Path as Key;
use object_store::ObjectStoreExt;
use serde_json::Value;

use crate::raw_blobs::{
    diff_versions, digest_all, parse_all, put_new_records, put_version, version_key,
};
use crate::subject::{BenchResult, Subject, HISTORY_PAGE};

pub struct RawMongoS3 {
    client: Client,
    head: Collection<Document>,
    ver: Collection<Document>,
    counter: Collection<Document>,
    store: Arc<AmazonS3>,
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn meta(data: &Value) -> Document {
    let status = data["status"].as_str().unwrap_or_default().to_string();
    doc! {"status": status}
}

fn blob_key(d: &Document) -> BenchResult<String> {
    Ok(d.get_str("blobKey")?.to_string())
}

impl RawMongoS3 {
    /// The payload keys of the first `limit` versions of `id`, oldest first.
    async fn keys(&self, id: &str, limit: usize) -> BenchResult<Vec<String>> {
        let mut find = self.ver.find(doc! {"id": id}).sort(doc! {"ov": 1});
        if let Ok(limit) = i64::try_from(limit) {
            find = find.limit(limit);
        }
        let rows: Vec<Document> = find.await?.try_collect().await?;
        rows.iter().map(blob_key).collect()
    }

    /// The payload store.
    pub fn store(&self) -> &dyn object_store::ObjectStore {
        self.store.as_ref()
    }

    pub async fn connect(
        uri: &str,
        db: &str,
        s3: &S3Connection,
        bucket: &str,
    ) -> BenchResult<Self> {
        let client = Client::with_uri_str(uri).await?;
        let database = client.database(db);
        let (head, ver, counter) = (
            database.collection::<Document>("raw_head"),
            database.collection::<Document>("raw_ver"),
            database.collection::<Document>("raw_counter"),
        );
        let unique = IndexOptions::builder().unique(true).build();
        ver.create_index(
            IndexModel::builder()
                .keys(doc! {"id": 1, "ov": 1})
                .options(unique)
                .build(),
        )
        .await?;
        ver.create_index(
            IndexModel::builder()
                .keys(doc! {"id": 1, "at": -1, "ov": -1})
                .build(),
        )
        .await?;
        head.create_index(
            IndexModel::builder()
                .keys(doc! {"meta.status": 1, "_id": 1})
                .build(),
        )
        .await?;
        let store = Arc::new(s3::build(
            s3,
            bucket,
            Arc::new(SharedHttp::default()),
            "bench",
        )?);
        Ok(RawMongoS3 {
            client,
            head,
            ver,
            counter,
            store,
        })
    }

    /// Shuts the client down before the runtime stops, so no driver worker outlives it.
    pub async fn close(&self) {
        self.client.clone().shutdown().immediate(true).await;
    }

    async fn get_json(&self, key: String) -> BenchResult<Value> {
        let bytes = self.store.get(&Key::from(key)).await?.bytes().await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    async fn next_cvs(&self, n: i64) -> BenchResult<i64> {
        let d = self
            .counter
            .find_one_and_update(doc! {"_id": "cv"}, doc! {"$inc": {"cv": n}})
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await?
            .ok_or("counter missing")?;
        Ok(d.get_i64("cv")? - n + 1)
    }

    async fn write(&self, id: String, ov: u64, data: &Value) -> BenchResult<DateTime<Utc>> {
        let key = put_version(self.store.as_ref(), &id, ov, data).await?;
        let cv = self.next_cvs(1).await?;
        let at = Utc::now();
        let ov = ov as i64;
        let fields =
            doc! {"ov": ov, "cv": cv, "at": micros(at), "blobKey": &key, "meta": meta(data)};
        let mut s = self.client.start_session().await?;
        s.start_transaction().await?;
        let mut ver = fields.clone();
        ver.insert("id", &id);
        self.ver.insert_one(ver).session(&mut s).await?;
        if ov == 0 {
            let mut head = fields;
            head.insert("_id", &id);
            self.head.insert_one(head).session(&mut s).await?;
        } else {
            let moved = self
                .head
                .update_one(doc! {"_id": &id, "ov": ov - 1}, doc! {"$set": fields})
                .session(&mut s)
                .await?;
            if moved.matched_count != 1 {
                s.abort_transaction().await?;
                return Err("conflict".into());
            }
        }
        s.commit_transaction().await?;
        Ok(at)
    }
}

#[async_trait]
impl Subject for RawMongoS3 {
    async fn create(&self, data: &Value) -> BenchResult<(String, DateTime<Utc>)> {
        let id = uuid::Uuid::now_v7().to_string();
        let at = self.write(id.clone(), 0, data).await?;
        Ok((id, at))
    }

    async fn update(&self, id: &str, data: &Value, expected: u64) -> BenchResult<DateTime<Utc>> {
        self.write(id.to_string(), expected + 1, data).await
    }

    async fn get_latest(&self, id: &str) -> BenchResult<Value> {
        let head = self
            .head
            .find_one(doc! {"_id": id})
            .await?
            .ok_or("missing")?;
        self.get_json(blob_key(&head)?).await
    }

    async fn get_as_of(&self, id: &str, at: DateTime<Utc>) -> BenchResult<Value> {
        let ver = self
            .ver
            .find_one(doc! {"id": id, "at": {"$lte": micros(at)}})
            .sort(doc! {"at": -1, "ov": -1})
            .await?
            .ok_or("missing")?;
        self.get_json(blob_key(&ver)?).await
    }

    async fn list(&self, status: &str) -> BenchResult<usize> {
        let heads: Vec<Document> = self
            .head
            .find(doc! {"meta.status": status})
            .sort(doc! {"_id": 1})
            .limit(50)
            .await?
            .try_collect()
            .await?;
        let keys = heads
            .iter()
            .map(blob_key)
            .collect::<BenchResult<Vec<_>>>()?;
        let loads: Vec<_> = keys.into_iter().map(|k| self.get_json(k)).collect();
        let items: Vec<Value> = futures::stream::iter(loads)
            .buffered(16)
            .try_collect()
            .await?;
        Ok(items.len())
    }

    async fn restore(&self, id: &str, ov: u64, current: u64) -> BenchResult<()> {
        let data = self.get_json(version_key(id, ov)).await?;
        self.write(id.to_string(), current + 1, &data).await?;
        Ok(())
    }

    async fn history(&self, id: &str) -> BenchResult<usize> {
        let keys = self.keys(id, HISTORY_PAGE).await?;
        parse_all(self.store.as_ref(), keys).await
    }

    async fn diff(&self, id: &str, from: u64, to: u64) -> BenchResult<usize> {
        // Both versions' rows: they must exist (not pruned, not erased).
        let find = |ov: u64| self.ver.find_one(doc! {"id": id, "ov": ov as i64});
        let (a, b) = tokio::try_join!(find(from), find(to))?;
        let (a, b) = (a.ok_or("missing")?, b.ok_or("missing")?);
        diff_versions(self.store.as_ref(), blob_key(&a)?, blob_key(&b)?).await
    }

    async fn verify(&self, id: &str) -> BenchResult<u64> {
        let keys = self.keys(id, usize::MAX).await?;
        digest_all(self.store.as_ref(), keys).await
    }

    async fn export_all(&self) -> BenchResult<u64> {
        let rows: Vec<Document> = self
            .ver
            .find(doc! {})
            .sort(doc! {"id": 1, "ov": 1})
            .await?
            .try_collect()
            .await?;
        let keys = rows.iter().map(blob_key).collect::<BenchResult<Vec<_>>>()?;
        Ok(parse_all(self.store.as_ref(), keys).await? as u64)
    }

    async fn changes_all(&self) -> BenchResult<u64> {
        let rows: Vec<Document> = self
            .ver
            .find(doc! {})
            .sort(doc! {"cv": 1})
            .await?
            .try_collect()
            .await?;
        let keys = rows.iter().map(blob_key).collect::<BenchResult<Vec<_>>>()?;
        Ok(parse_all(self.store.as_ref(), keys).await? as u64)
    }

    async fn create_many(&self, items: &[Value]) -> BenchResult<usize> {
        let stored: Vec<(String, String, Document)> = put_new_records(self.store.as_ref(), items)
            .await?
            .into_iter()
            .map(|(id, key, data)| (id, key, meta(data)))
            .collect();
        let first = self.next_cvs(stored.len() as i64).await?;
        let at = micros(Utc::now());
        let mut vers = Vec::with_capacity(stored.len());
        let mut heads = Vec::with_capacity(stored.len());
        for (i, (id, key, m)) in stored.iter().enumerate() {
            let fields =
                doc! {"ov": 0_i64, "cv": first + i as i64, "at": at, "blobKey": key, "meta": m};
            let mut v = fields.clone();
            v.insert("id", id);
            vers.push(v);
            let mut h = fields;
            h.insert("_id", id);
            heads.push(h);
        }
        let mut s = self.client.start_session().await?;
        s.start_transaction().await?;
        self.ver.insert_many(vers).session(&mut s).await?;
        self.head.insert_many(heads).session(&mut s).await?;
        s.commit_transaction().await?;
        Ok(stored.len())
    }
}
