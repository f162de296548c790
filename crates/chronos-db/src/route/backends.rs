//! One client per named connection, shared by every route that names it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

#[cfg(feature = "s3")]
use crate::blob::s3::SharedHttp;
use crate::blob::BlobStore;
use crate::config::{redact, Durability};
use crate::config::{ChronosConfig, DbConnection, S3Connection, SpacesConnection};
use crate::error::{Error, Result};
use crate::index::sqlite::SqliteIndex;
use crate::index::IndexStore;

/// An opened index connection.
#[derive(Debug, Clone)]
pub struct IndexConn {
    /// Connection name.
    pub name: String,
    /// Where it points, with credentials redacted.
    pub target: String,
    /// The store.
    pub store: Arc<dyn IndexStore>,
}

/// An opened bucket.
#[derive(Debug, Clone)]
pub struct BucketConn {
    /// Connection name (`(localStorage)` for the localStorage directory).
    pub name: String,
    /// Where it points, with credentials redacted.
    pub target: String,
    /// The bucket.
    pub store: BlobStore,
}

/// Index stores by `dbConnections` name and buckets by (connection, bucket).
#[derive(Debug, Default)]
pub struct Backends {
    index: HashMap<String, IndexConn>,
    buckets: HashMap<(String, String), BucketConn>,
    /// One HTTP client per S3 connection, shared by its buckets.
    #[cfg(feature = "s3")]
    http: HashMap<String, Arc<SharedHttp>>,
}

/// Name under which the `localStorage` directory appears.
const LOCAL_STORAGE: &str = "(localStorage)";

impl Backends {
    /// Opens every index connection of a validated configuration (MongoDB clients connect
    /// lazily, so a server that is down is reported on first use, not here).
    pub async fn open(config: &ChronosConfig) -> Result<Self> {
        let mut backends = Backends::default();
        let durability = config.write_optimization.durability.unwrap_or_default();
        for (name, conn) in &config.db_connections {
            let opened = open_index(name, conn, config, durability).await?;
            backends.index.insert(name.clone(), opened);
        }
        Ok(backends)
    }

    /// The index connection of a name (validated to exist).
    pub fn index(&self, name: &str) -> Result<IndexConn> {
        self.index
            .get(name)
            .cloned()
            .ok_or_else(|| Error::config("dbConnections", format!("unknown connection {name:?}")))
    }

    /// Every index connection.
    pub fn index_conns(&self) -> impl Iterator<Item = &IndexConn> {
        self.index.values()
    }

    /// Every opened bucket.
    pub fn bucket_conns(&self) -> impl Iterator<Item = &BucketConn> {
        self.buckets.values()
    }

    /// The bucket `bucket` on connection `conn_name` (`None` = the localStorage directory),
    /// shared with every other entry naming the same bucket on the same connection.
    pub fn bucket(
        &mut self,
        config: &ChronosConfig,
        conn_name: Option<&str>,
        bucket: &str,
    ) -> Result<BucketConn> {
        let name = conn_name.unwrap_or(LOCAL_STORAGE).to_string();
        let key = (name.clone(), bucket.to_string());
        if let Some(b) = self.buckets.get(&key) {
            return Ok(b.clone());
        }
        let opened = match conn_name {
            None => {
                let base = config
                    .local_storage
                    .as_ref()
                    .map(|l| l.base_path.clone())
                    .unwrap_or_default();
                local_bucket(&name, &base, bucket, durability(config))?
            }
            Some(conn_name) => {
                let conn = config.spaces_connections.get(conn_name).ok_or_else(|| {
                    Error::config(
                        "spacesConnections",
                        format!("unknown connection {conn_name:?}"),
                    )
                })?;
                self.open_bucket(&name, conn, bucket, durability(config))?
            }
        };
        self.buckets.insert(key, opened.clone());
        Ok(opened)
    }
}

async fn open_index(
    name: &str,
    conn: &DbConnection,
    config: &ChronosConfig,
    durability: Durability,
) -> Result<IndexConn> {
    let (target, store): (String, Arc<dyn IndexStore>) = match conn {
        DbConnection::Sqlite { dir } => (
            dir.display().to_string(),
            Arc::new(
                SqliteIndex::open_with(dir, durability)?.with_mmap(
                    config
                        .write_optimization
                        .sqlite_mmap_bytes
                        .unwrap_or(crate::index::sqlite::DEFAULT_MMAP_BYTES),
                ),
            ),
        ),
        DbConnection::MongoDb {
            uri,
            server_selection_timeout_ms,
        } => (
            redact(uri),
            open_mongodb(name, uri, *server_selection_timeout_ms, config).await?,
        ),
    };
    Ok(IndexConn {
        name: name.to_string(),
        target,
        store,
    })
}

/// A MongoDB index store (its client connects on first use).
#[cfg(feature = "mongodb")]
async fn open_mongodb(
    name: &str,
    uri: &str,
    server_selection_timeout_ms: Option<u64>,
    config: &ChronosConfig,
) -> Result<Arc<dyn IndexStore>> {
    use crate::index::mongodb::{MongoIndex, TransactionMode};
    let mode = match (config.transactions.enabled, config.transactions.auto_detect) {
        (Some(true), _) => TransactionMode::Forced,
        (Some(false), _) | (None, Some(false)) => TransactionMode::Off,
        (None, _) => TransactionMode::Detect,
    };
    let timeout = server_selection_timeout_ms.map(std::time::Duration::from_millis);
    match MongoIndex::connect(uri, mode, timeout).await {
        Ok(store) => Ok(Arc::new(store)),
        Err(e) => Err(Error::config(
            format!("dbConnections.{name}.mongoUri"),
            scrub(&e.to_string(), uri),
        )),
    }
}

/// Without the `mongodb` feature (validation refuses such connections first).
#[cfg(not(feature = "mongodb"))]
async fn open_mongodb(
    name: &str,
    _uri: &str,
    _server_selection_timeout_ms: Option<u64>,
    _config: &ChronosConfig,
) -> Result<Arc<dyn IndexStore>> {
    Err(Error::config(
        format!("dbConnections.{name}.mongoUri"),
        crate::config::NO_MONGODB,
    ))
}

fn durability(config: &ChronosConfig) -> Durability {
    config.write_optimization.durability.unwrap_or_default()
}

fn local_bucket(
    name: &str,
    base: &std::path::Path,
    bucket: &str,
    durability: Durability,
) -> Result<BucketConn> {
    Ok(BucketConn {
        name: name.to_string(),
        target: base.join(bucket).display().to_string(),
        store: BlobStore::local_with(base, bucket, durability)?,
    })
}

impl Backends {
    fn open_bucket(
        &mut self,
        name: &str,
        conn: &SpacesConnection,
        bucket: &str,
        durability: Durability,
    ) -> Result<BucketConn> {
        match conn {
            SpacesConnection::Local { path } => local_bucket(name, path, bucket, durability),
            SpacesConnection::Memory => Ok(BucketConn {
                name: name.to_string(),
                target: format!("memory:{bucket}"),
                store: BlobStore::memory(bucket),
            }),
            SpacesConnection::S3(s3) => Ok(BucketConn {
                name: name.to_string(),
                target: format!("{}/{bucket}", redact(&s3.endpoint)),
                store: self.s3_bucket(name, s3, bucket)?,
            }),
        }
    }

    /// A bucket of an S3 connection, on the connection's shared HTTP client.
    #[cfg(feature = "s3")]
    fn s3_bucket(&mut self, name: &str, s3: &S3Connection, bucket: &str) -> Result<BlobStore> {
        let http = self.http.entry(name.to_string()).or_default().clone();
        let store = crate::blob::s3::build(s3, bucket, http, name)?;
        Ok(BlobStore::s3(store, bucket))
    }

    /// Without the `s3` feature (validation refuses such connections first).
    #[cfg(not(feature = "s3"))]
    fn s3_bucket(&mut self, name: &str, _s3: &S3Connection, _bucket: &str) -> Result<BlobStore> {
        Err(Error::config(
            format!("spacesConnections.{name}"),
            crate::config::NO_S3,
        ))
    }
}

/// Removes the password of `uri` from a message, should a driver echo it.
#[cfg(any(feature = "mongodb", test))]
fn scrub(message: &str, uri: &str) -> String {
    let redacted = redact(uri);
    let mut out = message.replace(uri, &redacted);
    if let Some(secret) = password_of(uri) {
        if !secret.is_empty() {
            out = out.replace(secret, "***");
        }
    }
    out
}

#[cfg(any(feature = "mongodb", test))]
fn password_of(uri: &str) -> Option<&str> {
    let rest = &uri[uri.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    userinfo.split_once(':').map(|(_, p)| p)
}

/// Where local payload files of an entry live, if `localStorage` is enabled.
pub fn local_storage_dir(config: &ChronosConfig) -> Option<PathBuf> {
    config
        .local_storage
        .as_ref()
        .filter(|l| l.enabled)
        .map(|l| l.base_path.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_the_password_from_messages() {
        assert_eq!(
            scrub("auth failed for s3cr3t", "mongodb://u:s3cr3t@h/"),
            "auth failed for ***"
        );
    }
}
