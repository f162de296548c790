//! The version chain: every kind of write is hashed and verifies, and a payload or an index
//! row changed behind chronos-db's back is named by `verify`, record and version.

use bytes::Bytes;
use chronos_db::maintenance::{ChainBreak, RestoreTarget};
use chronos_db::{Collection, EnrichMeta, Error, HistoryQuery, VersionKind, WriteMeta};
use serde_json::json;

use crate::env::Tamper;
use crate::Env;

fn meta(reason: &str) -> WriteMeta {
    WriteMeta::new("chain", reason)
}

/// Records `a`, `b` and `c` with three versions each (create, two updates).
async fn three_records(c: &Collection) {
    for id in ["a", "b", "c"] {
        c.create_with_id(id, json!({"n": 0, "id": id}), meta("v0"))
            .await
            .unwrap();
        for ov in 0..2 {
            c.update(id, json!({"n": ov + 1, "id": id}), ov, meta("next"))
                .await
                .unwrap();
        }
    }
}

pub async fn every_kind_of_write_is_hashed_and_verifies(env: &Env) {
    let c = env.coll("chained");
    let w = c.create(json!({"n": 0}), meta("create")).await.unwrap();
    c.update(&w.id, json!({"n": 1}), 0, meta("update"))
        .await
        .unwrap();
    c.enrich(
        &w.id,
        json!({"extra": true}),
        EnrichMeta::new("enricher@v1", "system", "enrich"),
    )
    .await
    .unwrap();
    c.delete(&w.id, 2, meta("delete")).await.unwrap();
    c.restore_object(&w.id, RestoreTarget::Ov(1), meta("restore"))
        .await
        .unwrap();
    let batch = c
        .create_many(vec![json!({"n": 10}), json!({"n": 11})], meta("batch"))
        .await
        .unwrap();
    let history = c.history(&w.id, HistoryQuery::default()).await.unwrap();
    let kinds: Vec<VersionKind> = history.versions.iter().map(|v| v.kind).collect();
    assert_eq!(
        kinds,
        [
            VersionKind::Create,
            VersionKind::Update,
            VersionKind::Enrich,
            VersionKind::Delete,
            VersionKind::Restore
        ]
    );
    let checked = c.verify(&w.id).await.unwrap();
    assert_eq!(checked.broken, None);
    assert_eq!((checked.verified, checked.unhashed), (5, 0));
    assert!(!checked.starts_after_prune);
    let latest = checked.latest_hash.expect("a latest hash");
    assert_eq!(latest.len(), 64);
    // The latest hash changes with every write.
    c.update(&w.id, json!({"n": 5}), 4, meta("again"))
        .await
        .unwrap();
    let again = c.verify(&w.id).await.unwrap();
    assert_eq!(again.verified, 6);
    assert_ne!(again.latest_hash.as_deref(), Some(latest.as_str()));
    let batch_kind = c
        .history(&batch[0].id, HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(batch_kind.versions[0].kind, VersionKind::Create);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let tell = seen.clone();
    let all = c
        .verify_all_with(Some(std::sync::Arc::new(move |p| {
            tell.lock().unwrap().push(p.scanned)
        })))
        .await
        .unwrap();
    assert!(all.is_whole(), "{:?}", all.broken);
    assert_eq!((all.records, all.verified, all.unhashed), (3, 8, 0));
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&3),
        "progress reaches the end"
    );
    // Refusals.
    assert!(matches!(c.verify("nobody").await, Err(Error::NotFound(_))));
    assert!(matches!(
        c.verify("bad id!").await,
        Err(Error::Validation(_))
    ));
    let empty = env.coll("never-written").verify_all().await.unwrap();
    assert_eq!((empty.records, empty.is_whole()), (0, true));
}

pub async fn verify_names_a_changed_index_row(env: &Env) {
    let c = env.coll("rowtamper");
    three_records(&c).await;
    assert!(c.verify_all().await.unwrap().is_whole());
    env.tamper_row("rowtamper", "b", 1, Tamper::Actor).await;
    let b = c.verify("b").await.unwrap();
    let broken = b.broken.expect("b is broken");
    assert_eq!((broken.id.as_str(), broken.ov), ("b", 1));
    assert!(
        matches!(broken.problem, ChainBreak::HashMismatch { .. }),
        "{:?}",
        broken.problem
    );
    assert_eq!(b.verified, 1, "v0 verified before the break");
    assert_eq!(c.verify("a").await.unwrap().broken, None);
    let all = c.verify_all().await.unwrap();
    let named: Vec<(&str, u64)> = all.broken.iter().map(|b| (b.id.as_str(), b.ov)).collect();
    assert_eq!(named, [("b", 1)]);
    assert_eq!(all.records, 3);
}

pub async fn verify_names_a_changed_payload(env: &Env) {
    let c = env.coll("blobtamper");
    three_records(&c).await;
    let ns = chronos_db::index::Namespace {
        db_name: env.tenant_a_db(),
        collection: "blobtamper".into(),
        indexed_props: std::sync::Arc::new(Vec::new()),
    };
    let raw = env.raw_index().await;
    let versions = raw.versions(&ns, "c").await.unwrap();
    match (versions[2].payload.object_key(), env.raw_tenant_a_blobs()) {
        // The payload in the index row.
        (None, _) => env.tamper_row("blobtamper", "c", 2, Tamper::Payload).await,
        // The payload object on disk or on S3.
        (Some(key), Some(blobs)) => {
            let mut bytes = blobs.get(key).await.unwrap().expect("payload").to_vec();
            bytes.push(b' ');
            blobs.put(key, Bytes::from(bytes)).await.unwrap();
            // And one object removed.
            let a = raw.versions(&ns, "a").await.unwrap();
            blobs
                .delete(a[0].payload.object_key().expect("an object"))
                .await
                .unwrap();
        }
        // In-memory objects are out of reach of another handle.
        (Some(_), None) => return,
    }
    let broken = c.verify("c").await.unwrap().broken.expect("c is broken");
    assert_eq!((broken.id.as_str(), broken.ov), ("c", 2));
    assert!(matches!(broken.problem, ChainBreak::HashMismatch { .. }));
    let all = c.verify_all().await.unwrap();
    let named: Vec<(&str, u64)> = all.broken.iter().map(|b| (b.id.as_str(), b.ov)).collect();
    if env.objects() {
        assert_eq!(named, [("a", 0), ("c", 2)]);
        assert!(matches!(
            all.broken[0].problem,
            ChainBreak::PayloadMissing { .. }
        ));
    } else {
        assert_eq!(named, [("c", 2)]);
    }
}

pub async fn verify_follows_a_chain_that_retention_shortened(env: &Env) {
    let c = env.coll("prunedchain");
    let w = c.create(json!({"v": 0}), meta("v0")).await.unwrap();
    for ov in 0..4 {
        c.update(&w.id, json!({"v": ov + 1}), ov, meta("next"))
            .await
            .unwrap();
    }
    let pruner = env
        .variant(json!({"retention": {"ver": {"maxPerItem": 2}}}))
        .await;
    assert_eq!(pruner.prune().await.unwrap().versions_removed, 3);
    let checked = c.verify(&w.id).await.unwrap();
    assert_eq!(checked.broken, None);
    assert_eq!(checked.verified, 2, "v3 and v4");
    assert!(checked.starts_after_prune);
    // A second prune moves the anchor on.
    let tighter = env
        .variant(json!({"retention": {"ver": {"maxPerItem": 1}}}))
        .await;
    assert_eq!(tighter.prune().await.unwrap().versions_removed, 1);
    let checked = c.verify(&w.id).await.unwrap();
    assert_eq!((checked.verified, checked.broken), (1, None));
    // The oldest kept version is checked too: against the hash of the last one removed.
    env.tamper_row("prunedchain", &w.id, 4, Tamper::Actor).await;
    let broken = c.verify(&w.id).await.unwrap().broken.expect("broken");
    assert_eq!(broken.ov, 4);
    assert!(matches!(broken.problem, ChainBreak::HashMismatch { .. }));
}

pub async fn verify_names_a_version_removed_behind_its_back(env: &Env) {
    let c = env.coll("holes");
    three_records(&c).await;
    // A middle version, and a first one.
    env.tamper_row("holes", "a", 1, Tamper::Remove).await;
    env.tamper_row("holes", "b", 0, Tamper::Remove).await;
    let all = c.verify_all().await.unwrap();
    let named: Vec<(&str, u64, &ChainBreak)> = all
        .broken
        .iter()
        .map(|b| (b.id.as_str(), b.ov, &b.problem))
        .collect();
    assert_eq!(
        named,
        [
            ("a", 2, &ChainBreak::PredecessorMissing),
            ("b", 1, &ChainBreak::PredecessorMissing)
        ]
    );
    assert_eq!(c.verify("c").await.unwrap().broken, None);
}
