//! Payload storage through the `object_store` crate: S3-compatible buckets, local files and
//! memory behind one type. One [`BlobStore`] is one bucket.

mod keys;
mod local;
#[cfg(feature = "s3")]
pub mod s3;

pub use keys::{
    alternate_version_key, parse_payload_key, record_prefix, side_key, version_key, PayloadKey,
};

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
#[cfg(feature = "s3")]
use object_store::aws::AmazonS3;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
#[cfg(feature = "s3")]
use object_store::signer::{Method, Signer};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::config::Durability;
use crate::error::{Error, Result};

const BACKEND: &str = "object_store";

/// Outcome of a put-if-absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The object was written.
    Created,
    /// An object already existed at that key; nothing was written.
    AlreadyExists,
}

/// Keys with the time each was last written, as a bucket lists them.
pub type KeyStream =
    futures::stream::BoxStream<'static, Result<(String, chrono::DateTime<chrono::Utc>)>>;

/// A failure of the object store during `operation`: transient unless the store refused the
/// operation itself (a missing or existing object, a bad path, a permission).
fn store_err(operation: impl Into<String>) -> impl FnOnce(object_store::Error) -> Error {
    move |e| {
        let transient = matches!(
            e,
            object_store::Error::Generic { .. } | object_store::Error::JoinError { .. }
        );
        Error::storage(BACKEND, operation, e, transient)
    }
}

/// A failure of the file system during `operation`: transient unless it refused the
/// operation (a permission, an invalid name).
fn io_err(operation: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    use std::io::ErrorKind as K;
    move |e| {
        let refused = matches!(
            e.kind(),
            K::PermissionDenied | K::InvalidInput | K::InvalidData | K::Unsupported
        );
        Error::storage(BACKEND, operation, e, !refused)
    }
}

#[derive(Clone)]
enum Flavor {
    Local(PathBuf),
    Memory,
    #[cfg(feature = "s3")]
    S3(Arc<AmazonS3>),
}

/// One bucket of payloads.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    flavor: Flavor,
}

impl fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStore")
            .field("kind", &self.kind())
            .field("bucket", &self.bucket)
            .finish()
    }
}

impl BlobStore {
    /// A bucket as a sub-directory of `base` (created if missing), with every write synced
    /// to disk (the default durability).
    #[cfg(any(test, feature = "backend-api"))]
    pub fn local(base: &Path, bucket: &str) -> Result<Self> {
        Self::local_with(base, bucket, Durability::PowerLoss)
    }

    /// A bucket as a sub-directory of `base` (created if missing). With
    /// [`Durability::PowerLoss`] a put returns once the file, and every directory entry
    /// leading to it, is on disk. Deleting a file removes the directories it leaves empty.
    pub fn local_with(base: &Path, bucket: &str, durability: Durability) -> Result<Self> {
        let dir: PathBuf = base.join(bucket);
        crate::durable_dir::create(&dir, durability.syncs())
            .map_err(|e| io_err(format!("create directory {}", dir.display()))(e))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| io_err(format!("resolve directory {}", dir.display()))(e))?;
        let fs = LocalFileSystem::new_with_prefix(&dir)
            .map_err(store_err("open local bucket"))?
            .with_fsync(durability.syncs())
            .with_automatic_cleanup(true);
        Ok(BlobStore {
            store: Arc::new(fs),
            bucket: bucket.to_string(),
            flavor: Flavor::Local(dir),
        })
    }

    /// A bucket in process memory.
    pub fn memory(bucket: &str) -> Self {
        BlobStore {
            store: Arc::new(InMemory::new()),
            bucket: bucket.to_string(),
            flavor: Flavor::Memory,
        }
    }

    /// A bucket of an S3-compatible server.
    #[cfg(feature = "s3")]
    pub fn s3(store: AmazonS3, bucket: &str) -> Self {
        let s3 = Arc::new(store);
        BlobStore {
            store: s3.clone(),
            bucket: bucket.to_string(),
            flavor: Flavor::S3(s3),
        }
    }

    /// Bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Store kind: `local`, `memory` or `s3`.
    pub fn kind(&self) -> &'static str {
        match self.flavor {
            Flavor::Local(_) => "local",
            Flavor::Memory => "memory",
            #[cfg(feature = "s3")]
            Flavor::S3(_) => "s3",
        }
    }

    fn path(key: &str) -> Result<ObjectPath> {
        ObjectPath::parse(key)
            .map_err(|e| Error::Validation(format!("{key:?} is not a valid payload key: {e}")))
    }

    /// Writes `bytes` at `key` only if nothing is there yet.
    pub async fn put_if_absent(&self, key: &str, bytes: Bytes) -> Result<PutOutcome> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&Self::path(key)?, PutPayload::from_bytes(bytes), opts)
            .await
        {
            Ok(_) => Ok(PutOutcome::Created),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(PutOutcome::AlreadyExists),
            Err(e) => Err(store_err(format!("put {key}"))(e)),
        }
    }

    /// Writes `bytes` at `key`, replacing what is there.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.store
            .put_opts(
                &Self::path(key)?,
                PutPayload::from_bytes(bytes),
                PutOptions::default(),
            )
            .await
            .map(|_| ())
            .map_err(store_err(format!("put {key}")))
    }

    /// Reads the object at `key`; `None` when it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let path = Self::path(key)?;
        match self.store.get(&path).await {
            Ok(r) => r
                .bytes()
                .await
                .map(Some)
                .map_err(store_err(format!("read {key}"))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(format!("get {key}"))(e)),
        }
    }

    /// Deletes the object at `key` (no error when it is already gone).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(format!("delete {key}"))(e)),
        }
    }

    /// Deletes every object under `prefix` (a directory-like key prefix ending in `/`), and
    /// on local files the temporary files an interrupted put left there. Returns how many
    /// objects were removed.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let keys = self.list(prefix).await?;
        for key in &keys {
            self.delete(key).await?;
        }
        for (temporary, _) in self.unfinished_puts(prefix).await? {
            self.remove_unfinished_put(&temporary).await?;
        }
        Ok(keys.len() as u64)
    }

    /// The temporary files of puts that never finished under `prefix`, with the time each was
    /// last written (local files only: a process killed during a put leaves `<key>#<n>`, which
    /// listings do not show). Elsewhere none.
    pub async fn unfinished_puts(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
        let Flavor::Local(root) = &self.flavor else {
            return Ok(Vec::new());
        };
        let (root, prefix) = (root.clone(), prefix.to_string());
        tokio::task::spawn_blocking(move || local::unfinished_puts(&root, &prefix))
            .await
            .map_err(|e| Error::internal("list unfinished puts", e))?
            .map_err(io_err("list unfinished puts"))
    }

    /// Removes a temporary file [`BlobStore::unfinished_puts`] found, and the directories it
    /// leaves empty.
    pub async fn remove_unfinished_put(&self, key: &str) -> Result<()> {
        let Flavor::Local(root) = &self.flavor else {
            return Ok(());
        };
        let (root, key) = (root.clone(), key.to_string());
        tokio::task::spawn_blocking(move || local::remove_unfinished_put(&root, &key))
            .await
            .map_err(|e| Error::internal("remove an unfinished put", e))?
            .map_err(io_err("remove an unfinished put"))
    }

    /// Every key under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        self.list_stream(prefix)?
            .map_ok(|(key, _)| key)
            .try_collect()
            .await
    }

    /// Every key under `prefix` with the time it was last written, as the store lists them
    /// (memory stays bounded however many there are).
    pub fn list_stream(&self, prefix: &str) -> Result<KeyStream> {
        use futures::StreamExt;
        let path = Self::path(prefix.trim_end_matches('/'))?;
        let operation = format!("list {prefix}");
        Ok(self
            .store
            .list(Some(&path))
            .map(move |found| match found {
                Ok(m) => Ok((m.location.to_string(), m.last_modified)),
                Err(e) => Err(store_err(operation.clone())(e)),
            })
            .boxed())
    }

    /// Whether two handles reach the same bucket through the same store.
    pub fn same_as(&self, other: &BlobStore) -> bool {
        Arc::ptr_eq(&self.store, &other.store)
    }

    /// A URL a client can GET the object from: a presigned URL valid for `ttl` on S3, the
    /// absolute file path for local files. Payloads kept in memory have none.
    #[cfg_attr(not(feature = "s3"), allow(unused_variables))]
    pub async fn url(&self, key: &str, ttl: Duration) -> Result<String> {
        let path = Self::path(key)?;
        match &self.flavor {
            #[cfg(feature = "s3")]
            Flavor::S3(s3) => s3
                .signed_url(Method::GET, &path, ttl)
                .await
                .map(|u| u.to_string())
                .map_err(store_err(format!("presign {key}"))),
            Flavor::Local(root) => Ok(root.join(key).display().to_string()),
            Flavor::Memory => Err(Error::Validation(
                "payloads kept in memory have no URL; presign needs S3 or local files".into(),
            )),
        }
    }

    /// Checks the bucket answers: a read of a key that does not exist must say "not found".
    pub async fn ping(&self) -> Result<()> {
        let probe = Self::path("chronos-health-probe")?;
        match self.store.head(&probe).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err("ping")(e)),
        }
    }
}
