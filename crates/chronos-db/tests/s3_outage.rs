//! The S3 server goes away mid-run: eight writers racing on two records keep writing (their
//! writes are queued and acknowledged), the server comes back, the fallback queue replays, and
//! every acknowledged write is readable exactly as acknowledged, none was acknowledged twice
//! for one ov, and none was dead-lettered.
//!
//! This binary holds one test on purpose: it stops the shared S3 test server, which no other
//! test may see (cargo runs test binaries one after another).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/acknowledged.rs"]
mod acknowledged;
#[path = "support/servers.rs"]
mod servers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronos_db::config::{DbConnection, SpacesConnection};
use chronos_db::fallback::QueueKind;
use chronos_db::{Chronos, ChronosConfig, DbType, Error, Route, WriteMeta, WriteResult};
use serde_json::{json, Value};

/// Writers; they share `RECORDS` records, so writes race for each ov.
const WRITERS: usize = 8;
const RECORDS: usize = 2;

fn config(mongo_uri: String, s3: SpacesConnection) -> ChronosConfig {
    let prefix = format!("outage{}", std::process::id());
    let mongo = DbConnection::mongodb(mongo_uri);
    ChronosConfig::from_json_value(json!({
        "dbConnections": {"mongo": mongo},
        "spacesConnections": {"s3": s3},
        "databases": {"runtime": {"tenantDatabases": [{
            "tenantId": "tenant-a", "dbConnRef": "mongo", "spaceConnRef": "s3",
            "bucket": "chronos-test-a", "dbName": format!("{prefix}_rt_a")
        }]}},
        "fallback": {"enabled": true, "maxRetries": 1000, "retryDelayMs": 200, "maxDelayMs": 1000},
        // Every payload an object, so every write meets the outage (inline ones would not).
        "writeOptimization": {"payloadLayout": "objects"}
    }))
    .unwrap()
}

/// One writer: updates `id` until told to stop, starting from the ov it is given and, on a
/// conflict, from the ov the conflict reports (as any optimistic writer does). Returns every
/// acknowledged write with the data it carried.
async fn writer(
    chronos: Chronos,
    n: usize,
    id: String,
    mut ov: u64,
    stop: Arc<AtomicBool>,
) -> Vec<(WriteResult, Value)> {
    let c = chronos
        .with(Route::tenant(DbType::Runtime, "tenant-a", "outage"))
        .unwrap();
    let meta = || WriteMeta::new(format!("writer-{n}"), "outage test");
    let mut acked = Vec::new();
    let mut step = 1;
    while !stop.load(Ordering::Relaxed) {
        let data = json!({"writer": n, "step": step});
        match c.update(&id, data.clone(), ov, meta()).await {
            Ok(w) => {
                ov = w.ov;
                acked.push((w, data));
            }
            Err(Error::Conflict { current, .. }) => ov = current,
            // Not acknowledged: allowed, but nothing may be left half-written.
            Err(e) => eprintln!("writer {n}: unacknowledged write: {e}"),
        }
        step += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_an_s3_outage() {
    let Some(servers) = servers::servers() else {
        return;
    };
    let chronos = Chronos::init(config(servers.mongo_uri, servers.s3))
        .await
        .unwrap();
    let c = chronos
        .with(Route::tenant(DbType::Runtime, "tenant-a", "outage"))
        .unwrap();
    let mut acked = Vec::new();
    let mut ids = Vec::new();
    for r in 0..RECORDS {
        let first = json!({"record": r});
        let w = c
            .create(first.clone(), WriteMeta::new("setup", "outage test"))
            .await
            .unwrap();
        ids.push(w.id.clone());
        acked.push((w, first));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| {
            let id = ids[n % RECORDS].clone();
            tokio::spawn(writer(chronos.clone(), n, id, 0, stop.clone()))
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    servers::script("stop-s3");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restart = tokio::task::spawn_blocking(|| servers::script("start-s3"));
    restart.await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        acked.extend(w.await.unwrap());
    }

    let queued = acked.iter().filter(|(w, _)| w.queued.is_some()).count();
    assert!(
        queued > 0,
        "no write was queued: the outage was not observed"
    );
    let direct = acked.len() - queued;
    eprintln!(
        "{} acknowledged writes: {direct} direct, {queued} queued",
        acked.len()
    );

    // The worker replays on its own; wait for the queue to drain.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending = chronos.fallback().list(QueueKind::Pending).await.unwrap();
        if pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "queue not drained: {} left",
            pending.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let dead = chronos
        .fallback()
        .list(QueueKind::DeadLetter)
        .await
        .unwrap();
    assert!(dead.is_empty(), "dead-lettered: {dead:#?}");

    acknowledged::check_acknowledged(&c, &acked).await;
    chronos.shutdown().await.unwrap();
}
