//! Version numbering, conflicts and logical deletes.

use chronos_db::{Error, ListQuery, ReadOptions, WriteMeta};
use serde_json::json;

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "conformance")
}

pub async fn numbering_starts_at_zero_and_counts_per_record(env: &Env) {
    let c = env.coll("users");
    let a0 = c.create(json!({"n": 0}), meta()).await.unwrap();
    assert_eq!((a0.ov, a0.cv), (0, 0));
    let a1 = c.update(&a0.id, json!({"n": 1}), 0, meta()).await.unwrap();
    assert_eq!((a1.ov, a1.cv), (1, 1));
    let b0 = c.create(json!({"n": 10}), meta()).await.unwrap();
    assert_eq!((b0.ov, b0.cv), (0, 2));
    let a2 = c.update(&a0.id, json!({"n": 2}), 1, meta()).await.unwrap();
    assert_eq!((a2.ov, a2.cv), (2, 3));
    assert_ne!(a0.id, b0.id);
    assert!(a2.at >= a1.at && a1.at >= a0.at);
    let latest = c
        .get_latest(&a0.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (latest.ov, latest.cv, latest.data.clone()),
        (2, 3, json!({"n": 2}))
    );
    assert_eq!(latest.at, a2.at);
}

pub async fn collection_versions_never_repeat(env: &Env) {
    let c = env.coll("events");
    let mut cvs = Vec::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        let w = c.create(json!({"i": i}), meta()).await.unwrap();
        cvs.push(w.cv);
        ids.push(w.id);
    }
    for (i, id) in ids.iter().enumerate() {
        let w = c
            .update(id, json!({"i": i, "again": true}), 0, meta())
            .await
            .unwrap();
        cvs.push(w.cv);
    }
    let mut sorted = cvs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), cvs.len(), "a cv repeated: {cvs:?}");
    assert!(
        cvs.windows(2).all(|w| w[0] < w[1]),
        "cv not increasing: {cvs:?}"
    );
    // Another collection counts on its own.
    let other = env.coll("other").create(json!({}), meta()).await.unwrap();
    assert_eq!(other.cv, 0);
}

pub async fn latest_carries_data_and_provenance(env: &Env) {
    let c = env.coll("users");
    let data =
        json!({"email": "a@x.io", "profile": {"age": 30, "tags": ["a", "b"]}, "unicode": "żółw ✓"});
    let w = c
        .create(data.clone(), WriteMeta::new("alice", "signup"))
        .await
        .unwrap();
    let item = c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.data, data);
    assert_eq!(
        (item.actor.as_str(), item.reason.as_str()),
        ("alice", "signup")
    );
    assert!(!item.deleted);
    assert_eq!(item.id, w.id);
    let none = c
        .get_latest("no-such-record", ReadOptions::default())
        .await
        .unwrap();
    assert!(none.is_none());
}

pub async fn caller_ids_are_unique(env: &Env) {
    let c = env.coll("users");
    let w = c
        .create_with_id("user-1", json!({"v": 1}), meta())
        .await
        .unwrap();
    assert_eq!((w.id.as_str(), w.ov), ("user-1", 0));
    let again = c.create_with_id("user-1", json!({"v": 2}), meta()).await;
    assert!(
        matches!(again, Err(Error::Conflict { current: 0, .. })),
        "{again:?}"
    );
    let message = again.unwrap_err().to_string();
    assert!(message.contains("users/user-1 already exists"), "{message}");
    let item = c
        .get_latest("user-1", ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.data, json!({"v": 1}));
}

pub async fn stale_expected_ov_conflicts_and_writes_nothing(env: &Env) {
    let c = env.coll("users");
    let w0 = c.create(json!({"v": 0}), meta()).await.unwrap();
    let w1 = c.update(&w0.id, json!({"v": 1}), 0, meta()).await.unwrap();
    for stale in [0, 2, 7] {
        match c.update(&w0.id, json!({"v": "lost"}), stale, meta()).await {
            Err(Error::Conflict {
                expected, current, ..
            }) => assert_eq!((expected, current), (stale, 1)),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
    let latest = c
        .get_latest(&w0.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.ov, latest.data), (1, json!({"v": 1})));
    assert!(c
        .get_version(&w0.id, 2, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
    // Collection versions never repeat; a refused write leaves at most one gap (DESIGN.md:
    // gaps allowed after a failed write). Where the index takes cv inside the commit
    // (SQLite) it leaves none.
    let next = c.create(json!({}), meta()).await.unwrap();
    assert!(
        next.cv > w1.cv && next.cv <= w1.cv + 1 + 3,
        "{} after {}",
        next.cv,
        w1.cv
    );
    if env.payloads != "s3" {
        assert_eq!(next.cv, w1.cv + 1);
    }
}

pub async fn writes_to_missing_records_are_not_found(env: &Env) {
    let c = env.coll("users");
    let r = c.update("ghost", json!({}), 0, meta()).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let r = c.delete("ghost", 0, meta()).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let page = c
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

pub async fn logical_delete_keeps_history(env: &Env) {
    let c = env.coll("users");
    let w0 = c.create(json!({"name": "a"}), meta()).await.unwrap();
    let w1 = c
        .update(&w0.id, json!({"name": "b"}), 0, meta())
        .await
        .unwrap();
    let d = c
        .delete(&w0.id, 1, WriteMeta::new("gdpr", "erasure request"))
        .await
        .unwrap();
    assert_eq!(d.ov, 2);
    assert!(d.cv > w1.cv);
    let latest = c
        .get_latest(&w0.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(latest.deleted);
    assert_eq!((latest.ov, latest.data.clone()), (2, json!({"name": "b"})));
    assert_eq!(latest.actor, "gdpr");
    let v1 = c
        .get_version(&w0.id, 1, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(!v1.deleted);
    assert_eq!(v1.data, json!({"name": "b"}));
    let again = c.update(&w0.id, json!({"name": "c"}), 2, meta()).await;
    assert!(matches!(again, Err(Error::Deleted { .. })), "{again:?}");
    let again = c.delete(&w0.id, 2, meta()).await;
    assert!(matches!(again, Err(Error::Deleted { .. })), "{again:?}");
    assert!(c
        .get_version(&w0.id, 3, ReadOptions::default())
        .await
        .unwrap()
        .is_none());
}

pub async fn stale_delete_conflicts(env: &Env) {
    let c = env.coll("users");
    let w0 = c.create(json!({"name": "a"}), meta()).await.unwrap();
    c.update(&w0.id, json!({"name": "b"}), 0, meta())
        .await
        .unwrap();
    let r = c.delete(&w0.id, 0, meta()).await;
    assert!(
        matches!(r, Err(Error::Conflict { current: 1, .. })),
        "{r:?}"
    );
    let latest = c
        .get_latest(&w0.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(!latest.deleted);
}

pub async fn presigned_reads_point_at_the_payload(env: &Env) {
    let c = env.coll("files");
    let small = json!({"doc": "report"});
    let w = c.create(small.clone(), meta()).await.unwrap();
    let ttl = std::time::Duration::from_secs(300);
    for bad in [
        std::time::Duration::ZERO,
        std::time::Duration::from_secs(8 * 24 * 3600),
    ] {
        let r = c.get_latest(&w.id, ReadOptions::presigned(bad)).await;
        assert!(matches!(r, Err(Error::Validation(_))), "ttl {bad:?}: {r:?}");
    }
    // An inline payload has no object to point at; one over the inline limit has.
    let (w, data) = match env.objects() {
        true => (w, small),
        false => {
            let read = c.get_latest(&w.id, ReadOptions::presigned(ttl)).await;
            let item = read.unwrap().unwrap();
            assert_eq!((item.url, item.data), (None, small));
            let big = json!({"doc": "x".repeat(5000)});
            (c.create(big.clone(), meta()).await.unwrap(), big)
        }
    };
    let read = c.get_latest(&w.id, ReadOptions::presigned(ttl)).await;
    let body = match env.payloads {
        "memory" => {
            assert!(matches!(read, Err(Error::Validation(_))), "{read:?}");
            return;
        }
        "local" => std::fs::read(read.unwrap().unwrap().url.unwrap()).unwrap(),
        _ => {
            let url = read.unwrap().unwrap().url.unwrap();
            let out = std::process::Command::new("curl")
                .args(["-sf", &url])
                .output()
                .unwrap();
            assert!(out.status.success(), "curl {url}: {out:?}");
            out.stdout
        }
    };
    let stored: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(stored["data"], data);
    assert_eq!(stored["id"], json!(w.id));
    let plain = c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert!(plain.url.is_none());
}
