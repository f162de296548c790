//! The Rust half of the Node.js benchmark (`bench/compare.mjs`): the same operations as the
//! Node.js half, through the Rust API, on a fresh embedded store in `dir`, printed as one
//! line of JSON (latencies in microseconds).
//!
//! `cargo run --release -p chronos-db-node --example rust_baseline -- <dir> <records>`

use std::time::Instant;

use chronos_db::{Chronos, ChronosConfig, DbType, ListQuery, ReadOptions, Route, WriteMeta};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The median of `samples` (microseconds).
fn p50(mut samples: Vec<u128>) -> u128 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: rust_baseline <dir> <records>")?;
    let records: usize = args
        .next()
        .ok_or("usage: rust_baseline <dir> <records>")?
        .parse()?;
    let mut config: serde_json::Value =
        serde_json::from_str(&ChronosConfig::embedded(&dir).to_json_string()?)?;
    config["collectionMaps"] = json!({"sensor-data": {"indexedProps": ["deviceId"]}});
    let chronos = Chronos::init(ChronosConfig::from_json_value(config)?).await?;
    let iot = chronos.with(Route::generic(DbType::Runtime, "sensor-data"))?;

    // The seed's IoT batch: creates, 100 at a time.
    let mut batches = Vec::new();
    let mut ids = Vec::with_capacity(records);
    let started = Instant::now();
    for chunk in 0..records.div_ceil(100) {
        let t = Instant::now();
        let writes = (chunk * 100..((chunk + 1) * 100).min(records)).map(|i| {
            let data = json!({
                "deviceId": format!("sensor-{}", i % 1000),
                "timestamp": chrono::Utc::now().to_rfc3339(),
                "temperature": (i % 100) as f64 * 0.93,
                "humidity": (i % 77) as f64 * 1.1,
                "location": {"lat": (i % 90) as f64, "lng": (i % 180) as f64},
            });
            iot.create(data, WriteMeta::new("iot-ingestion", "sensor-data"))
        });
        for w in futures::future::join_all(writes).await {
            ids.push(w?.id);
        }
        batches.push(t.elapsed().as_micros());
    }
    let ingest_secs = started.elapsed().as_secs_f64();

    let mut reads = Vec::new();
    for i in 0..1000 {
        let id = &ids[(i * 7919) % ids.len()];
        let t = Instant::now();
        iot.get_latest(id, ReadOptions::default()).await?;
        reads.push(t.elapsed().as_micros());
    }
    let mut pages = Vec::new();
    for i in 0..200 {
        let query =
            ListQuery::filter(json!({"deviceId": format!("sensor-{}", i % 1000)})).limit(50);
        let t = Instant::now();
        iot.list_by_meta(query, ReadOptions::default()).await?;
        pages.push(t.elapsed().as_micros());
    }
    chronos.shutdown().await?;
    let out = json!({
        "createsPerSec": records as f64 / ingest_secs,
        "batchP50Us": p50(batches),
        "getLatestP50Us": p50(reads),
        "listPageP50Us": p50(pages),
    });
    println!("{out}");
    Ok(())
}
