//! Test environments: one per backend pair, each with a fresh set of databases.

use chronos_db::config::{DbConnection, SpacesConnection};
use chronos_db::{Chronos, ChronosConfig, Collection, DbType, Route};
use serde_json::json;
use tempfile::TempDir;

/// A running instance with tenants `tenant-a` and `tenant-b`, domain `healthcare`, and
/// collection maps for `orders` (declared indexed props, required props).
pub struct Env {
    pub chronos: Chronos,
    _dir: TempDir,
}

impl Env {
    /// A runtime collection of a tenant.
    pub fn tenant(&self, tenant: &str, collection: &str) -> Collection {
        self.chronos
            .with(Route::tenant(DbType::Runtime, tenant, collection))
            .expect("configured tenant route")
    }

    /// `tenant-a`'s runtime collection.
    pub fn coll(&self, collection: &str) -> Collection {
        self.tenant("tenant-a", collection)
    }
}

/// The suite's configuration on the given connections. Database names carry a unique prefix
/// so pairs backed by shared servers never see another test's data.
fn suite_config(db: DbConnection, spaces: SpacesConnection) -> ChronosConfig {
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
            }
        }
    });
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

async fn start(config: ChronosConfig, dir: TempDir) -> Env {
    let chronos = Chronos::init(config).await.expect("init");
    Env { chronos, _dir: dir }
}

/// SQLite index + local-file payloads: the embedded default.
pub async fn sqlite_local_files() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = suite_config(
        DbConnection {
            sqlite_dir: Some(dir.path().join("index")),
            ..Default::default()
        },
        SpacesConnection {
            local_path: Some(dir.path().join("blobs")),
            ..Default::default()
        },
    );
    start(config, dir).await
}

/// SQLite index + in-memory payloads.
pub async fn sqlite_memory_payloads() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = suite_config(
        DbConnection {
            sqlite_dir: Some(dir.path().join("index")),
            ..Default::default()
        },
        SpacesConnection {
            memory: Some(true),
            ..Default::default()
        },
    );
    start(config, dir).await
}
