//! get_as_of and get_version.

use std::time::Duration;

use chrono::Duration as Span;
use chronos_db::{ReadOptions, WriteMeta};
use serde_json::json;

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "time travel")
}

async fn tick() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

pub async fn as_of_at_exact_boundaries(env: &Env) {
    let c = env.coll("docs");
    let w0 = c.create(json!({"v": 0}), meta()).await.unwrap();
    tick().await;
    let w1 = c.update(&w0.id, json!({"v": 1}), 0, meta()).await.unwrap();
    tick().await;
    let w2 = c.update(&w0.id, json!({"v": 2}), 1, meta()).await.unwrap();
    assert!(w0.at < w1.at && w1.at < w2.at);
    let micro = Span::microseconds(1);
    let at = |t| {
        let c = c.clone();
        let id = w0.id.clone();
        async move {
            c.get_as_of(&id, t, ReadOptions::default())
                .await
                .unwrap()
                .map(|i| i.ov)
        }
    };
    assert_eq!(at(w0.at - micro).await, None, "before creation");
    assert_eq!(at(w0.at).await, Some(0));
    assert_eq!(at(w1.at - micro).await, Some(0));
    assert_eq!(at(w1.at).await, Some(1));
    assert_eq!(at(w2.at - micro).await, Some(1));
    assert_eq!(at(w2.at).await, Some(2));
    assert_eq!(at(w2.at + Span::days(365)).await, Some(2));
    let item = c
        .get_as_of(&w0.id, w1.at, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (item.data, item.at, item.cv),
        (json!({"v": 1}), w1.at, w1.cv)
    );
}

pub async fn as_of_sees_deletes(env: &Env) {
    let c = env.coll("docs");
    let w0 = c.create(json!({"v": 0}), meta()).await.unwrap();
    tick().await;
    let d = c.delete(&w0.id, 0, meta()).await.unwrap();
    let before = c
        .get_as_of(&w0.id, d.at - Span::microseconds(1), ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(!before.deleted);
    let after = c
        .get_as_of(&w0.id, d.at, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(after.deleted);
    assert_eq!(after.ov, 1);
}

pub async fn get_version_of_every_ov(env: &Env) {
    let c = env.coll("docs");
    let w = c.create(json!({"v": 0}), meta()).await.unwrap();
    for ov in 0..20u64 {
        c.update(&w.id, json!({"v": ov + 1}), ov, meta())
            .await
            .unwrap();
    }
    for ov in 0..=20u64 {
        let item = c
            .get_version(&w.id, ov, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((item.ov, item.data.clone()), (ov, json!({"v": ov})));
    }
    assert!(c
        .get_version(&w.id, 21, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    assert!(c
        .get_version(&w.id, u64::MAX, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
}
