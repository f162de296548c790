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

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};

use chronos_db::config::DbConnection;
use chronos_db::maintenance::RestoreTarget;
use chronos_db::{
    ChangesQuery, Chronos, ChronosConfig, Collection, DbType, EnrichMeta, Error, HistoryQuery,
    ListQuery, ReadOptions, Route, WriteMeta,
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
    in_fixture_shape(Value::Object(out))
}

/// The answers in the JSON shape the fixtures recorded them in (the API of format 0's
/// release): a point read had no kind and snake-case provenance keys, and a listed version
/// kept its data and function ids under `content`. Only the shape changes; every value is
/// compared.
fn in_fixture_shape(mut snapshot: Value) -> Value {
    fn as_read(item: &mut Value) {
        if let Some(o) = item.as_object_mut() {
            o.remove("kind");
            for (now, then) in [("functionIds", "function_ids"), ("blobUrls", "blob_urls")] {
                if let Some(v) = o.remove(now) {
                    o.insert(then.into(), v);
                }
            }
        }
    }
    fn as_listed(version: &mut Value) {
        let Some(o) = version.as_object_mut() else {
            return;
        };
        if let Some(data) = o.remove("data") {
            let mut content = serde_json::Map::from_iter([("data".to_string(), data)]);
            if let Some(ids) = o.get("functionIds") {
                content.insert("functionIds".into(), ids.clone());
            }
            o.insert("content".into(), Value::Object(content));
        }
    }
    let each = |v: Option<&mut Value>, f: fn(&mut Value)| {
        if let Some(list) = v.and_then(Value::as_array_mut) {
            list.iter_mut().for_each(f);
        }
    };
    for collection in snapshot
        .as_object_mut()
        .into_iter()
        .flat_map(|o| o.values_mut())
    {
        each(collection.get_mut("listing"), as_read);
        each(collection.get_mut("changes"), as_listed);
        let records = collection.get_mut("records").and_then(Value::as_object_mut);
        for record in records.into_iter().flat_map(|r| r.values_mut()) {
            if let Some(latest) = record.get_mut("latest") {
                as_read(latest);
            }
            each(record.get_mut("versions"), as_read);
            each(record.pointer_mut("/history/versions"), as_listed);
        }
    }
    snapshot
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
#[cfg(feature = "mongodb")]
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

/// The format this build records in an index database.
const CURRENT_FORMAT: i64 = 2;

/// A copy of the embedded fixture of `format` in a temporary directory.
fn sqlite_copy(format: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    copy_dir(&fixture_root(format).join("sqlite"), &root);
    (dir, root)
}

fn sqlite_config(root: &Path) -> ChronosConfig {
    config(
        DbConnection::sqlite(root.join("index")),
        &root.join("blobs"),
        "rt_a",
    )
}

fn user_version(root: &Path) -> i64 {
    rusqlite::Connection::open(root.join("index/rt_a.sqlite3"))
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// Reads the store back as the fixture's writer saw it, then writes on: the migrated store
/// takes new versions that read back too.
async fn reads_back_and_takes_writes(chronos: &Chronos, expected: &Value) {
    let found = snapshot(chronos).await;
    assert_eq!(&found, expected, "the migrated store reads back as written");
    let orders = coll(chronos, "orders");
    let latest = orders
        .get_latest("order-b", ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    let w = orders
        .update(
            "order-b",
            json!({"status": "closed", "total": 1}),
            latest.ov,
            meta("after the migration"),
        )
        .await
        .unwrap();
    let back = orders
        .get_version("order-b", w.ov, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.data, json!({"status": "closed", "total": 1}));
    assert_eq!(back.kind, chronos_db::VersionKind::Update);
    assert!(orders.verify("order-b").await.unwrap().broken.is_none());
}

#[tokio::test]
async fn an_embedded_store_of_format_0_migrates_and_reads_back_every_version() {
    embedded_store_migrates(0).await;
}

#[tokio::test]
async fn an_embedded_store_of_format_1_migrates_and_reads_back_every_version() {
    embedded_store_migrates(1).await;
}

async fn embedded_store_migrates(format: u32) {
    let (_dir, root) = sqlite_copy(format);
    assert_eq!(user_version(&root), i64::from(format));
    let expected = read_json(&root.join("expected.json"));
    let chronos = Chronos::init(sqlite_config(&root)).await.unwrap();
    reads_back_and_takes_writes(&chronos, &expected).await;
    assert_eq!(user_version(&root), CURRENT_FORMAT);
    chronos.shutdown().await.unwrap();
    // Opened again, it is current and reads the same.
    let chronos = Chronos::init(sqlite_config(&root)).await.unwrap();
    let history = coll(&chronos, "orders")
        .history("order-a", HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(history.versions.len(), 5);
}

/// Opens `config`, whose index database has a newer format, and checks that a read and a
/// write are both refused as such (not transient: waiting does not help).
async fn refuses_reads_and_writes(config: ChronosConfig) {
    let chronos = Chronos::init(config).await.unwrap();
    let orders = coll(&chronos, "orders");
    let read = orders
        .get_latest("order-a", ReadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(read, Error::Precondition(_)), "{read}");
    assert!(read.to_string().contains("newer than this build"), "{read}");
    let write = orders
        .create(json!({"status": "open", "total": 1}), meta("refused"))
        .await
        .unwrap_err();
    assert!(matches!(write, Error::Precondition(_)), "{write}");
    assert!(!write.is_transient());
    chronos.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_embedded_store_of_a_newer_format_is_refused_before_anything_is_written() {
    let (_dir, root) = sqlite_copy(0);
    let file = root.join("index/rt_a.sqlite3");
    rusqlite::Connection::open(&file)
        .unwrap()
        .pragma_update(None, "user_version", CURRENT_FORMAT + 1)
        .unwrap();
    let before = std::fs::read(&file).unwrap();
    refuses_reads_and_writes(sqlite_config(&root)).await;
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the file is untouched"
    );
    assert!(!root.join("index/rt_a.sqlite3-wal").exists());
}

/// The child of the killed-migration test: opens the store, whose migration stops for good
/// after its first step.
#[tokio::test]
#[ignore = "runs only as the child process of the killed-migration test"]
async fn child_migrates_until_killed() {
    let Ok(root) = std::env::var("MIGRATION_STORE") else {
        return;
    };
    let chronos = Chronos::init(sqlite_config(Path::new(&root)))
        .await
        .unwrap();
    let outcome = coll(&chronos, "orders")
        .get_latest("order-a", ReadOptions::default())
        .await;
    panic!("the failpoint did not stop the migration: {outcome:?}");
}

#[tokio::test]
async fn a_migration_killed_between_its_steps_is_finished_by_the_next_open() {
    let (dir, root) = sqlite_copy(0);
    let marker = dir.path().join("marker");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_migrates_until_killed",
            "--ignored",
            "--test-threads=1",
        ])
        .env("MIGRATION_STORE", &root)
        .env("CHRONOS_FAILPOINT", "after-migration-step")
        .env("CHRONOS_FAILPOINT_MARKER", &marker)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child ended before the failpoint: {status}");
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "no failpoint"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // One collection's step is committed, the format is not recorded yet.
    assert_eq!(user_version(&root), 0);
    let expected = read_json(&root.join("expected.json"));
    let chronos = Chronos::init(sqlite_config(&root)).await.unwrap();
    reads_back_and_takes_writes(&chronos, &expected).await;
    assert_eq!(user_version(&root), CURRENT_FORMAT);
    chronos.shutdown().await.unwrap();
}

#[cfg(feature = "mongodb")]
mod mongodb_store {
    use super::*;
    use mongodb::bson::doc;

    /// The MongoDB fixture of `format` loaded into a database of its own, its payload files
    /// copied; `None` without test servers.
    async fn load(format: u32) -> Option<(tempfile::TempDir, ChronosConfig, String, String)> {
        let servers = servers::servers()?;
        let fixture = fixture_root(format).join("mongodb");
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture.join("blobs"), &dir.path().join("blobs"));
        let db = unique_db("rt_a");
        mongo_dump::load(
            &servers.mongo_uri,
            &db,
            &read_json(&fixture.join("dump.json")),
        )
        .await;
        let config = config(
            DbConnection::mongodb(servers.mongo_uri.clone()),
            &dir.path().join("blobs"),
            &db,
        );
        Some((dir, config, servers.mongo_uri, db))
    }

    async fn recorded(uri: &str, db: &str) -> Option<i64> {
        let client = mongodb::Client::with_uri_str(uri).await.unwrap();
        let found = client
            .database(db)
            .collection::<mongodb::bson::Document>("chronos_format")
            .find_one(doc! {"_id": "index"})
            .await
            .unwrap();
        found.map(|d| d.get_i64("format").unwrap())
    }

    #[tokio::test]
    async fn a_mongodb_store_of_format_0_migrates_and_reads_back_every_version() {
        mongodb_store_migrates(0, None).await;
    }

    #[tokio::test]
    async fn a_mongodb_store_of_format_1_migrates_and_reads_back_every_version() {
        mongodb_store_migrates(1, Some(1)).await;
    }

    async fn mongodb_store_migrates(format: u32, recorded_before: Option<i64>) {
        let Some((_dir, config, uri, db)) = load(format).await else {
            return;
        };
        assert_eq!(recorded(&uri, &db).await, recorded_before);
        let expected = read_json(&fixture_root(format).join("mongodb/expected.json"));
        let chronos = Chronos::init(config).await.unwrap();
        reads_back_and_takes_writes(&chronos, &expected).await;
        assert_eq!(recorded(&uri, &db).await, Some(CURRENT_FORMAT));
        chronos.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_mongodb_store_of_format_0_without_kinds_gets_the_kinds_its_rows_tell() {
        let Some((_dir, config, uri, db)) = load(0).await else {
            return;
        };
        // The oldest documents had no kind: remove them, as they were.
        let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
        for name in ["orders_ver", "orders_head", "notes_ver", "notes_head"] {
            client
                .database(&db)
                .collection::<mongodb::bson::Document>(name)
                .update_many(doc! {}, doc! {"$unset": {"kind": ""}})
                .await
                .unwrap();
        }
        let chronos = Chronos::init(config).await.unwrap();
        let history = coll(&chronos, "notes")
            .history("note-1", HistoryQuery::default())
            .await
            .unwrap();
        let kinds: Vec<_> = history.versions.iter().map(|v| v.kind.as_str()).collect();
        assert_eq!(kinds, ["create", "update"]);
        let order_a = coll(&chronos, "orders")
            .history("order-a", HistoryQuery::default())
            .await
            .unwrap();
        let kinds: Vec<_> = order_a.versions.iter().map(|v| v.kind.as_str()).collect();
        // An enrichment and a restore were not told apart by the oldest rows.
        assert_eq!(kinds, ["create", "update", "update", "delete", "update"]);
        chronos.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_mongodb_store_of_a_newer_format_is_refused_before_anything_is_written() {
        let Some((_dir, config, uri, db)) = load(0).await else {
            return;
        };
        let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
        client
            .database(&db)
            .collection::<mongodb::bson::Document>("chronos_format")
            .insert_one(doc! {"_id": "index", "format": CURRENT_FORMAT + 1})
            .await
            .unwrap();
        let before = mongo_dump::dump(&uri, &db).await;
        refuses_reads_and_writes(config).await;
        assert_eq!(mongo_dump::dump(&uri, &db).await, before, "nothing changed");
    }
}

#[tokio::test]
async fn a_stored_value_chronos_db_did_not_write_is_corrupt_not_a_backend_failure() {
    let (_dir, root) = sqlite_copy(0);
    let chronos = Chronos::init(sqlite_config(&root)).await.unwrap();
    let orders = coll(&chronos, "orders");
    orders
        .get_latest("order-a", ReadOptions::default())
        .await
        .unwrap();
    rusqlite::Connection::open(root.join("index/rt_a.sqlite3"))
        .unwrap()
        .execute(
            "UPDATE \"orders_ver\" SET kind = 99 WHERE id = 'order-a' AND ov = 1",
            [],
        )
        .unwrap();
    let err = orders
        .history("order-a", HistoryQuery::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), chronos_db::ErrorKind::Corrupt, "{err}");
    assert!(!err.is_transient());
    chronos.shutdown().await.unwrap();
}
