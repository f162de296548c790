//! get_latest, get_version, get_as_of: reads that never touch a version whose row is not
//! committed.

use chrono::{DateTime, Utc};

use super::envelope::Envelope;
use super::props::project;
use super::{check_id, Collection};
use crate::error::{Error, Result};
use crate::index::VersionRow;
use crate::model::{Item, ReadOptions, DEFAULT_PRESIGN_TTL, MAX_PRESIGN_TTL};

impl Collection {
    /// The latest version of a record; `None` if it never existed. A logically deleted record
    /// comes back with `deleted: true` and its last data.
    pub async fn get_latest(&self, id: &str, opts: ReadOptions) -> Result<Option<Item>> {
        check_id(id)?;
        let head = self.index().head(&self.inner.ns, id).await?;
        self.finish(head.map(|h| h.latest), &opts).await
    }

    /// Version `ov` of a record; `None` if it does not exist.
    pub async fn get_version(&self, id: &str, ov: u64, opts: ReadOptions) -> Result<Option<Item>> {
        check_id(id)?;
        let row = self.index().version(&self.inner.ns, id, ov).await?;
        self.finish(row, &opts).await
    }

    /// The version of a record that was current at `at`: the last one written at or before
    /// it. `None` if the record did not exist yet.
    pub async fn get_as_of(
        &self,
        id: &str,
        at: DateTime<Utc>,
        opts: ReadOptions,
    ) -> Result<Option<Item>> {
        check_id(id)?;
        let row = self
            .index()
            .version_as_of(&self.inner.ns, id, at.timestamp_micros())
            .await?;
        self.finish(row, &opts).await
    }

    async fn finish(&self, row: Option<VersionRow>, opts: &ReadOptions) -> Result<Option<Item>> {
        match row {
            Some(row) => Ok(Some(self.load_with(&row, opts).await?)),
            None => Ok(None),
        }
    }

    /// Loads the payload of a committed version.
    pub(super) async fn load(&self, row: &VersionRow) -> Result<Item> {
        let bytes = self
            .inner
            .target
            .blobs
            .get(&row.blob_key)
            .await?
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "payload {} of committed version {}@v{} is missing from bucket {}",
                    row.blob_key,
                    row.id,
                    row.ov,
                    self.bucket()
                ))
            })?;
        let env = Envelope::from_bytes(&bytes, &row.blob_key, &row.id, row.ov)?;
        Ok(Item {
            id: env.id,
            ov: row.ov,
            cv: row.cv,
            at: env.at,
            deleted: row.deleted,
            data: env.data,
            actor: env.actor,
            reason: env.reason,
            function_ids: env.function_ids,
            url: None,
        })
    }

    pub(super) async fn load_with(&self, row: &VersionRow, opts: &ReadOptions) -> Result<Item> {
        let mut item = self.load(row).await?;
        if let Some(paths) = &opts.projection {
            item.data = project(item.data, paths)?;
        }
        if opts.presign {
            let ttl = opts.ttl.unwrap_or(DEFAULT_PRESIGN_TTL);
            if ttl.is_zero() || ttl > MAX_PRESIGN_TTL {
                return Err(Error::Validation(format!(
                    "presign ttl must be between 1 second and {} seconds",
                    MAX_PRESIGN_TTL.as_secs()
                )));
            }
            item.url = Some(self.inner.target.blobs.url(&row.blob_key, ttl).await?);
        }
        Ok(item)
    }
}
