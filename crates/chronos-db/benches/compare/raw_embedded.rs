//! The raw baseline of the embedded pair: the minimal calls each operation needs, done
//! directly with `rusqlite` (through `spawn_blocking`, as any async program must) and
//! `object_store`'s local file system, with the same pragmas and indexes chronos-db uses.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::ObjectStoreExt;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{json, Value};

use crate::raw_blobs::{
    diff_versions, digest_all, parse_all, put_new_records, put_version, version_key,
};
use crate::subject::{BenchResult, Subject, HISTORY_PAGE};

pub struct RawEmbedded {
    conn: Arc<Mutex<Connection>>,
    store: Arc<LocalFileSystem>,
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn meta(data: &Value) -> String {
    json!({"status": data["status"]}).to_string()
}

impl RawEmbedded {
    /// Opens the baseline; `durable` syncs as chronos-db's `powerLoss` durability does
    /// (`synchronous=FULL`, payload files and their directories fsynced), else as
    /// `processCrash` (`synchronous=NORMAL`, no fsync).
    pub fn open(dir: &Path, durable: bool) -> BenchResult<Self> {
        std::fs::create_dir_all(dir.join("blobs"))?;
        let conn = Connection::open(dir.join("raw.sqlite3"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let synchronous = if durable { "FULL" } else { "NORMAL" };
        conn.execute_batch(&format!("PRAGMA synchronous={synchronous};"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS raw_counter (k TEXT PRIMARY KEY, cv INTEGER NOT NULL) WITHOUT ROWID;
             INSERT OR IGNORE INTO raw_counter VALUES ('cv', 0);
             CREATE TABLE IF NOT EXISTS raw_ver (id TEXT NOT NULL, ov INTEGER NOT NULL, cv INTEGER NOT NULL,
                 at INTEGER NOT NULL, blob_key TEXT NOT NULL, meta TEXT NOT NULL, PRIMARY KEY (id, ov)) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS raw_ver_at ON raw_ver(id, at, ov);
             CREATE TABLE IF NOT EXISTS raw_head (id TEXT PRIMARY KEY, ov INTEGER NOT NULL, cv INTEGER NOT NULL,
                 at INTEGER NOT NULL, blob_key TEXT NOT NULL, meta TEXT NOT NULL) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS raw_head_status ON raw_head(json_extract(meta, '$.status'), id);",
        )?;
        Ok(RawEmbedded {
            conn: Arc::new(Mutex::new(conn)),
            store: Arc::new(
                LocalFileSystem::new_with_prefix(dir.join("blobs"))?.with_fsync(durable),
            ),
        })
    }

    /// The payload store.
    pub fn store(&self) -> &dyn object_store::ObjectStore {
        self.store.as_ref()
    }

    async fn sql<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> BenchResult<T> {
        let conn = self.conn.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().map_err(|_| rusqlite::Error::InvalidQuery)?;
            f(&mut c)
        })
        .await??)
    }

    async fn get_json(&self, key: String) -> BenchResult<Value> {
        let bytes = self.store.get(&Key::from(key)).await?.bytes().await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// The payload keys of the first `limit` versions of `id`, oldest first.
    async fn keys(&self, id: &str, limit: usize) -> BenchResult<Vec<String>> {
        let id = id.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.sql(move |c| {
            c.prepare_cached("SELECT blob_key FROM raw_ver WHERE id = ?1 ORDER BY ov LIMIT ?2")?
                .query_map(params![id, limit], |r| r.get(0))?
                .collect()
        })
        .await
    }

    /// Puts the blob of `(id, ov)`, then bumps the counter and writes the version and head in
    /// one transaction (the head move checked against `expected`).
    async fn write(&self, id: String, ov: u64, data: &Value) -> BenchResult<DateTime<Utc>> {
        let key = put_version(self.store.as_ref(), &id, ov, data).await?;
        let at = Utc::now();
        let m = meta(data);
        let ok = self
            .sql(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let cv: i64 = tx.query_row(
                    "UPDATE raw_counter SET cv = cv + 1 WHERE k = 'cv' RETURNING cv",
                    [],
                    |r| r.get(0),
                )?;
                let ov = ov as i64;
                tx.execute(
                    "INSERT INTO raw_ver VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, ov, cv, micros(at), key, m],
                )?;
                let moved = if ov == 0 {
                    tx.execute(
                        "INSERT INTO raw_head VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![id, ov, cv, micros(at), key, m],
                    )?
                } else {
                    tx.execute(
                        "UPDATE raw_head SET ov = ?2, cv = ?3, at = ?4, blob_key = ?5, meta = ?6
                         WHERE id = ?1 AND ov = ?2 - 1",
                        params![id, ov, cv, micros(at), key, m],
                    )?
                };
                if moved == 1 {
                    tx.commit()?;
                }
                Ok(moved == 1)
            })
            .await?;
        if !ok {
            return Err("conflict".into());
        }
        Ok(at)
    }
}

#[async_trait]
impl Subject for RawEmbedded {
    async fn create(&self, data: &Value) -> BenchResult<(String, DateTime<Utc>)> {
        let id = uuid::Uuid::now_v7().to_string();
        let at = self.write(id.clone(), 0, data).await?;
        Ok((id, at))
    }

    async fn update(&self, id: &str, data: &Value, expected: u64) -> BenchResult<DateTime<Utc>> {
        self.write(id.to_string(), expected + 1, data).await
    }

    async fn get_latest(&self, id: &str) -> BenchResult<Value> {
        let id = id.to_string();
        let key: Option<String> = self
            .sql(move |c| {
                c.prepare_cached("SELECT blob_key FROM raw_head WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))
                    .optional()
            })
            .await?;
        self.get_json(key.ok_or("missing")?).await
    }

    async fn get_as_of(&self, id: &str, at: DateTime<Utc>) -> BenchResult<Value> {
        let id = id.to_string();
        let key: Option<String> = self
            .sql(move |c| {
                c.prepare_cached(
                    "SELECT blob_key FROM raw_ver WHERE id = ?1 AND at <= ?2 ORDER BY at DESC, ov DESC LIMIT 1",
                )?
                .query_row(params![id, micros(at)], |r| r.get(0))
                .optional()
            })
            .await?;
        self.get_json(key.ok_or("missing")?).await
    }

    async fn list(&self, status: &str) -> BenchResult<usize> {
        let status = status.to_string();
        let keys: Vec<String> = self
            .sql(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT blob_key FROM raw_head WHERE json_extract(meta, '$.status') = ?1 ORDER BY id LIMIT 50",
                )?;
                let rows = stmt.query_map([status], |r| r.get(0))?;
                rows.collect()
            })
            .await?;
        let loads: Vec<_> = keys.into_iter().map(|k| self.get_json(k)).collect();
        let items: Vec<Value> = futures::stream::iter(loads)
            .buffered(16)
            .try_collect()
            .await?;
        Ok(items.len())
    }

    async fn restore(&self, id: &str, ov: u64, current: u64) -> BenchResult<()> {
        let key = version_key(id, ov);
        let data = self.get_json(key).await?;
        self.write(id.to_string(), current + 1, &data).await?;
        Ok(())
    }

    async fn history(&self, id: &str) -> BenchResult<usize> {
        let keys = self.keys(id, HISTORY_PAGE).await?;
        parse_all(self.store.as_ref(), keys).await
    }

    async fn diff(&self, id: &str, from: u64, to: u64) -> BenchResult<usize> {
        // Both versions' rows in one call: they must exist (not pruned, not erased).
        let id = id.to_string();
        let keys: Vec<String> = self
            .sql(move |c| {
                let mut find =
                    c.prepare_cached("SELECT blob_key FROM raw_ver WHERE id = ?1 AND ov = ?2")?;
                let a = find.query_row(params![id, from as i64], |r| r.get(0))?;
                let b = find.query_row(params![id, to as i64], |r| r.get(0))?;
                Ok(vec![a, b])
            })
            .await?;
        let [a, b] = <[String; 2]>::try_from(keys).map_err(|_| "two keys")?;
        diff_versions(self.store.as_ref(), a, b).await
    }

    async fn verify(&self, id: &str) -> BenchResult<u64> {
        let keys = self.keys(id, usize::MAX).await?;
        digest_all(self.store.as_ref(), keys).await
    }

    async fn export_all(&self) -> BenchResult<u64> {
        let keys: Vec<String> = self
            .sql(|c| {
                c.prepare_cached("SELECT blob_key FROM raw_ver ORDER BY id, ov")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .await?;
        Ok(parse_all(self.store.as_ref(), keys).await? as u64)
    }

    async fn changes_all(&self) -> BenchResult<u64> {
        let keys: Vec<String> = self
            .sql(|c| {
                c.prepare_cached("SELECT blob_key FROM raw_ver ORDER BY cv")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .await?;
        Ok(parse_all(self.store.as_ref(), keys).await? as u64)
    }

    async fn create_many(&self, items: &[Value]) -> BenchResult<usize> {
        let n = items.len();
        let rows: Vec<(String, String, String)> = put_new_records(self.store.as_ref(), items)
            .await?
            .into_iter()
            .map(|(id, key, data)| (id, key, meta(data)))
            .collect();
        let at = micros(Utc::now());
        self.sql(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let last: i64 = tx.query_row(
                "UPDATE raw_counter SET cv = cv + ?1 WHERE k = 'cv' RETURNING cv",
                [rows.len() as i64],
                |r| r.get(0),
            )?;
            let first = last - rows.len() as i64 + 1;
            for (i, (id, key, m)) in rows.iter().enumerate() {
                let cv = first + i as i64;
                tx.execute(
                    "INSERT INTO raw_ver VALUES (?1, 0, ?2, ?3, ?4, ?5)",
                    params![id, cv, at, key, m],
                )?;
                tx.execute(
                    "INSERT INTO raw_head VALUES (?1, 0, ?2, ?3, ?4, ?5)",
                    params![id, cv, at, key, m],
                )?;
            }
            tx.commit()
        })
        .await?;
        Ok(n)
    }
}
