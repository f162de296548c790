//! Tenant, domain, tier and database-type isolation.

use chronos_db::{DbType, Error, ListQuery, ReadOptions, Route, WriteMeta};
use serde_json::json;

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "isolation")
}

pub async fn tenants_never_see_each_other(env: &Env) {
    let a = env.tenant("tenant-a", "users");
    let b = env.tenant("tenant-b", "users");
    assert_ne!(a.db_name(), b.db_name());
    let w = a
        .create_with_id("shared-id", json!({"who": "a"}), meta())
        .await
        .unwrap();
    let wa = a.create(json!({"who": "a2"}), meta()).await.unwrap();
    assert!(b
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    assert!(b
        .get_version(&wa.id, 0, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    assert!(b
        .get_as_of(&wa.id, wa.at, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    let listed = b
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    let r = b.update(&wa.id, json!({"who": "b"}), 0, meta()).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let r = b.delete(&wa.id, 0, meta()).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let r = b
        .list_by_meta(
            ListQuery::default().after(wa.id.clone()),
            ReadOptions::default(),
        )
        .await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    // The same id in tenant B is a different record, and A's stays as it was.
    let wb = b
        .create_with_id("shared-id", json!({"who": "b"}), meta())
        .await
        .unwrap();
    assert_eq!(wb.ov, 0);
    let still = a
        .get_latest("shared-id", ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((still.ov, still.data), (0, json!({"who": "a"})));
    let b_item = b
        .get_latest("shared-id", ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b_item.data, json!({"who": "b"}));
}

pub async fn tiers_and_types_are_separate(env: &Env) {
    let routes = [
        Route::generic(DbType::Runtime, "things"),
        Route::tenant(DbType::Runtime, "tenant-a", "things"),
        Route::generic(DbType::Metadata, "things"),
        Route::domain(DbType::Metadata, "healthcare", "things"),
        Route::tenant(DbType::Metadata, "tenant-a", "things"),
        Route::generic(DbType::Logs, "things"),
    ];
    let colls: Vec<_> = routes
        .iter()
        .map(|r| env.chronos.with(r.clone()).unwrap())
        .collect();
    for (i, c) in colls.iter().enumerate() {
        c.create_with_id("same", json!({"route": i}), meta())
            .await
            .unwrap();
    }
    for (i, c) in colls.iter().enumerate() {
        let item = c
            .get_latest("same", ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(item.data, json!({"route": i}), "route {:?}", routes[i]);
        let page = c
            .list_by_meta(ListQuery::default(), ReadOptions::default())
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1, "route {:?}", routes[i]);
    }
}

pub async fn unconfigured_routes_are_errors(env: &Env) {
    let bad = [
        Route::tenant(DbType::Runtime, "tenant-z", "users"),
        Route::domain(DbType::Metadata, "finance", "users"),
        Route::tenant(DbType::Knowledge, "tenant-a", "users"),
        Route::generic(DbType::Knowledge, "users"),
        Route::domain(DbType::Runtime, "healthcare", "users"),
        Route::tenant(DbType::Logs, "tenant-a", "users"),
    ];
    for route in bad {
        let r = env.chronos.with(route.clone());
        assert!(matches!(r, Err(Error::Route(_))), "{route:?}: {r:?}");
    }
}
