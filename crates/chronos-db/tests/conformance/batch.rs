//! `create_many`: batches of new records, validated up front.

use chronos_db::{DbType, Error, ListQuery, ReadOptions, Route, WriteMeta};
use serde_json::json;

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("loader", "import")
}

pub async fn create_many_stores_every_item_in_order(env: &Env) {
    // Batches of 7: 20 items take three batches.
    let chronos = env
        .variant(json!({"writeOptimization": {"batchSize": 7, "debounceMs": 0}}))
        .await;
    let route = Route::tenant(DbType::Runtime, "tenant-a", "imported");
    let c = chronos.with(route.clone()).unwrap();
    let items: Vec<_> = (0..20).map(|n| json!({"n": n, "kind": "bulk"})).collect();
    let results = c.create_many(items.clone(), meta()).await.unwrap();
    assert_eq!(results.len(), 20);
    let mut cvs: Vec<u64> = results.iter().map(|w| w.cv).collect();
    cvs.sort_unstable();
    assert_eq!(
        cvs,
        (0..20).collect::<Vec<u64>>(),
        "one cv per record, no gaps"
    );
    for (w, data) in results.iter().zip(&items) {
        assert_eq!(w.ov, 0);
        let item = c
            .get_latest(&w.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&item.data, item.cv, item.at), (data, w.cv, w.at));
    }
    let listed = c
        .list_by_meta(
            ListQuery::filter(json!({"kind": "bulk"})),
            ReadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 20);
    assert_eq!(
        chronos.counters().get_totals(&route).await.unwrap().created,
        20
    );
    // Batched records are ordinary records.
    let first = &results[0];
    let w = c
        .update(&first.id, json!({"n": 100}), 0, meta())
        .await
        .unwrap();
    assert_eq!((w.ov, w.cv), (1, 20));
    assert!(c.create_many(Vec::new(), meta()).await.unwrap().is_empty());
}

pub async fn create_many_checks_every_item_before_writing(env: &Env) {
    let c = env.coll("imported_bad");
    let items = vec![
        json!({"ok": 1}),
        json!({"ok": 2}),
        json!([1, 2]),
        json!({"ok": 4}),
    ];
    let refused = c.create_many(items, meta()).await;
    match refused {
        Err(Error::Validation(m)) => assert!(m.contains("item 2"), "{m}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let listed = c
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    // No collection version was taken.
    assert_eq!(c.create(json!({"ok": 0}), meta()).await.unwrap().cv, 0);
    let orders = env.coll("orders");
    let missing = orders
        .create_many(
            vec![
                json!({"orderId": "o1", "total": 5}),
                json!({"orderId": "o2"}),
            ],
            meta(),
        )
        .await;
    assert!(matches!(missing, Err(Error::Validation(m)) if m.contains("item 1")));
}

pub async fn create_many_handles_base64_blobs(env: &Env) {
    use base64::Engine;
    let c = env.coll("attachments");
    let file = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.7 bulk");
    let items: Vec<_> = (0..5)
        .map(|n| json!({"title": format!("doc {n}"), "file": file}))
        .collect();
    let results = c.create_many(items.clone(), meta()).await.unwrap();
    for (w, data) in results.iter().zip(&items) {
        let item = c
            .get_latest(&w.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&item.data, data);
    }
}
