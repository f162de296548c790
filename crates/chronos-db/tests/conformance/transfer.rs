//! Export and import: a collection's histories leave with their ids, ovs, times, kinds and
//! provenance and come back the same in another collection; bad histories are refused
//! whole; a stopped import finishes when run again.

use chrono::Duration;
use chronos_db::maintenance::RestoreTarget;
use chronos_db::transfer::{ExportedVersion, ImportOptions};
use chronos_db::{
    Collection, EnrichMeta, Error, HistoryQuery, ListQuery, ReadOptions, VersionKind, WriteMeta,
};
use futures::TryStreamExt;
use serde_json::json;

use crate::Env;

fn meta(reason: &str) -> WriteMeta {
    WriteMeta::new("mover", reason)
}

async fn exported(c: &Collection) -> Vec<ExportedVersion> {
    c.export().try_collect().await.unwrap()
}

/// A collection with every kind of write: records with deep and short histories, a deleted
/// one, an enriched one, a restored one, and a batch.
async fn varied(c: &Collection) {
    let deep = c
        .create_with_id("deep", json!({"n": 0, "status": "new"}), meta("v0"))
        .await
        .unwrap();
    for ov in 0..30 {
        c.update(
            &deep.id,
            json!({"n": ov + 1, "status": "busy"}),
            ov,
            meta("step"),
        )
        .await
        .unwrap();
    }
    let e = c
        .create_with_id("enriched", json!({"n": 1}), meta("v0"))
        .await
        .unwrap();
    c.enrich(
        &e.id,
        json!({"tags": ["x"]}),
        EnrichMeta::new("tagger@v2", "bot", "tags"),
    )
    .await
    .unwrap();
    c.delete(&e.id, 1, meta("gone")).await.unwrap();
    c.restore_object(&e.id, RestoreTarget::Ov(1), meta("back"))
        .await
        .unwrap();
    c.create_many(
        (0..5).map(|i| json!({"n": i, "status": "batch"})).collect(),
        meta("batch"),
    )
    .await
    .unwrap();
}

pub async fn export_then_import_keeps_every_version(env: &Env) {
    let source = env.coll("moving");
    varied(&source).await;
    let lines = exported(&source).await;
    assert_eq!(lines.len(), 31 + 4 + 5, "every version");
    assert!(lines.iter().all(|v| v.collection == "moving"));
    // Records by id, versions oldest first.
    let keys: Vec<(&str, u64)> = lines.iter().map(|v| (v.id.as_str(), v.ov)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let enriched: Vec<&ExportedVersion> = lines.iter().filter(|v| v.id == "enriched").collect();
    let kinds: Vec<VersionKind> = enriched.iter().map(|v| v.kind).collect();
    assert_eq!(
        kinds,
        [
            VersionKind::Create,
            VersionKind::Enrich,
            VersionKind::Delete,
            VersionKind::Restore
        ]
    );
    assert_eq!(enriched[1].function_ids, ["tagger@v2"]);
    // The wire form round-trips.
    let text: Vec<String> = lines
        .iter()
        .map(|v| serde_json::to_string(v).unwrap())
        .collect();
    let parsed: Vec<ExportedVersion> = text
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    assert_eq!(parsed, lines);

    let target = env.coll("arrived");
    let report = target
        .import(parsed, ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((report.imported, report.versions_written), (7, 40));
    assert_eq!(exported(&target).await.len(), 40);
    for v in &lines {
        let mut want = v.clone();
        want.collection = "arrived".into();
        let got = target
            .get_as_of(&v.id, v.at, ReadOptions::default())
            .await
            .unwrap()
            .expect("a version at its own time");
        assert_eq!((got.ov, got.at, got.deleted), (v.ov, v.at, v.deleted));
        assert_eq!(got.data, v.data, "{}@v{}", v.id, v.ov);
        assert_eq!(
            (got.actor.as_str(), got.reason.as_str()),
            (v.actor.as_str(), v.reason.as_str())
        );
        assert_eq!(got.function_ids, v.function_ids);
        // Just before it, the version before it (or nothing).
        let before = target
            .get_as_of(
                &v.id,
                v.at - Duration::microseconds(1),
                ReadOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(before.map(|i| i.ov), v.ov.checked_sub(1));
    }
    let history = target
        .history("enriched", HistoryQuery::default())
        .await
        .unwrap();
    let kinds: Vec<VersionKind> = history.versions.iter().map(|v| v.kind).collect();
    assert_eq!(kinds[3], VersionKind::Restore);
    // Listings answer the same.
    for q in [
        ListQuery::default(),
        ListQuery {
            include_deleted: true,
            ..ListQuery::default()
        },
        ListQuery::filter(json!({"status": "batch"})),
    ] {
        let a = source
            .list_by_meta(q.clone(), ReadOptions::default())
            .await
            .unwrap();
        let b = target
            .list_by_meta(q, ReadOptions::default())
            .await
            .unwrap();
        let strip = |p: chronos_db::Page| -> Vec<(String, u64, serde_json::Value)> {
            p.items.into_iter().map(|i| (i.id, i.ov, i.data)).collect()
        };
        assert_eq!(strip(a), strip(b));
    }
    // The target's chains are its own, and whole.
    let verified = target.verify_all().await.unwrap();
    assert!(verified.is_whole(), "{:?}", verified.broken);
    assert_eq!(verified.verified, 40);
}

/// A change that makes an export a bad history.
type Spoil = fn(&mut Vec<ExportedVersion>);

/// Where version 1 of record `deep` is (its version 0 is just before).
fn deep_v1(lines: &[ExportedVersion]) -> usize {
    lines
        .iter()
        .position(|v| v.id == "deep" && v.ov == 1)
        .unwrap()
}

pub async fn import_refuses_bad_histories_and_changes_nothing(env: &Env) {
    let source = env.coll("bad-src");
    varied(&source).await;
    let lines = exported(&source).await;
    let target = env.coll("bad-dst");
    let broken: [(&str, Spoil); 6] = [
        ("a gap in the ovs", |l| {
            l.retain(|v| !(v.id == "deep" && v.ov == 5));
        }),
        ("a time that goes back", |l| {
            let i = deep_v1(l);
            l[i].at = l[i - 1].at;
        }),
        ("a create after ov 0", |l| {
            let i = deep_v1(l);
            l[i].kind = VersionKind::Create;
        }),
        ("a delete that deletes nothing", |l| {
            if let Some(v) = l.iter_mut().find(|v| v.kind == VersionKind::Delete) {
                v.deleted = false;
            }
        }),
        ("a bad id", |l| {
            for v in l.iter_mut().filter(|v| v.id == "deep") {
                v.id = "not an id!".into();
            }
        }),
        ("data that is not an object", |l| {
            if let Some(v) = l.last_mut() {
                v.data = json!([1, 2]);
            }
        }),
    ];
    for (what, spoil) in broken {
        let mut bad = lines.clone();
        spoil(&mut bad);
        let refused = target.import(bad, ImportOptions::default()).await;
        assert!(
            matches!(refused, Err(Error::Validation(_))),
            "{what}: {refused:?}"
        );
        assert!(exported(&target).await.is_empty(), "{what}: nothing stored");
    }
}

pub async fn import_resumes_and_skips(env: &Env) {
    let source = env.coll("resume-src");
    varied(&source).await;
    let lines = exported(&source).await;
    let target = env.coll("resume-dst");
    // A stopped import: every record's first few versions only.
    let head: Vec<ExportedVersion> = lines.iter().filter(|v| v.ov < 3).cloned().collect();
    target.import(head, ImportOptions::default()).await.unwrap();
    let again = target
        .import(lines.clone(), ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (again.imported, again.completed, again.present),
        (0, 2, 5),
        "deep and enriched were begun, the batch records are whole: {again:?}"
    );
    assert_eq!(exported(&target).await.len(), lines.len());
    // Once more: all present, nothing written.
    let third = target
        .import(lines.clone(), ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((third.present, third.versions_written), (7, 0));
    // A record that exists with another history is refused, or skipped on request.
    let other = env.coll("resume-other");
    other
        .create_with_id("deep", json!({"n": "mine"}), meta("own"))
        .await
        .unwrap();
    let deep: Vec<ExportedVersion> = lines.iter().filter(|v| v.id == "deep").cloned().collect();
    let refused = other.import(deep.clone(), ImportOptions::default()).await;
    assert!(
        matches!(refused, Err(Error::Conflict { exists: true, .. })),
        "{refused:?}"
    );
    let skipped = other
        .import(deep, ImportOptions::skipping_existing())
        .await
        .unwrap();
    assert_eq!(skipped.skipped, ["deep"]);
    let kept = other
        .get_latest("deep", ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.data, json!({"n": "mine"}));
}

pub async fn import_history_creates_a_record_with_its_original_times(env: &Env) {
    use chronos_db::transfer::HistoricVersion;
    let c = env.coll("legacy");
    // Versions keep their times to the microsecond: a finer time would not read back as
    // given, so it is refused.
    use chrono::SubsecRound;
    let fine = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
    let refused = c
        .import_history(
            "order-0",
            vec![HistoricVersion::new(fine, json!({}))],
            meta("ns"),
        )
        .await;
    assert!(matches!(refused, Err(Error::Validation(_))), "{refused:?}");
    let t0 = (chrono::Utc::now() - Duration::days(400)).trunc_subsecs(6);
    let (t1, t2) = (t0 + Duration::days(30), t0 + Duration::days(90));
    let versions = vec![
        HistoricVersion::new(t0, json!({"n": 0, "status": "new"})),
        HistoricVersion::new(t1, json!({"n": 1, "status": "paid"})),
        HistoricVersion::deleted(t2, json!({"n": 1, "status": "paid"})),
    ];
    let report = c
        .import_history("order-1", versions.clone(), meta("migration"))
        .await
        .unwrap();
    assert_eq!((report.imported, report.versions_written), (1, 3));
    for (v, want) in [
        (t0, json!({"n": 0, "status": "new"})),
        (t1, json!({"n": 1, "status": "paid"})),
    ] {
        let got = c
            .get_as_of("order-1", v, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((got.data, got.at), (want, v));
    }
    let page = c.history("order-1", HistoryQuery::default()).await.unwrap();
    let kinds: Vec<VersionKind> = page.versions.iter().map(|v| v.kind).collect();
    assert_eq!(
        kinds,
        [
            VersionKind::Create,
            VersionKind::Update,
            VersionKind::Delete
        ]
    );
    assert!(page
        .versions
        .iter()
        .all(|v| v.actor == "mover" && v.reason == "migration"));
    assert!(c.verify("order-1").await.unwrap().broken.is_none());
    // Only new records, and nothing stored on any refusal.
    let again = c
        .import_history("order-1", versions.clone(), meta("again"))
        .await;
    assert!(
        matches!(again, Err(Error::Conflict { exists: true, .. })),
        "{again:?}"
    );
    assert_eq!(
        c.history("order-1", HistoryQuery::default())
            .await
            .unwrap()
            .versions
            .len(),
        3
    );
    let backwards = vec![
        HistoricVersion::new(t1, json!({"n": 1})),
        HistoricVersion::new(t0, json!({"n": 0})),
    ];
    let refused = c.import_history("order-2", backwards, meta("bad")).await;
    assert!(matches!(refused, Err(Error::Validation(_))), "{refused:?}");
    let refused = c.import_history("order-2", Vec::new(), meta("bad")).await;
    assert!(matches!(refused, Err(Error::Validation(_))), "{refused:?}");
    let refused = c.import_history("bad/id", versions, meta("bad")).await;
    assert!(matches!(refused, Err(Error::Validation(_))), "{refused:?}");
    assert!(c
        .get_latest("order-2", ReadOptions::default())
        .await
        .unwrap()
        .is_none());
}
