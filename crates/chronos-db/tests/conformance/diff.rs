//! A record's history page by page, and diffs between its versions.

use chronos_db::{EnrichMeta, Error, HistoryQuery, WriteMeta};
use serde_json::{json, Value};

use crate::Env;

fn meta(reason: &str) -> WriteMeta {
    WriteMeta::new("historian", reason)
}

/// A record with five versions: create, two updates, an enrichment and a delete.
async fn five_versions(c: &chronos_db::Collection) -> String {
    let w = c
        .create(json!({"name": "a", "n": 0, "tags": ["x"]}), meta("v0"))
        .await
        .unwrap();
    c.update(
        &w.id,
        json!({"name": "a", "n": 1, "tags": ["x"]}),
        0,
        meta("v1"),
    )
    .await
    .unwrap();
    c.update(
        &w.id,
        json!({"name": "b", "n": 1, "tags": ["x", "y"]}),
        1,
        meta("v2"),
    )
    .await
    .unwrap();
    c.enrich(
        &w.id,
        json!({"extra": {"k": true}}),
        EnrichMeta::new("enricher@v1", "system", "v3"),
    )
    .await
    .unwrap();
    c.delete(&w.id, 3, meta("v4")).await.unwrap();
    w.id
}

pub async fn history_lists_every_version_page_by_page(env: &Env) {
    let c = env.coll("ledger");
    let id = five_versions(&c).await;
    let mut seen = Vec::new();
    let mut query = HistoryQuery::default().limit(2);
    loop {
        let page = c.history(&id, query.clone()).await.unwrap();
        assert!(page.versions.len() <= 2);
        seen.extend(page.versions);
        match page.next_after_ov {
            Some(ov) => query = query.after(ov),
            None => break,
        }
    }
    let ovs: Vec<u64> = seen.iter().map(|v| v.ov).collect();
    assert_eq!(ovs, [0, 1, 2, 3, 4], "no gap, no repeat");
    let reasons: Vec<&str> = seen.iter().map(|v| v.reason.as_str()).collect();
    assert_eq!(reasons, ["v0", "v1", "v2", "v3", "v4"]);
    assert!(
        seen.iter().all(|v| v.data.is_null()),
        "no data unless asked"
    );
    assert!(seen
        .windows(2)
        .all(|w| w[0].cv < w[1].cv && w[0].at <= w[1].at));
    assert_eq!(
        seen.iter().map(|v| v.deleted).collect::<Vec<_>>(),
        [false, false, false, false, true]
    );
    assert_eq!(seen[3].actor, "system");
    // The enrichment's function id comes from the index, without the payload.
    let functions: Vec<&[String]> = seen.iter().map(|v| v.function_ids.as_slice()).collect();
    assert_eq!(
        functions,
        [&[][..], &[], &[], &["enricher@v1".to_string()][..], &[]]
    );
    // With data: each version's own, and the enrichment's provenance.
    let full = c
        .history(&id, HistoryQuery::default().with_data())
        .await
        .unwrap();
    assert_eq!(full.next_after_ov, None);
    let data: Vec<Value> = full.versions.iter().map(|v| v.data.clone()).collect();
    assert_eq!(data[0], json!({"name": "a", "n": 0, "tags": ["x"]}));
    assert_eq!(data[2], json!({"name": "b", "n": 1, "tags": ["x", "y"]}));
    assert_eq!(data[3]["extra"], json!({"k": true}));
    let functions = &full.versions[3].function_ids;
    assert_eq!(functions, &["enricher@v1".to_string()]);
    // A page after the last version is empty, and says so.
    let past = c
        .history(&id, HistoryQuery::default().after(4))
        .await
        .unwrap();
    assert!(past.versions.is_empty() && past.next_after_ov.is_none());
}

pub async fn history_refuses_unknown_records_and_bad_limits(env: &Env) {
    let c = env.coll("ledger");
    let missing = c
        .history("no-such-record", HistoryQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
    let w = c.create(json!({"a": 1}), meta("v0")).await.unwrap();
    for limit in [0, 1000 + 1] {
        let bad = c
            .history(&w.id, HistoryQuery::default().limit(limit))
            .await
            .unwrap_err();
        assert!(
            matches!(bad, Error::Validation(_)),
            "limit {limit}: {bad:?}"
        );
    }
    let bad_id = c.history("", HistoryQuery::default()).await.unwrap_err();
    assert!(matches!(bad_id, Error::Validation(_)), "{bad_id:?}");
    // Erased: gone from history as from every read.
    c.erase(&w.id, 0, meta("erase")).await.unwrap();
    let erased = c.history(&w.id, HistoryQuery::default()).await.unwrap_err();
    assert!(matches!(erased, Error::NotFound(_)), "{erased:?}");
}

pub async fn diff_patches_one_version_into_another(env: &Env) {
    let c = env.coll("ledger");
    let id = five_versions(&c).await;
    let d = c.diff(&id, 0, 2).await.unwrap();
    assert_eq!(d.changed_paths, ["/n", "/name", "/tags/1"]);
    // Applying the patch to the first version's data gives the second's, in every pair.
    let data = |ov| {
        let c = c.clone();
        let id = id.clone();
        async move {
            c.get_version(&id, ov, Default::default())
                .await
                .unwrap()
                .unwrap()
                .data
        }
    };
    for (from, to) in [(0, 2), (2, 0), (1, 3), (3, 4), (0, 4), (2, 2)] {
        let d = c.diff(&id, from, to).await.unwrap();
        let mut doc = data(from).await;
        chronos_db::json_patch::patch(&mut doc, &d.patch).unwrap();
        assert_eq!(doc, data(to).await, "patch v{from} -> v{to}");
        assert_eq!((d.from_ov, d.to_ov), (from, to));
    }
    assert!(c.diff(&id, 2, 2).await.unwrap().patch.is_empty());
    // The patch is RFC 6902 on the wire.
    let wire = serde_json::to_value(&c.diff(&id, 2, 3).await.unwrap().patch).unwrap();
    assert_eq!(
        wire,
        json!([{"op": "add", "path": "/extra", "value": {"k": true}}])
    );
    let missing = c.diff(&id, 0, 9).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
    let nobody = c.diff("nobody", 0, 1).await.unwrap_err();
    assert!(matches!(nobody, Error::NotFound(_)), "{nobody:?}");
}
