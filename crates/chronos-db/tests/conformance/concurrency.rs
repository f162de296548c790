//! Concurrent writers: optimistic locking loses no update.

use std::collections::BTreeSet;

use chronos_db::{Collection, DbType, Error, ReadOptions, Route, WriteMeta};
use serde_json::json;

use crate::Env;

const WRITERS: u64 = 8;
const INCREMENTS: u64 = 10;

/// Adds 1 to the record's `n` `times` times, re-reading and retrying on every conflict, and
/// on every transient refusal (a record held by a busy writer's transaction longer than the
/// commit's retry budget). Returns how many conflicts it met. A conflict always names an ov
/// other than the one expected.
async fn increment(c: &Collection, id: &str, writer: u64, times: u64) -> u64 {
    let mut conflicts = 0u64;
    for _ in 0..times {
        loop {
            let cur = c
                .get_latest(id, ReadOptions::default())
                .await
                .unwrap()
                .unwrap();
            let n = cur.data["n"].as_u64().unwrap();
            let meta = WriteMeta::new(format!("writer-{writer}"), "increment");
            match c.update(id, json!({"n": n + 1}), cur.ov, meta).await {
                Ok(_) => break,
                Err(Error::Conflict {
                    expected, current, ..
                }) => {
                    assert_ne!(
                        expected, current,
                        "writer {writer}: a conflict with equal ovs"
                    );
                    conflicts += 1;
                }
                Err(e) if e.is_transient() => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("writer {writer}: {e}"),
            }
        }
    }
    conflicts
}

pub async fn sixty_four_writers_on_two_instances_lose_no_update(env: &Env) {
    const RECORDS: u64 = 8;
    const EACH: u64 = 2;
    // In-memory payloads live inside one instance: that pair runs all 64 writers on one.
    let other = if env.payloads == "memory" {
        env.chronos.clone()
    } else {
        env.variant(json!({})).await
    };
    let route = Route::tenant(DbType::Runtime, "tenant-a", "shared_counters");
    let instances = [
        env.chronos.with(route.clone()).unwrap(),
        other.with(route).unwrap(),
    ];
    let mut ids = Vec::new();
    for r in 0..RECORDS {
        let w = instances[0]
            .create(
                json!({"n": 0, "record": r}),
                WriteMeta::new("init", "start"),
            )
            .await
            .unwrap();
        ids.push(w.id);
    }
    let tasks: Vec<_> = (0..64u64)
        .map(|writer| {
            let c = instances[(writer % 2) as usize].clone();
            let id = ids[(writer % RECORDS) as usize].clone();
            tokio::spawn(async move { increment(&c, &id, writer, EACH).await })
        })
        .collect();
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.unwrap();
    }
    assert!(conflicts > 0, "the writers never raced");
    let expected = 64 / RECORDS * EACH;
    for id in &ids {
        for c in &instances {
            let latest = c
                .get_latest(id, ReadOptions::default())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (latest.ov, &latest.data["n"]),
                (expected, &json!(expected)),
                "lost updates"
            );
        }
        for ov in 0..=expected {
            let v = instances[1]
                .get_version(id, ov, ReadOptions::default())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(v.data["n"], json!(ov), "version {ov} of {id}");
        }
    }
}

pub async fn eight_writers_on_one_record_lose_no_update(env: &Env) {
    let c = env.coll("counters");
    let w = c
        .create(json!({"n": 0}), WriteMeta::new("init", "start"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let (c, id) = (c.clone(), w.id.clone());
        tasks.push(tokio::spawn(async move {
            increment(&c, &id, writer, INCREMENTS).await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = WRITERS * INCREMENTS;
    let latest = c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.data["n"], json!(total), "lost updates");
    assert_eq!(latest.ov, total);
    let mut cvs = BTreeSet::new();
    for ov in 0..=total {
        let v = c
            .get_version(&w.id, ov, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            v.data["n"],
            json!(ov),
            "version {ov} does not follow version {}",
            ov.saturating_sub(1)
        );
        assert!(cvs.insert(v.cv), "cv {} repeated", v.cv);
    }
}

/// 80 creates at once on a fresh collection: every one succeeds, and since none failed, the
/// collection versions are exactly 0 to 79 (no value taken twice, none skipped).
pub async fn concurrent_creates_get_distinct_cvs(env: &Env) {
    let c = env.coll("bulk");
    let tasks: Vec<_> = (0..80)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                c.create(json!({"i": i}), WriteMeta::new("bulk", "load"))
                    .await
            })
        })
        .collect();
    let mut cvs = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for t in tasks {
        let w = t.await.unwrap().unwrap();
        assert_eq!(w.ov, 0);
        assert!(cvs.insert(w.cv));
        assert!(ids.insert(w.id));
    }
    assert_eq!(cvs, (0..80).collect::<BTreeSet<u64>>());
}

pub async fn collection_locks_have_one_holder(env: &Env) {
    use std::time::Duration;
    let c = env.coll("jobs");
    let other = env.coll("jobs");
    let mut held = c
        .try_lock("nightly", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(other
        .try_lock("nightly", Duration::from_secs(30))
        .await
        .unwrap()
        .is_none());
    // Another lock name and another collection are independent.
    let side = other
        .try_lock("hourly", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let elsewhere = env
        .coll("reports")
        .try_lock("nightly", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(elsewhere.is_some());
    assert!(held.extend(Duration::from_secs(60)).await.unwrap());
    held.release().await.unwrap();
    side.release().await.unwrap();
    let short = other
        .try_lock("nightly", Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    // Expired: someone else may take it, and the old holder can no longer extend it.
    let mut taken = c
        .try_lock("nightly", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let mut short = short;
    assert!(!short.extend(Duration::from_secs(30)).await.unwrap());
    short.release().await.unwrap();
    assert!(other
        .try_lock("nightly", Duration::from_secs(30))
        .await
        .unwrap()
        .is_none());
    assert!(taken.extend(Duration::from_secs(5)).await.unwrap());
    for bad in [Duration::ZERO, Duration::from_secs(2 * 24 * 3600)] {
        assert!(matches!(
            c.try_lock("x", bad).await,
            Err(Error::Validation(_))
        ));
    }
    assert!(matches!(
        c.try_lock("../x", Duration::from_secs(1)).await,
        Err(Error::Validation(_))
    ));
}
