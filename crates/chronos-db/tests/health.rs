//! `chronos.health()` reports every backend with its latency and never a credential.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/servers.rs"]
mod servers;

use chronos_db::health::BackendRole;
use chronos_db::{Chronos, ChronosConfig};
use serde_json::json;

#[tokio::test]
async fn embedded_backends_are_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let chronos = Chronos::init(ChronosConfig::embedded(dir.path()).with_tenant("t"))
        .await
        .unwrap();
    let report = chronos.health().await;
    assert!(report.all_ok(), "{report:#?}");
    assert!(report
        .backends
        .iter()
        .any(|b| b.role == BackendRole::Index && b.kind == "sqlite"));
    // 4 generic + 3 tenant buckets on one local connection.
    let buckets = report
        .backends
        .iter()
        .filter(|b| b.role == BackendRole::Payloads)
        .count();
    assert_eq!(buckets, 7, "{report:#?}");
}

#[cfg(feature = "mongodb")]
#[tokio::test]
async fn an_unreachable_server_is_reported_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = ChronosConfig::from_json_value(json!({
        "dbConnections": {
            "down": {"mongoUri": "mongodb://admin:hunter2@127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"}
        },
        "spacesConnections": {"files": {"localPath": dir.path().join("blobs")}},
        "databases": {"logs": {"dbConnRef": "down", "spaceConnRef": "files", "bucket": "logs", "dbName": "logs"}}
    }))
    .unwrap();
    let chronos = Chronos::init(config).await.unwrap();
    let report = chronos.health().await;
    assert!(!report.all_ok());
    let down = report
        .backends
        .iter()
        .find(|b| b.connection == "down")
        .unwrap();
    assert!(!down.ok);
    assert!(down.error.is_some());
    assert_eq!(
        down.target,
        "mongodb://admin:***@127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
    );
    let text = format!("{report:?} {}", serde_json::to_string(&report).unwrap());
    assert!(!text.contains("hunter2"), "{text}");
    let files = report
        .backends
        .iter()
        .find(|b| b.connection == "files")
        .unwrap();
    assert!(files.ok);
}

#[tokio::test]
async fn test_servers_are_healthy() {
    let Some(servers) = servers::servers() else {
        return;
    };
    let config = ChronosConfig::from_json_value(json!({
        "dbConnections": {"mongo": {"mongoUri": servers.mongo_uri}},
        "spacesConnections": {"s3": servers.s3},
        "databases": {"logs": {"dbConnRef": "mongo", "spaceConnRef": "s3", "bucket": "chronos-bench", "dbName": "health_logs"}}
    }))
    .unwrap();
    let chronos = Chronos::init(config).await.unwrap();
    let report = chronos.health().await;
    assert!(report.all_ok(), "{report:#?}");
    let kinds: Vec<&str> = report.backends.iter().map(|b| b.kind.as_str()).collect();
    assert_eq!(kinds, ["mongodb", "s3"]);
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("chronos-test-secret"), "{text}");
}
