//! The public API exactly as DESIGN.md spells it: if a name or signature there stops
//! compiling or behaving, this fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use chronos_db::maintenance::RestoreTarget;
use chronos_db::{
    Chronos, ChronosConfig, DbType, EnrichMeta, Error, ListQuery, ReadOptions, Route, WriteMeta,
};
use serde_json::json;

#[tokio::test]
async fn the_design_snippet_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = ChronosConfig::embedded(dir.path()).with_tenant("tenant-a");
    let chronos = Chronos::init(config).await.unwrap();
    let users = chronos
        .with(Route::tenant(DbType::Runtime, "tenant-a", "users"))
        .unwrap();
    let meta = WriteMeta::new("actor", "reason");
    let w = users
        .create(json!({"name": "Ada"}), WriteMeta::new("actor", "reason"))
        .await
        .unwrap();
    assert_eq!(w.ov, 0);
    let (created_cv, created_at) = (w.cv, w.at);
    let w = users
        .update(&w.id, json!({"name": "Ada L."}), w.ov, meta.clone())
        .await
        .unwrap();
    let stale = users.update(&w.id, json!({}), 0, meta.clone()).await;
    assert!(matches!(stale, Err(Error::Conflict { .. })));
    let id = w.id.clone();
    let w = users
        .enrich(
            &id,
            json!({"tags": ["vip"]}),
            EnrichMeta {
                function_id: Some("tagger@1".into()),
                actor: "svc".into(),
                reason: "tags".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let item = users
        .get_latest(&id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (item.id.as_str(), item.ov, item.cv, item.at),
        (id.as_str(), w.ov, w.cv, w.at)
    );
    assert!(!item.deleted && item.url.is_none());
    assert_eq!(item.data, json!({"name": "Ada L.", "tags": ["vip"]}));
    let v0 = users
        .get_version(&id, 0, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v0.cv, created_cv);
    let then = users
        .get_as_of(&id, created_at, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(then.data, json!({"name": "Ada"}));
    let page = users
        .list_by_meta(
            ListQuery {
                limit: Some(10),
                ..Default::default()
            },
            ReadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    users
        .restore_object(&id, RestoreTarget::Ov(0), meta.clone())
        .await
        .unwrap();
    // Already in its state at `created_cv` (restored above): nothing to append.
    users
        .restore_collection(RestoreTarget::Cv(created_cv), meta.clone())
        .await
        .unwrap();
    let w = users.delete(&id, 3, meta).await.unwrap();
    assert_eq!(w.ov, 4);
    chronos.shutdown().await.unwrap();
}

/// Only compiles if the future is `Send` (so it can run on `tokio::spawn`).
fn assert_send<T: Send>(_: T) {}

#[tokio::test]
async fn every_public_future_can_be_spawned() {
    let dir = tempfile::tempdir().unwrap();
    let config = ChronosConfig::embedded(dir.path()).with_tenant("tenant-a");
    let chronos = Chronos::init(config).await.unwrap();
    let c = chronos
        .with(Route::tenant(DbType::Runtime, "tenant-a", "users"))
        .unwrap();
    let meta = || WriteMeta::new("a", "b");
    let now = chrono::Utc::now();
    assert_send(c.create(json!({}), meta()));
    assert_send(c.create_with_id("x", json!({}), meta()));
    assert_send(c.create_many(vec![json!({})], meta()));
    assert_send(c.update("x", json!({}), 0, meta()));
    assert_send(c.delete("x", 0, meta()));
    assert_send(c.erase("x", 0, meta()));
    assert_send(c.enrich("x", json!({}), EnrichMeta::default()));
    assert_send(c.get_latest("x", ReadOptions::default()));
    assert_send(c.get_version("x", 0, ReadOptions::default()));
    assert_send(c.get_as_of("x", now, ReadOptions::default()));
    assert_send(c.list_by_meta(ListQuery::default(), ReadOptions::default()));
    assert_send(c.restore_object("x", RestoreTarget::Ov(0), meta()));
    assert_send(c.restore_collection(RestoreTarget::Cv(0), meta()));
    assert_send(c.audit_log());
    assert_send(c.changes(chronos_db::ChangesQuery::default()));
    assert_send(c.follow(chronos_db::ChangesQuery::default()));
    assert_send(c.history("x", chronos_db::HistoryQuery::default()));
    assert_send(c.diff("x", 0, 1));
    assert_send(c.verify("x"));
    assert_send(c.verify_all());
    assert_send(c.import_history("x", Vec::new(), meta()));
    assert_send(c.import(Vec::new(), chronos_db::transfer::ImportOptions::default()));
    assert_send(chronos.health());
    assert_send(chronos.prune());
    assert_send(chronos.repair(chronos_db::maintenance::RepairOptions::default()));
    assert_send(chronos.counters().get_totals(&Route::tenant(
        DbType::Runtime,
        "tenant-a",
        "users",
    )));
    assert_send(
        chronos
            .fallback()
            .list(chronos_db::fallback::QueueKind::Pending),
    );
    assert_send(chronos.fallback().replay_now());
    assert_send(chronos.clone().shutdown());
}

/// DESIGN.md's "Beyond the seed" names that exist so far: the change feed, diff, history,
/// verify and import_history.
#[tokio::test]
async fn the_beyond_the_seed_snippet_runs() {
    use chronos_db::transfer::HistoricVersion;
    use chronos_db::{ChangesQuery, HistoryQuery};
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let config = ChronosConfig::embedded(dir.path()).with_tenant("tenant-a");
    let chronos = Chronos::init(config).await.unwrap();
    let users = chronos
        .with(Route::tenant(DbType::Runtime, "tenant-a", "users"))
        .unwrap();
    let meta = WriteMeta::new("actor", "reason");
    let w = users.create(json!({"n": 0}), meta.clone()).await.unwrap();
    let id = w.id.clone();
    for ov in 0..5 {
        users
            .update(&id, json!({"n": ov + 1}), ov, meta.clone())
            .await
            .unwrap();
    }
    let feed = users
        .changes(ChangesQuery {
            after_cv: Some(w.cv),
            limit: 100,
            include_data: false,
        })
        .await
        .unwrap();
    assert_eq!(feed.changes.len(), 5);
    let mut stream = Box::pin(users.follow(ChangesQuery {
        ..Default::default()
    }));
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!((first.id.as_str(), first.ov), (id.as_str(), 0));
    let patch = users.diff(&id, 2, 5).await.unwrap();
    assert_eq!(patch.changed_paths, ["/n"]);
    let versions = users
        .history(
            &id,
            HistoryQuery {
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(versions.versions.len(), 6);
    let report = users.verify(&id).await.unwrap();
    assert!(report.broken.is_none());
    let report = users.verify_all().await.unwrap();
    assert!(report.is_whole());
    let t0 = chrono::DateTime::from_timestamp(1_600_000_000, 0).unwrap();
    let versions = vec![
        HistoricVersion::new(t0, json!({"n": 0})),
        HistoricVersion::new(t0 + chrono::Duration::days(1), json!({"n": 1})),
    ];
    users
        .import_history("imported", versions, meta)
        .await
        .unwrap();
    chronos.shutdown().await.unwrap();
}
