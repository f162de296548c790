//! `chronos-db serve` as a process: a configuration file with a `serve` section and a key
//! made by `hash-key`; SIGTERM lets requests finish and flushes the counters; a `kill -9`
//! during writes, then `repair`, loses no acknowledged (2xx) write.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chronos_db::{Chronos, ChronosConfig, DbType, ReadOptions, Route};
use serde_json::{json, Value};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chronos-db"))
}

/// Starts `chronos-db <args> serve --listen 127.0.0.1:<port>` and waits until it answers.
async fn serve(args: &[&str], port: u16) -> Child {
    let listen = format!("127.0.0.1:{port}");
    let mut child = bin()
        .args(args)
        .args(["serve", "--listen", &listen])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("http://{listen}/healthz"))
            .send()
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the service did not start");
}

/// A configuration file for the embedded default in `dir`, with counters flushed only at
/// shutdown and a `serve` section holding `keys`.
fn config_file(dir: &Path, keys: Value) -> String {
    let mut config: Value = serde_json::from_str(
        &ChronosConfig::embedded(dir.join("data"))
            .to_json_string()
            .unwrap(),
    )
    .unwrap();
    config["writeOptimization"]["debounceMs"] = json!(3_600_000);
    config["serve"] = json!({ "keys": keys });
    let path = dir.join("chronos.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn a_key_from_hash_key_opens_the_service_and_sigterm_flushes_the_counters() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().args(["hash-key", "app"]).output().unwrap();
    assert!(out.status.success());
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = made["key"].as_str().unwrap().to_string();
    let file = config_file(
        dir.path(),
        json!([{"id": "app", "hash": made["hash"], "scopes": [{"access": "write"}]}]),
    );
    let port = free_port();
    let mut child = serve(&["--config", &file], port).await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v1/runtime/generic/things/records");
    let r = client
        .post(&url)
        .json(&json!({"n": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for n in 0..5 {
        let r = client
            .post(&url)
            .bearer_auth(&key)
            .json(&json!({"n": n}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    // The counters were flushed at shutdown (their debounce is an hour).
    let config = chronos_server::load_file(&file).unwrap().0;
    let chronos = Chronos::init(config).await.unwrap();
    let totals = chronos
        .counters()
        .get_totals(&Route::generic(DbType::Runtime, "things"))
        .await
        .unwrap();
    assert_eq!(totals.created, 5);
    chronos.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_server_killed_during_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let data_arg = data.display().to_string();
    let port = free_port();
    let mut child = serve(&["--data-dir", &data_arg], port).await;
    let base = format!("http://127.0.0.1:{port}/v1/runtime/generic/things");
    let mut writers = Vec::new();
    for w in 0..8 {
        let base = base.clone();
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut acked = Vec::new();
            for n in 0.. {
                let data = json!({"writer": w, "n": n, "pad": "x".repeat(300)});
                match client
                    .post(format!("{base}/records"))
                    .json(&data)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        if let Some(id) = v["id"].as_str() {
                            acked.push((id.to_string(), data));
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    assert!(
        acked.len() > 10,
        "only {} writes before the kill",
        acked.len()
    );
    let repaired = bin()
        .args(["--data-dir", &data_arg, "repair", "--min-age-secs", "0"])
        .output()
        .unwrap();
    assert!(
        repaired.status.success(),
        "{}",
        String::from_utf8_lossy(&repaired.stderr)
    );
    let chronos = Chronos::init(ChronosConfig::embedded(&data)).await.unwrap();
    let things = chronos
        .with(Route::generic(DbType::Runtime, "things"))
        .unwrap();
    for (id, data) in &acked {
        let v = things
            .get_latest(id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged {id} is gone"));
        assert_eq!(&v.data, data);
    }
    chronos.shutdown().await.unwrap();
}
