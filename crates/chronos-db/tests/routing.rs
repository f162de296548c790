//! Several connections for one database entry: rendezvous or jump hashing of
//! `routing.chooseKey` picks one per route, the same one every time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use chronos_db::{Chronos, ChronosConfig, DbType, ReadOptions, Route, WriteMeta};
use serde_json::{json, Value};

fn config(dir: &Path, order: &[&str], algo: &str) -> ChronosConfig {
    let conns: serde_json::Map<String, Value> = ["a", "b", "c"]
        .iter()
        .map(|n| (n.to_string(), json!({"sqliteDir": dir.join(n)})))
        .collect();
    ChronosConfig::from_json_value(json!({
        "dbConnections": conns,
        "spacesConnections": {"files": {"localPath": dir.join("blobs")}},
        "routing": {"hashAlgo": algo, "chooseKey": "{tenantId}/{collection}"},
        "databases": {"runtime": {"genericDatabase": {
            "dbConnRef": order, "spaceConnRef": "files", "bucket": "shared", "dbName": "rt"
        }}}
    }))
    .unwrap()
}

/// Which connection directory holds a collection's tables.
fn holder(dir: &Path, collection: &str) -> Vec<String> {
    ["a", "b", "c"]
        .iter()
        .filter(|n| {
            let file = dir.join(n).join("rt.sqlite3");
            file.exists()
                && rusqlite::Connection::open(&file)
                    .unwrap()
                    .query_row(
                        "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                        [format!("{collection}_head")],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap()
                    == 1
        })
        .map(|n| n.to_string())
        .collect()
}

#[tokio::test]
async fn each_route_lands_on_one_connection_every_time() {
    for algo in ["rendezvous", "jump"] {
        let dir = tempfile::tempdir().unwrap();
        let chronos = Chronos::init(config(dir.path(), &["a", "b", "c"], algo))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..30 {
            let coll = format!("c{i}");
            let c = chronos
                .with(Route::generic(DbType::Runtime, &coll))
                .unwrap();
            let w = c
                .create(json!({"i": i}), WriteMeta::new("t", "routing"))
                .await
                .unwrap();
            ids.push((coll, w.id));
        }
        let mut used = std::collections::BTreeSet::new();
        for (coll, _) in &ids {
            let h = holder(dir.path(), coll);
            assert_eq!(h.len(), 1, "{algo}: {coll} lives in {h:?}");
            used.insert(h[0].clone());
        }
        assert_eq!(used.len(), 3, "{algo}: 30 collections used only {used:?}");
        drop(chronos);
        // A new instance finds every record where it was written.
        let again = Chronos::init(config(dir.path(), &["a", "b", "c"], algo))
            .await
            .unwrap();
        for (coll, id) in &ids {
            let c = again.with(Route::generic(DbType::Runtime, coll)).unwrap();
            assert!(
                c.get_latest(id, ReadOptions::default())
                    .await
                    .unwrap()
                    .is_some(),
                "{algo}: {coll}"
            );
        }
    }
}

#[tokio::test]
async fn rendezvous_ignores_the_order_connections_are_listed_in() {
    let dir = tempfile::tempdir().unwrap();
    let chronos = Chronos::init(config(dir.path(), &["a", "b", "c"], "rendezvous"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..10 {
        let coll = format!("o{i}");
        let c = chronos
            .with(Route::generic(DbType::Runtime, &coll))
            .unwrap();
        ids.push((
            coll,
            c.create(json!({}), WriteMeta::new("t", "r"))
                .await
                .unwrap()
                .id,
        ));
    }
    drop(chronos);
    let reordered = Chronos::init(config(dir.path(), &["c", "a", "b"], "rendezvous"))
        .await
        .unwrap();
    for (coll, id) in &ids {
        let c = reordered
            .with(Route::generic(DbType::Runtime, coll))
            .unwrap();
        assert!(
            c.get_latest(id, ReadOptions::default())
                .await
                .unwrap()
                .is_some(),
            "{coll}"
        );
    }
}

#[test]
fn connection_lists_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = serde_json::to_value(config(dir.path(), &["a"], "jump")).unwrap();
    c["databases"]["runtime"]["genericDatabase"]["dbConnRef"] = json!(["a", "a", "zz"]);
    c["routing"]["chooseKey"] = json!("{tenant}");
    let err = ChronosConfig::from_json_value(c).unwrap_err().to_string();
    assert!(err.contains("listed twice"), "{err}");
    assert!(err.contains("unknown connection \"zz\""), "{err}");
    assert!(err.contains("routing.chooseKey"), "{err}");
}
