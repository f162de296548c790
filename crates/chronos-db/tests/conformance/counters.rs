//! Analytics counters: totals per tenant/database/collection, counter rules, time buckets,
//! batching that loses nothing on shutdown, and counter retention.

use chronos_db::counters::{Bucket, CounterTotals};
use chronos_db::index::{CountKey, CountScope};
use chronos_db::{Chronos, DbType, EnrichMeta, Route, WriteMeta};
use serde_json::json;

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "counters")
}

fn orders(tenant: &str) -> Route {
    Route::tenant(DbType::Runtime, tenant, "orders")
}

fn order(n: u32, total: u32, tier: &str) -> serde_json::Value {
    json!({"orderId": format!("o-{n}"), "total": total, "customer": {"id": "c1", "tier": tier}})
}

async fn with_rules(env: &Env, debounce_ms: u64) -> Chronos {
    env.variant(json!({
        "counterRules": {"rules": [
            {"name": "bigOrders", "on": ["CREATE"], "when": {"total": {"$gte": 100}}},
            {"name": "vipWrites", "scope": "payload", "when": {"customer.tier": "vip"}},
            {"name": "cheapDeletes", "on": ["DELETE"], "when": {"total": {"$lt": 100}}}
        ]},
        "writeOptimization": {"debounceMs": debounce_ms}
    }))
    .await
}

pub async fn counters_total_every_kind_of_write(env: &Env) {
    let chronos = with_rules(env, 100).await;
    let c = chronos.with(orders("tenant-a")).unwrap();
    let a = c.create(order(1, 50, "basic"), meta()).await.unwrap();
    let b = c.create(order(2, 150, "vip"), meta()).await.unwrap();
    c.create(order(3, 200, "basic"), meta()).await.unwrap();
    // A losing write is not counted.
    assert!(c
        .update(&a.id, order(1, 60, "basic"), 5, meta())
        .await
        .is_err());
    let a1 = c
        .update(&a.id, order(1, 60, "basic"), 0, meta())
        .await
        .unwrap();
    let b1 = c
        .enrich(
            &b.id,
            json!({"note": "gift"}),
            EnrichMeta::new("f@1", "svc", "enrich"),
        )
        .await
        .unwrap();
    c.delete(&a.id, a1.ov, meta()).await.unwrap();
    c.delete(&b.id, b1.ov, meta()).await.unwrap();

    let totals = chronos
        .counters()
        .get_totals(&orders("tenant-a"))
        .await
        .unwrap();
    let mut expected = CounterTotals::default();
    (expected.created, expected.updated, expected.deleted) = (3, 2, 2);
    expected.rules.insert("bigOrders".into(), 2);
    // b: create, enrich, delete.
    expected.rules.insert("vipWrites".into(), 3);
    expected.rules.insert("cheapDeletes".into(), 1);
    assert_eq!(totals, expected);

    let today = chrono::Utc::now().date_naive();
    let counters = chronos.counters();
    for bucket in [
        Bucket::Day(today),
        Bucket::Week(today),
        Bucket::Month(today),
    ] {
        assert_eq!(
            counters.get(&orders("tenant-a"), bucket).await.unwrap(),
            expected
        );
    }
    let long_ago = today - chrono::Days::new(400);
    assert_eq!(
        counters
            .get(&orders("tenant-a"), Bucket::Day(long_ago))
            .await
            .unwrap(),
        CounterTotals::default()
    );
    // Another tenant's and another collection's counters are separate.
    assert_eq!(
        counters.get_totals(&orders("tenant-b")).await.unwrap(),
        CounterTotals::default()
    );
    let other = Route::tenant(DbType::Runtime, "tenant-a", "invoices");
    assert_eq!(
        counters.get_totals(&other).await.unwrap(),
        CounterTotals::default()
    );
    // Bad routes are errors, not empty counters.
    assert!(counters.get_totals(&orders("nobody")).await.is_err());
    chronos.shutdown().await.unwrap();
}

pub async fn counters_are_batched_and_flushed_on_shutdown(env: &Env) {
    // A debounce far longer than the test: only shutdown writes the increments out.
    let batching = with_rules(env, 3_600_000).await;
    let c = batching.with(orders("tenant-b")).unwrap();
    let writes = (0..20).map(|n| c.create(order(n, 10 * n, "basic"), meta()));
    futures::future::try_join_all(writes).await.unwrap();
    let erased = c.create(order(99, 5, "vip"), meta()).await.unwrap();
    c.erase(&erased.id, 0, meta()).await.unwrap();
    batching.shutdown().await.unwrap();

    let reader = with_rules(env, 0).await;
    let totals = reader
        .counters()
        .get_totals(&orders("tenant-b"))
        .await
        .unwrap();
    assert_eq!((totals.created, totals.updated, totals.deleted), (21, 0, 1));
    // totals 100..190 are big: n = 10..19.
    assert_eq!(totals.rules.get("bigOrders"), Some(&10));
    assert_eq!(totals.rules.get("cheapDeletes"), Some(&1));
    assert_eq!(totals.rules.get("vipWrites"), Some(&2));
}

pub async fn two_instances_add_up(env: &Env) {
    let (one, two) = (with_rules(env, 50).await, with_rules(env, 0).await);
    let route = Route::tenant(DbType::Runtime, "tenant-a", "shared_counts");
    let (c1, c2) = (
        one.with(route.clone()).unwrap(),
        two.with(route.clone()).unwrap(),
    );
    let w1 = (0..10).map(|n| c1.create(json!({"n": n}), meta()));
    let w2 = (0..10).map(|n| c2.create(json!({"n": n}), meta()));
    futures::future::try_join(
        futures::future::try_join_all(w1),
        futures::future::try_join_all(w2),
    )
    .await
    .unwrap();
    one.shutdown().await.unwrap();
    assert_eq!(two.counters().get_totals(&route).await.unwrap().created, 20);
}

pub async fn counter_retention_removes_old_buckets_only(env: &Env) {
    let route = Route::tenant(DbType::Runtime, "tenant-a", "retained_counts");
    let c = env.chronos.with(route.clone()).unwrap();
    c.create(json!({"n": 1}), meta()).await.unwrap();
    // Plant old buckets next to today's, as a write two years ago would have left them.
    let db = env.tenant_a_db();
    let scope = CountScope {
        tenant: "tenant-a".into(),
        db_name: db.clone(),
        collection: "retained_counts".into(),
    };
    let old_day = chrono::NaiveDate::from_ymd_opt(2024, 3, 5).unwrap();
    let old = [
        Bucket::Day(old_day),
        Bucket::Week(old_day),
        Bucket::Month(old_day),
    ];
    let raw = env.raw_index().await;
    let planted: Vec<(CountKey, u64)> = old
        .iter()
        .map(|b| {
            let (period, bucket) = b.storage_key();
            let key = CountKey {
                scope: scope.clone(),
                counter: "created".into(),
                period,
                bucket,
            };
            (key, 7)
        })
        .collect();
    let written = raw.add_counts(&db, &planted).await;
    assert!(
        written.error.is_none() && written.applied == 3,
        "{written:?}"
    );
    for b in old {
        assert_eq!(
            env.chronos.counters().get(&route, b).await.unwrap().created,
            7
        );
    }
    let pruning = env
        .variant(json!({"retention": {"counters": {"days": 1, "weeks": 1, "months": 1}}}))
        .await;
    let before = env.chronos.counters().get_totals(&route).await.unwrap();
    assert_eq!(before.created, 1);
    let report = pruning.prune().await.unwrap();
    assert!(report.counter_cells_removed >= 3, "{report:?}");
    for b in old {
        assert_eq!(
            env.chronos.counters().get(&route, b).await.unwrap(),
            CounterTotals::default()
        );
    }
    let today = chrono::Utc::now().date_naive();
    let counters = env.chronos.counters();
    assert_eq!(counters.get_totals(&route).await.unwrap(), before);
    assert_eq!(
        counters.get(&route, Bucket::Day(today)).await.unwrap(),
        before
    );
    assert_eq!(
        counters.get(&route, Bucket::Month(today)).await.unwrap(),
        before
    );
}
