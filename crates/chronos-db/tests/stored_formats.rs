//! Stores written by an earlier storage format open, migrate and read back every version
//! exactly as they were acknowledged.
//!
//! The fixtures under `tests/fixtures/format-<n>/` were written by the code of that format:
//! `sqlite/` is a whole embedded data directory (index files and payload files), `mongodb/`
//! a dump of every document of its index database (canonical extended JSON) beside its
//! payload files. `expected.json` beside each holds what the public API answered right after
//! the writes. To write the fixtures of the current format into `DIR` (for the day it is an
//! older one), with the test servers running:
//!
//! ```text
//! CHRONOS_FORMAT_FIXTURE_DIR=DIR cargo test --test stored_formats -- --ignored write_fixtures
//! ```

#[path = "support/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};

use chronos_db::config::DbConnection;
use chronos_db::{
    ChangesQuery, Chronos, ChronosConfig, Collection, DbType, EnrichMeta, HistoryQuery, ListQuery,
    ReadOptions, RestoreTarget, Route, WriteMeta,
};
use futures::TryStreamExt;
use serde_json::{json, Value};

/// Collections the fixtures write.
const COLLECTIONS: [&str; 2] = ["orders", "notes"];

/// The fixtures' configuration: tenant `tenant-a` in database `db_name`, payloads under
/// `blobs`, compression on (so stored bytes of both kinds exist), `orders` with indexed
/// properties.
fn config(index: DbConnection, blobs: &Path, db_name: &str) -> ChronosConfig {
    ChronosConfig::from_json_value(json!({
        "writeOptimization": { "compressionEnabled": true },
        "dbConnections": { "index": index },
        "spacesConnections": { "payloads": { "localPath": blobs } },
        "databases": {
            "runtime": {
                "tenantDatabases": [{
                    "tenantId": "tenant-a", "dbConnRef": "index", "spaceConnRef": "payloads",
                    "bucket": "fixture-a", "dbName": db_name
                }]
            }
        },
        "collectionMaps": { "orders": { "indexedProps": ["status", "total"] } }
    }))
    .expect("fixture config is valid")
}

fn coll(chronos: &Chronos, name: &str) -> Collection {
    chronos
        .with(Route::tenant(DbType::Runtime, "tenant-a", name))
        .expect("fixture route")
}

fn meta(reason: &str) -> WriteMeta {
    WriteMeta::new("fixture", reason)
}

/// Text that gzip cannot shrink much, so its payload is stored as an object.
fn noise(len: usize) -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// Every kind of write: small payloads (inline), compressible large ones (gzip, inline),
/// incompressible large ones (objects), deletes, enrichments, restores, a batch.
async fn write_history(chronos: &Chronos) {
    let orders = coll(chronos, "orders");
    let a = orders
        .create_with_id(
            "order-a",
            json!({"status": "open", "total": 10}),
            meta("new"),
        )
        .await
        .unwrap();
    let a = orders
        .update(
            "order-a",
            json!({"status": "paid", "total": 12.5, "lines": ["x".repeat(3000)]}),
            a.ov,
            meta("paid"),
        )
        .await
        .unwrap();
    let a = orders
        .enrich(
            "order-a",
            json!({"tags": ["vip"]}),
            EnrichMeta::new("tagger@1", "enricher", "tag").expecting(a.ov),
        )
        .await
        .unwrap();
    let a = orders.delete("order-a", a.ov, meta("gone")).await.unwrap();
    orders
        .restore_object("order-a", RestoreTarget::Ov(1), meta("back"))
        .await
        .unwrap();
    let _ = a;
    let b = orders
        .create_with_id(
            "order-b",
            json!({"status": "open", "total": 99, "blob": noise(9000)}),
            meta("big"),
        )
        .await
        .unwrap();
    orders
        .update(
            "order-b",
            json!({"status": "open", "total": 100, "blob": noise(9001), "ünïcode": "✓"}),
            b.ov,
            meta("bigger"),
        )
        .await
        .unwrap();
    orders
        .create_many(
            vec![
                json!({"status": "open", "total": 1}),
                json!({"status": "closed", "total": 2, "nested": {"deep": [1, {"k": null}]}}),
            ],
            meta("batch"),
        )
        .await
        .unwrap();
    let notes = coll(chronos, "notes");
    let n = notes
        .create_with_id("note-1", json!({"text": "hello"}), meta("note"))
        .await
        .unwrap();
    notes
        .update("note-1", json!({"text": "hello again"}), n.ov, meta("edit"))
        .await
        .unwrap();
}

/// Everything the public API answers about the fixture's records: every version with its
/// data and provenance, each record's latest state and history, a listing, the change feed
/// and the hash chain's verdict.
async fn snapshot(chronos: &Chronos) -> Value {
    let mut out = serde_json::Map::new();
    for name in COLLECTIONS {
        let c = coll(chronos, name);
        let exported: Vec<_> = c.export().try_collect().await.unwrap();
        let mut ids: Vec<String> = exported.iter().map(|v| v.id.clone()).collect();
        ids.dedup();
        let mut records = serde_json::Map::new();
        for id in &ids {
            let latest = c.get_latest(id, ReadOptions::default()).await.unwrap();
            let history = c
                .history(id, HistoryQuery::default().with_data())
                .await
                .unwrap();
            let mut versions = Vec::new();
            for v in &history.versions {
                versions.push(
                    c.get_version(id, v.ov, ReadOptions::default())
                        .await
                        .unwrap(),
                );
            }
            let verify = c.verify(id).await.unwrap();
            records.insert(
                id.clone(),
                json!({"latest": latest, "history": history, "versions": versions, "verify": verify}),
            );
        }
        let listing = c
            .list_by_meta(
                ListQuery::filter(json!({"status": "open"})),
                ReadOptions::default(),
            )
            .await
            .unwrap();
        let changes = c
            .changes(ChangesQuery::default().with_data())
            .await
            .unwrap();
        out.insert(
            name.to_string(),
            json!({
                "export": exported,
                "records": records,
                "listing": listing.items,
                "changes": changes.changes,
                "verifyAll": c.verify_all().await.unwrap(),
            }),
        );
    }
    Value::Object(out)
}

fn fixture_root(format: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("format-{format}"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

#[cfg(feature = "mongodb")]
mod mongo_dump {
    //! Every document of a MongoDB database, as canonical extended JSON (types kept exactly).
    use mongodb::bson::{Bson, Document};
    use serde_json::{Map, Value};

    pub async fn dump(uri: &str, db_name: &str) -> Value {
        let client = mongodb::Client::with_uri_str(uri).await.unwrap();
        let db = client.database(db_name);
        let mut names = db.list_collection_names().await.unwrap();
        names.sort();
        let mut out = Map::new();
        for name in names {
            use futures::TryStreamExt;
            let docs: Vec<Document> = db
                .collection::<Document>(&name)
                .find(mongodb::bson::doc! {})
                .sort(mongodb::bson::doc! {"_id": 1})
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            let docs = docs
                .into_iter()
                .map(|d| Bson::Document(d).into_canonical_extjson())
                .collect();
            out.insert(name, Value::Array(docs));
        }
        client.shutdown().await;
        Value::Object(out)
    }

    pub async fn load(uri: &str, db_name: &str, dump: &Value) {
        let client = mongodb::Client::with_uri_str(uri).await.unwrap();
        let db = client.database(db_name);
        for (name, docs) in dump.as_object().unwrap() {
            let docs: Vec<Document> = docs
                .as_array()
                .unwrap()
                .iter()
                .map(|d| match Bson::try_from(d.clone()).unwrap() {
                    Bson::Document(d) => d,
                    other => panic!("{name} holds {other:?}"),
                })
                .collect();
            if !docs.is_empty() {
                db.collection::<Document>(name)
                    .insert_many(docs)
                    .await
                    .unwrap();
            }
        }
        client.shutdown().await;
    }
}

/// A database name of its own on the shared test server.
fn unique_db(tag: &str) -> String {
    format!(
        "fx{}_{tag}",
        uuid::Uuid::now_v7().simple().to_string().get(20..).unwrap()
    )
}

/// Writes the fixtures of the current format (see the module docs).
#[tokio::test]
#[ignore = "writes fixtures; run by hand with CHRONOS_FORMAT_FIXTURE_DIR"]
async fn write_fixtures() {
    let root = PathBuf::from(
        std::env::var("CHRONOS_FORMAT_FIXTURE_DIR").expect("CHRONOS_FORMAT_FIXTURE_DIR"),
    );
    let sqlite = root.join("sqlite");
    {
        let chronos = Chronos::init(config(
            DbConnection::sqlite(sqlite.join("index")),
            &sqlite.join("blobs"),
            "rt_a",
        ))
        .await
        .unwrap();
        write_history(&chronos).await;
        write_json(&sqlite.join("expected.json"), &snapshot(&chronos).await);
        chronos.shutdown().await.unwrap();
    }
    #[cfg(feature = "mongodb")]
    if let Some(servers) = servers::servers() {
        let mongo = root.join("mongodb");
        let db = "fixture_rt_a".to_string();
        mongodb::Client::with_uri_str(&servers.mongo_uri)
            .await
            .unwrap()
            .database(&db)
            .drop()
            .await
            .unwrap();
        let chronos = Chronos::init(config(
            DbConnection::mongodb(servers.mongo_uri.clone()),
            &mongo.join("blobs"),
            &db,
        ))
        .await
        .unwrap();
        write_history(&chronos).await;
        write_json(&mongo.join("expected.json"), &snapshot(&chronos).await);
        chronos.shutdown().await.unwrap();
        write_json(
            &mongo.join("dump.json"),
            &mongo_dump::dump(&servers.mongo_uri, &db).await,
        );
    }
}
