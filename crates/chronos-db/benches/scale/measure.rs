//! Measuring the two stores at one size, in a process of its own: the parent grows both
//! stores, closes them and starts this binary again to measure them, as an application
//! would open them after a restart. A process that has just grown 1,000,000 records
//! carries the growth in its allocator (glibc's main arena, fragmented by a million ids kept
//! between short-lived batches): every store's listing pages took 2.4 times as long there
//! as in a fresh process, malloc then being 41% of the time.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::stats::{self, Samples};
use crate::subjects::{BenchResult, Listing, Store};
use crate::{open_stores, record, run_child, Written, BATCH, PAGE};

/// The environment variables that make this binary the measuring child: the directory of
/// the two stores, and the samples per operation.
const CHILD_DIR: &str = "CHRONOS_SCALE_MEASURE";
const CHILD_SAMPLES: &str = "CHRONOS_SCALE_MEASURE_SAMPLES";

/// Samples a side takes in a row before the other side's turn.
const RUN: usize = 10;

/// Times `op` on both stores (side 0 and 1) `n` times each, taking turns every [`RUN`]
/// samples (and alternating which side starts), so a noisy stretch of the machine falls on
/// both alike while each side still runs on caches of its own making.
async fn sample<F, Fut>(n: usize, mut op: F) -> BenchResult<[Samples; 2]>
where
    F: FnMut(usize, usize) -> Fut,
    Fut: Future<Output = BenchResult<()>>,
{
    let mut s = [Samples::default(), Samples::default()];
    for (turn, from) in (0..n).step_by(RUN).enumerate() {
        for side in [turn % 2, 1 - turn % 2] {
            for i in from..(from + RUN).min(n) {
                let start = Instant::now();
                op(side, i).await?;
                s[side].push(start.elapsed());
            }
        }
    }
    Ok(s)
}

/// Point reads take this many times the samples of other operations: at a few dozen
/// microseconds each, a hundred of them last a few milliseconds, and one pause of the
/// machine then moves their mean by a tenth.
const POINT_READ_SAMPLES: usize = 10;

/// Point reads of each kind each store makes, untimed, before its point reads are measured
/// (and every listing page below is read once untimed). A store just opened has an empty
/// page cache: the first thousand random reads of a collection of 1,000,000 records load the
/// upper levels of its B-trees (chronos-db's first 1,000 reads took 1.6-1.9 times the inline
/// table's, and 1.2-1.3 times from then on), and the first read of a page its rows. The
/// figures are of stores in use, not of their first reads.
const WARM_UP_READS: usize = 1000;

/// An operation's mean and median time, in ms.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Figure {
    pub mean: f64,
    pub median: f64,
}

/// The figures of every measured operation on each of the two stores at its current size,
/// measured side by side (see [`sample`]).
async fn measure(
    stores: [&dyn Store; 2],
    written: [&Written; 2],
    samples: usize,
) -> BenchResult<[BTreeMap<&'static str, Figure>; 2]> {
    let n = written[0].records.len();
    let mut rng = stats::Lcg(n as u64);
    let picks: Vec<usize> = (0..samples * POINT_READ_SAMPLES)
        .map(|_| rng.pick(n))
        .collect();
    let mut out = [BTreeMap::new(), BTreeMap::new()];
    let mut put = |name: &'static str, s: [Samples; 2]| {
        for (side, s) in s.iter().enumerate() {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            out[side].insert(
                name,
                Figure {
                    mean: ms(s.mean()),
                    median: ms(s.quantile(0.5)),
                },
            );
        }
    };
    let mut warm = stats::Lcg(!(n as u64));
    for _ in 0..WARM_UP_READS.min(n) {
        let i = warm.pick(n);
        for side in 0..2 {
            let (id, at) = &written[side].records[i];
            stores[side].get_latest(id).await?;
            stores[side].get_as_of(id, *at).await?;
        }
    }
    let latest = sample(picks.len(), |side, i| {
        let id = written[side].records[picks[i]].0.clone();
        async move { stores[side].get_latest(&id).await.map(|_| ()) }
    })
    .await?;
    put("get_latest", latest);
    let as_of = sample(picks.len(), |side, i| {
        let (id, at) = written[side].records[picks[i]].clone();
        async move { stores[side].get_as_of(&id, at).await.map(|_| ()) }
    })
    .await?;
    put("get_as_of", as_of);
    // s0 and s10 are the statuses every tenth record leaves for "updated".
    let by_status = sample(samples, |side, i| async move {
        let got = stores[side]
            .list(&Listing::Status(format!("s{}", 1 + i % 9)))
            .await?;
        check_page(got.len(), PAGE.min(n / 40))
    })
    .await?;
    put("list status =", by_status);
    let first = sample(samples, |side, _| async move {
        check_page(
            stores[side].list(&Listing::ByScore(None)).await?.len(),
            PAGE.min(n),
        )
    })
    .await?;
    put("list by score, page 1", first);
    // The id the tenth page starts after, on each side.
    let mut after: [Option<String>; 2] = [None, None];
    for (side, store) in stores.iter().enumerate() {
        for _ in 0..9 {
            after[side] = store
                .list(&Listing::ByScore(after[side].clone()))
                .await?
                .pop();
        }
    }
    let tenth = sample(samples, |side, _| {
        let after = after[side].clone();
        let want = PAGE.min(n.saturating_sub(9 * PAGE));
        async move {
            check_page(
                stores[side].list(&Listing::ByScore(after)).await?.len(),
                want,
            )
        }
    })
    .await?;
    put("list by score, page 10", tenth);
    // About 50 matches whatever the size.
    let below = (PAGE as f64) * 1_000_000.0 / n as f64;
    let range = sample(samples, |side, _| async move {
        stores[side]
            .list(&Listing::ScoreBelow(below))
            .await
            .map(|_| ())
    })
    .await?;
    put("list score < x (~50)", range);
    let creates = sample(samples, |side, i| async move {
        stores[side]
            .create(&record(usize::MAX - i))
            .await
            .map(|_| ())
    })
    .await?;
    put("create", creates);
    let batches = sample((samples / 10).max(1), |side, i| async move {
        let items: Vec<Value> = (0..BATCH)
            .map(|j| record(usize::MAX / 2 - i * BATCH - j))
            .collect();
        stores[side].create_many(&items).await.map(|_| ())
    })
    .await?;
    put("create_many (500)", batches);
    Ok(out)
}

/// A page must hold at least `want` records (what the collection has to give).
fn check_page(got: usize, want: usize) -> BenchResult<()> {
    if got < want {
        return Err(format!("a page of {got} records where {want} were due").into());
    }
    Ok(())
}

/// The file in `dir` that keeps what was written to side `side`.
fn written_file(dir: &Path, side: usize) -> std::path::PathBuf {
    dir.join(format!("written-{side}.json"))
}

/// Keeps what was written to each side for the measuring child.
fn save(dir: &Path, written: [&Written; 2]) -> BenchResult<()> {
    for (side, w) in written.iter().enumerate() {
        let records: Vec<(&str, i64)> = w
            .records
            .iter()
            .map(|(id, at)| (id.as_str(), at.timestamp_micros()))
            .collect();
        let body = json!({"versions": w.versions, "records": records});
        std::fs::write(written_file(dir, side), serde_json::to_vec(&body)?)?;
    }
    Ok(())
}

/// What [`save`] keeps of one side, as read back.
#[derive(serde::Deserialize)]
struct Saved {
    versions: u64,
    records: Vec<(String, i64)>,
}

/// What [`save`] kept for side `side`. Read straight into its types: going through a JSON
/// tree first leaves the allocator's main arena as fragmented as a growth does (listing
/// pages of both stores then took up to twice as long).
fn load(dir: &Path, side: usize) -> BenchResult<Written> {
    let file = std::io::BufReader::new(std::fs::File::open(written_file(dir, side))?);
    let saved: Saved = serde_json::from_reader(file)?;
    let records = saved
        .records
        .into_iter()
        .map(|(id, at)| {
            let at: DateTime<Utc> =
                DateTime::from_timestamp_micros(at).ok_or("a time out of range")?;
            Ok((id, at))
        })
        .collect::<BenchResult<_>>()?;
    Ok(Written {
        records,
        versions: saved.versions,
    })
}

/// Measures the closed stores under `dir` in a child process; returns each side's figures.
pub fn in_child(
    dir: &Path,
    written: [&Written; 2],
    samples: usize,
) -> BenchResult<[BTreeMap<String, Figure>; 2]> {
    save(dir, written)?;
    let env = [
        (CHILD_DIR, dir.display().to_string()),
        (CHILD_SAMPLES, samples.to_string()),
    ];
    Ok(serde_json::from_slice(&run_child("measuring", &env)?)?)
}

/// The measuring child's work, when this process is one: `None` when it is not.
pub fn child_main() -> Option<BenchResult<()>> {
    let dir = std::env::var(CHILD_DIR).ok()?;
    let samples: usize = std::env::var(CHILD_SAMPLES).ok()?.parse().ok()?;
    Some(child(Path::new(&dir), samples))
}

fn child(dir: &Path, samples: usize) -> BenchResult<()> {
    tokio::runtime::Runtime::new()?.block_on(async {
        let (chronos, ours, inline) = open_stores(dir).await?;
        let written = [load(dir, 0)?, load(dir, 1)?];
        let figures = measure([&ours, &inline], [&written[0], &written[1]], samples).await?;
        chronos.shutdown().await?;
        println!("{}", serde_json::to_string(&figures)?);
        Ok(())
    })
}
