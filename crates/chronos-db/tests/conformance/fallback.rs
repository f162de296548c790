//! The fallback queue: writes that object storage refuses are queued, acknowledged and
//! replayed in order; failures end in the dead-letter collection; queued writes can be
//! inspected, retried and cancelled. Validation errors and conflicts are never queued.

use std::time::Duration;

use chronos_db::failpoint::{self, BEFORE_QUEUE_CLAIM};
use chronos_db::fallback::{QueueKind, QueuedWrite};
use chronos_db::{
    ChangesQuery, Chronos, DbType, Error, FeedOptions, ReadOptions, Route, WriteMeta,
};
use serde_json::{json, Value};

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "fallback")
}

fn route(collection: &str) -> Route {
    Route::tenant(DbType::Runtime, "tenant-a", collection)
}

/// Fallback on, with a worker that stays out of the way (tests replay explicitly).
fn quiet(max_retries: u32, retry_delay_ms: u64) -> Value {
    json!({"fallback": {"enabled": true, "maxRetries": max_retries, "retryDelayMs": retry_delay_ms, "maxDelayMs": 3_600_000}})
}

async fn pending(chronos: &Chronos, collection: &str, kind: QueueKind) -> Vec<QueuedWrite> {
    let all = chronos.fallback().list(kind).await.unwrap();
    all.into_iter()
        .filter(|w| w.route.collection == collection)
        .collect()
}

/// Replays until nothing of `collection` is pending (bounded in time: a loaded test server
/// can take a while).
async fn drain(chronos: &Chronos, collection: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        chronos.fallback().replay_now().await.unwrap();
        if pending(chronos, collection, QueueKind::Pending)
            .await
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the queue of {collection} did not drain");
}

pub async fn refused_writes_are_queued_then_replayed_in_order(env: &Env) {
    let healthy = env.variant(quiet(5, 60_000)).await;
    let broken = env.broken_payloads(quiet(5, 60_000)).await;
    let (ok, bad) = (
        healthy.with(route("queued")).unwrap(),
        broken.with(route("queued")).unwrap(),
    );
    let r0 = ok.create(json!({"n": 0}), meta()).await.unwrap();
    assert_eq!(r0.queued, None);

    let a0 = bad
        .create(json!({"step": "created"}), meta())
        .await
        .unwrap();
    assert!(a0.queued.is_some(), "refused create is queued: {a0:?}");
    let a1 = bad
        .update(&a0.id, json!({"step": "updated"}), a0.ov, meta())
        .await
        .unwrap();
    let a2 = bad.delete(&a0.id, a1.ov, meta()).await.unwrap();
    assert_eq!((a0.ov, a1.ov, a2.ov), (0, 1, 2));
    assert!(a1.queued.is_some() && a2.queued.is_some());
    assert!(a0.cv < a1.cv && a1.cv < a2.cv && a0.at <= a1.at && a1.at <= a2.at);
    let r1 = bad
        .update(&r0.id, json!({"n": 1}), 0, meta())
        .await
        .unwrap();
    assert_eq!((r1.ov, r1.queued.is_some()), (1, true));
    let f0 = bad
        .create_with_id("fixed-id", json!({"fixed": true}), meta())
        .await
        .unwrap();
    assert!(f0.queued.is_some());

    // Conflicts and validation errors are answered at once, never queued.
    let dup = bad.create_with_id("fixed-id", json!({}), meta()).await;
    assert!(
        matches!(dup, Err(Error::Conflict { current: 0, .. })),
        "{dup:?}"
    );
    let stale = bad.update(&a0.id, json!({"x": 1}), 0, meta()).await;
    assert!(
        matches!(stale, Err(Error::Conflict { current: 2, .. })),
        "{stale:?}"
    );
    let stale = bad.update(&r0.id, json!({"x": 1}), 0, meta()).await;
    assert!(
        matches!(stale, Err(Error::Conflict { current: 1, .. })),
        "{stale:?}"
    );
    let invalid = bad.update(&r0.id, json!([1, 2]), 1, meta()).await;
    assert!(matches!(invalid, Err(Error::Validation(_))), "{invalid:?}");
    let deleted = bad.update(&a0.id, json!({"x": 1}), 2, meta()).await;
    assert!(matches!(deleted, Err(Error::Deleted { .. })), "{deleted:?}");

    let queued = pending(&healthy, "queued", QueueKind::Pending).await;
    assert_eq!(queued.len(), 5, "{queued:#?}");
    // (No check of `attempts`: the conformance tests share this database's queue, and a
    // concurrent test's replay pass on a broken instance may already have tried these.)
    // Queued writes are durable but not visible yet.
    let none = ok.get_latest(&a0.id, ReadOptions::default()).await.unwrap();
    assert!(none.is_none());
    assert_eq!(
        ok.get_latest(&r0.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap()
            .ov,
        0
    );
    drop(broken);

    drain(&healthy, "queued").await;
    for (w, data, deleted) in [
        (&a0, json!({"step": "created"}), false),
        (&a1, json!({"step": "updated"}), false),
        (&a2, json!({"step": "updated"}), true),
    ] {
        let item = ok
            .get_version(&a0.id, w.ov, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((item.cv, item.at, item.deleted), (w.cv, w.at, deleted));
        assert_eq!(item.data, data);
    }
    let latest = ok
        .get_latest(&a0.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.ov, latest.deleted), (2, true));
    let r = ok
        .get_latest(&r0.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.ov, r.cv, r.data), (1, r1.cv, json!({"n": 1})));
    assert!(ok
        .get_latest("fixed-id", ReadOptions::default())
        .await
        .unwrap()
        .is_some());
    // Replayed records take direct writes again.
    ok.update(&r0.id, json!({"n": 2}), 1, meta()).await.unwrap();
}

pub async fn failing_replays_are_dead_lettered_then_retried_or_cancelled(env: &Env) {
    let broken = env.broken_payloads(quiet(2, 1)).await;
    let bad = broken.with(route("dead")).unwrap();
    let x = bad.create(json!({"x": 1}), meta()).await.unwrap();
    let y = bad.create(json!({"y": 1}), meta()).await.unwrap();
    let (x_op, y_op) = (x.queued.clone().unwrap(), y.queued.clone().unwrap());
    let mut dead = Vec::new();
    for _ in 0..200 {
        broken.fallback().replay_now().await.unwrap();
        dead = pending(&broken, "dead", QueueKind::DeadLetter).await;
        if dead.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(dead.len(), 2, "{dead:#?}");
    assert!(
        dead.iter()
            .all(|w| w.attempts == 2 && w.last_error.contains("gave up")),
        "{dead:#?}"
    );
    assert!(pending(&broken, "dead", QueueKind::Pending)
        .await
        .is_empty());
    drop(broken);

    let healthy = env.variant(quiet(5, 60_000)).await;
    let ok = healthy.with(route("dead")).unwrap();
    let retried = healthy.fallback().retry(&x_op).await.unwrap();
    assert_eq!(retried.attempts, 0);
    let cancelled = healthy.fallback().cancel(&y_op).await.unwrap();
    assert_eq!(cancelled.id, y.id);
    assert!(pending(&healthy, "dead", QueueKind::DeadLetter)
        .await
        .is_empty());
    drain(&healthy, "dead").await;
    let item = ok
        .get_latest(&x.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((item.ov, item.cv, item.data), (0, x.cv, json!({"x": 1})));
    assert!(ok
        .get_latest(&y.id, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    let unknown = healthy.fallback().cancel(&y_op).await;
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
}

pub async fn without_fallback_refused_writes_fail(env: &Env) {
    let broken = env.broken_payloads(json!({})).await;
    let bad = broken.with(route("unqueued")).unwrap();
    let refused = bad.create(json!({"x": 1}), meta()).await;
    assert!(matches!(refused, Err(Error::Backend { .. })), "{refused:?}");
    assert!(broken
        .fallback()
        .list(QueueKind::Pending)
        .await
        .unwrap()
        .is_empty());
}

/// A record at ov 1, written directly; returns its id.
async fn record_at_ov_1(chronos: &Chronos, collection: &str) -> String {
    let c = chronos.with(route(collection)).unwrap();
    let w = c.create(json!({"n": 0}), meta()).await.unwrap();
    c.update(&w.id, json!({"n": 1}), 0, meta()).await.unwrap();
    w.id
}

pub async fn stale_writes_are_refused_while_storage_is_down(env: &Env) {
    let healthy = env.variant(quiet(5, 60_000)).await;
    let broken = env.broken_payloads(quiet(5, 60_000)).await;
    let id = record_at_ov_1(&healthy, "stale").await;
    let bad = broken.with(route("stale")).unwrap();
    // Expected ov 0 on a record at ov 1: a conflict at once, never an acknowledgement.
    let stale = bad.update(&id, json!({"n": "stale"}), 0, meta()).await;
    assert!(
        matches!(stale, Err(Error::Conflict { current: 1, .. })),
        "{stale:?}"
    );
    let deleted_stale = bad.delete(&id, 0, meta()).await;
    assert!(
        matches!(deleted_stale, Err(Error::Conflict { current: 1, .. })),
        "{deleted_stale:?}"
    );
    assert!(pending(&broken, "stale", QueueKind::Pending)
        .await
        .is_empty());
    let queued = bad.update(&id, json!({"n": 2}), 1, meta()).await.unwrap();
    assert_eq!((queued.ov, queued.queued.is_some()), (2, true));
    let again = bad.update(&id, json!({"n": "again"}), 1, meta()).await;
    assert!(
        matches!(again, Err(Error::Conflict { current: 2, .. })),
        "{again:?}"
    );
    drain(&healthy, "stale").await;
    let ok = healthy.with(route("stale")).unwrap();
    let item = ok
        .get_latest(&id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (item.ov, item.cv, item.at, item.data),
        (2, queued.cv, queued.at, json!({"n": 2}))
    );
    assert!(pending(&healthy, "stale", QueueKind::DeadLetter)
        .await
        .is_empty());
}

pub async fn racing_queued_writers_get_one_acknowledgement_per_ov(env: &Env) {
    let healthy = env.variant(quiet(5, 60_000)).await;
    let broken = env.broken_payloads(quiet(5, 60_000)).await;
    let id = record_at_ov_1(&healthy, "race").await;
    let bad = broken.with(route("race")).unwrap();
    let writers: Vec<_> = (0..8)
        .map(|n| {
            let (bad, id) = (bad.clone(), id.clone());
            tokio::spawn(async move { bad.update(&id, json!({"writer": n}), 1, meta()).await })
        })
        .collect();
    let mut acked = Vec::new();
    for w in writers {
        match w.await.unwrap() {
            Ok(w) => acked.push(w),
            Err(Error::Conflict { current: 2, .. }) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(acked.len(), 1, "{acked:#?}");
    drain(&healthy, "race").await;
    let item = healthy
        .with(route("race"))
        .unwrap()
        .get_version(&id, 2, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((item.cv, item.at), (acked[0].cv, acked[0].at));
    assert!(pending(&healthy, "race", QueueKind::DeadLetter)
        .await
        .is_empty());
}

pub async fn direct_writers_cannot_take_a_queued_ov(env: &Env) {
    let unqueued = env.variant(json!({})).await;
    let broken = env.broken_payloads(quiet(5, 60_000)).await;
    let id = record_at_ov_1(&unqueued, "claimed").await;
    let bad = broken.with(route("claimed")).unwrap();
    let queued = bad
        .update(&id, json!({"n": "queued"}), 1, meta())
        .await
        .unwrap();
    assert_eq!(queued.ov, 2);
    // An instance without the queue does not look at it; the claim still stops it.
    let direct = unqueued
        .with(route("claimed"))
        .unwrap()
        .update(&id, json!({"n": "direct"}), 1, meta())
        .await;
    assert!(
        matches!(direct, Err(Error::Conflict { current: 2, .. })),
        "{direct:?}"
    );
    // The claim is invisible to reads until the write is replayed.
    let c = unqueued.with(route("claimed")).unwrap();
    assert_eq!(
        c.get_latest(&id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap()
            .ov,
        1
    );
    assert!(c
        .get_version(&id, 2, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    let healthy = env.variant(quiet(5, 60_000)).await;
    drain(&healthy, "claimed").await;
    // (Read through the replaying instance: in-memory payloads are per instance.)
    let item = healthy
        .with(route("claimed"))
        .unwrap()
        .get_latest(&id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (item.ov, item.cv, item.data),
        (2, queued.cv, json!({"n": "queued"}))
    );
    // A cancelled write gives its ov back.
    let again = bad.update(&id, json!({"n": 3}), 2, meta()).await.unwrap();
    healthy
        .fallback()
        .cancel(again.queued.as_deref().unwrap())
        .await
        .unwrap();
    c.update(&id, json!({"n": "direct 3"}), 2, meta())
        .await
        .unwrap();
}

/// A change feed that gives a queued write's collection version up (seals it) before the
/// write claims it costs the write nothing: it claims again with a fresh collection version,
/// is acknowledged with that one, and replays with it.
pub async fn a_queued_write_whose_cv_was_sealed_claims_a_fresh_one(env: &Env) {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    // Pauses are armed per collection name in this process: a name of its own.
    let name = format!("sealedq{}", &tag[tag.len() - 10..]);
    let healthy = env.variant(quiet(5, 60_000)).await;
    let broken = env.broken_payloads(quiet(5, 60_000)).await;
    let ok = healthy.with(route(&name)).unwrap();
    let pause = failpoint::pause(BEFORE_QUEUE_CLAIM, &name);
    let writer = {
        let bad = broken.with(route(&name)).unwrap();
        tokio::spawn(async move { bad.create(json!({"n": "queued"}), meta()).await })
    };
    tokio::time::timeout(Duration::from_secs(60), pause.reached())
        .await
        .expect("the queued write reached its claim");
    // A direct write after it; a feed that waits for no gap gives the paused write's cv up.
    let after = ok.create(json!({"n": "after"}), meta()).await.unwrap();
    let impatient = FeedOptions::default().settle_after(Duration::ZERO);
    let page = ok
        .changes_with(ChangesQuery::default(), impatient)
        .await
        .unwrap();
    let ids: Vec<&str> = page.changes.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, [after.id.as_str()]);
    pause.release();
    let queued = tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .expect("the queued write finished")
        .unwrap()
        .expect("the queued write is acknowledged");
    assert!(queued.queued.is_some(), "{queued:?}");
    assert!(
        queued.cv > after.cv,
        "the write kept a cv the feed gave up: {} (the feed is past {})",
        queued.cv,
        after.cv
    );
    drain(&healthy, &name).await;
    let latest = ok
        .get_latest(&queued.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.ov, latest.cv), (0, queued.cv));
    let next = ok
        .changes_with(ChangesQuery::default().after(after.cv), impatient)
        .await
        .unwrap();
    let ids: Vec<&str> = next.changes.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, [queued.id.as_str()]);
}
