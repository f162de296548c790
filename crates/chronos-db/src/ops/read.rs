//! get_latest, get_version, get_as_of: reads that never touch a version whose row is not
//! committed. Payloads are decompressed, base64 properties put back, and the devShadow in the
//! head served when it is fresh.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::envelope::Envelope;
use super::payload::{restore_base64, PayloadCodec};
use super::props::project;
use super::{check_id, Collection};
use crate::blob::side_key;
use crate::error::{Error, Result};
use crate::index::{Located, PayloadRef, VersionPick, VersionRef};
use crate::model::{ReadOptions, Version, DEFAULT_PRESIGN_TTL, MAX_PRESIGN_TTL};

impl Collection {
    /// The latest version of a record; `None` if it never existed. A logically deleted record
    /// comes back with `deleted: true` and its last data.
    pub async fn get_latest(&self, id: &str, opts: ReadOptions) -> Result<Option<Version>> {
        check_id(id)?;
        self.check_read_options(&opts)?;
        match self
            .index()
            .locate(&self.inner.ns, id, VersionPick::Latest)
            .await?
        {
            Some(head) => Ok(Some(self.load_head(&head, &opts).await?)),
            None => Ok(None),
        }
    }

    /// Version `ov` of a record; `None` if it does not exist.
    pub async fn get_version(
        &self,
        id: &str,
        ov: u64,
        opts: ReadOptions,
    ) -> Result<Option<Version>> {
        check_id(id)?;
        self.check_read_options(&opts)?;
        let row = self
            .index()
            .locate(&self.inner.ns, id, VersionPick::Ov(ov))
            .await?;
        self.finish(row, &opts).await
    }

    /// The version of a record that was current at `at`: the last one written at or before
    /// it. `None` if the record did not exist yet.
    pub async fn get_as_of(
        &self,
        id: &str,
        at: DateTime<Utc>,
        opts: ReadOptions,
    ) -> Result<Option<Version>> {
        check_id(id)?;
        self.check_read_options(&opts)?;
        let row = self
            .index()
            .locate(&self.inner.ns, id, VersionPick::AsOf(at.timestamp_micros()))
            .await?;
        self.finish(row, &opts).await
    }

    async fn finish(&self, found: Option<Located>, opts: &ReadOptions) -> Result<Option<Version>> {
        match found {
            Some(located) => {
                let env = self.load(&located.version).await?;
                let version = version_of(env, &located)?;
                Ok(Some(self.shape(version, &located.version, opts).await?))
            }
            None => Ok(None),
        }
    }

    /// The latest version of a head: from its inline payload or fresh devShadow when it has
    /// one, else from its payload object.
    pub(super) async fn load_head(&self, head: &Located, opts: &ReadOptions) -> Result<Version> {
        let version = match self.at_hand(head) {
            Some(version) => version?,
            None => version_of(self.load(&head.version).await?, head)?,
        };
        self.shape(version, &head.version, opts).await
    }

    /// A located version when its bytes came with it (an inline payload, or the head's
    /// fresh devShadow): decoded without any I/O. `None` when they are in an object.
    pub(super) fn at_hand(&self, located: &Located) -> Option<Result<Version>> {
        let row = &located.version;
        match (&row.payload, located.shadow.as_deref()) {
            (PayloadRef::Inline(bytes), _) => {
                let opened = self.open_inline_ready(bytes, &row.id, row.ov)?;
                Some(
                    opened
                        .and_then(|plain| self.inline_envelope(&plain, row))
                        .and_then(|env| version_of(env, located)),
                )
            }
            (_, Some(json))
                if self
                    .inner
                    .codec
                    .shadow_fresh(row.at, Utc::now().timestamp_micros()) =>
            {
                Some(
                    Envelope::from_bytes(json.as_bytes(), "(devShadow)", &row.id, row.ov)
                        .and_then(|env| self.without_references(env, row))
                        .and_then(|env| version_of(env, located)),
                )
            }
            _ => None,
        }
    }

    /// The payload of a version kept in its row.
    fn inline_envelope(&self, bytes: &[u8], row: &VersionRef) -> Result<Envelope> {
        let env = PayloadCodec::decode_inline(bytes, &row.id, row.ov, row.deleted)?;
        self.without_references(env, row)
    }

    /// Loads the payload of a committed version (from its row, or its object), with its
    /// base64 properties put back.
    pub(super) async fn load(&self, row: &VersionRef) -> Result<Envelope> {
        let item_key = match &row.payload {
            PayloadRef::Object(key) => key,
            PayloadRef::Inline(bytes) => {
                let plain = self.open_stored(bytes, &row.id, row.ov, true).await?;
                return self.inline_envelope(&plain, row);
            }
        };
        let sealed = self.fetch(item_key, row).await?;
        let bytes = self.open_stored(&sealed, &row.id, row.ov, false).await?;
        let mut env = PayloadCodec::decode(&bytes, item_key, &row.id, row.ov)?;
        for path in self.inner.codec.references(&env.data) {
            let key = side_key(item_key, &path, "blob.bin");
            let raw = self.fetch(&key, row).await?;
            restore_base64(&mut env.data, &path, &raw);
        }
        Ok(env)
    }

    /// An envelope read from the index (inline, or a devShadow), which never refers to a
    /// base64 blob: versions with base64 properties are always payload objects.
    fn without_references(&self, env: Envelope, row: &VersionRef) -> Result<Envelope> {
        match self.inner.codec.references(&env.data).first() {
            None => Ok(env),
            Some(path) => Err(Error::Corrupt(format!(
                "payload of {}@v{} kept in the index refers to a base64 blob at {path}",
                row.id, row.ov
            ))),
        }
    }

    async fn fetch(&self, key: &str, row: &VersionRef) -> Result<bytes::Bytes> {
        self.inner.target.blobs.get(key).await?.ok_or_else(|| {
            Error::Corrupt(format!(
                "payload {key} of committed version {}@v{} is missing from bucket {}",
                row.id,
                row.ov,
                self.bucket()
            ))
        })
    }

    /// Applies projection and presigning to a loaded version.
    pub(super) async fn shape(
        &self,
        mut item: Version,
        row: &VersionRef,
        opts: &ReadOptions,
    ) -> Result<Version> {
        // An inline payload has no object to point a URL at.
        if let (true, Some(item_key)) = (opts.presign, row.payload.object_key()) {
            let ttl = opts.ttl.unwrap_or(DEFAULT_PRESIGN_TTL);
            let blobs = &self.inner.target.blobs;
            item.url = Some(blobs.url(item_key, ttl).await?);
            let mut urls = BTreeMap::new();
            for path in self.inner.codec.paths_in(&item.data) {
                let key = side_key(item_key, &path, "blob.bin");
                urls.insert(path, blobs.url(&key, ttl).await?);
            }
            item.blob_urls = urls;
        }
        project_item(item, opts)
    }
}

/// Keeps only the projected paths of a version's data, when a projection is asked for.
pub(super) fn project_item(mut item: Version, opts: &ReadOptions) -> Result<Version> {
    if let Some(paths) = &opts.projection {
        item.data = project(item.data, paths)?;
    }
    Ok(item)
}

/// A located version read: identity and history facts from the index row, the rest from its
/// payload.
fn version_of(env: Envelope, located: &Located) -> Result<Version> {
    let row = &located.version;
    Ok(Version {
        id: env.id,
        ov: row.ov,
        cv: row.cv,
        at: super::write::from_micros(row.at)?,
        deleted: row.deleted,
        kind: located.kind,
        data: env.data,
        actor: env.actor,
        reason: env.reason,
        function_ids: env.function_ids,
        url: None,
        blob_urls: BTreeMap::new(),
    })
}

/// Checks read options before any I/O.
pub(super) fn check_read_options(opts: &ReadOptions) -> Result<()> {
    if opts.presign {
        let ttl = opts.ttl.unwrap_or(DEFAULT_PRESIGN_TTL);
        if ttl.is_zero() || ttl > MAX_PRESIGN_TTL {
            return Err(Error::Validation(format!(
                "presign ttl must be between 1 second and {} seconds",
                MAX_PRESIGN_TTL.as_secs()
            )));
        }
    }
    if let Some(paths) = &opts.projection {
        for p in paths {
            crate::names::check_prop_path(p)
                .map_err(|e| Error::Validation(format!("projection: {e}")))?;
        }
    }
    Ok(())
}
