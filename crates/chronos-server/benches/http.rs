//! The service against the library in process, in one run, on the embedded default: 32
//! concurrent clients each creating records, reading the latest version of one, and
//! listing a page of 50, through HTTP (a loopback connection per client, keep-alive) and
//! through the Rust API. Prints requests per second, p50 and p99 on both sides and the
//! ratio of their p50s (target for reads: within 1.5x).
//!
//! `cargo bench -p chronos-server --bench http`; `CHRONOS_HTTP_BENCH_N` sets operations per
//! client per kind (default 200).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronos_db::{
    Chronos, ChronosConfig, Collection, DbType, ListQuery, ReadOptions, Route, WriteMeta,
};
use chronos_server::ServeConfig;
use serde_json::{json, Value};

const CLIENTS: usize = 32;

struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `op(client, i)` `n` times on each of `CLIENTS` concurrent clients.
async fn measure<F, Fut>(n: usize, op: F) -> Figures
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    measure_with(CLIENTS, n, op).await
}

/// Runs `op(client, i)` `n` times on each of `clients` concurrent clients.
async fn measure_with<F, Fut>(clients: usize, n: usize, op: F) -> Figures
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(n);
            for i in 0..n {
                let t = Instant::now();
                op(c, i).await;
                samples.push(t.elapsed());
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let total = started.elapsed();
    all.sort_unstable();
    Figures {
        per_sec: all.len() as f64 / total.as_secs_f64(),
        p50: all[all.len() / 2],
        p99: all[all.len() * 99 / 100],
    }
}

/// The record client `c` reads at its `i`-th read.
fn pick(ids: &[String], c: usize, i: usize) -> &str {
    &ids[(c * 131 + i * 7919) % ids.len()]
}

/// A read of the latest version through the library.
fn lib_read(
    coll: &Collection,
    ids: &Arc<Vec<String>>,
) -> impl Fn(usize, usize) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static
{
    let (coll, ids) = (coll.clone(), ids.clone());
    move |c, i| {
        let (coll, ids) = (coll.clone(), ids.clone());
        Box::pin(async move {
            let id = pick(&ids, c, i);
            coll.get_latest(id, ReadOptions::default())
                .await
                .unwrap()
                .unwrap();
        })
    }
}

/// A read of the latest version through the service.
fn http_read(
    base: &Arc<String>,
    clients: &Arc<Vec<reqwest::Client>>,
    ids: &Arc<Vec<String>>,
) -> impl Fn(usize, usize) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static
{
    let (base, clients, ids) = (base.clone(), clients.clone(), ids.clone());
    move |c, i| {
        let (base, clients, ids) = (base.clone(), clients.clone(), ids.clone());
        Box::pin(async move {
            let id = pick(&ids, c, i);
            let r = clients[c]
                .get(format!("{base}/records/{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
        })
    }
}

fn record(c: usize, i: usize) -> Value {
    json!({"deviceId": format!("sensor-{}", (c * 7 + i) % 100), "temperature": i as f64 * 0.5, "site": "north"})
}

#[tokio::main]
async fn main() {
    // `cargo test` runs this without `--bench`: a smoke run, every operation a few times.
    let measuring = std::env::args().any(|a| a == "--bench");
    let n: usize = match measuring {
        true => std::env::var("CHRONOS_HTTP_BENCH_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200),
        false => 2,
    };
    if !measuring {
        println!("smoke run (not `cargo bench`): numbers below are not measurements");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config: Value = serde_json::from_str(
        &ChronosConfig::embedded(dir.path())
            .to_json_string()
            .unwrap(),
    )
    .unwrap();
    config["collectionMaps"] = json!({"sensors": {"indexedProps": ["deviceId"]}});
    let chronos = Chronos::init(ChronosConfig::from_json_value(config).unwrap())
        .await
        .unwrap();
    let route = Route::generic(DbType::Runtime, "sensors");
    let coll: Collection = chronos.with(route).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = chronos.clone();
    tokio::spawn(async move {
        chronos_server::serve_on(
            listener,
            server,
            ServeConfig::default(),
            std::future::pending(),
        )
        .await
        .unwrap();
    });
    let base = Arc::new(format!("http://{addr}/v1/runtime/generic/sensors"));
    let clients: Arc<Vec<reqwest::Client>> =
        Arc::new((0..CLIENTS).map(|_| reqwest::Client::new()).collect());

    // Creates.
    let lib = coll.clone();
    let lib_create = measure(n, move |c, i| {
        let lib = lib.clone();
        async move {
            lib.create(record(c, i), WriteMeta::new("bench", "create"))
                .await
                .unwrap();
        }
    })
    .await;
    let (b, cl) = (base.clone(), clients.clone());
    let http_create = measure(n, move |c, i| {
        let (b, cl) = (b.clone(), cl.clone());
        async move {
            let r = cl[c]
                .post(format!("{b}/records"))
                .json(&record(c, i))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            r.bytes().await.unwrap();
        }
    })
    .await;

    // Reads of the latest version, over ids both sides wrote.
    let ids: Arc<Vec<String>> = Arc::new(
        coll.list_by_meta(ListQuery::default().limit(1000), ReadOptions::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|v| v.id)
            .collect(),
    );
    let lib_get = measure(n, lib_read(&coll, &ids)).await;
    let http_get = measure(n, http_read(&base, &clients, &ids)).await;
    // One client alone: what a read costs without contention.
    let lib_get1 = measure_with(1, n * 4, lib_read(&coll, &ids)).await;
    let http_get1 = measure_with(1, n * 4, http_read(&base, &clients, &ids)).await;

    // A page of 50 records of one device.
    let lib = coll.clone();
    let lib_list = measure(n, move |c, i| {
        let lib = lib.clone();
        async move {
            let q = ListQuery::filter(json!({"deviceId": format!("sensor-{}", (c + i) % 100)}))
                .limit(50);
            lib.list_by_meta(q, ReadOptions::default()).await.unwrap();
        }
    })
    .await;
    let (b, cl) = (base.clone(), clients.clone());
    let http_list = measure(n, move |c, i| {
        let (b, cl) = (b.clone(), cl.clone());
        async move {
            let filter = json!({"deviceId": format!("sensor-{}", (c + i) % 100)}).to_string();
            let r = cl[c]
                .get(format!("{b}/records"))
                .query(&[("filter", filter.as_str()), ("limit", "50")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
        }
    })
    .await;

    println!("HTTP service against the library in process: {CLIENTS} concurrent clients, {n} operations each per kind, embedded default, one process");
    println!("| operation | in process: req/s | p50 | p99 | HTTP: req/s | p50 | p99 | p50 ratio (HTTP / in process) |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, a, b) in [
        ("create", &lib_create, &http_create),
        ("get latest", &lib_get, &http_get),
        ("get latest, one client alone", &lib_get1, &http_get1),
        ("list a page of 50", &lib_list, &http_list),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {:.0} | {:.2} ms | {:.2} ms | {:.2} |",
            a.per_sec,
            a.p50.as_secs_f64() * 1e3,
            a.p99.as_secs_f64() * 1e3,
            b.per_sec,
            b.p50.as_secs_f64() * 1e3,
            b.p99.as_secs_f64() * 1e3,
            b.p50.as_secs_f64() / a.p50.as_secs_f64()
        );
    }
    chronos.shutdown().await.unwrap();
}
