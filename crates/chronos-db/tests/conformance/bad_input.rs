//! Every bad input gets a clear error and changes nothing.

use chronos_db::{DbType, Error, ListQuery, ReadOptions, Route, Sort, SortBy, WriteMeta};
use serde_json::json;

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "bad input")
}

const BAD_IDS: [&str; 8] = [
    "", "../etc", "a/b", "a\\b", "a.json", "sp ace", "nul\0", "é",
];

pub async fn bad_ids_are_rejected_and_change_nothing(env: &Env) {
    let c = env.coll("users");
    let w = c.create(json!({"v": 1}), meta()).await.unwrap();
    let long = "x".repeat(129);
    for id in BAD_IDS.iter().copied().chain([long.as_str()]) {
        let opts = ReadOptions::default;
        assert!(
            matches!(c.get_latest(id, opts()).await, Err(Error::Validation(_))),
            "{id:?}"
        );
        assert!(matches!(
            c.get_version(id, 0, opts()).await,
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            c.get_as_of(id, w.at, opts()).await,
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            c.update(id, json!({}), 0, meta()).await,
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            c.delete(id, 0, meta()).await,
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            c.create_with_id(id, json!({}), meta()).await,
            Err(Error::Validation(_))
        ));
        let q = ListQuery::default().after(id);
        assert!(matches!(
            c.list_by_meta(q, opts()).await,
            Err(Error::Validation(_))
        ));
    }
    let page = c
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let next = c.create(json!({}), meta()).await.unwrap();
    assert_eq!(
        next.cv,
        w.cv + 1,
        "a rejected write took a collection version"
    );
}

pub async fn bad_payloads_are_rejected_and_change_nothing(env: &Env) {
    let c = env.coll("users");
    let w = c.create(json!({"v": 1}), meta()).await.unwrap();
    for bad in [
        json!([1, 2]),
        json!("text"),
        json!(3),
        json!(null),
        json!(true),
    ] {
        let r = c.create(bad.clone(), meta()).await;
        assert!(matches!(r, Err(Error::Validation(_))), "{bad}: {r:?}");
        let r = c.update(&w.id, bad.clone(), 0, meta()).await;
        assert!(matches!(r, Err(Error::Validation(_))), "{bad}: {r:?}");
    }
    let item = c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((item.ov, item.data), (0, json!({"v": 1})));
    let page = c
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

pub async fn required_indexed_props_are_enforced(env: &Env) {
    let c = env.coll("orders");
    for bad in [
        json!({"orderId": 1}),
        json!({"total": 5}),
        json!({"orderId": null, "total": 5}),
    ] {
        let r = c.create(bad.clone(), meta()).await;
        assert!(matches!(r, Err(Error::Validation(_))), "{bad}: {r:?}");
    }
    let w = c
        .create(json!({"orderId": 1, "total": 5}), meta())
        .await
        .unwrap();
    assert_eq!(w.cv, 0, "rejected creates took collection versions");
    let r = c.update(&w.id, json!({"orderId": 1}), 0, meta()).await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    let item = c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.ov, 0);
}

pub async fn bad_list_queries_are_rejected(env: &Env) {
    let c = env.coll("users");
    c.create(json!({"a": 1}), meta()).await.unwrap();
    let bad_filters = [
        json!([]),
        json!("a"),
        json!({"$where": "sleep(1)"}),
        json!({"a": {"$regex": "x"}}),
        json!({"a": {"$gt": {"b": 1}}}),
        json!({"a": {"$in": "x"}}),
        json!({"a": {"$exists": "yes"}}),
        json!({"$or": []}),
        json!({"$and": {"a": 1}}),
        json!({"a": {"$gt": 1, "plain": 2}}),
        json!({"a'); DROP TABLE x; --": 1}),
        json!({"": 1}),
    ];
    for f in bad_filters {
        let r = c
            .list_by_meta(ListQuery::filter(f.clone()), ReadOptions::default())
            .await;
        assert!(matches!(r, Err(Error::Validation(_))), "{f}: {r:?}");
    }
    for limit in [0, 1001, usize::MAX] {
        let r = c
            .list_by_meta(ListQuery::default().limit(limit), ReadOptions::default())
            .await;
        assert!(
            matches!(r, Err(Error::Validation(_))),
            "limit {limit}: {r:?}"
        );
    }
    let r = c
        .list_by_meta(
            ListQuery::default().after("not-a-record"),
            ReadOptions::default(),
        )
        .await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    let r = c
        .list_by_meta(
            ListQuery::default().sorted(Sort::asc(SortBy::Prop("a'--".into()))),
            ReadOptions::default(),
        )
        .await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    let page = c
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

pub async fn bad_routes_are_rejected(env: &Env) {
    let long = "c".repeat(65);
    for coll in [
        "",
        "../x",
        "a/b",
        "a.b",
        "chronos_fallback_ops",
        "-x",
        "sp ace",
        long.as_str(),
    ] {
        let r = env
            .chronos
            .with(Route::tenant(DbType::Runtime, "tenant-a", coll));
        assert!(
            matches!(r, Err(Error::Route(_))),
            "collection {coll:?}: {r:?}"
        );
    }
    for tenant in ["", "../tenant-a", "tenant-a/x", "a..b"] {
        let r = env
            .chronos
            .with(Route::tenant(DbType::Runtime, tenant, "users"));
        assert!(
            matches!(r, Err(Error::Route(_))),
            "tenant {tenant:?}: {r:?}"
        );
    }
    let mut mixed = Route::tenant(DbType::Runtime, "tenant-a", "users");
    mixed.domain = Some("healthcare".into());
    assert!(matches!(env.chronos.with(mixed), Err(Error::Route(_))));
    let mut generic_with_tenant = Route::generic(DbType::Runtime, "users");
    generic_with_tenant.tenant_id = Some("tenant-a".into());
    assert!(matches!(
        env.chronos.with(generic_with_tenant),
        Err(Error::Route(_))
    ));
    let mut tenant_without_id = Route::tenant(DbType::Runtime, "x", "users");
    tenant_without_id.tenant_id = None;
    assert!(matches!(
        env.chronos.with(tenant_without_id),
        Err(Error::Route(_))
    ));
}

pub async fn bad_projection_is_rejected(env: &Env) {
    let c = env.coll("users");
    let w = c.create(json!({"a": 1}), meta()).await.unwrap();
    for p in ["", "a..b", "$x", "a/b"] {
        let r = c.get_latest(&w.id, ReadOptions::project([p])).await;
        assert!(matches!(r, Err(Error::Validation(_))), "{p:?}: {r:?}");
    }
}

/// `{"a": {"a": ... 1}}` nesting `levels` objects.
fn nested(levels: usize) -> serde_json::Value {
    let mut v = json!(1);
    for _ in 0..levels {
        v = json!({ "a": v });
    }
    v
}

pub async fn records_deeper_than_the_limit_are_refused_and_the_deepest_accepted_read_back(
    env: &Env,
) {
    let c = env.coll("deep");
    let deepest = nested(100);
    let w = c.create(deepest.clone(), meta()).await.unwrap();
    let w = c.update(&w.id, deepest.clone(), 0, meta()).await.unwrap();
    let opts = ReadOptions::default;
    assert_eq!(
        c.get_latest(&w.id, opts()).await.unwrap().unwrap().data,
        deepest
    );
    assert_eq!(
        c.get_version(&w.id, 0, opts()).await.unwrap().unwrap().data,
        deepest
    );
    assert_eq!(
        c.get_as_of(&w.id, w.at, opts()).await.unwrap().unwrap().ov,
        1
    );
    let page = c.list_by_meta(ListQuery::default(), opts()).await.unwrap();
    assert_eq!(page.items.len(), 1);

    let too_deep = nested(100 + 1);
    let refused = [
        c.create(too_deep.clone(), meta()).await,
        c.create_with_id("deeper", too_deep.clone(), meta()).await,
        c.update(&w.id, too_deep.clone(), 1, meta()).await,
        c.enrich(
            &w.id,
            json!({"b": nested(100)}),
            chronos_db::EnrichMeta::new("deepen@1", "tester", "too deep"),
        )
        .await,
    ];
    for r in refused {
        assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    }
    let many = c
        .create_many(vec![json!({"ok": 1}), too_deep], meta())
        .await;
    assert!(matches!(many, Err(Error::Validation(_))), "{many:?}");
    let page = c.list_by_meta(ListQuery::default(), opts()).await.unwrap();
    assert_eq!(page.items.len(), 1, "nothing refused was stored");
    assert_eq!(c.get_latest(&w.id, opts()).await.unwrap().unwrap().ov, 1);
}

pub async fn oversized_records_and_indexed_values_are_refused(env: &Env) {
    let small = env
        .variant(
            json!({"writeOptimization": {"maxPayloadBytes": 2000, "maxIndexedValueBytes": 100}}),
        )
        .await;
    let c = small
        .with(Route::tenant(DbType::Runtime, "tenant-a", "sized"))
        .unwrap();
    let fits = json!({"text": "x".repeat(100), "body": {"big": "y".repeat(1800)}});
    let w = c.create(fits.clone(), meta()).await.unwrap();
    let too_large = json!({"body": {"big": "y".repeat(2000)}});
    let too_long = json!({"text": "x".repeat(101)});
    for data in [too_large, too_long] {
        let r = c.create(data.clone(), meta()).await;
        assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
        let r = c.update(&w.id, data, 0, meta()).await;
        assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    }
    let item = c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((item.ov, item.data), (0, fits));
    let page = c
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "nothing refused was stored");
    // The limits are settings: without them, the defaults apply.
    let default = env.coll("sized");
    let message = default
        .create(json!({"p": "z".repeat(64 * 1024 + 1)}), meta())
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("maxIndexedValueBytes"), "{message}");
}
