//! A record held by another writer's open MongoDB transaction (what a writer killed
//! mid-commit leaves until the server times its transaction out): a write of it is refused
//! as transient, naming the hold, and never as a `Conflict` whose expected and current ov
//! are equal; with the fallback on, it is queued and acknowledged, then replayed once the
//! hold ends.

#![cfg(feature = "mongodb")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/servers.rs"]
mod servers;

use chronos_db::config::DbConnection;
use chronos_db::{Chronos, ChronosConfig, DbType, ReadOptions, Route, WriteMeta};
use mongodb::bson::doc;
use serde_json::json;

fn route() -> Route {
    Route::tenant(DbType::Runtime, "tenant-a", "held")
}

fn config(servers: &servers::Servers, db_name: &str, fallback: bool) -> ChronosConfig {
    ChronosConfig::from_json_value(json!({
        "dbConnections": {"mongo": DbConnection::MongoDb {
            uri: servers.mongo_uri.clone(),
            server_selection_timeout_ms: Some(2_000),
        }},
        "spacesConnections": {"s3": servers.s3},
        "databases": {"runtime": {"tenantDatabases": [{
            "tenantId": "tenant-a", "dbConnRef": "mongo", "spaceConnRef": "s3",
            "bucket": "chronos-test-a", "dbName": db_name
        }]}},
        "transactions": {"enabled": true},
        "fallback": {"enabled": fallback, "retryDelayMs": 100, "maxDelayMs": 200}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_record_is_a_transient_refusal_and_is_queued_with_the_fallback() {
    let Some(servers) = servers::servers() else {
        return;
    };
    let db_name = format!("held{}_rt_a", std::process::id());
    let chronos = Chronos::init(config(&servers, &db_name, false))
        .await
        .unwrap();
    let c = chronos.with(route()).unwrap();
    let w = c
        .create(json!({"step": 0}), WriteMeta::new("t", "setup"))
        .await
        .unwrap();

    // Another writer's transaction holds the record's head and stays open.
    let raw = mongodb::Client::with_uri_str(&servers.mongo_uri)
        .await
        .unwrap();
    let heads = raw
        .database(&db_name)
        .collection::<mongodb::bson::Document>("held_head");
    let mut holder = raw.start_session().await.unwrap();
    holder.start_transaction().await.unwrap();
    heads
        .update_one(doc! {"_id": &w.id}, doc! {"$set": {"heldBy": "test"}})
        .session(&mut holder)
        .await
        .unwrap();

    let refused = c
        .update(&w.id, json!({"step": 1}), 0, WriteMeta::new("t", "held"))
        .await
        .unwrap_err();
    assert!(
        !refused.is_conflict(),
        "a held record answered a conflict: {refused}"
    );
    assert!(refused.is_transient(), "not transient: {refused}");
    assert!(
        refused.to_string().contains("held by another writer")
            && refused
                .to_string()
                .contains("transactionLifetimeLimitSeconds"),
        "the error does not name the hold: {refused}"
    );

    // With the fallback on, the same write is queued and acknowledged.
    let queueing = Chronos::init(config(&servers, &db_name, true))
        .await
        .unwrap();
    let q = queueing.with(route()).unwrap();
    let queued = q
        .update(&w.id, json!({"step": 1}), 0, WriteMeta::new("t", "held"))
        .await
        .unwrap();
    assert!(queued.queued.is_some(), "the write was not queued");
    assert_eq!(queued.ov, 1);

    // The hold ends; the queued write replays.
    holder.abort_transaction().await.unwrap();
    let report = queueing.fallback().replay_now().await.unwrap();
    assert_eq!(report.committed, 1, "{report:?}");
    let latest = q
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.ov, latest.data["step"].clone()), (1, json!(1)));

    queueing.shutdown().await.unwrap();
    chronos.shutdown().await.unwrap();
}
