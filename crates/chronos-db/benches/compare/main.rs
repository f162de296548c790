//! chronos-db against the raw backends, in one run on the same machine and servers.
//!
//! For each backend pair (SQLite + local files; MongoDB + S3 when the test servers run) every
//! operation is done through chronos-db and, interleaved with it, by the minimal direct calls
//! to `rusqlite` / `mongodb` / `object_store` that the same operation needs. It prints ops/s,
//! p50 and p99 per side, the ratio of mean latencies (chronos / raw) against the targets, how
//! flat `get_as_of` stays from 1 to 10,000 versions, `create_many` against single creates,
//! and the peak memory of each pair. The raw side stores payloads at the key DESIGN.md's
//! version protocol fixes (`<db>/<collection>/<id>/v<ov>/item.json`, as any implementation of
//! the protocol must); a separate line shows what that layout costs against flat keys. The
//! embedded pair runs at both durability levels, each against a baseline that syncs alike.
//! chronos-db runs with `payloadLayout: objects` here, the layout the raw side mirrors; the
//! growth benchmark (`benches/scale`) measures the inline default against an inline table.
//!
//! `./scripts/bench.sh` starts the test servers and runs this; `cargo bench --bench compare`
//! alone measures the embedded pair. `CHRONOS_BENCH_N` sets the samples per operation
//! (default 1000 for the embedded pair, 300 for MongoDB + S3), `CHRONOS_BENCH_DEEP`
//! (default 10000) the deepest history.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod raw_blobs;
mod raw_embedded;
mod raw_mongo_s3;
mod stats;
mod subject;

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chronos_db::config::{
    CollectionMap, DbConnection, Durability, PayloadLayout, S3Connection, SpacesConnection,
};
use chronos_db::{Chronos, ChronosConfig, DbType, Route};
use object_store::ObjectStore;
use serde_json::{json, Value};

use stats::{header, peak_memory_mib, reset_peak_memory, row, Samples};
use subject::{BenchResult, Subject};

const COLLECTION: &str = "bench";
const BATCH: usize = 500;

struct Plan {
    n: usize,
    deep: u64,
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// About 800 bytes of JSON, in ten statuses.
fn payload(i: usize) -> Value {
    json!({"status": format!("s{}", i % 10), "n": i, "text": "lorem ipsum ".repeat(60)})
}

async fn timed<T>(f: impl Future<Output = BenchResult<T>>) -> BenchResult<(Duration, T)> {
    let start = Instant::now();
    let out = f.await?;
    Ok((start.elapsed(), out))
}

/// A record with `depth` versions; returns its id and the time of every version.
async fn history(s: &dyn Subject, depth: u64) -> BenchResult<(String, Vec<DateTime<Utc>>)> {
    let (id, at) = s.create(&payload(0)).await?;
    let mut times = vec![at];
    for ov in 1..depth {
        times.push(s.update(&id, &payload(ov as usize), ov - 1).await?);
    }
    Ok((id, times))
}

/// Which subject goes first in sample `i`: they take turns, so neither always finds the
/// runtime's blocking threads and caches as the other just left them.
fn turns(i: usize) -> [usize; 2] {
    if i % 2 == 0 {
        [0, 1]
    } else {
        [1, 0]
    }
}

/// What DESIGN.md's payload layout costs by itself: raw puts of new records at
/// `<id>/v0/item.json` (a directory per record and per version, as every implementation of
/// the protocol must write) against puts at a flat key, taking turns.
async fn layout_cost(store: &dyn ObjectStore, n: usize) -> BenchResult<()> {
    let mut samples = [Samples::default(), Samples::default()];
    for i in 0..n {
        let id = uuid::Uuid::now_v7().to_string();
        let keys = [raw_blobs::version_key(&id, 0), raw_blobs::flat_key(&id, 0)];
        for k in turns(i) {
            let (d, ()) = timed(raw_blobs::put_at(store, &keys[k], &payload(i))).await?;
            samples[k].push(d);
        }
    }
    let [design, flat] = samples;
    println!(
        "payload layout (raw puts, no index): <id>/v<ov>/item.json {:.3} ms, flat key {:.3} ms: {:.2}x (p50 {:.2}x); both sides above use the first",
        design.mean().as_secs_f64() * 1e3,
        flat.mean().as_secs_f64() * 1e3,
        design.mean().as_secs_f64() / flat.mean().as_secs_f64().max(1e-12),
        design.quantile(0.5).as_secs_f64() / flat.quantile(0.5).as_secs_f64().max(1e-12),
    );
    Ok(())
}

async fn run_pair(
    name: &str,
    subjects: [&dyn Subject; 2],
    raw_store: &dyn ObjectStore,
    plan: &Plan,
) -> BenchResult<()> {
    reset_peak_memory();
    let started = Instant::now();
    println!("\n== {name} ==");
    header();
    let n = plan.n;
    let mut rng = stats::Lcg(7);
    for s in subjects {
        for i in 0..20 {
            s.create(&payload(i)).await?;
        }
    }

    let mut samples = [Samples::default(), Samples::default()];
    let mut pool: [Vec<(String, u64)>; 2] = [Vec::new(), Vec::new()];
    for i in 0..n {
        for k in turns(i) {
            let (d, (id, _)) = timed(subjects[k].create(&payload(i))).await?;
            samples[k].push(d);
            pool[k].push((id, 0));
        }
    }
    let single_create = samples[0].mean();
    row("create", &samples[0], &samples[1], Some(1.3));

    let mut samples = [Samples::default(), Samples::default()];
    for i in 0..n {
        for k in turns(i) {
            let (id, ov) = pool[k][i % 20].clone();
            let (d, _) = timed(subjects[k].update(&id, &payload(i), ov)).await?;
            samples[k].push(d);
            pool[k][i % 20].1 = ov + 1;
        }
    }
    row("update", &samples[0], &samples[1], Some(1.3));

    let mut samples = [Samples::default(), Samples::default()];
    for i in 0..n {
        let r = rng.pick(pool[0].len());
        for k in turns(i) {
            let (d, _) = timed(subjects[k].get_latest(&pool[k][r].0)).await?;
            samples[k].push(d);
        }
    }
    row("get_latest", &samples[0], &samples[1], Some(1.1));

    let mut as_of_means = Vec::new();
    let mut deepest = Vec::new();
    for depth in [1, 100, plan.deep] {
        let build = Instant::now();
        let mut records = Vec::new();
        for s in subjects {
            records.push(history(s, depth).await?);
        }
        let built = build.elapsed();
        let mut samples = [Samples::default(), Samples::default()];
        for i in 0..n {
            let v = rng.pick(depth as usize);
            for k in turns(i) {
                let (id, times) = &records[k];
                let (d, _) = timed(subjects[k].get_as_of(id, times[v])).await?;
                samples[k].push(d);
            }
        }
        let label = format!("get_as_of ({depth} versions)");
        row(&label, &samples[0], &samples[1], Some(1.1));
        as_of_means.push((depth, samples[0].mean(), samples[1].mean(), built));
        deepest = records;
    }
    // The deepest record's history: its first page with data, diffs, and a verification of
    // every version (per 1,000 versions).
    let mut samples = [Samples::default(), Samples::default()];
    for i in 0..n.min(200) {
        for k in turns(i) {
            let (d, got) = timed(subjects[k].history(&deepest[k].0)).await?;
            assert_eq!(
                got,
                100.min(plan.deep as usize),
                "{name}: a full history page"
            );
            samples[k].push(d);
        }
    }
    row(
        "history (page of 100, data)",
        &samples[0],
        &samples[1],
        None,
    );
    let mut samples = [Samples::default(), Samples::default()];
    for i in 0..n {
        let (a, b) = (rng.pick(plan.deep as usize), rng.pick(plan.deep as usize));
        for k in turns(i) {
            let (d, _) = timed(subjects[k].diff(&deepest[k].0, a as u64, b as u64)).await?;
            samples[k].push(d);
        }
    }
    row("diff (two versions)", &samples[0], &samples[1], None);
    let mut samples = [Samples::default(), Samples::default()];
    for i in 0..5 {
        for k in turns(i) {
            let (d, checked) = timed(subjects[k].verify(&deepest[k].0)).await?;
            assert_eq!(checked, plan.deep, "{name}: every version verified");
            samples[k].push(d * 1000 / plan.deep.max(1) as u32);
        }
    }
    row(
        "verify (per 1,000 versions)",
        &samples[0],
        &samples[1],
        None,
    );

    let mut samples = [Samples::default(), Samples::default()];
    for i in 0..n {
        let status = format!("s{}", i % 10);
        for k in turns(i) {
            let (d, found) = timed(subjects[k].list(&status)).await?;
            samples[k].push(d);
            assert!(found > 0, "{name}: listing found nothing");
        }
    }
    row(
        "list_by_meta (page <= 50)",
        &samples[0],
        &samples[1],
        Some(1.1),
    );

    let mut samples = [Samples::default(), Samples::default()];
    for i in 0..n.min(200) {
        for k in turns(i) {
            let (id, ov) = pool[k][i % 20].clone();
            let (d, _) = timed(subjects[k].restore(&id, 0, ov)).await?;
            samples[k].push(d);
            pool[k][i % 20].1 = ov + 1;
        }
    }
    row("restore_object", &samples[0], &samples[1], Some(1.3));

    let mut samples = [Samples::default(), Samples::default()];
    for round in 0..3 {
        let items: Vec<Value> = (0..BATCH).map(|i| payload(round * BATCH + i)).collect();
        for k in turns(round) {
            let (d, made) = timed(subjects[k].create_many(&items)).await?;
            assert_eq!(made, BATCH);
            samples[k].push(d);
        }
    }
    row(
        &format!("create_many ({BATCH})"),
        &samples[0],
        &samples[1],
        Some(1.3),
    );

    println!();
    layout_cost(raw_store, n).await?;
    let (_, base, raw_base, _) = as_of_means[0];
    for (depth, mean, raw_mean, built) in &as_of_means {
        println!(
            "get_as_of at {depth:>5} versions: chronos {:.3} ms ({:.2}x of 1 version; target <= 2), raw {:.3} ms ({:.2}x); history built in {:.1} s",
            mean.as_secs_f64() * 1e3,
            mean.as_secs_f64() / base.as_secs_f64().max(1e-12),
            raw_mean.as_secs_f64() * 1e3,
            raw_mean.as_secs_f64() / raw_base.as_secs_f64().max(1e-12),
            built.as_secs_f64(),
        );
    }
    // Export every version of the store (a full read), then, chronos-db only, import them
    // into a fresh collection, beside create_many.
    let mut exports = [Samples::default(), Samples::default()];
    let mut versions = [0, 0];
    for k in turns(0) {
        let (d, n) = timed(subjects[k].export_all()).await?;
        exports[k].push(d);
        versions[k] = n;
    }
    assert_eq!(
        versions[0], versions[1],
        "{name}: both export every version"
    );
    row("export (all versions)", &exports[0], &exports[1], None);
    // A follower catching up: every committed write in cv order, with its data.
    let mut feeds = [Samples::default(), Samples::default()];
    let mut fed = [0, 0];
    for k in turns(0) {
        let (d, n) = timed(subjects[k].changes_all()).await?;
        feeds[k].push(d);
        fed[k] = n;
    }
    assert_eq!(fed[0], fed[1], "{name}: both feeds deliver every write");
    row(
        "changes (all writes, with data)",
        &feeds[0],
        &feeds[1],
        None,
    );
    println!(
        "changes: a follower keeps up with {:.0} writes/s (raw reads in cv order {:.0})",
        fed[0] as f64 / feeds[0].mean().as_secs_f64().max(1e-12),
        fed[1] as f64 / feeds[1].mean().as_secs_f64().max(1e-12),
    );
    let per_version = |d: Duration| d.as_secs_f64() / versions[0].max(1) as f64;
    let create_many_per_record = samples[0].mean().as_secs_f64() / BATCH as f64;
    if let Some((d, n)) = subjects[0].import_all().await? {
        println!(
            "export: {:.0} versions/s (raw reads {:.0}); import into a fresh collection: {:.0} versions/s ({n} versions, {:.2}x create_many's time per record: {:.0} records/s)",
            1.0 / per_version(exports[0].mean()),
            1.0 / per_version(exports[1].mean()),
            n as f64 / d.as_secs_f64().max(1e-12),
            (d.as_secs_f64() / n.max(1) as f64) / create_many_per_record.max(1e-12),
            1.0 / create_many_per_record.max(1e-12),
        );
    }
    let batch = samples[0].mean();
    let singles = single_create * BATCH as u32;
    println!(
        "create_many ({BATCH}): {:.1} ms per batch against {:.1} ms for {BATCH} single creates: {:.1}x faster",
        batch.as_secs_f64() * 1e3,
        singles.as_secs_f64() * 1e3,
        singles.as_secs_f64() / batch.as_secs_f64().max(1e-12)
    );
    match peak_memory_mib() {
        Some(mib) => println!("peak memory (this pair, whole process): {mib:.1} MiB"),
        None => println!("peak memory: not available on this system"),
    }
    println!("pair done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The collection declares the one property the workload lists by, as the raw baselines
/// index only it: an index nobody queries would be measured as chronos-db's cost.
fn bench_map() -> CollectionMap {
    serde_json::from_value(json!({"indexedProps": ["status"]})).unwrap()
}

/// The embedded pair at one durability level, with the raw baseline syncing alike.
async fn embedded(plan: &Plan, durability: Durability) -> BenchResult<()> {
    let dir = tempfile::tempdir()?;
    let mut config = ChronosConfig::embedded(dir.path().join("chronos")).with_tenant("bench");
    config
        .collection_maps
        .insert(COLLECTION.into(), bench_map());
    config.write_optimization.durability = Some(durability);
    config.write_optimization.payload_layout = Some(PayloadLayout::Objects);
    let chronos = Chronos::init(config).await?;
    let c = chronos.with(Route::tenant(DbType::Runtime, "bench", COLLECTION))?;
    let copy = chronos.with(Route::tenant(DbType::Runtime, "bench", "imported"))?;
    let raw = raw_embedded::RawEmbedded::open(&dir.path().join("raw"), durability.syncs())?;
    let name = match durability {
        Durability::PowerLoss => {
            "SQLite + local files (embedded default; durability powerLoss: payloads and commits synced)"
        }
        Durability::ProcessCrash => {
            "SQLite + local files (durability processCrash: nothing synced)"
        }
    };
    run_pair(name, [&subject::Chronos(c, copy), &raw], raw.store(), plan).await?;
    chronos.shutdown().await?;
    Ok(())
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

async fn mongodb_s3(plan: &Plan) -> BenchResult<()> {
    let (Some(uri), Some(endpoint)) = (
        var("CHRONOS_TEST_MONGO_URI"),
        var("CHRONOS_TEST_S3_ENDPOINT"),
    ) else {
        println!("\n== MongoDB + S3: skipped (no test servers; ./scripts/bench.sh starts them) ==");
        return Ok(());
    };
    let s3 = S3Connection {
        endpoint,
        region: var("CHRONOS_TEST_S3_REGION").unwrap_or_default(),
        access_key: var("CHRONOS_TEST_S3_ACCESS_KEY").unwrap_or_default(),
        secret_key: var("CHRONOS_TEST_S3_SECRET_KEY").unwrap_or_default(),
        force_path_style: Some(true),
    };
    let db = format!("bench{}", std::process::id());
    let mongo = DbConnection::mongodb(uri.clone());
    let mut config = ChronosConfig::from_json_value(json!({
        "dbConnections": {"mongo": mongo},
        "spacesConnections": {"s3": SpacesConnection::S3(s3.clone())},
        "databases": {"runtime": {"tenantDatabases": [{
            "tenantId": "bench", "dbConnRef": "mongo", "spaceConnRef": "s3",
            "bucket": "chronos-bench", "dbName": db.clone()
        }]}}
    }))?;
    config
        .collection_maps
        .insert(COLLECTION.into(), bench_map());
    config.write_optimization.payload_layout = Some(PayloadLayout::Objects);
    let chronos = Chronos::init(config).await?;
    let c = chronos.with(Route::tenant(DbType::Runtime, "bench", COLLECTION))?;
    let copy = chronos.with(Route::tenant(DbType::Runtime, "bench", "imported"))?;
    let raw =
        raw_mongo_s3::RawMongoS3::connect(&uri, &format!("{db}_raw"), &s3, "chronos-bench").await?;
    run_pair(
        "MongoDB (SecantusDB) + S3 (SeaweedFS)",
        [&subject::Chronos(c, copy), &raw],
        raw.store(),
        plan,
    )
    .await?;
    raw.close().await;
    chronos.shutdown().await?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> BenchResult<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and then a small
    // smoke run checks that every measured operation works on every pair without timing it.
    let measuring = std::env::args().any(|a| a == "--bench");
    // The embedded pair is fast enough for more samples, which steadies its ratios; a
    // MongoDB + S3 sample costs milliseconds (and get_as_of deep in a history far more).
    let (local, remote) = if measuring {
        let deep = env_num("CHRONOS_BENCH_DEEP", 10_000);
        let n = |default| Plan {
            n: env_num("CHRONOS_BENCH_N", default),
            deep,
        };
        (n(1000), n(300))
    } else {
        println!("smoke run (not `cargo bench`): numbers below are not measurements");
        (Plan { n: 4, deep: 200 }, Plan { n: 4, deep: 200 })
    };
    println!(
        "chronos-db against the raw backends: {} samples per operation (MongoDB + S3: {}), histories of 1, 100 and {} versions, {} CPUs",
        local.n,
        remote.n,
        local.deep,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "ratio = chronos mean latency / raw mean latency (targets: writes <= 1.3, reads <= 1.1); p50 ratio = ratio of medians"
    );
    embedded(&local, Durability::PowerLoss).await?;
    embedded(&local, Durability::ProcessCrash).await?;
    mongodb_s3(&remote).await?;
    Ok(())
}
