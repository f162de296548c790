//! What is measured: the same operations done through chronos-db and done directly on the
//! backends ("raw"), behind one trait so the driver runs both the same way.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chronos_db::maintenance::RestoreTarget;
use chronos_db::transfer::{ExportedVersion, ImportOptions};
use chronos_db::{ChangesQuery, Collection, HistoryQuery, ListQuery, ReadOptions, WriteMeta};
use futures::TryStreamExt;
use serde_json::{json, Value};

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// One way of storing versioned records.
#[async_trait]
pub trait Subject: Send + Sync {
    /// Creates a record; returns its id and the time of version 0.
    async fn create(&self, data: &Value) -> BenchResult<(String, DateTime<Utc>)>;
    /// Writes version `expected + 1`; returns its time.
    async fn update(&self, id: &str, data: &Value, expected: u64) -> BenchResult<DateTime<Utc>>;
    /// The latest data.
    async fn get_latest(&self, id: &str) -> BenchResult<Value>;
    /// The data as of `at`.
    async fn get_as_of(&self, id: &str, at: DateTime<Utc>) -> BenchResult<Value>;
    /// The first page (50) of records with `status`, with their data; returns how many.
    async fn list(&self, status: &str) -> BenchResult<usize>;
    /// Appends a version equal to version `ov` (the record is at `current`).
    async fn restore(&self, id: &str, ov: u64, current: u64) -> BenchResult<()>;
    /// Creates all `items` in one batch; returns how many.
    async fn create_many(&self, items: &[Value]) -> BenchResult<usize>;
    /// The first page (100 versions) of a record's history with their data; returns how
    /// many.
    async fn history(&self, id: &str) -> BenchResult<usize>;
    /// What changed between versions `from` and `to` of a record, as a JSON Patch; returns
    /// how many operations.
    async fn diff(&self, id: &str, from: u64, to: u64) -> BenchResult<usize>;
    /// Reads every version of a record and its payload bytes and hashes them; returns how
    /// many versions.
    async fn verify(&self, id: &str) -> BenchResult<u64>;
    /// Reads every version of every record with its data (an export); returns how many.
    async fn export_all(&self) -> BenchResult<u64>;
    /// Reads every committed write in collection-version order with its data, as a change
    /// feed's follower catching up does; returns how many.
    async fn changes_all(&self) -> BenchResult<u64>;
    /// Imports every version of the store into a fresh collection; returns the time it took
    /// and how many versions, where the subject has an import.
    async fn import_all(&self) -> BenchResult<Option<(std::time::Duration, u64)>> {
        Ok(None)
    }
}

/// Versions on a history page.
pub const HISTORY_PAGE: usize = 100;

/// Changes on a page of the change feed.
pub const CHANGES_PAGE: usize = 500;

/// chronos-db through its public API: the measured collection, and an empty one to import
/// into.
pub struct Chronos(pub Collection, pub Collection);

fn meta() -> WriteMeta {
    WriteMeta::new("bench", "bench")
}

fn missing() -> Box<dyn std::error::Error + Send + Sync> {
    "record missing".into()
}

#[async_trait]
impl Subject for Chronos {
    async fn create(&self, data: &Value) -> BenchResult<(String, DateTime<Utc>)> {
        let w = self.0.create(data.clone(), meta()).await?;
        Ok((w.id, w.at))
    }

    async fn update(&self, id: &str, data: &Value, expected: u64) -> BenchResult<DateTime<Utc>> {
        Ok(self.0.update(id, data.clone(), expected, meta()).await?.at)
    }

    async fn get_latest(&self, id: &str) -> BenchResult<Value> {
        let item = self.0.get_latest(id, ReadOptions::default()).await?;
        Ok(item.ok_or_else(missing)?.data)
    }

    async fn get_as_of(&self, id: &str, at: DateTime<Utc>) -> BenchResult<Value> {
        let item = self.0.get_as_of(id, at, ReadOptions::default()).await?;
        Ok(item.ok_or_else(missing)?.data)
    }

    async fn list(&self, status: &str) -> BenchResult<usize> {
        let q = ListQuery::filter(json!({ "status": status })).limit(50);
        Ok(self
            .0
            .list_by_meta(q, ReadOptions::default())
            .await?
            .items
            .len())
    }

    async fn restore(&self, id: &str, ov: u64, _current: u64) -> BenchResult<()> {
        self.0
            .restore_object(id, RestoreTarget::Ov(ov), meta())
            .await?;
        Ok(())
    }

    async fn create_many(&self, items: &[Value]) -> BenchResult<usize> {
        Ok(self.0.create_many(items.to_vec(), meta()).await?.len())
    }

    async fn history(&self, id: &str) -> BenchResult<usize> {
        let q = HistoryQuery::default().limit(HISTORY_PAGE).with_data();
        Ok(self.0.history(id, q).await?.versions.len())
    }

    async fn diff(&self, id: &str, from: u64, to: u64) -> BenchResult<usize> {
        Ok(self.0.diff(id, from, to).await?.patch.len())
    }

    async fn export_all(&self) -> BenchResult<u64> {
        let mut n = 0;
        let mut versions = std::pin::pin!(self.0.export());
        while let Some(v) = versions.try_next().await? {
            std::hint::black_box(v);
            n += 1;
        }
        Ok(n)
    }

    async fn changes_all(&self) -> BenchResult<u64> {
        let mut query = ChangesQuery::default().limit(CHANGES_PAGE).with_data();
        let mut n = 0;
        loop {
            let page = self.0.changes(query.clone()).await?;
            if page.changes.is_empty() {
                return Ok(n);
            }
            n += page.changes.len() as u64;
            std::hint::black_box(&page.changes);
            query.after_cv = page.after_cv;
        }
    }

    async fn import_all(&self) -> BenchResult<Option<(std::time::Duration, u64)>> {
        let versions: Vec<ExportedVersion> = self.0.export().try_collect().await?;
        let n = versions.len() as u64;
        let start = std::time::Instant::now();
        let report = self.1.import(versions, ImportOptions::default()).await?;
        assert_eq!(report.versions_written, n);
        Ok(Some((start.elapsed(), n)))
    }

    async fn verify(&self, id: &str) -> BenchResult<u64> {
        let checked = self.0.verify(id).await?;
        match checked.broken {
            Some(b) => Err(format!("{b:?}").into()),
            None => Ok(checked.verified),
        }
    }
}
