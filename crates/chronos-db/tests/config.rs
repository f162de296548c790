//! Configuration parsing and validation: the seed's JSON shape, unknown keys, and every
//! problem reported with its JSON path before anything connects.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
// Most cases use the seed's MongoDB + S3 configuration; an embedded-only build runs the rest.
#![cfg_attr(
    not(all(feature = "mongodb", feature = "s3")),
    allow(unused_imports, dead_code)
)]

use chronos_db::config::ConfigProblem;
use chronos_db::{Chronos, ChronosConfig, DbType, Error, Route, Tier};
use serde_json::json;

#[path = "support/seed.rs"]
mod seed;
use seed::seed_config;

fn problems(r: Result<ChronosConfig, Error>) -> Vec<ConfigProblem> {
    match r {
        Err(Error::Config(p)) => p,
        other => panic!("expected a config error, got {other:?}"),
    }
}

fn has(problems: &[ConfigProblem], path: &str, words: &str) -> bool {
    problems
        .iter()
        .any(|p| p.path == path && p.message.contains(words))
}

#[cfg(all(feature = "mongodb", feature = "s3"))]
#[test]
fn the_seed_readme_configuration_parses() {
    let config = ChronosConfig::from_json_value(seed_config()).unwrap();
    assert_eq!(config.databases.runtime.unwrap().tenant_databases.len(), 1);
    assert_eq!(
        config.collection_maps["users"].indexed_props,
        ["email", "tenantId"]
    );
    let text = serde_json::to_string(&seed_config()).unwrap();
    assert!(ChronosConfig::from_json_str(&text).is_ok());
}

#[cfg(all(feature = "mongodb", feature = "s3"))]
#[test]
fn unknown_keys_are_errors_naming_their_path() {
    let mut c = seed_config();
    c["databases"]["runtime"]["tenantDatabases"][0]["tenantID"] = json!("typo");
    let p = problems(ChronosConfig::from_json_value(c));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].path
            .starts_with("databases.runtime.tenantDatabases[0]"),
        "{p:?}"
    );
    assert!(p[0].message.contains("tenantID"), "{p:?}");

    let mut c = seed_config();
    c["logicalDelet"] = json!({"enabled": false});
    let p = problems(ChronosConfig::from_json_value(c));
    assert!(p[0].message.contains("logicalDelet"), "{p:?}");

    let mut c = seed_config();
    c["routing"]["hashAlgo"] = json!("md5");
    let p = problems(ChronosConfig::from_json_value(c));
    assert!(p[0].path.starts_with("routing.hashAlgo"), "{p:?}");

    let p = problems(ChronosConfig::from_json_str("{ not json"));
    assert_eq!(p.len(), 1);
}

#[cfg(all(feature = "mongodb", feature = "s3"))]
#[test]
fn every_problem_is_reported_with_its_path() {
    let mut c = seed_config();
    let rt = &mut c["databases"]["runtime"]["tenantDatabases"];
    rt.as_array_mut().unwrap().push(json!({
        "tenantId": "tenant-a", "dbConnRef": "mongo-nowhere", "spaceConnRef": "s3-nowhere",
        "dbName": "bad.name"
    }));
    c["databases"]["logs"]["tenantId"] = json!("tenant-a");
    c["databases"]["knowledge"]["genericDatabase"]["bucket"] = json!("Bad_Bucket");
    c["databases"]["metadata"]["domainsDatabases"][0]["domain"] = json!("../escape");
    c["databases"]["metadata"]["tenantDatabases"][0]["dbName"] = json!("chronos_logs");
    c["dbConnections"]["broken"] = json!({"mongoUri": "http://x"});
    c["spacesConnections"]["half"] = json!({"endpoint": "https://s3"});
    c["collectionMaps"]["orders"]["validation"] = json!({"requiredIndexed": ["total"]});
    c["collectionMaps"]["../x"] = json!({"indexedProps": []});
    c["counterRules"]["rules"][0]["when"] = json!({"status": {"$regex": "a"}});
    c["retention"]["ver"]["maxPerItem"] = json!(0);
    c["fallback"]["deadLetterCollection"] = json!("chronos_fallback_ops");
    c["fallback"]["maxRetries"] = json!(0);
    c["writeOptimization"]["inlineMaxBytes"] = json!(2 * 1024 * 1024);
    let p = problems(ChronosConfig::from_json_value(c));
    let t1 = "databases.runtime.tenantDatabases[1]";
    for (path, words) in [
        (format!("{t1}.tenantId"), "duplicate tenant"),
        (
            format!("{t1}.dbConnRef"),
            "unknown connection \"mongo-nowhere\"",
        ),
        (
            format!("{t1}.spaceConnRef"),
            "unknown connection \"s3-nowhere\"",
        ),
        (format!("{t1}.bucket"), "missing"),
        (format!("{t1}.dbName"), "database name"),
        (
            "databases.logs.tenantId".to_string(),
            "only tenantDatabases",
        ),
        (
            "databases.knowledge.genericDatabase.bucket".to_string(),
            "bucket name",
        ),
        (
            "databases.metadata.domainsDatabases[0].domain".to_string(),
            "domain",
        ),
        ("databases.logs.dbName".to_string(), "already used"),
        ("dbConnections.broken.mongoUri".to_string(), "mongodb://"),
        ("spacesConnections.half.region".to_string(), "missing"),
        ("spacesConnections.half.secretKey".to_string(), "missing"),
        (
            "collectionMaps.orders.validation.requiredIndexed[0]".to_string(),
            "not in indexedProps",
        ),
        ("collectionMaps.../x".to_string(), "collection name"),
        ("counterRules.rules[0].when".to_string(), "$regex"),
        ("retention.ver.maxPerItem".to_string(), "at least 1"),
        (
            "fallback.deadLetterCollection".to_string(),
            "chronos_fallback_ops",
        ),
        ("fallback.maxRetries".to_string(), "at least 1"),
        (
            "writeOptimization.inlineMaxBytes".to_string(),
            "between 1 and 1048576",
        ),
    ] {
        assert!(
            has(&p, &path, words),
            "no problem {path:?} ~ {words:?} in {p:#?}"
        );
    }
    let rendered = Error::Config(p.clone()).to_string();
    assert!(rendered.contains("databases.runtime.tenantDatabases[1].dbConnRef"));
}

/// The payload layout is one of two names; its inline limit is checked.
#[test]
fn payload_layouts_are_named_and_bounded() {
    // The embedded form, so the check holds in a build without MongoDB and S3 as well.
    let dir = tempfile::tempdir().unwrap();
    let embedded = serde_json::to_value(ChronosConfig::embedded(dir.path())).unwrap();
    for (layout, limit) in [(json!("inline"), 4096), (json!("objects"), 0)] {
        let mut c = embedded.clone();
        c["writeOptimization"]["payloadLayout"] = layout;
        let config = ChronosConfig::from_json_value(c).unwrap();
        assert_eq!(config.write_optimization.inline_limit(), limit);
    }
    let mut c = seed_config();
    c["writeOptimization"]["payloadLayout"] = json!("packs");
    let p = problems(ChronosConfig::from_json_value(c));
    assert!(
        has(&p, "writeOptimization.payloadLayout", "unknown variant"),
        "{p:#?}"
    );
    let mut c = seed_config();
    c["writeOptimization"]["inlineMaxBytes"] = json!(0);
    let p = problems(ChronosConfig::from_json_value(c));
    assert!(
        has(&p, "writeOptimization.inlineMaxBytes", "between 1"),
        "{p:#?}"
    );
}

#[test]
fn the_embedded_form_needs_only_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = ChronosConfig::embedded(dir.path())
        .with_tenant("tenant-a")
        .with_domain("healthcare");
    config.validate().unwrap();
    let dup = ChronosConfig::embedded(dir.path())
        .with_tenant("t")
        .with_tenant("t");
    let p = problems(dup.validate().map(|_| ChronosConfig::default()));
    assert!(
        has(
            &p,
            "databases.runtime.tenantDatabases[1].tenantId",
            "duplicate tenant"
        ),
        "{p:?}"
    );
    // A configuration survives a JSON round trip.
    let text = config.to_json_string().unwrap();
    assert_eq!(ChronosConfig::from_json_str(&text).unwrap(), config);
}

#[tokio::test]
async fn init_with_a_bad_configuration_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bad = ChronosConfig::embedded(&data)
        .with_tenant("t")
        .with_tenant("t");
    let r = Chronos::init(bad).await;
    assert!(matches!(r, Err(Error::Config(_))), "{r:?}");
    assert!(
        !data.exists(),
        "init created files for a rejected configuration"
    );
    let mut no_db = ChronosConfig::embedded(&data);
    no_db.databases = Default::default();
    let r = Chronos::init(no_db).await;
    assert!(
        matches!(r, Err(Error::Config(ref p)) if p[0].path == "databases"),
        "{r:?}"
    );
}

#[cfg(all(feature = "mongodb", feature = "s3"))]
#[test]
fn routes_deserialise_from_the_seed_shape() {
    let r: Route = serde_json::from_value(json!({
        "databaseType": "runtime", "tier": "tenant", "tenantId": "tenant-a", "collection": "users"
    }))
    .unwrap();
    assert_eq!(r, Route::tenant(DbType::Runtime, "tenant-a", "users"));
    assert_eq!(r.tier, Tier::Tenant);
    let bad: Result<Route, _> = serde_json::from_value(json!({
        "databaseType": "runtime", "tier": "tenant", "tenant": "a", "collection": "users"
    }));
    assert!(bad.is_err());
}

/// `{:?}` of a configuration and of a running instance never shows a password or secret key
/// (nor a health report or a backend error, which name connections redacted).
#[cfg(all(feature = "mongodb", feature = "s3"))]
#[tokio::test]
async fn debug_output_never_shows_secrets() {
    let config = ChronosConfig::from_json_value(json!({
        "dbConnections": {"mongo": {"mongoUri": "mongodb://app:hunter2-password@127.0.0.1:1/?serverSelectionTimeoutMS=200&directConnection=true"}},
        "spacesConnections": {"s3": {"endpoint": "http://127.0.0.1:1", "region": "us-east-1",
            "accessKey": "AKIAEXAMPLE", "secretKey": "wJalrXUtnFEMI-secret", "forcePathStyle": true}},
        "databases": {"runtime": {"tenantDatabases": [{"tenantId": "t", "dbConnRef": "mongo",
            "spaceConnRef": "s3", "bucket": "bucket-b", "dbName": "d"}]}}
    }))
    .unwrap();
    let secrets = ["hunter2-password", "wJalrXUtnFEMI-secret"];
    let shown = format!("{config:?} {config:#?}");
    for s in secrets {
        assert!(!shown.contains(s), "config Debug shows a secret: {shown}");
    }
    let chronos = Chronos::init(config).await.unwrap();
    let health = chronos.health().await;
    let coll = chronos
        .with(Route::tenant(DbType::Runtime, "t", "c"))
        .unwrap();
    let failed = coll
        .create(json!({"a": 1}), chronos_db::WriteMeta::new("t", "t"))
        .await
        .unwrap_err();
    let shown = format!("{chronos:?} {chronos:#?} {health:?} {failed} {failed:?}");
    for s in secrets {
        assert!(!shown.contains(s), "a secret is shown: {shown}");
    }
}

/// While the index store is down a write fails within the configured server selection
/// timeout (`serverSelectionTimeoutMs`), not the driver's 30 s, and with the 5 s default when
/// nothing is configured. Nothing listens on port 1; the bounds are generous.
#[cfg(all(feature = "mongodb", feature = "s3"))]
#[tokio::test]
async fn writes_learn_of_an_index_outage_within_the_selection_timeout() {
    let make = |conn: serde_json::Value| {
        ChronosConfig::from_json_value(json!({
            "dbConnections": {"mongo": conn},
            "spacesConnections": {"mem": {"memory": true}},
            "databases": {"runtime": {"tenantDatabases": [{"tenantId": "t", "dbConnRef": "mongo",
                "spaceConnRef": "mem", "bucket": "bucket-t", "dbName": "d"}]}}
        }))
        .unwrap()
    };
    for (conn, bound) in [
        (
            json!({"mongoUri": "mongodb://127.0.0.1:1/?directConnection=true", "serverSelectionTimeoutMs": 300}),
            std::time::Duration::from_secs(3),
        ),
        (
            json!({"mongoUri": "mongodb://127.0.0.1:1/?directConnection=true"}),
            std::time::Duration::from_secs(15),
        ),
    ] {
        let chronos = Chronos::init(make(conn.clone())).await.unwrap();
        let c = chronos
            .with(Route::tenant(DbType::Runtime, "t", "c"))
            .unwrap();
        let started = std::time::Instant::now();
        let refused = c
            .create(json!({"a": 1}), chronos_db::WriteMeta::new("t", "t"))
            .await;
        assert!(matches!(refused, Err(Error::Backend { .. })), "{refused:?}");
        assert!(
            started.elapsed() < bound,
            "{conn}: took {:?}",
            started.elapsed()
        );
    }
    let bad = ChronosConfig::from_json_value(json!({
        "dbConnections": {"local": {"sqliteDir": "x", "serverSelectionTimeoutMs": 10}}
    }));
    assert!(has(
        &problems(bad),
        "dbConnections.local.serverSelectionTimeoutMs",
        "mongoUri connections only"
    ));
}

#[cfg(not(all(feature = "mongodb", feature = "s3")))]
#[test]
fn connections_of_a_kind_not_built_in_are_refused() {
    let refused = ChronosConfig::from_json_value(json!({
        "dbConnections": {"m": {"mongoUri": "mongodb://127.0.0.1:1/"}},
        "spacesConnections": {"s": {"endpoint": "http://127.0.0.1:1", "region": "r", "accessKey": "a", "secretKey": "s"}}
    }));
    let p = problems(refused);
    if !cfg!(feature = "mongodb") {
        assert!(
            has(&p, "dbConnections.m.mongoUri", "mongodb` feature"),
            "{p:?}"
        );
    }
    if !cfg!(feature = "s3") {
        assert!(has(&p, "spacesConnections.s", "s3` feature"), "{p:?}");
    }
}

#[tokio::test]
async fn the_embedded_index_reads_through_a_map_when_told() {
    use chronos_db::{DbType, ReadOptions, Route, WriteMeta};
    let dir = tempfile::tempdir().unwrap();
    let mut config = ChronosConfig::embedded(dir.path());
    config.write_optimization.sqlite_mmap_bytes = Some(64 << 20);
    let text = config.to_json_string().unwrap();
    assert!(text.contains("\"sqliteMmapBytes\": 67108864"), "{text}");
    assert_eq!(ChronosConfig::from_json_str(&text).unwrap(), config);
    let chronos = Chronos::init(config).await.unwrap();
    let c = chronos
        .with(Route::generic(DbType::Runtime, "mapped"))
        .unwrap();
    let w = c
        .create(serde_json::json!({"n": 1}), WriteMeta::default())
        .await
        .unwrap();
    let got = c.get_latest(&w.id, ReadOptions::default()).await.unwrap();
    assert_eq!(got.unwrap().data, serde_json::json!({"n": 1}));
    chronos.shutdown().await.unwrap();
}
