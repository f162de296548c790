//! A service on a loopback port over each backend pair, for the HTTP tests.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::net::SocketAddr;

use chronos_db::{Chronos, ChronosConfig};
use chronos_server::{KeyConfig, ServeConfig};
use serde_json::{json, Value};

/// One running service.
pub struct Service {
    pub base: String,
    pub client: reqwest::Client,
    pub pair: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Service {
    /// `path` under the service.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops it gracefully and waits until the library is shut down.
    pub async fn stop(mut self) {
        self.signal_stop();
        self.stopped().await;
    }

    /// Sends the shutdown signal without waiting.
    pub fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits until the service has stopped and the library is shut down.
    pub async fn stopped(mut self) {
        if let Some(done) = self.done.take() {
            done.await.unwrap();
        }
    }
}

/// The library configuration of `pair` in `dir`: the generic runtime database and the
/// tenants `acme` and `globex`.
pub fn library_config(pair: &str, dir: &std::path::Path) -> ChronosConfig {
    if pair == "embedded" {
        return ChronosConfig::embedded(dir)
            .with_tenant("acme")
            .with_tenant("globex");
    }
    let var = |n: &str| std::env::var(n).unwrap();
    let sfx = &uuid_like()[..8];
    let db = |name: &str| json!({"dbConnRef": "m", "spaceConnRef": "s", "bucket": "chronos-test-a", "dbName": format!("srv_{name}_{sfx}")});
    let tenant = |t: &str| {
        let mut d = db(t);
        d["tenantId"] = json!(t);
        d
    };
    let config = json!({
        "dbConnections": {"m": {"mongoUri": var("CHRONOS_TEST_MONGO_URI")}},
        "spacesConnections": {"s": {
            "endpoint": var("CHRONOS_TEST_S3_ENDPOINT"), "region": var("CHRONOS_TEST_S3_REGION"),
            "accessKey": var("CHRONOS_TEST_S3_ACCESS_KEY"), "secretKey": var("CHRONOS_TEST_S3_SECRET_KEY"),
            "forcePathStyle": true
        }},
        "databases": {"runtime": {
            "genericDatabase": db("generic"),
            "tenantDatabases": [tenant("acme"), tenant("globex")]
        }},
        "collectionMaps": {"users": {"indexedProps": ["plan", "email"]}}
    });
    ChronosConfig::from_json_value(config).unwrap()
}

fn uuid_like() -> String {
    format!(
        "{:016x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            ^ u128::from(std::process::id())
    )
    .chars()
    .rev()
    .collect()
}

/// The backend pairs to run on: the embedded default, and MongoDB + S3 when the test
/// servers run (required when `CHRONOS_REQUIRE_SERVERS` is set).
pub fn pairs() -> Vec<&'static str> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let mut out = vec!["embedded"];
    if var("CHRONOS_TEST_MONGO_URI").is_some() && var("CHRONOS_TEST_S3_ENDPOINT").is_some() {
        out.push("mongodb+s3");
    } else {
        assert!(
            var("CHRONOS_REQUIRE_SERVERS").is_none(),
            "CHRONOS_REQUIRE_SERVERS is set but the CHRONOS_TEST_* server variables are not"
        );
    }
    out
}

/// Starts a service on `pair` with `serve` settings (the listen address is replaced by a
/// free loopback port).
pub async fn start(pair: &'static str, serve: ServeConfig) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let config = library_config(pair, dir.path());
    start_on(pair, config, serve, dir).await
}

/// Starts a service on `config` (which may be shared with other services), keeping `dir`
/// while it runs.
pub async fn start_on(
    pair: &'static str,
    config: ChronosConfig,
    serve: ServeConfig,
    dir: tempfile::TempDir,
) -> Service {
    let chronos = Chronos::init(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        chronos_server::serve_on(listener, chronos, serve, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Service {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        pair,
        stop: Some(stop),
        done: Some(done),
        _dir: dir,
    }
}

/// A serve configuration with `keys`, given as JSON (`serve.keys`).
pub fn with_keys(keys: Value) -> ServeConfig {
    let keys: Vec<KeyConfig> = serde_json::from_value(keys).unwrap();
    ServeConfig {
        keys,
        ..ServeConfig::default()
    }
}
