//! Encryption at rest, read from the stored bytes themselves: no plaintext in any file,
//! document or object; tampered, cut or copied bytes refused; shredded keys leave nothing
//! that decrypts; rotation keeps every version readable. Run on both pairs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};

use chronos_db::config::EncryptionConfig;
#[cfg(all(feature = "mongodb", feature = "s3"))]
use chronos_db::config::SpacesConnection;
use chronos_db::crypt::{FileMasterKey, MasterKey};
use chronos_db::{
    ChangesQuery, Chronos, ChronosConfig, Collection, DbType, ErrorKind, HistoryQuery, ListQuery,
    ReadOptions, Route, WriteMeta,
};
use serde_json::{json, Value};

/// A pair to run on: where the index and payloads go, and how to read every stored byte.
#[derive(Clone)]
enum Pair {
    Embedded {
        root: PathBuf,
    },
    #[cfg(all(feature = "mongodb", feature = "s3"))]
    MongoS3 {
        uri: String,
        s3: SpacesConnection,
    },
}

/// Distinct per run, so a leftover of another run cannot be found by mistake.
fn marker(tag: &str) -> String {
    format!("SECRET-{tag}-{}", uuid::Uuid::now_v7().simple())
}

fn pairs(dir: &Path) -> Vec<(Pair, String)> {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let db = format!("enc_{}", &unique[20..]);
    #[allow(unused_mut)]
    let mut out = vec![(
        Pair::Embedded {
            root: dir.join("embedded"),
        },
        db.clone(),
    )];
    #[cfg(all(feature = "mongodb", feature = "s3"))]
    if let Some(servers) = servers::servers() {
        out.push((
            Pair::MongoS3 {
                uri: servers.mongo_uri.clone(),
                s3: servers.s3.clone(),
            },
            db,
        ));
    }
    out
}

fn key_file(dir: &Path, name: &str) -> (PathBuf, MasterKey) {
    let key = MasterKey::generate();
    let path = dir.join(name);
    std::fs::write(&path, key.to_base64().as_bytes()).unwrap();
    (path, key)
}

fn config(pair: &Pair, db: &str, encryption: Option<EncryptionConfig>) -> ChronosConfig {
    let (index, payloads) = match pair {
        Pair::Embedded { root } => (
            json!({"sqliteDir": root.join("index")}),
            json!({"localPath": root.join("blobs")}),
        ),
        #[cfg(all(feature = "mongodb", feature = "s3"))]
        Pair::MongoS3 { uri, s3 } => (json!({"mongoUri": uri}), serde_json::to_value(s3).unwrap()),
    };
    let mut config = ChronosConfig::from_json_value(json!({
        "writeOptimization": { "compressionEnabled": true },
        "dbConnections": { "index": index },
        "spacesConnections": { "payloads": payloads },
        "databases": { "runtime": { "tenantDatabases": [
            { "tenantId": "tenant-a", "dbConnRef": "index", "spaceConnRef": "payloads",
              "bucket": "chronos-bench", "dbName": format!("{db}_a") },
            { "tenantId": "tenant-b", "dbConnRef": "index", "spaceConnRef": "payloads",
              "bucket": "chronos-bench", "dbName": format!("{db}_b") }
        ]}},
        "collectionMaps": { "notes": { "indexedProps": ["status"] } }
    }))
    .unwrap();
    config.encryption = encryption;
    config
}

fn notes(chronos: &Chronos, tenant: &str) -> Collection {
    chronos
        .with(Route::tenant(DbType::Runtime, tenant, "notes"))
        .unwrap()
}

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "encryption")
}

/// Every stored byte of the pair's databases `db_a`/`db_b` and its bucket, as (place, bytes).
async fn stored_bytes(pair: &Pair, db: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    match pair {
        Pair::Embedded { root } => {
            let _ = db; // every file under the root is read
            let mut stack = vec![root.clone()];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        stack.push(path);
                    } else {
                        out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
                    }
                }
            }
        }
        #[cfg(all(feature = "mongodb", feature = "s3"))]
        Pair::MongoS3 { uri, s3 } => {
            use futures::TryStreamExt;
            let client = mongodb::Client::with_uri_str(uri).await.unwrap();
            for name in [format!("{db}_a"), format!("{db}_b")] {
                let database = client.database(&name);
                for coll in database.list_collection_names().await.unwrap() {
                    let docs: Vec<mongodb::bson::Document> = database
                        .collection(&coll)
                        .find(mongodb::bson::doc! {})
                        .await
                        .unwrap()
                        .try_collect()
                        .await
                        .unwrap();
                    for d in docs {
                        out.push((format!("{name}.{coll}"), mongodb::bson::to_vec(&d).unwrap()));
                    }
                }
            }
            let SpacesConnection::S3(parts) = s3 else {
                panic!("not S3")
            };
            let http = std::sync::Arc::new(chronos_db::blob::s3::SharedHttp::default());
            let store = chronos_db::blob::BlobStore::s3(
                chronos_db::blob::s3::build(parts, "chronos-bench", http, "s3").unwrap(),
                "chronos-bench",
            );
            for name in [format!("{db}_a"), format!("{db}_b")] {
                for key in store.list(&format!("{name}/")).await.unwrap() {
                    let bytes = store.get(&key).await.unwrap().unwrap();
                    out.push((key, bytes.to_vec()));
                }
            }
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_nowhere(stored: &[(String, Vec<u8>)], needle: &str) {
    for (place, bytes) in stored {
        assert!(!find(bytes, needle.as_bytes()), "{needle} found in {place}");
    }
}

fn assert_somewhere(stored: &[(String, Vec<u8>)], needle: &str) {
    assert!(
        stored.iter().any(|(_, b)| find(b, needle.as_bytes())),
        "{needle} found nowhere (the check could not fail)"
    );
}

#[tokio::test]
async fn no_plaintext_reaches_storage_and_everything_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = key_file(dir.path(), "master.key");
    for (pair, db) in pairs(dir.path()) {
        for per_record in [false, true] {
            let db = format!("{db}{}", u8::from(per_record));
            let enc = EncryptionConfig::from_file(&key).with_per_record(per_record);
            let chronos = Chronos::init(config(&pair, &db, Some(enc))).await.unwrap();
            let coll = notes(&chronos, "tenant-a");
            let (small, large) = (marker("small"), marker("large"));
            let a = coll
                .create(json!({"status": "open", "text": small}), meta())
                .await
                .unwrap();
            // Large enough to be a payload object, compressed or not.
            let big = json!({"status": "open", "text": format!("{large} {}", "x".repeat(9000))});
            let b = coll.create(big.clone(), meta()).await.unwrap();
            // Random text does not compress: its version is an object.
            let noise: String = (0..600)
                .map(|_| uuid::Uuid::now_v7().simple().to_string())
                .collect();
            let c = coll
                .create(
                    json!({"status": "done", "text": format!("{large}-{noise}")}),
                    meta(),
                )
                .await
                .unwrap();
            let a1 = coll
                .update(
                    &a.id,
                    json!({"status": "done", "text": format!("{small}-2")}),
                    a.ov,
                    meta(),
                )
                .await
                .unwrap();
            let many = coll
                .create_many(
                    vec![json!({"status": "open", "text": format!("{small}-batch")})],
                    meta(),
                )
                .await
                .unwrap();
            chronos.clone().shutdown().await.unwrap();
            let stored = stored_bytes(&pair, &db).await;
            assert!(
                stored.iter().any(|(place, _)| place.ends_with("item.json")),
                "a payload object was written"
            );
            for needle in [&small, &large, &noise[..40]] {
                assert_nowhere(&stored, needle);
            }
            // Indexed properties stay readable: the check does find what is there.
            assert_somewhere(&stored, "done");

            let chronos = Chronos::init(config(
                &pair,
                &db,
                Some(EncryptionConfig::from_file(&key).with_per_record(per_record)),
            ))
            .await
            .unwrap();
            let coll = notes(&chronos, "tenant-a");
            let got = coll
                .get_latest(&a.id, ReadOptions::default())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got.data["text"], format!("{small}-2"));
            let v0 = coll
                .get_version(&a.id, 0, ReadOptions::default())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(v0.data["text"], small.as_str());
            let got = coll
                .get_latest(&b.id, ReadOptions::default())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got.data, big);
            assert!(coll
                .get_latest(&c.id, ReadOptions::default())
                .await
                .unwrap()
                .is_some());
            assert!(coll
                .get_latest(&many[0].id, ReadOptions::default())
                .await
                .unwrap()
                .is_some());
            let page = coll
                .list_by_meta(
                    ListQuery::filter(json!({"status": "done"})),
                    ReadOptions::default(),
                )
                .await
                .unwrap();
            assert_eq!(page.items.len(), 2);
            let history = coll.history(&a.id, HistoryQuery::default()).await.unwrap();
            assert_eq!(history.versions.len(), 2);
            let feed = coll
                .changes(ChangesQuery::default().with_data())
                .await
                .unwrap();
            assert_eq!(feed.changes.len(), 5);
            let texts: Vec<&Value> = feed.changes.iter().map(|c| &c.data["text"]).collect();
            assert!(texts.contains(&&json!(format!("{small}-2"))), "{texts:?}");
            assert!(feed.changes.iter().any(|c| c.cv == a1.cv));
            let verify = coll.verify(&a.id).await.unwrap();
            assert!(
                verify.broken.is_none() && verify.verified == 2,
                "{verify:?}"
            );
            // Presigned URLs would hand out ciphertext.
            let presign = coll
                .get_latest(
                    &b.id,
                    ReadOptions {
                        presign: true,
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(presign.kind(), ErrorKind::Validation, "{presign}");
            chronos.shutdown().await.unwrap();
        }
    }
}

/// The wrapped key in `slot` (`''`/`''`: the route's) of an embedded database, read from
/// the file as anyone with the files could.
fn wrapped_key(root: &Path, db: &str, collection: &str, id: &str) -> Vec<u8> {
    let conn = rusqlite::Connection::open(root.join(format!("index/{db}.sqlite3"))).unwrap();
    conn.query_row(
        "SELECT wrapped FROM chronos_keys WHERE collection = ?1 AND record_id = ?2",
        [collection, id],
        |r| r.get(0),
    )
    .unwrap()
}

fn item_file(root: &Path, db: &str, id: &str, ov: u64) -> PathBuf {
    root.join(format!(
        "blobs/chronos-bench/{db}/notes/{id}/v{ov}/item.json"
    ))
}

fn random_text() -> String {
    (0..600)
        .map(|_| uuid::Uuid::now_v7().simple().to_string())
        .collect()
}

#[tokio::test]
async fn shredding_leaves_nothing_that_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("embedded");
    let pair = Pair::Embedded { root: root.clone() };
    let (key, _) = key_file(dir.path(), "master.key");
    let enc = EncryptionConfig::from_file(&key);
    let chronos = Chronos::init(config(&pair, "s", Some(enc.clone())))
        .await
        .unwrap();
    let (a, b) = (notes(&chronos, "tenant-a"), notes(&chronos, "tenant-b"));
    let small = a.create(json!({"status": "open"}), meta()).await.unwrap();
    let big = a
        .create(json!({"text": random_text()}), meta())
        .await
        .unwrap();
    let other = b.create(json!({"status": "open"}), meta()).await.unwrap();
    let copied = std::fs::read(item_file(&root, "s_a", &big.id, 0)).unwrap();
    let wrapped = wrapped_key(&root, "s_a", "", "");
    let before = stored_bytes(&pair, "s").await;
    assert!(
        before.iter().any(|(_, b)| find(b, &wrapped)),
        "the check can fail"
    );

    let route = Route::tenant(DbType::Runtime, "tenant-a", "notes");
    let refused = chronos.shred(&route, "s_b").await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Validation, "{refused}");
    assert!(a
        .get_latest(&small.id, ReadOptions::default())
        .await
        .unwrap()
        .is_some());
    let report = chronos.shred(&route, "s_a").await.unwrap();
    assert_eq!(report.key_ids.len(), 1);
    for id in [&small.id, &big.id] {
        let e = a.get_latest(id, ReadOptions::default()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Shredded, "{e}");
        assert!(e.to_string().contains(&report.key_ids[0]), "{e}");
    }
    let e = a
        .create(json!({"status": "new"}), meta())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shredded, "{e}");
    // The other tenant is untouched.
    assert!(b
        .get_latest(&other.id, ReadOptions::default())
        .await
        .unwrap()
        .is_some());
    // The object copied away before still sits in the bucket; its key is gone from every
    // stored byte, so nothing left in the system decrypts it.
    assert_eq!(
        std::fs::read(item_file(&root, "s_a", &big.id, 0)).unwrap(),
        copied
    );
    chronos.clone().shutdown().await.unwrap();
    let stored = stored_bytes(&pair, "s").await;
    for (place, bytes) in &stored {
        assert!(
            !find(bytes, &wrapped),
            "the shredded key's wrapped bytes are in {place}"
        );
    }
    // A restart still refuses, naming the key.
    let chronos = Chronos::init(config(&pair, "s", Some(enc))).await.unwrap();
    let e = notes(&chronos, "tenant-a")
        .get_latest(&small.id, ReadOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shredded, "{e}");
    chronos.shutdown().await.unwrap();
}

#[tokio::test]
async fn erasing_a_record_destroys_its_own_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("embedded");
    let pair = Pair::Embedded { root: root.clone() };
    let (key, _) = key_file(dir.path(), "master.key");
    let enc = EncryptionConfig::from_file(&key).with_per_record(true);
    let chronos = Chronos::init(config(&pair, "e", Some(enc))).await.unwrap();
    let coll = notes(&chronos, "tenant-a");
    let gone = coll
        .create(json!({"text": random_text()}), meta())
        .await
        .unwrap();
    let kept = coll
        .create(json!({"text": random_text()}), meta())
        .await
        .unwrap();
    let copied = std::fs::read(item_file(&root, "e_a", &gone.id, 0)).unwrap();
    let wrapped = wrapped_key(&root, "e_a", "notes", &gone.id);
    let before = stored_bytes(&pair, "e").await;
    assert!(
        before.iter().any(|(_, b)| find(b, &wrapped)),
        "the check can fail"
    );
    coll.erase(&gone.id, 0, meta()).await.unwrap();
    let audit = coll.audit_log().await.unwrap();
    let destroyed = audit[0].detail["keyDestroyed"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(destroyed.len(), 32);
    // Put back where it was (from a backup, say), the copy does not decrypt.
    std::fs::create_dir_all(item_file(&root, "e_a", &gone.id, 0).parent().unwrap()).unwrap();
    std::fs::write(item_file(&root, "e_a", &gone.id, 0), &copied).unwrap();
    assert!(coll
        .get_latest(&gone.id, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    let kept_back = coll
        .get_latest(&kept.id, ReadOptions::default())
        .await
        .unwrap();
    assert!(kept_back.is_some());
    chronos.clone().shutdown().await.unwrap();
    for (place, bytes) in &stored_bytes(&pair, "e").await {
        assert!(
            !find(bytes, &wrapped),
            "the erased record's wrapped key is in {place}"
        );
    }
}

#[tokio::test]
async fn changed_cut_or_copied_bytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("embedded");
    let pair = Pair::Embedded { root: root.clone() };
    let (key, _) = key_file(dir.path(), "master.key");
    let chronos = Chronos::init(config(&pair, "t", Some(EncryptionConfig::from_file(&key))))
        .await
        .unwrap();
    let coll = notes(&chronos, "tenant-a");
    let x = coll
        .create(json!({"text": random_text()}), meta())
        .await
        .unwrap();
    let y = coll
        .create(json!({"text": random_text()}), meta())
        .await
        .unwrap();
    let other = notes(&chronos, "tenant-b");
    let z = other
        .create(json!({"text": random_text()}), meta())
        .await
        .unwrap();
    let (xf, yf) = (
        item_file(&root, "t_a", &x.id, 0),
        item_file(&root, "t_a", &y.id, 0),
    );
    let original = std::fs::read(&xf).unwrap();
    let corrupt = |e: chronos_db::Error| assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");

    let mut flipped = original.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    std::fs::write(&xf, &flipped).unwrap();
    corrupt(
        coll.get_latest(&x.id, ReadOptions::default())
            .await
            .unwrap_err(),
    );
    std::fs::write(&xf, &original[..original.len() - 5]).unwrap();
    corrupt(
        coll.get_latest(&x.id, ReadOptions::default())
            .await
            .unwrap_err(),
    );
    std::fs::write(&xf, &original[..20]).unwrap();
    corrupt(
        coll.get_latest(&x.id, ReadOptions::default())
            .await
            .unwrap_err(),
    );
    // Another record's bytes, and another tenant's.
    std::fs::write(&xf, std::fs::read(&yf).unwrap()).unwrap();
    corrupt(
        coll.get_latest(&x.id, ReadOptions::default())
            .await
            .unwrap_err(),
    );
    std::fs::write(
        &xf,
        std::fs::read(item_file(&root, "t_b", &z.id, 0)).unwrap(),
    )
    .unwrap();
    corrupt(
        coll.get_latest(&x.id, ReadOptions::default())
            .await
            .unwrap_err(),
    );
    std::fs::write(&xf, &original).unwrap();
    assert!(coll
        .get_latest(&x.id, ReadOptions::default())
        .await
        .unwrap()
        .is_some());
    // verify covers the stored bytes and needs no key.
    chronos.shutdown().await.unwrap();
    std::fs::write(&xf, &flipped).unwrap();
    let plain = Chronos::init(config(&pair, "t", None)).await.unwrap();
    let report = notes(&plain, "tenant-a").verify(&x.id).await.unwrap();
    assert!(report.broken.is_some(), "{report:?}");
    let report = notes(&plain, "tenant-a").verify(&y.id).await.unwrap();
    assert!(
        report.broken.is_none() && report.verified == 1,
        "{report:?}"
    );
    // Reading encrypted payloads without encryption configured says so.
    let e = notes(&plain, "tenant-a")
        .get_latest(&y.id, ReadOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    plain.shutdown().await.unwrap();
}

#[tokio::test]
async fn rotation_keeps_every_version_readable_and_a_wrong_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("embedded");
    let pair = Pair::Embedded { root: root.clone() };
    // Records written before encryption was enabled stay readable.
    let plain = Chronos::init(config(&pair, "r", None)).await.unwrap();
    let old = notes(&plain, "tenant-a")
        .create(json!({"status": "plain"}), meta())
        .await
        .unwrap();
    plain.shutdown().await.unwrap();
    let (key1, _) = key_file(dir.path(), "one.key");
    let (key2, new_master) = key_file(dir.path(), "two.key");
    let chronos = Chronos::init(config(&pair, "r", Some(EncryptionConfig::from_file(&key1))))
        .await
        .unwrap();
    let coll = notes(&chronos, "tenant-a");
    let v0 = coll
        .create(json!({"text": random_text()}), meta())
        .await
        .unwrap();
    let v1 = coll
        .update(&v0.id, json!({"status": "second"}), 0, meta())
        .await
        .unwrap();
    let before: Vec<u8> = std::fs::read(item_file(&root, "r_a", &v0.id, 0)).unwrap();
    let report = chronos
        .rotate_master_key(&FileMasterKey::new(&key2))
        .await
        .unwrap();
    assert_eq!(
        (report.rewrapped, report.fingerprint.as_str()),
        (1, new_master.fingerprint())
    );
    let again = chronos
        .rotate_master_key(&FileMasterKey::new(&key2))
        .await
        .unwrap();
    assert_eq!((again.rewrapped, again.already_rotated), (0, 1));
    // No blob was rewritten.
    assert_eq!(
        std::fs::read(item_file(&root, "r_a", &v0.id, 0)).unwrap(),
        before
    );
    for ov in [0, 1] {
        assert!(coll
            .get_version(&v0.id, ov, ReadOptions::default())
            .await
            .unwrap()
            .is_some());
    }
    assert_eq!(
        coll.get_latest(&old.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap()
            .data,
        json!({"status": "plain"})
    );
    chronos.shutdown().await.unwrap();
    let wrong = Chronos::init(config(&pair, "r", Some(EncryptionConfig::from_file(&key1))))
        .await
        .unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Config, "{wrong}");
    assert!(
        wrong.to_string().contains("encryption.masterKey"),
        "{wrong}"
    );
    let missing = Chronos::init(config(
        &pair,
        "r",
        Some(EncryptionConfig::from_env(
            "CHRONOS_TEST_NO_SUCH_KEY_VARIABLE",
        )),
    ))
    .await
    .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Config, "{missing}");
    let chronos = Chronos::init(config(&pair, "r", Some(EncryptionConfig::from_file(&key2))))
        .await
        .unwrap();
    let got = notes(&chronos, "tenant-a")
        .get_latest(&v0.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.ov, got.data), (v1.ov, json!({"status": "second"})));
    chronos.shutdown().await.unwrap();
}

#[test]
fn encryption_refuses_what_it_cannot_encrypt_yet() {
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::Embedded {
        root: dir.path().to_path_buf(),
    };
    let mut c = config(&pair, "v", Some(EncryptionConfig::default()));
    c.encryption.as_mut().unwrap().enabled = true;
    let mut value = serde_json::to_value(&c).unwrap();
    value["devShadow"] = json!({"enabled": true, "ttlHours": 1});
    value["fallback"] = json!({"enabled": true});
    value["collectionMaps"]["notes"]["base64Props"] = json!({"file": {"contentType": "a/b"}});
    let problems = match ChronosConfig::from_json_value(value) {
        Err(chronos_db::Error::Config(problems)) => problems,
        other => panic!("{other:?}"),
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    for want in [
        "encryption.masterKey",
        "devShadow.enabled",
        "fallback.enabled",
        "collectionMaps.notes.base64Props",
    ] {
        assert!(paths.contains(&want), "{want} in {paths:?}");
    }
}
