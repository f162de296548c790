//! The S3 server goes away mid-run: writers keep writing (their writes are queued and
//! acknowledged), the server comes back, the fallback queue replays, and every acknowledged
//! write is readable exactly as acknowledged.
//!
//! This binary holds one test on purpose: it stops the shared S3 test server, which no other
//! test may see (cargo runs test binaries one after another).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/servers.rs"]
mod servers;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronos_db::config::{DbConnection, SpacesConnection};
use chronos_db::{
    Chronos, ChronosConfig, DbType, QueueKind, ReadOptions, Route, WriteMeta, WriteResult,
};
use serde_json::{json, Value};

const WRITERS: usize = 4;

fn config(mongo_uri: String, s3: SpacesConnection) -> ChronosConfig {
    let prefix = format!("outage{}", std::process::id());
    let mongo = DbConnection {
        mongo_uri: Some(mongo_uri),
        ..Default::default()
    };
    ChronosConfig::from_json_value(json!({
        "dbConnections": {"mongo": mongo},
        "spacesConnections": {"s3": s3},
        "databases": {"runtime": {"tenantDatabases": [{
            "tenantId": "tenant-a", "dbConnRef": "mongo", "spaceConnRef": "s3",
            "bucket": "chronos-test-a", "dbName": format!("{prefix}_rt_a")
        }]}},
        "fallback": {"enabled": true, "maxRetries": 1000, "retryDelayMs": 200, "maxDelayMs": 1000}
    }))
    .unwrap()
}

fn script(action: &str) {
    let path = std::env::var("CHRONOS_TEST_SERVERS_SCRIPT").expect("CHRONOS_TEST_SERVERS_SCRIPT");
    let status = Command::new(path)
        .arg(action)
        .status()
        .expect("run test-servers.sh");
    assert!(status.success(), "test-servers.sh {action} failed");
}

/// One writer: creates a record and updates it until told to stop. Returns every
/// acknowledged write with the data it carried.
async fn writer(chronos: Chronos, n: usize, stop: Arc<AtomicBool>) -> Vec<(WriteResult, Value)> {
    let c = chronos
        .with(Route::tenant(DbType::Runtime, "tenant-a", "outage"))
        .unwrap();
    let meta = || WriteMeta::new(format!("writer-{n}"), "outage test");
    let mut acked = Vec::new();
    let first = json!({"writer": n, "step": 0});
    let w = c.create(first.clone(), meta()).await.unwrap();
    let (id, mut ov) = (w.id.clone(), w.ov);
    acked.push((w, first));
    let mut step = 1;
    while !stop.load(Ordering::Relaxed) {
        let data = json!({"writer": n, "step": step});
        match c.update(&id, data.clone(), ov, meta()).await {
            Ok(w) => {
                ov = w.ov;
                acked.push((w, data));
            }
            // Not acknowledged: allowed, but nothing may be left half-written.
            Err(e) => eprintln!("writer {n}: unacknowledged write: {e}"),
        }
        step += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
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
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| tokio::spawn(writer(chronos.clone(), n, stop.clone())))
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    script("stop-s3");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restart = tokio::task::spawn_blocking(|| script("start-s3"));
    restart.await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
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
    assert!(chronos
        .fallback()
        .list(QueueKind::DeadLetter)
        .await
        .unwrap()
        .is_empty());

    let c = chronos
        .with(Route::tenant(DbType::Runtime, "tenant-a", "outage"))
        .unwrap();
    for (w, data) in &acked {
        let item = c
            .get_version(&w.id, w.ov, ReadOptions::default())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged write {w:?} is missing"));
        assert_eq!((item.cv, item.at, &item.data), (w.cv, w.at, data), "{w:?}");
    }
    // Each record's latest version is its writer's last acknowledged write.
    for n in 0..WRITERS {
        let last = acked
            .iter()
            .filter(|(_, d)| d["writer"] == n)
            .max_by_key(|(w, _)| w.ov)
            .unwrap();
        let latest = c
            .get_latest(&last.0.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.ov, last.0.ov);
    }
    chronos.shutdown().await.unwrap();
}
