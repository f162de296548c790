//! One client per named connection, shared by every route that names it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::blob::BlobStore;
use crate::config::{ChronosConfig, DatabaseEntry};
use crate::error::{Error, Result};
use crate::index::sqlite::SqliteIndex;
use crate::index::IndexStore;

/// Index stores by `dbConnections` name and bucket stores by (connection, bucket).
#[derive(Debug, Default)]
pub struct Backends {
    index: HashMap<String, Arc<dyn IndexStore>>,
    blobs: HashMap<(String, String), BlobStore>,
}

/// Where payloads of one entry go: a spaces connection, or the `localStorage` directory.
enum BlobSource {
    Local(PathBuf),
    Memory,
}

impl Backends {
    /// Opens every index connection of the configuration.
    pub fn open(config: &ChronosConfig) -> Result<Self> {
        let mut backends = Backends::default();
        for (name, conn) in &config.db_connections {
            let store: Arc<dyn IndexStore> =
                match (&conn.sqlite_dir, &conn.mongo_uri) {
                    (Some(dir), _) => Arc::new(SqliteIndex::open(dir)?),
                    (None, Some(_)) => return Err(Error::config(
                        format!("dbConnections.{name}.mongoUri"),
                        "the MongoDB index store is not built into this version yet; use sqliteDir",
                    )),
                    (None, None) => {
                        return Err(Error::config(
                            format!("dbConnections.{name}"),
                            "set exactly one of mongoUri or sqliteDir",
                        ))
                    }
                };
            backends.index.insert(name.clone(), store);
        }
        Ok(backends)
    }

    /// The index store of a connection name (validated to exist).
    pub fn index(&self, name: &str) -> Result<Arc<dyn IndexStore>> {
        self.index
            .get(name)
            .cloned()
            .ok_or_else(|| Error::config("dbConnections", format!("unknown connection {name:?}")))
    }

    /// The bucket store of an entry, shared with every other entry naming the same bucket on
    /// the same connection.
    pub fn blobs(
        &mut self,
        config: &ChronosConfig,
        entry: &DatabaseEntry,
        path: &str,
    ) -> Result<BlobStore> {
        let (conn_name, source) = match &config.local_storage {
            Some(local) if local.enabled => (
                "(localStorage)".to_string(),
                BlobSource::Local(local.base_path.clone()),
            ),
            _ => {
                let name = entry.space_conn_ref.clone().unwrap_or_default();
                let conn = config.spaces_connections.get(&name).ok_or_else(|| {
                    Error::config(
                        format!("{path}.spaceConnRef"),
                        format!("unknown connection {name:?}"),
                    )
                })?;
                let source =
                    match (&conn.local_path, conn.memory) {
                        (Some(dir), _) => BlobSource::Local(dir.clone()),
                        (None, Some(true)) => BlobSource::Memory,
                        _ => return Err(Error::config(
                            format!("spacesConnections.{name}"),
                            "S3 payload storage is not built into this version yet; use localPath",
                        )),
                    };
                (name, source)
            }
        };
        let key = (conn_name, entry.bucket.clone());
        if let Some(store) = self.blobs.get(&key) {
            return Ok(store.clone());
        }
        let store = match source {
            BlobSource::Local(dir) => BlobStore::local(&dir, &entry.bucket)?,
            BlobSource::Memory => BlobStore::memory(&entry.bucket),
        };
        self.blobs.insert(key, store.clone());
        Ok(store)
    }
}
