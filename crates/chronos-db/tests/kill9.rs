//! A writer killed with SIGKILL between its payload put and its version commit leaves no
//! readable broken record, and `Chronos::repair` lists and removes the orphaned payloads.
//!
//! The writer is this test binary itself, started again as a child process that runs only
//! `child_writes_until_killed`; the `failpoints` feature stops its write at exactly that
//! step, and the parent kills it there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chronos_db::config::DbConnection;
use chronos_db::failpoint::{AFTER_BLOB_PUT, BEFORE_HEAD_MOVE, IN_MONGODB_TRANSACTION};
use chronos_db::maintenance::RepairOptions;
use chronos_db::{Chronos, ChronosConfig, DbType, ListQuery, ReadOptions, Route, WriteMeta};
use serde_json::json;

fn route() -> Route {
    Route::tenant(DbType::Runtime, "tenant-a", "crashy")
}

/// Repair options that also take blobs written a moment ago.
fn at_once(dry_run: bool) -> RepairOptions {
    RepairOptions {
        dry_run,
        min_age: Duration::ZERO,
        ..Default::default()
    }
}

fn meta() -> WriteMeta {
    WriteMeta::new("writer", "crash test")
}

/// The child: does one write, which the failpoint stops after its payload put.
#[tokio::test]
#[ignore = "runs only as the child process of the kill -9 tests"]
async fn child_writes_until_killed() {
    let (Ok(config), Ok(action)) = (std::env::var("KILL9_CONFIG"), std::env::var("KILL9_ACTION"))
    else {
        return;
    };
    let chronos = Chronos::init(ChronosConfig::from_json_file(config).unwrap())
        .await
        .unwrap();
    let c = chronos.with(route()).unwrap();
    let data = json!({"v": "never committed"});
    let outcome = match action.split_once(':') {
        Some(("update", id)) => c.update(id, data, 0, meta()).await.map(|_| ()),
        _ if action == "create" => c.create(data, meta()).await.map(|_| ()),
        _ => c.create_many(vec![data; 3], meta()).await.map(|_| ()),
    };
    panic!("the failpoint did not stop the write: {outcome:?}");
}

/// Starts the child with `action`, waits until it stands between put and commit, kills it.
fn kill_mid_write(config: &Path, action: &str, dir: &Path) {
    kill_at(config, action, dir, AFTER_BLOB_PUT);
}

/// Starts the child with `action`, waits until it stands at `failpoint`, kills it.
fn kill_at(config: &Path, action: &str, dir: &Path, failpoint: &str) {
    let marker = dir.join(format!("marker-{}", action.replace(':', "-")));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writes_until_killed",
            "--ignored",
            "--test-threads=1",
        ])
        .env("KILL9_CONFIG", config)
        .env("KILL9_ACTION", action)
        .env("CHRONOS_FAILPOINT", failpoint)
        .env("CHRONOS_FAILPOINT_MARKER", &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child writer ended on its own ({status}) instead of stopping");
        }
        assert!(
            Instant::now() < deadline,
            "the child writer never reached the failpoint"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// `config` with `writeOptimization.payloadLayout` set to `layout`.
fn with_layout(config: ChronosConfig, layout: &str) -> ChronosConfig {
    let mut json = serde_json::to_value(config).unwrap();
    json["writeOptimization"]["payloadLayout"] = json!(layout);
    ChronosConfig::from_json_value(json).unwrap()
}

/// Writes `config` to `dir/config.json` for the child writers to open, opens it here too, and
/// creates the record whose updates the tests interrupt. Returns the instance, its
/// collection, the config file and that record's id.
async fn open_with_a_record(
    config: ChronosConfig,
    dir: &Path,
) -> (Chronos, chronos_db::Collection, PathBuf, String) {
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    let chronos = Chronos::init(config).await.unwrap();
    let c = chronos.with(route()).unwrap();
    let kept = c.create(json!({"v": "kept"}), meta()).await.unwrap();
    (chronos, c, path, kept.id)
}

/// Kills a child writer updating record `id` (ov 0 -> 1) when it reaches `failpoint`.
async fn kill_updating(config: &Path, dir: &Path, id: &str, failpoint: &'static str) {
    let (config, dir, action) = (
        config.to_path_buf(),
        dir.to_path_buf(),
        format!("update:{id}"),
    );
    tokio::task::spawn_blocking(move || kill_at(&config, &action, &dir, failpoint))
        .await
        .unwrap();
}

async fn crash_leaves_no_broken_record(config: ChronosConfig, dir: &Path) {
    // Inline payloads go in with the commit: a writer killed before it leaves nothing. Each
    // payload object is an orphan.
    let objects = config.write_optimization.inline_limit() == 0;
    let (chronos, _, path, kept) = open_with_a_record(config.clone(), dir).await;
    let now = at_once(true);
    assert!(chronos
        .repair(now.clone())
        .await
        .unwrap()
        .orphans
        .is_empty());

    let dir = dir.to_path_buf();
    let id = kept.clone();
    tokio::task::spawn_blocking(move || {
        kill_mid_write(&path, &format!("update:{id}"), &dir);
        kill_mid_write(&path, "create", &dir);
        kill_mid_write(&path, "create_many", &dir);
    })
    .await
    .unwrap();

    // What the dead writers left is not readable.
    let reopened = Chronos::init(config).await.unwrap();
    let c = reopened.with(route()).unwrap();
    let latest = c
        .get_latest(&kept, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.ov, &latest.data), (0, &json!({"v": "kept"})));
    assert!(c
        .get_version(&kept, 1, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    let all = c
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1, "{:?}", all.items);

    // Repair lists the 5 orphaned payloads (1 update, 1 create, 3 batched creates)...
    let orphans = if objects { 5 } else { 0 };
    let found = reopened.repair(now.clone()).await.unwrap();
    assert_eq!(found.orphans.len(), orphans, "{found:#?}");
    assert_eq!(found.removed, 0, "a dry run removes nothing");
    assert_eq!(found.heads_rolled_forward, 0, "{found:#?}");
    assert!(
        !objects
            || found
                .orphans
                .iter()
                .any(|o| o.key.contains(&kept) && o.key.ends_with("v1/item.json"))
    );
    // ...leaves them alone while they may still belong to a write in flight...
    let young = RepairOptions {
        dry_run: true,
        ..Default::default()
    };
    assert!(reopened.repair(young).await.unwrap().orphans.is_empty());
    // ...and removes them.
    let removed = reopened.repair(at_once(false)).await.unwrap();
    assert_eq!(removed.removed, orphans as u64);
    assert!(reopened.repair(now).await.unwrap().orphans.is_empty());
    // The record takes its next version at the normal key again.
    let w = c
        .update(&kept, json!({"v": "next"}), 0, meta())
        .await
        .unwrap();
    assert_eq!(w.ov, 1);
    let v1 = c
        .get_latest(&kept, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.data, json!({"v": "next"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_on_the_embedded_default() {
    for layout in ["inline", "objects"] {
        let dir = tempfile::tempdir().unwrap();
        let config = ChronosConfig::embedded(dir.path().join("data")).with_tenant("tenant-a");
        crash_leaves_no_broken_record(with_layout(config, layout), dir.path()).await;
    }
}

/// The MongoDB + S3 configuration of these tests, on databases of their own (`tag`).
fn mongodb_config(servers: servers::Servers, tag: &str) -> ChronosConfig {
    let prefix = format!("{tag}{}", std::process::id());
    ChronosConfig::from_json_value(json!({
        "dbConnections": {"mongo": DbConnection::mongodb(servers.mongo_uri)},
        "spacesConnections": {"s3": servers.s3},
        "databases": {"runtime": {"tenantDatabases": [{
            "tenantId": "tenant-a", "dbConnRef": "mongo", "spaceConnRef": "s3",
            "bucket": "chronos-test-a", "dbName": format!("{prefix}_rt_a")
        }]}}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_on_mongodb_and_s3() {
    let Some(servers) = servers::servers() else {
        return;
    };
    for layout in ["inline", "objects"] {
        let dir = tempfile::tempdir().unwrap();
        let config = with_layout(
            mongodb_config(servers.clone(), &format!("kill{layout}")),
            layout,
        );
        crash_leaves_no_broken_record(config, dir.path()).await;
    }
}

/// A writer killed inside its commit transaction leaves the record held by that transaction
/// until the server times it out. Writers meanwhile get a transient error that names the hold
/// (never a `Conflict`: the stored ov is the one they expect) within a bounded time, and
/// leave no payload behind; only the dead writer's payload is an orphan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_inside_a_mongodb_transaction() {
    let Some(servers) = servers::servers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Payload objects, so the dead writer's payload is there to find.
    let config = with_layout(mongodb_config(servers, "killtx"), "objects");
    let (chronos, c, path, kept) = open_with_a_record(config, dir.path()).await;
    kill_updating(&path, dir.path(), &kept, IN_MONGODB_TRANSACTION).await;

    let mut held = 0;
    for attempt in 0..5 {
        let started = Instant::now();
        let w = c.update(&kept, json!({"v": attempt}), 0, meta()).await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a write waited {:?}",
            started.elapsed()
        );
        match w {
            Ok(w) => {
                assert_eq!(w.ov, 1);
                break;
            }
            Err(e) if e.is_transient() && e.to_string().contains("held by another writer") => {
                held += 1
            }
            Err(e) => panic!("attempt {attempt}: {e}"),
        }
    }
    eprintln!("{held} writes answered that the dead transaction held the record");
    let orphans = chronos.repair(at_once(true)).await.unwrap().orphans;
    assert_eq!(orphans.len(), 1, "{orphans:#?}");
    assert!(orphans[0].key.ends_with("v1/item.json"), "{orphans:#?}");
}

/// A writer without transactions killed between its version insert (the commit point) and
/// its head move leaves the head behind. With inline payloads no object marks the record, so
/// repair finds the head from the index and rolls it forward.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_before_the_head_moves_then_repair_rolls_it_forward() {
    let Some(servers) = servers::servers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut json = serde_json::to_value(mongodb_config(servers, "killhead")).unwrap();
    json["transactions"] = json!({"enabled": false});
    let config = ChronosConfig::from_json_value(json).unwrap();
    assert!(
        config.write_optimization.inline_limit() > 0,
        "inline by default"
    );
    let (chronos, c, path, kept) = open_with_a_record(config, dir.path()).await;
    kill_updating(&path, dir.path(), &kept, BEFORE_HEAD_MOVE).await;

    let latest = |c: chronos_db::Collection, id: String| async move {
        let item = c
            .get_latest(&id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        (item.ov, item.data)
    };
    assert_eq!(
        latest(c.clone(), kept.clone()).await,
        (0, json!({"v": "kept"}))
    );
    let dry = chronos.repair(at_once(true)).await.unwrap();
    assert_eq!(
        (dry.heads_rolled_forward, dry.orphans.len()),
        (1, 0),
        "{dry:#?}"
    );
    assert_eq!(
        latest(c.clone(), kept.clone()).await.0,
        0,
        "a dry run moves nothing"
    );
    let done = chronos.repair(RepairOptions::default()).await.unwrap();
    assert_eq!(done.heads_rolled_forward, 1, "{done:#?}");
    assert_eq!(
        latest(c.clone(), kept.clone()).await,
        (1, json!({"v": "never committed"}))
    );
    let again = chronos.repair(RepairOptions::default()).await.unwrap();
    assert_eq!(again.heads_rolled_forward, 0, "{again:#?}");
}
