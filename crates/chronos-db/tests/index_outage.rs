//! The index store (the MongoDB test server) goes away mid-run and comes back on the same
//! data: while it is gone writes are refused quickly with `Backend` (never acknowledged: the
//! fallback queue lives in the index store); every write acknowledged before or after is
//! readable exactly as acknowledged, once per ov.
//!
//! This binary holds one test on purpose: it stops the shared MongoDB test server, which no
//! other test may see (cargo runs test binaries one after another).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/acknowledged.rs"]
mod acknowledged;
#[path = "support/servers.rs"]
mod servers;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronos_db::config::DbConnection;
use chronos_db::{Chronos, ChronosConfig, DbType, Error, Route, WriteMeta, WriteResult};
use serde_json::{json, Value};

const WRITERS: usize = 4;
/// The server selection timeout the test configures: a refused write answers within it.
const SELECTION_MS: u64 = 500;

fn route() -> Route {
    Route::tenant(DbType::Runtime, "tenant-a", "index_outage")
}

/// Updates `id` until told to stop; returns the acknowledged writes. Counts refusals, and
/// fails the test when one takes far longer than the selection timeout.
async fn writer(
    chronos: Chronos,
    n: usize,
    id: String,
    stop: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
) -> Vec<(WriteResult, Value)> {
    let c = chronos.with(route()).unwrap();
    let mut ov = 0;
    let mut acked = Vec::new();
    let mut step = 0;
    while !stop.load(Ordering::Relaxed) {
        step += 1;
        let data = json!({"writer": n, "step": step});
        let started = Instant::now();
        match c
            .update(&id, data.clone(), ov, WriteMeta::new("w", "index outage"))
            .await
        {
            Ok(w) => {
                assert!(
                    w.queued.is_none(),
                    "a write was queued without an index store"
                );
                ov = w.ov;
                acked.push((w, data));
            }
            Err(Error::Conflict { current, .. }) => ov = current,
            Err(e @ Error::Backend { .. }) => {
                let took = started.elapsed();
                assert!(
                    took < Duration::from_millis(SELECTION_MS * 10),
                    "a refused write took {took:?}: {e}"
                );
                refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("writer {n}: {e}"),
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_an_index_store_restart() {
    let Some(servers) = servers::servers() else {
        return;
    };
    let config = ChronosConfig::from_json_value(json!({
        "dbConnections": {"mongo": DbConnection::MongoDb {
            uri: servers.mongo_uri,
            server_selection_timeout_ms: Some(SELECTION_MS),
        }},
        "spacesConnections": {"s3": servers.s3},
        "databases": {"runtime": {"tenantDatabases": [{
            "tenantId": "tenant-a", "dbConnRef": "mongo", "spaceConnRef": "s3",
            "bucket": "chronos-test-a", "dbName": format!("ixoutage{}_rt_a", std::process::id())
        }]}},
        "fallback": {"enabled": true, "retryDelayMs": 200, "maxDelayMs": 1000}
    }))
    .unwrap();
    let chronos = Chronos::init(config).await.unwrap();
    let c = chronos.with(route()).unwrap();
    let mut acked = Vec::new();
    let mut ids = Vec::new();
    for n in 0..WRITERS {
        let data = json!({"writer": n, "step": 0});
        let w = c
            .create(data.clone(), WriteMeta::new("w", "setup"))
            .await
            .unwrap();
        ids.push(w.id.clone());
        acked.push((w, data));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| {
            let id = ids[n].clone();
            tokio::spawn(writer(
                chronos.clone(),
                n,
                id,
                stop.clone(),
                refused.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::spawn_blocking(|| servers::script("stop-mongo"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    tokio::task::spawn_blocking(|| servers::script("start-mongo"))
        .await
        .unwrap();
    // Writers reconnect on their own; give them time to write again.
    let before = acked.len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "the outage was not observed"
    );
    assert!(acked.len() > before, "nothing was acknowledged");
    eprintln!(
        "{} acknowledged writes, {} refused during the outage",
        acked.len(),
        refused.load(Ordering::Relaxed)
    );

    acknowledged::check_acknowledged(&c, &acked).await;
    chronos.shutdown().await.unwrap();
}
