//! Growth: how chronos-db's embedded default behaves as one collection grows (10k, 100k, 1M
//! records by default), against the same records inline in one SQLite file (a head table
//! and a history table) measured in the same run.
//!
//! At each size it closes both stores and measures them in a process of its own
//! (`measure.rs` says why). It prints per operation the mean time of both stores, the ratio of their means and of their medians, and how each one's
//! mean grew since the first size; then bytes on disk per version, and the time and peak
//! memory of `repair` (a dry run), and of `repair`, a `restore_collection` dry run and `prune`
//! run again in a process of their own (this binary, started as a child), whose peak memory is
//! theirs alone. Records are about 200 bytes; every tenth has a second
//! version. `./scripts/bench.sh --scale` runs it; `CHRONOS_SCALE_SIZES` (comma-separated)
//! and `CHRONOS_SCALE_SAMPLES` (per operation and store, default 100; point reads take
//! [`POINT_READ_SAMPLES`] times as many) scale it. Under `cargo test` it
//! does a smoke run at two tiny sizes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod measure;
#[path = "../compare/stats.rs"]
#[allow(dead_code)]
mod stats;
mod subjects;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chronos_db::config::CollectionMap;
use chronos_db::maintenance::{RepairOptions, RestoreOptions, RestoreTarget};
use chronos_db::{Chronos, ChronosConfig, DbType, Route, WriteMeta};
use serde_json::{json, Value};

use measure::Figure;
use stats::{peak_memory_mib, reset_peak_memory};
use subjects::{BenchResult, Inline, Store};

/// Records per batch of the growth, and of the measured `create_many`.
const BATCH: usize = 500;
/// Records per listing page.
const PAGE: usize = 50;

/// A record of about 200 bytes; `score` spreads over [0, 1e6).
fn record(i: usize) -> Value {
    let city = ["Lisbon", "Oslo", "Quito", "Hanoi", "Accra"][i % 5];
    json!({
        "name": format!("user-{i:08}"),
        "score": (i as u64).wrapping_mul(2_654_435_761) % 1_000_000,
        "status": format!("s{}", i % 20),
        "city": city,
        "bio": "versioned records, streamed and verified; ".repeat(2),
    })
}

/// What the run knows of the records it wrote.
#[derive(Default)]
struct Written {
    /// Id and creation time per record, in creation order.
    records: Vec<(String, DateTime<Utc>)>,
    /// Versions written in all.
    versions: u64,
}

/// Grows `store` from `written.records.len()` to `size` records (every tenth gets a second
/// version).
async fn grow(store: &dyn Store, written: &mut Written, size: usize) -> BenchResult<Duration> {
    let start = Instant::now();
    while written.records.len() < size {
        let from = written.records.len();
        let n = BATCH.min(size - from);
        let items: Vec<Value> = (from..from + n).map(record).collect();
        let created = store.create_many(&items).await?;
        for (i, (id, _)) in created.iter().enumerate() {
            if (from + i) % 10 == 0 {
                let mut next = items[i].clone();
                next["status"] = json!("updated");
                store.update(id, &next).await?;
                written.versions += 1;
            }
        }
        written.versions += created.len() as u64;
        written.records.extend(created);
    }
    Ok(start.elapsed())
}

/// Bytes allocated on disk under `dir` (blocks, not lengths: what a file system really uses).
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            total += m.blocks() * 512;
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    total
}

/// One row: the figure of each store at this size (means), their ratio, the ratio of their
/// medians when timed, and each one's growth since the first size.
fn line(
    name: &str,
    size: usize,
    [ours, inline]: [Figure; 2],
    timed: bool,
    first: Option<[Figure; 2]>,
) {
    let ratio = |a: f64, b: f64| a / b.max(1e-9);
    let growth = |now: Figure, then: Figure| format!("{:>6.2}x", ratio(now.mean, then.mean));
    let (g1, g2) = match first {
        Some([a, b]) => (growth(ours, a), growth(inline, b)),
        None => ("     -".into(), "     -".into()),
    };
    let medians = match timed {
        true => format!("{:>6.2}", ratio(ours.median, inline.median)),
        false => format!("{:>6}", "-"),
    };
    println!(
        "{name:<24} {size:>9} | {:>10.3} {:>10.3} | {:>6.2} {medians} | {g1} {g2}",
        ours.mean,
        inline.mean,
        ratio(ours.mean, inline.mean)
    );
}

/// The environment variables that make this binary the maintenance child: the store's
/// directory, and the collection version to restore back to.
const CHILD_DIR: &str = "CHRONOS_SCALE_MAINTAIN";
const CHILD_CV: &str = "CHRONOS_SCALE_BACK_TO_CV";

/// The embedded configuration of the grown store under `dir`: tenant `t`, with `status` and
/// `score` of `people` declared indexed.
fn people_config(dir: &Path) -> BenchResult<ChronosConfig> {
    let mut config = ChronosConfig::embedded(dir).with_tenant("t");
    let people: CollectionMap =
        serde_json::from_value(json!({"indexedProps": ["status", "score"]}))?;
    config.collection_maps.insert("people".into(), people);
    Ok(config)
}

/// Runs this binary again with `env` (which makes it one of its children, `what` by name)
/// and returns what it printed.
fn run_child(what: &str, env: &[(&str, String)]) -> BenchResult<Vec<u8>> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "{what} child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out.stdout)
}

/// Runs the maintenance child on `dir` and prints what it reports, one line per task.
fn maintain_in_child(dir: &Path, size: usize, back_to_cv: u64) -> BenchResult<()> {
    let env = [
        (CHILD_DIR, dir.display().to_string()),
        (CHILD_CV, back_to_cv.to_string()),
    ];
    let out = run_child("maintenance", &env)?;
    for line in String::from_utf8_lossy(&out).lines() {
        println!("{:<24} {size:>9} | {line} (own process)", "");
    }
    Ok(())
}

fn main() -> BenchResult<()> {
    if let Some(measured) = measure::child_main() {
        return measured;
    }
    if let (Ok(dir), Ok(cv)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_CV)) {
        let cv: u64 = cv.parse()?;
        return tokio::runtime::Runtime::new()?.block_on(maintain(Path::new(&dir), cv));
    }
    let measuring = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = match std::env::var("CHRONOS_SCALE_SIZES") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) if measuring => vec![10_000, 100_000, 1_000_000],
        Err(_) => vec![200, 400],
    };
    let samples = match measuring {
        true => std::env::var("CHRONOS_SCALE_SAMPLES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100),
        false => 2,
    };
    if !measuring {
        println!("smoke run (not `cargo bench`): numbers below are not measurements");
    }
    tokio::runtime::Runtime::new()?.block_on(run(&sizes, samples))
}

/// Opens the two stores under `dir` (creating them): chronos-db with its handle on the
/// grown collection, and the inline table.
async fn open_stores(dir: &Path) -> BenchResult<(Chronos, subjects::Chronos, Inline)> {
    let (ours_dir, inline_dir) = (dir.join("chronos"), dir.join("inline"));
    std::fs::create_dir_all(&inline_dir)?;
    let chronos = Chronos::init(people_config(&ours_dir)?).await?;
    let ours = subjects::Chronos(chronos.with(Route::tenant(DbType::Runtime, "t", "people"))?);
    Ok((chronos, ours, Inline::open(&inline_dir)?))
}

async fn run(sizes: &[usize], samples: usize) -> BenchResult<()> {
    let dir = tempfile::tempdir()?;
    let (ours_dir, inline_dir) = (dir.path().join("chronos"), dir.path().join("inline"));
    let (mut ours_written, mut inline_written) = (Written::default(), Written::default());
    let mut first: Option<BTreeMap<String, [Figure; 2]>> = None;
    println!(
        "{:<24} {:>9} | {:>10} {:>10} | {:>6} {:>6} | {:>7} {:>7}",
        "operation (ms)", "records", "chronos", "inline", "ratio", "p50", "growth", "inline"
    );
    for &size in sizes {
        let (chronos, ours, inline) = open_stores(dir.path()).await?;
        let grown = (
            grow(&ours, &mut ours_written, size).await?,
            grow(&inline, &mut inline_written, size).await?,
        );
        reset_peak_memory();
        let before = peak_memory_mib().unwrap_or(0.0);
        let start = Instant::now();
        let report = chronos
            .repair(RepairOptions {
                dry_run: true,
                ..Default::default()
            })
            .await?;
        let repaired = format!(
            "repair (dry run) {:.1} s, peak memory {:.0} MiB (from {before:.0}), {} orphans",
            start.elapsed().as_secs_f64(),
            peak_memory_mib().unwrap_or(0.0),
            report.orphans.len()
        );
        drop((ours, inline));
        chronos.shutdown().await?;
        let [a, b] = measure::in_child(dir.path(), [&ours_written, &inline_written], samples)?;
        let firsts =
            first.get_or_insert_with(|| a.iter().map(|(k, v)| (k.clone(), [*v, b[k]])).collect());
        for (op, ours) in &a {
            line(op, size, [*ours, b[op]], true, Some(firsts[op]));
        }
        let per_version = |dir: &Path, w: &Written| {
            let bytes = disk_bytes(dir) as f64 / w.versions.max(1) as f64;
            Figure {
                mean: bytes,
                median: bytes,
            }
        };
        line(
            "bytes on disk / version",
            size,
            [
                per_version(&ours_dir, &ours_written),
                per_version(&inline_dir, &inline_written),
            ],
            false,
            None,
        );
        println!(
            "{:<24} {size:>9} | growth to this size took {:.1} s (chronos) and {:.1} s (inline)",
            "",
            grown.0.as_secs_f64(),
            grown.1.as_secs_f64()
        );
        println!("{:<24} {size:>9} | {repaired} (after growing)", "");
        let back_to_cv = ours_written.versions.saturating_sub(1000);
        maintain_in_child(&ours_dir, size, back_to_cv)?;
    }
    Ok(())
}

/// Maintenance in a process of its own, so its memory is its own: `repair` (dry run), a
/// `restore_collection` dry run to 1,000 writes ago, and `prune` (keeping the newest 100
/// versions per record: it walks every record, removing nothing) on the store at `dir`.
/// Prints one line per task: its time and the child's peak resident memory meanwhile.
async fn maintain(dir: &Path, back_to_cv: u64) -> BenchResult<()> {
    let mut config = people_config(dir)?;
    config.retention.ver = Some(serde_json::from_value(json!({"maxPerItem": 100}))?);
    let chronos = Chronos::init(config).await?;
    let people = chronos.with(Route::tenant(DbType::Runtime, "t", "people"))?;
    let task = |name: &str, start: Instant, detail: String| {
        println!(
            "{name}: {:.1} s, peak memory {:.0} MiB, {detail}",
            start.elapsed().as_secs_f64(),
            peak_memory_mib().unwrap_or(0.0)
        );
        reset_peak_memory();
    };
    reset_peak_memory();
    let start = Instant::now();
    let repaired = chronos
        .repair(RepairOptions {
            dry_run: true,
            ..Default::default()
        })
        .await?;
    task(
        "repair (dry run)",
        start,
        format!("{} orphans", repaired.orphans.len()),
    );
    let start = Instant::now();
    let restore = people
        .restore_collection_with(
            RestoreTarget::Cv(back_to_cv),
            WriteMeta::new("bench", "dry run"),
            RestoreOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await?;
    task(
        "restore_collection (dry run)",
        start,
        format!("{} records examined", restore.examined),
    );
    let start = Instant::now();
    let pruned = chronos.prune().await?;
    task(
        "prune",
        start,
        format!("{} versions removed", pruned.versions_removed),
    );
    chronos.shutdown().await?;
    Ok(())
}
