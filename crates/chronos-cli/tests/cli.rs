//! The `chronos-db` binary on the embedded default: a configuration check, health, a repair
//! that finds and removes a planted orphan payload, prune, the queue listing, the change
//! feed (a page and `--follow`), verify, and a migration to MongoDB + S3 by export and
//! import.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use chronos_db::{Chronos, ChronosConfig, Collection, DbType, Route, WriteMeta};
use serde_json::{json, Value};

/// Runs the binary; returns (exit code, stdout as JSON or Null, stderr).
fn cli(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chronos-db"))
        .args(args)
        .output()
        .expect("run chronos-db");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dir_arg(dir: &Path) -> String {
    dir.display().to_string()
}

/// Opens the embedded default in `data`, runs `writes` on its generic runtime collection
/// `things`, shuts it down (the command line then opens the files alone) and returns what
/// `writes` returned.
async fn with_things<T>(data: &Path, writes: impl AsyncFnOnce(&Collection) -> T) -> T {
    let chronos = Chronos::init(ChronosConfig::embedded(data)).await.unwrap();
    let things = chronos
        .with(Route::generic(DbType::Runtime, "things"))
        .unwrap();
    let out = writes(&things).await;
    chronos.shutdown().await.unwrap();
    out
}

#[test]
fn check_config_reports_the_path_of_a_bad_value() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.json");
    let config = ChronosConfig::embedded(tmp.path().join("data")).with_tenant("t1");
    std::fs::write(&good, config.to_json_string().unwrap()).unwrap();
    let (code, out, err) = cli(&["check-config", "--config", &dir_arg(&good)]);
    assert_eq!((code, out), (0, json!({ "valid": true })), "{err}");

    let bad = tmp.path().join("bad.json");
    let mut value: Value = serde_json::from_str(&config.to_json_string().unwrap()).unwrap();
    value["databases"]["runtime"]["genericDatabase"]["dbConnRef"] = json!("nowhere");
    std::fs::write(&bad, value.to_string()).unwrap();
    let (code, out, err) = cli(&["check-config", "--config", &dir_arg(&bad)]);
    assert_eq!(code, 2);
    assert_eq!(out, Value::Null);
    assert!(err.contains("nowhere"), "{err}");
    assert!(err.contains("databases.runtime.genericDatabase"), "{err}");
}

#[test]
fn arguments_that_name_no_configuration_are_refused() {
    let (code, _, err) = cli(&["health"]);
    assert_eq!(code, 2);
    assert!(err.contains("--config"), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let (code, _, err) = cli(&["repair", "--data-dir", &dir_arg(&missing)]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!missing.exists(), "nothing is created for a mistyped path");
}

#[tokio::test]
async fn repair_lists_then_removes_an_orphan_payload() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let id = with_things(&data, async |things| {
        let made = things
            .create(json!({ "name": "kept" }), WriteMeta::default())
            .await
            .unwrap();
        assert_eq!(made.ov, 0);
        made.id
    })
    .await;
    // A version-1 payload whose commit never happened (the writer died after its put). The
    // record's own small payload is inline, in its version row.
    let record_dir = data
        .join("blobs/runtime-generic/runtime_generic/things")
        .join(&id);
    let orphan = record_dir.join("v1/item.json");
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, br#"{"name":"never committed"}"#).unwrap();
    let data = dir_arg(&data);

    let (code, health, err) = cli(&["health", "--data-dir", &data]);
    assert_eq!(code, 0, "{err}");
    assert!(health["backends"].as_array().is_some_and(|b| !b.is_empty()));

    // Young blobs are left alone: they may belong to a write in flight.
    let (code, report, err) = cli(&["repair", "--data-dir", &data, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["orphans"], json!([]));

    let (code, report, err) = cli(&[
        "repair",
        "--data-dir",
        &data,
        "--dry-run",
        "--min-age-secs",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    let orphans = report["orphans"].as_array().unwrap();
    assert_eq!(orphans.len(), 1, "{report}");
    assert!(orphans[0]["key"]
        .as_str()
        .unwrap()
        .ends_with("/v1/item.json"));
    assert_eq!(report["removed"], 0);
    assert!(orphan.exists(), "a dry run changes nothing");

    let (code, report, err) = cli(&["repair", "--data-dir", &data, "--min-age-secs", "0"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["removed"], 1, "{report}");
    assert!(!orphan.exists());

    let (code, report, err) = cli(&["prune", "--data-dir", &data]);
    assert_eq!(code, 0, "{err}");
    assert!(report.is_object(), "{report}");
    let (code, queued, err) = cli(&["queue", "list", "--data-dir", &data]);
    assert_eq!((code, queued), (0, json!([])), "{err}");

    // The committed record is untouched.
    let chronos = Chronos::init(ChronosConfig::embedded(tmp.path().join("data")))
        .await
        .unwrap();
    let things = chronos
        .with(Route::generic(DbType::Runtime, "things"))
        .unwrap();
    let page = things
        .list_by_meta(Default::default(), Default::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].data["name"], "kept");
    chronos.shutdown().await.unwrap();
}

#[tokio::test]
async fn verify_names_a_version_changed_in_the_index_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let id = with_things(&data, async |things| {
        let made = things
            .create(json!({ "n": 0 }), WriteMeta::new("ann", "first"))
            .await
            .unwrap();
        things
            .update(
                &made.id,
                json!({ "n": 1 }),
                0,
                WriteMeta::new("ann", "second"),
            )
            .await
            .unwrap();
        made.id
    })
    .await;
    let dir = dir_arg(&data);
    let (code, report, err) = cli(&["verify", "--data-dir", &dir]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report[0]["collection"], "things", "{report}");
    assert_eq!(report[0]["records"], 1);
    assert_eq!(report[0]["verified"], 2);
    assert_eq!(report[0]["broken"], json!([]));

    // Someone edits the reason of version 0 in the SQLite file.
    let file = data.join("index/runtime_generic.sqlite3");
    let conn = rusqlite::Connection::open(&file).unwrap();
    let changed = conn
        .execute(
            "UPDATE \"things_ver\" SET reason = 'rewritten' WHERE id = ?1 AND ov = 0",
            [&id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let (code, report, err) = cli(&["verify", "--data-dir", &dir, "--collection", "things"]);
    assert_eq!(code, 1, "a broken chain exits 1: {err}");
    let broken = &report[0]["broken"];
    assert_eq!(broken.as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(broken[0]["id"], json!(id));
    assert_eq!(broken[0]["ov"], 0);
    assert_eq!(broken[0]["problem"], "hashMismatch");
    let (code, report, err) = cli(&["verify", "--data-dir", &dir, "--collection", "other"]);
    assert_eq!((code, report), (0, json!([])), "{err}");
}

/// Against the MongoDB + S3 test servers (when they run), the command line exits cleanly every
/// time: its MongoDB client is shut down before the runtime stops, so no driver worker panics
/// at exit (it did about once in fifty runs when the client was only dropped).
#[cfg(all(feature = "mongodb", feature = "s3"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_prints_a_page_and_follows_new_writes() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let written = with_things(&data, async |things| {
        let a = things
            .create(json!({ "n": "a" }), WriteMeta::new("ann", "a"))
            .await
            .unwrap();
        let a1 = things
            .update(&a.id, json!({ "n": "a1" }), 0, WriteMeta::new("ann", "a1"))
            .await
            .unwrap();
        let b = things
            .create(json!({ "n": "b" }), WriteMeta::new("bob", "b"))
            .await
            .unwrap();
        vec![a, a1, b]
    })
    .await;
    let dir = dir_arg(&data);
    let base = [
        "changes",
        "--data-dir",
        &dir,
        "--route",
        "runtime/generic",
        "--collection",
        "things",
    ];
    let (code, page, err) = cli(&base);
    assert_eq!(code, 0, "{err}");
    let seen: Vec<(String, u64, u64)> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["ov"].as_u64().unwrap(),
                c["cv"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64, u64)> =
        written.iter().map(|w| (w.id.clone(), w.ov, w.cv)).collect();
    assert_eq!(seen, want, "every write once, in cv order");
    assert_eq!(page["afterCv"], json!(written[2].cv));
    let after = written[0].cv.to_string();
    let mut args = base.to_vec();
    args.extend(["--after", &after, "--limit", "1", "--data"]);
    let (code, page, err) = cli(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(page["changes"][0]["data"], json!({ "n": "a1" }));
    assert_eq!(page["afterCv"], json!(written[1].cv));
    let mut bad = base.to_vec();
    bad[4] = "runtime/nowhere";
    assert_eq!(cli(&bad).0, 2, "a bad route is an error");

    // Following: the writes so far, then a write made while it runs.
    let mut args = base.to_vec();
    args.push("--follow");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chronos-db"))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run chronos-db changes --follow");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx
                .send(serde_json::from_str::<Value>(&line).unwrap())
                .is_err()
            {
                return;
            }
        }
    });
    let next = || {
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("a followed write")
    };
    let first: Vec<u64> = (0..3).map(|_| next()["cv"].as_u64().unwrap()).collect();
    assert_eq!(first, written.iter().map(|w| w.cv).collect::<Vec<_>>());
    let c = with_things(&data, async |things| {
        things
            .create(json!({ "n": "c" }), WriteMeta::new("cat", "c"))
            .await
            .unwrap()
    })
    .await;
    let followed = next();
    assert_eq!(
        (followed["id"].as_str(), followed["cv"].as_u64()),
        (Some(c.id.as_str()), Some(c.cv))
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn commands_on_mongodb_exit_cleanly_every_time() {
    let Ok(config) = std::env::var("CHRONOS_TEST_SERVERS_SCRIPT").map(|s| {
        Path::new(&s)
            .parent()
            .unwrap()
            .join("../target/test-servers/chronos.json")
    }) else {
        if std::env::var("CHRONOS_REQUIRE_SERVERS").is_ok() {
            panic!("CHRONOS_REQUIRE_SERVERS is set but the test servers' environment is missing");
        }
        eprintln!("skipped: the MongoDB + S3 test servers are not running");
        return;
    };
    let config = dir_arg(&config);
    for run in 0..30 {
        let (code, out, err) = cli(&["queue", "--config", &config, "list"]);
        assert_eq!(code, 0, "run {run}: {err}");
        assert!(out.is_array(), "run {run}: {out}");
        assert!(!err.contains("panicked"), "run {run}: {err}");
    }
}

/// The MongoDB + S3 test servers' configuration for tenant `tenant-a` in a database of its
/// own, or `None` when they are not running (and not required).
fn mongo_s3_config(db_name: &str) -> Option<Value> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(uri), Some(endpoint)) = (
        var("CHRONOS_TEST_MONGO_URI"),
        var("CHRONOS_TEST_S3_ENDPOINT"),
    ) else {
        assert!(
            var("CHRONOS_REQUIRE_SERVERS").is_none(),
            "CHRONOS_REQUIRE_SERVERS is set but the test servers' environment is missing"
        );
        eprintln!("skipped: the MongoDB + S3 test servers are not running");
        return None;
    };
    Some(json!({
        "dbConnections": {"mongo": {"mongoUri": uri}},
        "spacesConnections": {"s3": {
            "endpoint": endpoint,
            "region": var("CHRONOS_TEST_S3_REGION")?,
            "accessKey": var("CHRONOS_TEST_S3_ACCESS_KEY")?,
            "secretKey": var("CHRONOS_TEST_S3_SECRET_KEY")?,
            "forcePathStyle": true
        }},
        "databases": {"runtime": {"tenantDatabases": [{
            "tenantId": "tenant-a", "dbConnRef": "mongo", "spaceConnRef": "s3",
            "bucket": "chronos-test-a", "dbName": db_name
        }]}}
    }))
}

/// Every listing the migration compares: (id, ov, data) of each page, all pages.
async fn listings(c: &chronos_db::Collection) -> Vec<Vec<(String, u64, Value)>> {
    use chronos_db::{ListQuery, ReadOptions};
    let mut out = Vec::new();
    let queries = [
        ListQuery::default().limit(7),
        ListQuery {
            include_deleted: true,
            ..ListQuery::default().limit(7)
        },
        ListQuery::filter(json!({"status": "open"})).limit(5),
        ListQuery::filter(json!({"n": {"$gte": 10}})).limit(5),
    ];
    for q in queries {
        let mut q = q;
        loop {
            let page = c
                .list_by_meta(q.clone(), ReadOptions::default())
                .await
                .unwrap();
            out.push(
                page.items
                    .iter()
                    .map(|i| (i.id.clone(), i.ov, i.data.clone()))
                    .collect(),
            );
            match page.next_after_id {
                Some(after) => q = q.after(after),
                None => break,
            }
        }
    }
    out
}

/// Moving from the embedded default to MongoDB + S3: `export` of a whole route from SQLite +
/// local files, `import` into MongoDB + S3, and every version answers `get_as_of` at its
/// time, and every listing, the same on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_the_embedded_default_imports_into_mongodb_and_s3() {
    use chronos_db::transfer::ExportedVersion;
    use chronos_db::{EnrichMeta, ReadOptions};
    let stamp = uuid_like();
    let Some(target_config) = mongo_s3_config(&format!("mig{stamp}")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let route = || Route::tenant(DbType::Runtime, "tenant-a", "ledger");
    {
        let chronos = Chronos::init(ChronosConfig::embedded(&data).with_tenant("tenant-a"))
            .await
            .unwrap();
        let ledger = chronos.with(route()).unwrap();
        let m = |r: &str| WriteMeta::new("migrator", r);
        for i in 0..3 {
            let id = format!("deep-{i}");
            ledger
                .create_with_id(&id, json!({"n": 0, "status": "open"}), m("v0"))
                .await
                .unwrap();
            for ov in 0..60 {
                let status = if ov % 7 == 0 { "held" } else { "open" };
                ledger
                    .update(&id, json!({"n": ov + 1, "status": status}), ov, m("step"))
                    .await
                    .unwrap();
            }
        }
        let many = ledger
            .create_many(
                (0..20).map(|n| json!({"n": n, "status": "open"})).collect(),
                m("batch"),
            )
            .await
            .unwrap();
        for (i, w) in many.iter().enumerate() {
            match i % 4 {
                0 => {
                    ledger.delete(&w.id, 0, m("closed")).await.unwrap();
                }
                1 => {
                    ledger
                        .enrich(
                            &w.id,
                            json!({"extra": {"i": i}}),
                            EnrichMeta::new("f@v1", "bot", "e"),
                        )
                        .await
                        .unwrap();
                }
                _ => {}
            }
        }
        // A second collection on the route.
        let other = chronos
            .with(Route::tenant(DbType::Runtime, "tenant-a", "notes"))
            .unwrap();
        other
            .create(json!({"text": "hello"}), m("note"))
            .await
            .unwrap();
        chronos.shutdown().await.unwrap();
    }
    let file = tmp.path().join("export.jsonl");
    let (code, summary, err) = cli(&[
        "export",
        "--data-dir",
        &dir_arg(&data),
        "--tenant",
        "tenant-a",
        "--route",
        "runtime/tenant/tenant-a",
        "--out",
        &dir_arg(&file),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary["collections"]["ledger"], 3 * 61 + 20 + 5 + 5);
    assert_eq!(summary["collections"]["notes"], 1);
    let lines: Vec<ExportedVersion> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, summary["versions"].as_u64().unwrap());

    let config_file = tmp.path().join("target.json");
    std::fs::write(&config_file, target_config.to_string()).unwrap();
    let config_arg = dir_arg(&config_file);
    let input = dir_arg(&file);
    let import_args = [
        "import",
        "--config",
        &config_arg,
        "--route",
        "runtime/tenant/tenant-a",
        "--in",
        &input,
    ];
    let import = || cli(&import_args);
    let (code, report, err) = import();
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["ledger"]["imported"], 23, "{report}");
    assert_eq!(report["notes"]["imported"], 1, "{report}");
    // Running it again finds everything there.
    let (code, report, err) = import();
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["ledger"]["present"], 23, "{report}");
    assert_eq!(report["ledger"]["versionsWritten"], 0, "{report}");

    let source = Chronos::init(ChronosConfig::embedded(&data).with_tenant("tenant-a"))
        .await
        .unwrap();
    let target = Chronos::init(ChronosConfig::from_json_value(target_config).unwrap())
        .await
        .unwrap();
    let (a, b) = (source.with(route()).unwrap(), target.with(route()).unwrap());
    for v in lines.iter().filter(|v| v.collection == "ledger") {
        let x = a
            .get_as_of(&v.id, v.at, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        let y = b
            .get_as_of(&v.id, v.at, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                x.ov,
                x.at,
                x.deleted,
                &x.data,
                &x.actor,
                &x.reason,
                &x.function_ids
            ),
            (
                y.ov,
                y.at,
                y.deleted,
                &y.data,
                &y.actor,
                &y.reason,
                &y.function_ids
            ),
            "{}@v{}",
            v.id,
            v.ov
        );
        assert_eq!(x.ov, v.ov);
    }
    assert_eq!(listings(&a).await, listings(&b).await);
    let verified = b.verify_all().await.unwrap();
    assert!(verified.is_whole(), "{:?}", verified.broken);
    source.shutdown().await.unwrap();
    target.shutdown().await.unwrap();
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", nanos & 0xffff_ffff, std::process::id())
}
