//! enrich, restore (record and collection) and hard erase.

use std::time::Duration;

use chronos_db::maintenance::{RestoreAction, RestoreOptions, RestoreTarget};
use chronos_db::{EnrichMeta, Error, ListQuery, ReadOptions, WriteMeta};
use serde_json::{json, Value};

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "history")
}

async fn data(c: &chronos_db::Collection, id: &str) -> (u64, bool, Value) {
    let i = c
        .get_latest(id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    (i.ov, i.deleted, i.data)
}

pub async fn enrich_merges_deeply_and_records_provenance(env: &Env) {
    let c = env.coll("profiles");
    let w = c
        .create(
            json!({"name": "a", "tags": ["x"], "meta": {"score": 1}, "items": [{"id": 1, "q": 1}]}),
            meta(),
        )
        .await
        .unwrap();
    let e = c
        .enrich(
            &w.id,
            json!({"tags": ["premium", "x"], "meta": {"newField": "v"}}),
            EnrichMeta::new("enricher@v1", "system", "auto"),
        )
        .await
        .unwrap();
    assert_eq!(e.ov, 1);
    let item = c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        item.data,
        json!({"name": "a", "tags": ["x", "premium"], "meta": {"score": 1, "newField": "v"}, "items": [{"id": 1, "q": 1}]})
    );
    assert_eq!(item.function_ids, vec!["enricher@v1".to_string()]);
    assert_eq!(
        (item.actor.as_str(), item.reason.as_str()),
        ("system", "auto")
    );
    // A batch of patches applies in order, in one version.
    let batch = json!([{"tags": ["vip"]}, {"meta": {"score": 100}}, {"tags": ["verified"]}, {"items": [{"id": 1, "r": 2}, {"id": 2}]}]);
    let b = c
        .enrich(&w.id, batch, EnrichMeta::new("batch@v2", "system", "batch"))
        .await
        .unwrap();
    assert_eq!(b.ov, 2);
    let (_, _, d) = data(&c, &w.id).await;
    assert_eq!(d["tags"], json!(["x", "premium", "vip", "verified"]));
    assert_eq!(d["meta"], json!({"score": 100, "newField": "v"}));
    assert_eq!(d["items"], json!([{"id": 1, "q": 1, "r": 2}, {"id": 2}]));
    // Plain writes carry no provenance; history keeps each enrichment's function.
    let v0 = c
        .get_version(&w.id, 0, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(v0.function_ids.is_empty());
    let v1 = c
        .get_version(&w.id, 1, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.function_ids, vec!["enricher@v1".to_string()]);
}

pub async fn enrich_is_conflict_checked(env: &Env) {
    let c = env.coll("profiles");
    let w = c.create(json!({"n": 1}), meta()).await.unwrap();
    c.update(&w.id, json!({"n": 2}), 0, meta()).await.unwrap();
    let stale = c
        .enrich(
            &w.id,
            json!({"m": 1}),
            EnrichMeta::new("f@1", "a", "r").expecting(0),
        )
        .await;
    assert!(
        matches!(stale, Err(Error::Conflict { current: 1, .. })),
        "{stale:?}"
    );
    assert_eq!(data(&c, &w.id).await, (1, false, json!({"n": 2})));
    let ok = c
        .enrich(
            &w.id,
            json!({"m": 1}),
            EnrichMeta::new("f@1", "a", "r").expecting(1),
        )
        .await
        .unwrap();
    assert_eq!(ok.ov, 2);
    for bad in [json!([]), json!([1]), json!("x"), json!([{"a": 1}, 2])] {
        let r = c
            .enrich(&w.id, bad.clone(), EnrichMeta::new("f@1", "a", "r"))
            .await;
        assert!(matches!(r, Err(Error::Validation(_))), "{bad}: {r:?}");
    }
    let r = c
        .enrich(&w.id, json!({"a": 1}), EnrichMeta::new("bad id", "a", "r"))
        .await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    assert_eq!(data(&c, &w.id).await.0, 2);
    let r = c
        .enrich("missing", json!({"a": 1}), EnrichMeta::new("f@1", "a", "r"))
        .await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    // Concurrent enrichers without an expected ov all land.
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let c = c.clone();
            let id = w.id.clone();
            tokio::spawn(async move {
                c.enrich(
                    &id,
                    json!({"tags": [format!("t{i}")]}),
                    EnrichMeta::new("f@1", "a", "r"),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let (ov, _, d) = data(&c, &w.id).await;
    assert_eq!(ov, 8);
    assert_eq!(d["tags"].as_array().unwrap().len(), 6);
}

pub async fn restore_object_appends_the_target_state(env: &Env) {
    let c = env.coll("docs");
    let w = c.create(json!({"v": 0}), meta()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3)).await;
    let w1 = c.update(&w.id, json!({"v": 1}), 0, meta()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3)).await;
    c.update(&w.id, json!({"v": 2}), 1, meta()).await.unwrap();
    let r = c
        .restore_object(&w.id, RestoreTarget::Ov(0), meta())
        .await
        .unwrap();
    assert_eq!(r.ov, 3);
    assert_eq!(data(&c, &w.id).await, (3, false, json!({"v": 0})));
    let r = c
        .restore_object(&w.id, RestoreTarget::At(w1.at), meta())
        .await
        .unwrap();
    assert_eq!(r.ov, 4);
    assert_eq!(data(&c, &w.id).await, (4, false, json!({"v": 1})));
    let r = c
        .restore_object(&w.id, RestoreTarget::Cv(w.cv), meta())
        .await
        .unwrap();
    assert_eq!(data(&c, &w.id).await, (r.ov, false, json!({"v": 0})));
    // History is intact: nothing was overwritten.
    for (ov, v) in [(0, 0), (1, 1), (2, 2)] {
        let i = c
            .get_version(&w.id, ov, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(i.data, json!({"v": v}));
    }
    // A deleted record comes back.
    let cur = data(&c, &w.id).await.0;
    c.delete(&w.id, cur, meta()).await.unwrap();
    let back = c
        .restore_object(&w.id, RestoreTarget::Ov(2), meta())
        .await
        .unwrap();
    assert_eq!(data(&c, &w.id).await, (back.ov, false, json!({"v": 2})));
    let r = c.restore_object(&w.id, RestoreTarget::Ov(99), meta()).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let r = c
        .restore_object(
            &w.id,
            RestoreTarget::At(w.at - chrono::Duration::seconds(1)),
            meta(),
        )
        .await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let r = c.restore_object("nope", RestoreTarget::Ov(0), meta()).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
}

pub async fn restore_collection_rewinds_every_record(env: &Env) {
    let c = env.coll("ledger");
    let a = c
        .create_with_id("a", json!({"v": "a0"}), meta())
        .await
        .unwrap();
    let b = c
        .create_with_id("b", json!({"v": "b0"}), meta())
        .await
        .unwrap();
    let gone = c
        .create_with_id("d", json!({"v": "d0"}), meta())
        .await
        .unwrap();
    let mark = gone.cv;
    tokio::time::sleep(Duration::from_millis(3)).await;
    let mark_time = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(3)).await;
    c.update("a", json!({"v": "a1"}), a.ov, meta())
        .await
        .unwrap();
    c.delete("d", gone.ov, meta()).await.unwrap();
    c.create_with_id("n", json!({"v": "new"}), meta())
        .await
        .unwrap();
    let _ = b;

    let plan = c
        .restore_collection_with(
            RestoreTarget::Cv(mark),
            meta(),
            RestoreOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(plan.dry_run);
    // Only the records written since the mark are looked at: b was not.
    assert_eq!(plan.examined, 3);
    assert_eq!(plan.unchanged, 0);
    assert_eq!(
        plan.actions,
        vec![
            RestoreAction::Restore {
                id: "a".into(),
                from_ov: 0,
                new_ov: None
            },
            RestoreAction::Restore {
                id: "d".into(),
                from_ov: 0,
                new_ov: None
            },
            RestoreAction::Delete {
                id: "n".into(),
                new_ov: None
            },
        ]
    );
    assert_eq!(data(&c, "a").await.2, json!({"v": "a1"}), "a dry run wrote");

    let done = c
        .restore_collection(RestoreTarget::At(mark_time), meta())
        .await
        .unwrap();
    assert_eq!(done.actions.len(), 3);
    assert_eq!(data(&c, "a").await, (2, false, json!({"v": "a0"})));
    assert_eq!(data(&c, "b").await, (0, false, json!({"v": "b0"})));
    assert_eq!(data(&c, "d").await, (2, false, json!({"v": "d0"})));
    assert_eq!(data(&c, "n").await, (1, true, json!({"v": "new"})));
    let live = c
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(
        live.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["a", "b", "d"]
    );
    // Running it again changes nothing: a restore is idempotent, so an interrupted one can rerun.
    let again = c
        .restore_collection(RestoreTarget::Cv(mark), meta())
        .await
        .unwrap();
    assert!(again.actions.is_empty(), "{again:?}");
    assert_eq!((again.examined, again.unchanged), (3, 3));
    let r = c.restore_collection(RestoreTarget::Ov(1), meta()).await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
}

/// A collection restore looks only at the records written since its target: its work follows
/// what changed, not the size of the collection.
pub async fn restore_collection_reads_only_records_written_since(env: &Env) {
    let c = env.coll("mostly-quiet");
    let items: Vec<_> = (0..40).map(|i| json!({"i": i})).collect();
    let created = c.create_many(items, meta()).await.unwrap();
    let mark = created.iter().map(|w| w.cv).max().unwrap();
    for w in &created[..2] {
        c.update(&w.id, json!({"changed": true}), 0, meta())
            .await
            .unwrap();
    }
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = told.clone();
    let opts = RestoreOptions {
        progress: Some(std::sync::Arc::new(
            move |p: chronos_db::maintenance::Progress| log.lock().unwrap().push(p),
        )),
        ..Default::default()
    };
    let done = c
        .restore_collection_with(RestoreTarget::Cv(mark), meta(), opts)
        .await
        .unwrap();
    assert_eq!((done.examined, done.actions.len()), (2, 2), "{done:?}");
    let last = *told.lock().unwrap().last().expect("progress was told");
    assert_eq!((last.scanned, last.found), (2, 2));
    for w in &created[..2] {
        let back = c
            .get_latest(&w.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.ov, 2);
        assert!(back.data.get("changed").is_none(), "{back:?}");
    }
}

pub async fn restore_collection_resumes_in_steps(env: &Env) {
    let c = env.coll("bulk-restore");
    for i in 0..25 {
        c.create_with_id(&format!("r{i:02}"), json!({"i": i}), meta())
            .await
            .unwrap();
    }
    let mark = c
        .get_latest("r24", ReadOptions::default())
        .await
        .unwrap()
        .unwrap()
        .cv;
    for i in 0..25 {
        c.update(
            &format!("r{i:02}"),
            json!({"i": i, "changed": true}),
            0,
            meta(),
        )
        .await
        .unwrap();
    }
    let mut after = None;
    let mut restored = 0;
    let mut steps = 0;
    loop {
        let opts = RestoreOptions {
            after_id: after.clone(),
            max_records: Some(10),
            ..Default::default()
        };
        let step = c
            .restore_collection_with(RestoreTarget::Cv(mark), meta(), opts)
            .await
            .unwrap();
        restored += step.actions.len();
        steps += 1;
        match step.resume_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!((restored, steps), (25, 3));
    for i in 0..25 {
        assert_eq!(
            data(&c, &format!("r{i:02}")).await,
            (2, false, json!({"i": i}))
        );
    }
    // While one restore holds the collection lock, another is refused.
    let lock = c
        .try_lock("restore-collection", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let r = c.restore_collection(RestoreTarget::Cv(mark), meta()).await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    lock.release().await.unwrap();
}

pub async fn erase_removes_every_version_and_is_audited(env: &Env) {
    let c = env.coll("people");
    let w = c.create(json!({"name": "x"}), meta()).await.unwrap();
    c.update(&w.id, json!({"name": "y"}), 0, meta())
        .await
        .unwrap();
    let keep = c.create(json!({"name": "keep"}), meta()).await.unwrap();
    let r = c
        .erase(&w.id, 0, WriteMeta::new("dpo", "gdpr erasure"))
        .await;
    assert!(
        matches!(r, Err(Error::Conflict { current: 1, .. })),
        "{r:?}"
    );
    let report = c
        .erase(&w.id, 1, WriteMeta::new("dpo", "gdpr erasure"))
        .await
        .unwrap();
    assert_eq!(report.versions_removed, 2);
    match env.objects() {
        true => assert!(report.blobs_removed >= 2, "{report:?}"),
        // Small payloads lived in the version rows, which are gone.
        false => assert_eq!(report.blobs_removed, 0, "{report:?}"),
    }
    assert!(c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    for ov in 0..2 {
        assert!(c
            .get_version(&w.id, ov, ReadOptions::default())
            .await
            .unwrap()
            .is_none());
    }
    let live = c
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(
        live.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        vec![keep.id.clone()]
    );
    let log = c.audit_log().await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            log[0].id.as_str(),
            log[0].action.as_str(),
            log[0].actor.as_str()
        ),
        (w.id.as_str(), "erase", "dpo")
    );
    assert_eq!(log[0].detail["versionsRemoved"], json!(2));
    let again = c.erase(&w.id, 1, meta()).await;
    assert!(matches!(again, Err(Error::NotFound(_))), "{again:?}");
    // The id can be used again afterwards, from ov 0.
    let reborn = c
        .create_with_id(&w.id, json!({"name": "z"}), meta())
        .await
        .unwrap();
    assert_eq!(reborn.ov, 0);
}

pub async fn delete_erases_when_logical_delete_is_off(env: &Env) {
    let hard = env
        .variant(json!({"logicalDelete": {"enabled": false}}))
        .await;
    let c = hard
        .with(chronos_db::Route::tenant(
            chronos_db::DbType::Runtime,
            "tenant-a",
            "hard",
        ))
        .unwrap();
    let w = c.create(json!({"a": 1}), meta()).await.unwrap();
    c.update(&w.id, json!({"a": 2}), 0, meta()).await.unwrap();
    let r = c.delete(&w.id, 0, meta()).await;
    assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");
    let d = c
        .delete(&w.id, 1, WriteMeta::new("ops", "cleanup"))
        .await
        .unwrap();
    assert_eq!(d.ov, 1);
    assert!(c
        .get_version(&w.id, 0, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    assert!(c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    assert_eq!(c.audit_log().await.unwrap().len(), 1);
}

pub async fn prune_keeps_the_newest_versions(env: &Env) {
    let c = env.coll("pruned");
    let w = c.create(json!({"v": 0}), meta()).await.unwrap();
    for ov in 0..4 {
        c.update(&w.id, json!({"v": ov + 1}), ov, meta())
            .await
            .unwrap();
    }
    let short = c.create(json!({"v": "only"}), meta()).await.unwrap();
    let other = env.tenant("tenant-b", "pruned");
    let ob = other.create(json!({"v": 0}), meta()).await.unwrap();
    other
        .update(&ob.id, json!({"v": 1}), 0, meta())
        .await
        .unwrap();
    other
        .update(&ob.id, json!({"v": 2}), 1, meta())
        .await
        .unwrap();
    // Without a policy nothing goes.
    let none = env.chronos.prune().await.unwrap();
    assert_eq!(none.versions_removed, 0);
    // Fresh versions are inside a one-day window: nothing goes either.
    let day = env
        .variant(json!({"retention": {"ver": {"days": 1}}}))
        .await;
    assert_eq!(day.prune().await.unwrap().versions_removed, 0);
    let pruner = env
        .variant(json!({"retention": {"ver": {"maxPerItem": 2}}}))
        .await;
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = told.clone();
    let report = pruner
        .prune_with(Some(std::sync::Arc::new(
            move |p: chronos_db::maintenance::Progress| log.lock().unwrap().push(p),
        )))
        .await
        .unwrap();
    assert_eq!(report.versions_removed, 3 + 1, "{report:#?}");
    // Retention sealed the removed versions' cvs: a feed that waits for every gap delivers
    // what is left at once, and says it is caught up.
    let patient = chronos_db::FeedOptions::default().settle_after(Duration::from_secs(600));
    let feed = c
        .changes_with(chronos_db::ChangesQuery::default(), patient)
        .await
        .unwrap();
    let delivered: Vec<(String, u64)> = feed.changes.iter().map(|v| (v.id.clone(), v.ov)).collect();
    assert_eq!(
        delivered,
        [(w.id.clone(), 3), (w.id.clone(), 4), (short.id.clone(), 0)]
    );
    assert!(feed.caught_up, "{feed:?}");
    let last = *told.lock().unwrap().last().expect("progress was told");
    assert_eq!((last.scanned, last.found), (3, 4), "{told:?}");
    assert_eq!(report.blobs_removed, if env.objects() { 4 } else { 0 });
    for ov in 0..3 {
        assert!(
            c.get_version(&w.id, ov, ReadOptions::default())
                .await
                .unwrap()
                .is_none(),
            "ov {ov}"
        );
    }
    for ov in 3..5 {
        let i = c
            .get_version(&w.id, ov, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(i.data, json!({"v": ov}));
    }
    assert_eq!(data(&c, &w.id).await, (4, false, json!({"v": 4})));
    assert_eq!(data(&c, &short.id).await.0, 0);
    assert!(other
        .get_version(&ob.id, 0, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    assert_eq!(data(&other, &ob.id).await.0, 2);
    // Time travel before the oldest kept version finds nothing; writes go on as before.
    let r = c.restore_object(&w.id, RestoreTarget::Ov(1), meta()).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let next = c.update(&w.id, json!({"v": 5}), 4, meta()).await.unwrap();
    assert_eq!(next.ov, 5);
    assert_eq!(pruner.prune().await.unwrap().versions_removed, 1);
}

/// On local files nothing of a refused write, of an interrupted put or of an erased record
/// stays behind: no file, no temporary, no directory named after the record.
pub async fn local_files_keep_nothing_of_refused_interrupted_or_erased_writes(env: &Env) {
    // Inline payloads put no file to begin with (`erase_leaves_no_bytes_behind` checks them).
    if env.payloads != "local" || !env.objects() {
        return;
    }
    let c = env.coll("traces");
    let w = c.create(json!({"v": 0}), meta()).await.unwrap();
    c.update(&w.id, json!({"v": 1}), 0, meta()).await.unwrap();
    c.delete(&w.id, 1, meta()).await.unwrap();
    let url = c
        .get_version(
            &w.id,
            0,
            ReadOptions::presigned(std::time::Duration::from_secs(60)),
        )
        .await
        .unwrap()
        .unwrap()
        .url
        .unwrap();
    let record_dir = std::path::Path::new(&url)
        .parent()
        .and_then(|v| v.parent())
        .unwrap()
        .to_path_buf();
    assert!(record_dir.ends_with(&w.id), "{}", record_dir.display());
    // A write refused at its commit (the record is deleted) takes its blob and directory back.
    let refused = c.update(&w.id, json!({"v": 3}), 2, meta()).await;
    assert!(matches!(refused, Err(Error::Deleted { .. })), "{refused:?}");
    assert!(
        !record_dir.join("v3").exists(),
        "a refused write left its directory"
    );
    // A put interrupted by a crash leaves a temporary file that repair finds and removes.
    std::fs::create_dir_all(record_dir.join("v9")).unwrap();
    std::fs::write(record_dir.join("v9/item.json#1"), b"{\"half").unwrap();
    let now = chronos_db::maintenance::RepairOptions {
        dry_run: false,
        min_age: std::time::Duration::ZERO,
        ..Default::default()
    };
    let repaired = env.chronos.repair(now).await.unwrap();
    assert!(
        repaired
            .orphans
            .iter()
            .any(|o| o.key.ends_with(&format!("{}/v9/item.json#1", w.id))),
        "{repaired:#?}"
    );
    assert!(!record_dir.join("v9").exists());
    // Erasing leaves nothing named after the record, temporaries included.
    std::fs::create_dir_all(record_dir.join("v8")).unwrap();
    std::fs::write(record_dir.join("v8/item.json#2"), b"{").unwrap();
    c.erase(&w.id, 2, meta()).await.unwrap();
    assert!(
        !record_dir.exists(),
        "the erased record's directory is still there"
    );
}

/// The ids a restore plan deletes and restores.
fn plan(report: &chronos_db::maintenance::RestoreReport) -> (Vec<String>, Vec<String>) {
    let mut deleted = Vec::new();
    let mut restored = Vec::new();
    for a in &report.actions {
        match a {
            RestoreAction::Delete { id, .. } => deleted.push(id.clone()),
            RestoreAction::Restore { id, .. } => restored.push(id.clone()),
            other => panic!("an action this test does not know: {other:?}"),
        }
    }
    (deleted, restored)
}

/// A clock that stepped back: record `c` is written after `a` and `b` (a higher cv) but stamped
/// before both. A collection restored to a time reaches a state the collection really had:
/// the state just before the first write stamped after that time, in cv order.
pub async fn restore_collection_to_a_time_follows_cv_order_under_clock_skew(env: &Env) {
    let c = env.coll("skewed");
    let a = c
        .create_with_id("a", json!({"v": "a"}), meta())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = c
        .create_with_id("b", json!({"v": "b"}), meta())
        .await
        .unwrap();
    // `c` committed through the index directly, as a writer whose clock is behind would.
    let raw = env.raw_index().await;
    let ns = chronos_db::index::Namespace {
        db_name: env.tenant_a_db(),
        collection: "skewed".into(),
        indexed_props: std::sync::Arc::new(Vec::new()),
    };
    let skewed_at = a.at.timestamp_micros() - 1_000_000;
    let cv = raw.reserve_cvs(&ns, 1).await.unwrap();
    let mut row = chronos_db::index::VersionRow::bare(chronos_db::index::VersionRef {
        id: "c".into(),
        ov: 0,
        cv,
        at: skewed_at,
        deleted: false,
        payload: chronos_db::index::PayloadRef::Object("never-read".into()),
    });
    row.actor = "skewed".into();
    row.reason = "clock behind".into();
    let committed = raw
        .commit(
            &ns,
            &mut row,
            None,
            chronos_db::index::CommitOptions {
                cv: chronos_db::index::CvChoice::Given(cv),
                require_live: false,
                claim: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(committed, chronos_db::index::CommitOutcome::Committed);
    assert!(row.cv > b.cv && row.at < a.at.timestamp_micros());

    let dry = || chronos_db::maintenance::RestoreOptions {
        dry_run: true,
        ..Default::default()
    };
    let between = a.at + chrono::Duration::microseconds(1);
    let report = c
        .restore_collection_with(RestoreTarget::At(between), meta(), dry())
        .await
        .unwrap();
    // The collection held {a} then: b and c came later in its timeline.
    assert_eq!(plan(&report), (vec!["b".into(), "c".into()], vec![]));
    let before_all = chrono::DateTime::from_timestamp_micros(skewed_at + 1).unwrap();
    let report = c
        .restore_collection_with(RestoreTarget::At(before_all), meta(), dry())
        .await
        .unwrap();
    // a is the first write, and it is stamped after that time: nothing existed yet.
    assert_eq!(
        plan(&report),
        (vec!["a".into(), "b".into(), "c".into()], vec![])
    );
    let after_all = b.at + chrono::Duration::seconds(1);
    let report = c
        .restore_collection_with(RestoreTarget::At(after_all), meta(), dry())
        .await
        .unwrap();
    assert_eq!(plan(&report), (vec![], vec![]));
}

/// Repair walks every payload a batch at a time and reports its progress as it goes.
pub async fn repair_reports_progress_batch_by_batch(env: &Env) {
    // Payload objects are what repair walks: written as objects whatever the pair's layout.
    let writer = env
        .variant(json!({"writeOptimization": {"payloadLayout": "objects"}}))
        .await;
    let c = writer
        .with(chronos_db::Route::tenant(
            chronos_db::DbType::Runtime,
            "tenant-a",
            "many-payloads",
        ))
        .unwrap();
    let items: Vec<_> = (0..1_200).map(|i| json!({"i": i})).collect();
    c.create_many(items, meta()).await.unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let opts = chronos_db::maintenance::RepairOptions {
        dry_run: true,
        min_age: std::time::Duration::ZERO,
        progress: Some(std::sync::Arc::new(
            move |p: chronos_db::maintenance::Progress| log.lock().unwrap().push(p),
        )),
    };
    let report = writer.repair(opts).await.unwrap();
    assert!(report.orphans.is_empty(), "{report:#?}");
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 2, "one call per batch of 1000: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].scanned < w[1].scanned),
        "{seen:?}"
    );
    assert!(seen.last().unwrap().scanned >= 1_200, "{seen:?}");
}

/// The files under `root` whose bytes contain `needle`.
fn files_containing(root: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    found
}

/// Erasing a record leaves none of its bytes in the embedded stores' files: not in the
/// SQLite database or its write-ahead log (inline payloads, index rows), not in payload files.
pub async fn erase_leaves_no_bytes_behind(env: &Env) {
    use chronos_db::config::{DbConnection, SpacesConnection};
    let DbConnection::Sqlite { dir: index_dir } = &env.config.db_connections["index"] else {
        return;
    };
    let mut roots = vec![index_dir.clone()];
    if let SpacesConnection::Local { path } = &env.config.spaces_connections["payloads"] {
        roots.push(path.clone());
    }
    let on_disk = |needle: &str| -> Vec<std::path::PathBuf> {
        roots
            .iter()
            .flat_map(|r| files_containing(r, needle))
            .collect()
    };
    let c = env.coll("secrets");
    let marker = format!("secret-{}", uuid::Uuid::now_v7().simple());
    let w = c
        .create(json!({"ssn": marker, "pad": "p".repeat(300)}), meta())
        .await
        .unwrap();
    c.update(&w.id, json!({"ssn": format!("{marker}-v1")}), 0, meta())
        .await
        .unwrap();
    let kept = c
        .create(json!({"ssn": "someone else"}), meta())
        .await
        .unwrap();
    if env.payloads == "local" || !env.objects() {
        assert!(!on_disk(&marker).is_empty(), "the record is on disk before");
    }
    c.erase(&w.id, 1, WriteMeta::new("dpo", "erasure request"))
        .await
        .unwrap();
    assert_eq!(on_disk(&marker), Vec::<std::path::PathBuf>::new());
    let item = c
        .get_latest(&kept.id, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(item.unwrap().data, json!({"ssn": "someone else"}));
}
