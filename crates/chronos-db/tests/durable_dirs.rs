//! A fresh embedded data directory survives a power loss: before the first write is
//! acknowledged, every directory of the data directory (`data`, `data/index`, `data/blobs`,
//! the bucket and the payload's own directories) and the directory holding `data` are synced.
//! Checked by running a write under `strace` and reading the syncs it made, in order.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chronos_db::{Chronos, ChronosConfig, DbType, Route, WriteMeta};
use serde_json::json;

/// Where the traced child writes (set by the parent test only).
const CHILD_DATA: &str = "CHRONOS_DURABLE_DIRS_DATA";

/// The path the child looks up once its first write is acknowledged: a mark in the trace.
fn ack_mark(data: &Path) -> PathBuf {
    data.with_file_name("acknowledged-mark")
}

/// The traced child: opens the embedded default in a fresh directory and makes one write
/// whose payload is an object of its own. Run by the test below, under strace.
#[tokio::test]
#[ignore = "run under strace by every_directory_is_synced_before_the_first_write_returns"]
async fn first_write_into_a_fresh_data_directory() {
    let data = PathBuf::from(std::env::var(CHILD_DATA).expect(CHILD_DATA));
    let mut config: serde_json::Value =
        serde_json::from_str(&ChronosConfig::embedded(&data).to_json_string().unwrap()).unwrap();
    config["collectionMaps"] = json!({"things": {"indexedProps": ["name"]}});
    let config = ChronosConfig::from_json_value(config).unwrap();
    let chronos = Chronos::init(config).await.unwrap();
    let things = chronos
        .with(Route::generic(DbType::Runtime, "things"))
        .unwrap();
    let big = "x".repeat(256 * 1024);
    things
        .create(
            json!({"name": "first", "big": big}),
            WriteMeta::new("t", "first write"),
        )
        .await
        .unwrap();
    let _ = std::fs::metadata(ack_mark(&data));
    chronos.shutdown().await.unwrap();
}

/// Every directory under `root` (itself included).
fn directories(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        for entry in std::fs::read_dir(&out[i]).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                out.push(entry.path());
            }
        }
        i += 1;
    }
    out
}

#[test]
fn every_directory_is_synced_before_the_first_write_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let data = root.join("data");
    let trace = root.join("trace.txt");
    let status = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-qq",
            "-e",
            "trace=fsync,fdatasync,statx,newfstatat,stat",
        ])
        .arg("-o")
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "first_write_into_a_fresh_data_directory",
            "--test-threads=1",
        ])
        .env(CHILD_DATA, &data)
        .status()
        .expect("strace (Debian package strace) runs the write");
    assert!(status.success(), "the traced write failed");
    let trace = std::fs::read_to_string(&trace).unwrap();
    let mark = ack_mark(&data).display().to_string();
    let before_ack: Vec<&str> = trace
        .lines()
        .take_while(|line| !line.contains(&mark))
        .collect();
    assert!(
        before_ack.len() < trace.lines().count(),
        "the write never reached its acknowledgement mark"
    );
    let synced = |dir: &Path| {
        let held = format!("<{}>)", dir.display());
        before_ack
            .iter()
            .any(|l| (l.contains("fsync(") || l.contains("fdatasync(")) && l.contains(&held))
    };
    let mut unsynced: Vec<PathBuf> = directories(&data)
        .into_iter()
        .chain([root.clone()])
        .filter(|d| !synced(d))
        .collect();
    unsynced.sort();
    assert!(
        unsynced.is_empty(),
        "directories not synced before the first write returned: {unsynced:#?}"
    );
}
