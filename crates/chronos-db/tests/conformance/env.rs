//! Test environments: one per backend pair, each with a fresh set of databases.

use chronos_db::config::{DbConnection, SpacesConnection};
use chronos_db::{Chronos, ChronosConfig, Collection, DbType, Route};
use serde_json::json;
use tempfile::TempDir;

#[path = "../support/servers.rs"]
mod servers;
pub use servers::servers;

/// A running instance with tenants `tenant-a` and `tenant-b`, domain `healthcare`, and
/// collection maps for `orders` (declared indexed props, required props).
pub struct Env {
    pub chronos: Chronos,
    /// The configuration `chronos` runs with, to start variants of it.
    pub config: ChronosConfig,
    /// `local`, `memory` or `s3`.
    pub payloads: &'static str,
    /// `writeOptimization.payloadLayout`: `inline` or `objects`.
    pub layout: &'static str,
    _dir: TempDir,
}

impl Env {
    /// A runtime collection of a tenant.
    pub fn tenant(&self, tenant: &str, collection: &str) -> Collection {
        self.chronos
            .with(Route::tenant(DbType::Runtime, tenant, collection))
            .expect("configured tenant route")
    }

    /// Whether payloads are objects (`payloadLayout: objects`) rather than inline.
    pub fn objects(&self) -> bool {
        self.layout == "objects"
    }

    /// Another instance on the same databases with top-level configuration keys replaced
    /// (the pair's payload layout is kept unless `changes` names one).
    pub async fn variant(&self, changes: serde_json::Value) -> Chronos {
        let mut json = serde_json::to_value(&self.config).expect("config to JSON");
        let mut changes = changes;
        if changes["writeOptimization"]["payloadLayout"].is_null() {
            changes["writeOptimization"]["payloadLayout"] = json!(self.layout);
        }
        if let (Some(c), Some(e)) = (json.as_object_mut(), changes.as_object()) {
            c.extend(e.clone());
        }
        let config = ChronosConfig::from_json_value(json).expect("variant config is valid");
        Chronos::init(config).await.expect("variant init")
    }

    /// Another instance on the same index databases whose object storage fails every write
    /// (an S3 endpoint nobody listens on; a local directory replaced by a file after start),
    /// with top-level configuration keys replaced as in [`Env::variant`]. It keeps every
    /// payload as an object, so every write meets the failure.
    pub async fn broken_payloads(&self, changes: serde_json::Value) -> Chronos {
        let mut changes = changes;
        changes["writeOptimization"]["payloadLayout"] = json!("objects");
        let spaces = match self.payloads {
            "s3" => {
                let mut conn = serde_json::to_value(&self.config.spaces_connections["payloads"])
                    .expect("spaces connection to JSON");
                conn["endpoint"] = json!("http://127.0.0.1:9");
                conn
            }
            _ => {
                let base = self._dir.path().join(format!("broken-{}", uuid_like()));
                json!({ "localPath": base })
            }
        };
        changes["spacesConnections"] = json!({ "payloads": spaces.clone() });
        let chronos = self.variant(changes).await;
        if let Some(base) = spaces["localPath"].as_str() {
            std::fs::remove_dir_all(base).expect("remove broken payload dir");
            std::fs::write(base, b"not a directory").expect("block broken payload dir");
        }
        chronos
    }

    /// The raw bytes behind a URL from `ReadOptions::presign`: a file path or a presigned
    /// GET (fetched with curl). `None` for in-memory payloads, which have no URL.
    pub fn fetch_url(&self, url: &str) -> Option<Vec<u8>> {
        match self.payloads {
            "memory" => None,
            "local" => Some(std::fs::read(url).expect("read payload file")),
            _ => {
                let out = std::process::Command::new("curl")
                    .args(["-sf", url])
                    .output()
                    .expect("run curl");
                assert!(out.status.success(), "curl {url}: {out:?}");
                Some(out.stdout)
            }
        }
    }

    /// A second handle on the suite's index store, opened directly through the backend (no
    /// `Chronos`), to plant or inspect rows the public API cannot reach.
    pub async fn raw_index(&self) -> std::sync::Arc<dyn chronos_db::index::IndexStore> {
        let conn = &self.config.db_connections["index"];
        match conn {
            DbConnection::Sqlite { dir } => std::sync::Arc::new(
                chronos_db::index::sqlite::SqliteIndex::open(dir).expect("open sqlite index"),
            ),
            #[cfg(not(feature = "mongodb"))]
            DbConnection::MongoDb { .. } => panic!("built without the mongodb feature"),
            #[cfg(feature = "mongodb")]
            DbConnection::MongoDb { uri, .. } => std::sync::Arc::new(
                chronos_db::index::mongodb::MongoIndex::connect(
                    uri,
                    chronos_db::index::mongodb::TransactionMode::Off,
                    None,
                )
                .await
                .expect("connect mongodb"),
            ),
        }
    }

    /// A second handle on `tenant-a`'s bucket, opened directly (no `Chronos`), to change
    /// payload objects behind chronos-db's back; `None` for in-memory payloads, which only
    /// the suite's instance can reach.
    pub fn raw_tenant_a_blobs(&self) -> Option<chronos_db::blob::BlobStore> {
        let bucket = "chronos-test-a";
        match &self.config.spaces_connections["payloads"] {
            SpacesConnection::Local { path } => {
                Some(chronos_db::blob::BlobStore::local(path, bucket).expect("open local bucket"))
            }
            SpacesConnection::Memory => None,
            #[cfg(not(feature = "s3"))]
            SpacesConnection::S3(_) => panic!("built without the s3 feature"),
            #[cfg(feature = "s3")]
            SpacesConnection::S3(conn) => {
                use chronos_db::blob::s3::{build, SharedHttp};
                let http = std::sync::Arc::new(SharedHttp::default());
                let s3 = build(conn, bucket, http, "s3").expect("connect s3");
                Some(chronos_db::blob::BlobStore::s3(s3, bucket))
            }
        }
    }

    /// Changes the stored version `ov` of `id` in `tenant-a`'s collection `collection`
    /// directly in the index database (SQLite or MongoDB), behind chronos-db's back, as
    /// `how` says.
    pub async fn tamper_row(&self, collection: &str, id: &str, ov: u64, how: Tamper) {
        let db = self.tenant_a_db();
        match &self.config.db_connections["index"] {
            DbConnection::Sqlite { dir } => {
                let conn = rusqlite::Connection::open(dir.join(format!("{db}.sqlite3")))
                    .expect("open index file");
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .unwrap();
                let change = match how {
                    Tamper::Payload => "UPDATE {} SET payload = payload || x'20'",
                    Tamper::Actor => "UPDATE {} SET actor = 'mallory'",
                    Tamper::Remove => "DELETE FROM {}",
                }
                .replace("{}", &format!("\"{collection}_ver\""));
                let changed = conn
                    .execute(
                        &format!("{change} WHERE id = ?1 AND ov = ?2"),
                        rusqlite::params![id, ov as i64],
                    )
                    .expect("tamper with a version row");
                assert_eq!(changed, 1, "one row changed");
            }
            #[cfg(not(feature = "mongodb"))]
            DbConnection::MongoDb { .. } => panic!("built without the mongodb feature"),
            #[cfg(feature = "mongodb")]
            DbConnection::MongoDb { uri, .. } => {
                use mongodb::bson::{doc, Bson};
                let client = mongodb::Client::with_uri_str(uri).await.expect("connect");
                let ver = client
                    .database(&db)
                    .collection::<mongodb::bson::Document>(&format!("{collection}_ver"));
                let filter = doc! {"id": id, "ov": ov as i64};
                if how == Tamper::Remove {
                    let removed = ver.delete_one(filter).await.expect("tamper");
                    assert_eq!(removed.deleted_count, 1, "one document removed");
                    return;
                }
                let update = match how {
                    Tamper::Actor | Tamper::Remove => doc! {"$set": {"actor": "mallory"}},
                    Tamper::Payload => {
                        let found = ver
                            .find_one(filter.clone())
                            .await
                            .unwrap()
                            .expect("version");
                        let Some(Bson::Binary(mut bin)) = found.get("payload").cloned() else {
                            panic!("version {ov} of {id} has no inline payload");
                        };
                        bin.bytes.push(b' ');
                        doc! {"$set": {"payload": Bson::Binary(bin)}}
                    }
                };
                let changed = ver.update_one(filter, update).await.expect("tamper");
                assert_eq!(changed.modified_count, 1, "one document changed");
            }
        }
    }

    /// The record (and analytics) database of `tenant-a`'s runtime entry.
    pub fn tenant_a_db(&self) -> String {
        self.config
            .databases
            .runtime
            .as_ref()
            .expect("runtime databases")
            .tenant_databases[0]
            .db_name
            .clone()
    }

    /// `tenant-a`'s runtime collection.
    pub fn coll(&self, collection: &str) -> Collection {
        self.tenant("tenant-a", collection)
    }
}

/// How [`Env::tamper_row`] changes a version row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Sets its actor to `mallory`.
    Actor,
    /// Appends a space to its inline payload bytes.
    Payload,
    /// Deletes it.
    Remove,
}

/// The suite's configuration on the given connections. Database names carry a unique prefix
/// so pairs backed by shared servers never see another test's data.
fn suite_config(db: DbConnection, spaces: SpacesConnection, layout: &str) -> ChronosConfig {
    suite_config_with(db, spaces, layout, json!({}))
}

/// The suite's configuration with top-level `extra` keys merged in.
fn suite_config_with(
    db: DbConnection,
    spaces: SpacesConnection,
    layout: &str,
    extra: serde_json::Value,
) -> ChronosConfig {
    let p = format!("t{}", uuid_like());
    let entry = |tenant: Option<&str>, domain: Option<&str>, name: &str, bucket: &str| {
        let mut e = json!({
            "dbConnRef": "index",
            "spaceConnRef": "payloads",
            "bucket": bucket,
            "dbName": format!("{p}_{name}"),
        });
        if let Some(t) = tenant {
            e["tenantId"] = json!(t);
        }
        if let Some(d) = domain {
            e["domain"] = json!(d);
        }
        e
    };
    let config = json!({
        "writeOptimization": { "payloadLayout": layout },
        "dbConnections": { "index": db },
        "spacesConnections": { "payloads": spaces },
        "databases": {
            "metadata": {
                "genericDatabase": entry(None, None, "meta_generic", "chronos-test-generic"),
                "domainsDatabases": [entry(None, Some("healthcare"), "meta_health", "chronos-test-domain")],
                "tenantDatabases": [entry(Some("tenant-a"), None, "meta_a", "chronos-test-a")]
            },
            "runtime": {
                "genericDatabase": entry(None, None, "rt_generic", "chronos-test-generic"),
                "tenantDatabases": [
                    entry(Some("tenant-a"), None, "rt_a", "chronos-test-a"),
                    entry(Some("tenant-b"), None, "rt_b", "chronos-test-b")
                ]
            },
            "logs": entry(None, None, "logs", "chronos-test-generic")
        },
        "collectionMaps": {
            "orders": {
                "indexedProps": ["orderId", "customer.id", "total", "status"],
                "validation": { "requiredIndexed": ["orderId", "total"] }
            },
            "attachments": {
                "indexedProps": ["title"],
                "base64Props": {
                    "file": { "contentType": "application/pdf" },
                    "note.body": { "contentType": "text/plain", "preferredText": true, "textCharset": "utf-8" }
                }
            }
        }
    });
    let mut config = config;
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    ChronosConfig::from_json_value(config).expect("suite config is valid")
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:x}{n:x}{:x}", nanos & 0xffff_ffff, std::process::id())
}

async fn start(
    config: ChronosConfig,
    dir: TempDir,
    payloads: &'static str,
    layout: &'static str,
) -> Env {
    let chronos = Chronos::init(config.clone()).await.expect("init");
    Env {
        chronos,
        config,
        payloads,
        layout,
        _dir: dir,
    }
}

/// SQLite index + local-file payloads: the embedded default.
async fn sqlite_local(layout: &'static str) -> Option<Env> {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = suite_config(
        DbConnection::sqlite(dir.path().join("index")),
        SpacesConnection::local(dir.path().join("blobs")),
        layout,
    );
    Some(start(config, dir, "local", layout).await)
}

/// SQLite index + in-memory payloads.
async fn sqlite_memory(layout: &'static str) -> Option<Env> {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = suite_config(
        DbConnection::sqlite(dir.path().join("index")),
        SpacesConnection::Memory,
        layout,
    );
    Some(start(config, dir, "memory", layout).await)
}

async fn mongodb_s3(transactions: bool, layout: &'static str) -> Option<Env> {
    if !cfg!(all(feature = "mongodb", feature = "s3")) {
        eprintln!("skipped: built without the mongodb and s3 features");
        return None;
    }
    let servers = servers()?;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = suite_config_with(
        DbConnection::mongodb(servers.mongo_uri),
        servers.s3,
        layout,
        json!({"transactions": {"enabled": transactions}}),
    );
    Some(start(config, dir, "s3", layout).await)
}

/// The embedded default: SQLite + local files, small payloads inline.
pub async fn sqlite_local_files() -> Option<Env> {
    sqlite_local("inline").await
}

/// SQLite + local files, one object per version.
pub async fn sqlite_local_files_objects() -> Option<Env> {
    sqlite_local("objects").await
}

/// SQLite + in-memory payloads, small payloads inline.
pub async fn sqlite_memory_payloads() -> Option<Env> {
    sqlite_memory("inline").await
}

/// SQLite + in-memory payloads, one object per version.
pub async fn sqlite_memory_payloads_objects() -> Option<Env> {
    sqlite_memory("objects").await
}

/// MongoDB (multi-document transactions) + S3, small payloads inline.
pub async fn mongodb_s3_transactions() -> Option<Env> {
    mongodb_s3(true, "inline").await
}

/// MongoDB without transactions (as on a standalone server) + S3, small payloads inline.
pub async fn mongodb_s3_no_transactions() -> Option<Env> {
    mongodb_s3(false, "inline").await
}

/// MongoDB without transactions + S3, one object per version.
pub async fn mongodb_s3_no_transactions_objects() -> Option<Env> {
    mongodb_s3(false, "objects").await
}
