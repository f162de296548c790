//! The change feed: every committed write once, in collection-version order, with its kind
//! and provenance; a writer paused between reserving its cv and committing holds a follower
//! back until it commits, or until the feed gives its cv up, after which it commits with a
//! fresh one; erased records leave the feed.

use std::time::Duration;

use chronos_db::failpoint::{self, AFTER_BLOB_PUT};
use chronos_db::maintenance::RestoreTarget;
use chronos_db::{
    ChangesQuery, Collection, EnrichMeta, Error, FeedOptions, Version, VersionKind, WriteMeta,
    WriteResult,
};
use futures::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;

use crate::Env;

fn meta(reason: &str) -> WriteMeta {
    WriteMeta::new("feeder", reason)
}

/// Patient enough that no gap is given up while a test looks.
fn patient() -> FeedOptions {
    FeedOptions::default().settle_after(Duration::from_secs(600))
}

/// Gives every gap up at once.
fn impatient() -> FeedOptions {
    FeedOptions::default().settle_after(Duration::ZERO)
}

/// A collection of its own (the failpoint pause is armed per collection name).
fn fresh(env: &Env, prefix: &str) -> (Collection, String) {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let name = format!("{prefix}{}", &tag[tag.len() - 10..]);
    (env.coll(&name), name)
}

/// Every change after `after`, page by page of `limit`.
async fn all_changes(c: &Collection, after: Option<u64>, limit: usize) -> Vec<Version> {
    let mut query = ChangesQuery::default().limit(limit);
    query.after_cv = after;
    let mut out = Vec::new();
    loop {
        let page = c.changes_with(query.clone(), patient()).await.unwrap();
        assert!(page.changes.len() <= limit);
        // Nothing here stops a page early: a short page reached the stable point.
        assert!(page.caught_up || page.changes.len() == limit, "{page:?}");
        out.extend(page.changes);
        query.after_cv = page.after_cv;
        if page.caught_up {
            return out;
        }
    }
}

fn cvs(changes: &[Version]) -> Vec<u64> {
    changes.iter().map(|v| v.cv).collect()
}

fn keys(changes: &[Version]) -> Vec<(String, u64)> {
    changes.iter().map(|v| (v.id.clone(), v.ov)).collect()
}

fn key(w: &WriteResult) -> (String, u64) {
    (w.id.clone(), w.ov)
}

pub async fn changes_list_every_committed_write_in_cv_order(env: &Env) {
    let (c, _) = fresh(env, "feed");
    let mut written = Vec::new();
    let a = c.create(json!({"n": 0}), meta("new")).await.unwrap();
    written.push(a.clone());
    written.push(
        c.update(&a.id, json!({"n": 1}), 0, meta("up"))
            .await
            .unwrap(),
    );
    written.push(
        c.enrich(
            &a.id,
            json!({"tag": "x"}),
            EnrichMeta::new("tagger@v1", "bot", "tag"),
        )
        .await
        .unwrap(),
    );
    written.push(c.delete(&a.id, 2, meta("gone")).await.unwrap());
    written.push(
        c.restore_object(&a.id, RestoreTarget::Ov(1), meta("back"))
            .await
            .unwrap(),
    );
    written.extend(
        c.create_many((0..4).map(|i| json!({"b": i})).collect(), meta("batch"))
            .await
            .unwrap(),
    );
    // A refused write takes nothing from the feed.
    let stale = c.update(&a.id, json!({"n": 9}), 0, meta("stale")).await;
    assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
    written.push(
        c.update(&a.id, json!({"n": 5}), 4, meta("last"))
            .await
            .unwrap(),
    );
    written.sort_by_key(|w| w.cv);

    for limit in [1, 3, 100] {
        let changes = all_changes(&c, None, limit).await;
        assert_eq!(
            keys(&changes),
            written.iter().map(key).collect::<Vec<_>>(),
            "every write once, in cv order (pages of {limit})"
        );
        assert_eq!(
            cvs(&changes),
            written.iter().map(|w| w.cv).collect::<Vec<_>>()
        );
    }
    let changes = all_changes(&c, None, 100).await;
    let kinds: Vec<VersionKind> = changes
        .iter()
        .filter(|v| v.id == a.id)
        .map(|v| v.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            VersionKind::Create,
            VersionKind::Update,
            VersionKind::Enrich,
            VersionKind::Delete,
            VersionKind::Restore,
            VersionKind::Update
        ]
    );
    let enriched = changes
        .iter()
        .find(|v| v.kind == VersionKind::Enrich)
        .unwrap();
    assert_eq!(enriched.function_ids, ["tagger@v1"]);
    assert_eq!(
        (enriched.actor.as_str(), enriched.reason.as_str()),
        ("bot", "tag")
    );
    assert!(changes.iter().all(|v| v.data.is_null()));
    // With data, each change carries its version's record.
    let page = c
        .changes_with(ChangesQuery::default().with_data(), patient())
        .await
        .unwrap();
    let last = page.changes.last().unwrap();
    assert_eq!(last.data, json!({"n": 5}));
    assert_eq!(page.after_cv, Some(last.cv));
    // Resuming after any cv gives exactly the rest.
    let third = written[2].cv;
    let rest = all_changes(&c, Some(third), 2).await;
    assert_eq!(
        cvs(&rest),
        written[3..].iter().map(|w| w.cv).collect::<Vec<_>>()
    );
    let none = c
        .changes(ChangesQuery::default().after(page.after_cv.unwrap()))
        .await
        .unwrap();
    assert!(none.changes.is_empty());
    for bad in [0, 1000 + 1] {
        let refused = c.changes(ChangesQuery::default().limit(bad)).await;
        assert!(matches!(refused, Err(Error::Validation(_))), "{refused:?}");
    }
    let beyond = c.changes(ChangesQuery::default().after(u64::MAX)).await;
    assert!(matches!(beyond, Err(Error::Validation(_))), "{beyond:?}");
    let last_possible = c
        .changes(ChangesQuery::default().after(i64::MAX as u64))
        .await
        .unwrap();
    assert!(last_possible.changes.is_empty());
}

/// A follower of `c` from the start, sending what it sees.
fn follower(
    c: &Collection,
) -> (
    mpsc::UnboundedReceiver<Version>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let stream = c.follow_with(
        ChangesQuery::default(),
        patient().poll(Duration::from_millis(10)),
    );
    let task = tokio::spawn(async move {
        let mut stream = Box::pin(stream);
        while let Some(v) = stream.next().await {
            if tx.send(v.unwrap()).is_err() {
                return;
            }
        }
    });
    (rx, task)
}

/// The next `n` changes the follower sees, waiting at most a minute.
async fn next_seen(rx: &mut mpsc::UnboundedReceiver<Version>, n: usize) -> Vec<Version> {
    let mut out = Vec::new();
    while out.len() < n {
        let got = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
        out.push(got.expect("the follower saw nothing new").unwrap());
    }
    out
}

/// Nothing more reaches the follower for a while.
async fn sees_nothing_more(rx: &mut mpsc::UnboundedReceiver<Version>) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Ok(v) = rx.try_recv() {
        panic!("the follower went past a write in flight: {v:?}");
    }
}

pub async fn a_paused_writer_holds_the_feed_back_until_it_commits(env: &Env) {
    let (c, name) = fresh(env, "paused");
    let a = c.create(json!({"n": "a"}), meta("a")).await.unwrap();
    let (mut seen, follow) = follower(&c);
    assert_eq!(keys(&next_seen(&mut seen, 1).await), [key(&a)]);

    // A batch reserves its cvs, stores its payloads, and pauses before its commit.
    let pause = failpoint::pause(AFTER_BLOB_PUT, &name);
    let writer = {
        let c = c.clone();
        tokio::spawn(async move {
            c.create_many(vec![json!({"n": "b"}), json!({"n": "c"})], meta("bc"))
                .await
                .unwrap()
        })
    };
    tokio::time::timeout(Duration::from_secs(60), pause.reached())
        .await
        .expect("the batch reached its commit");
    let d = c.create(json!({"n": "d"}), meta("d")).await.unwrap();
    // The feed stops before the cvs still in flight: d is not delivered yet.
    let page = c
        .changes_with(ChangesQuery::default(), patient())
        .await
        .unwrap();
    assert_eq!(keys(&page.changes), [key(&a)]);
    assert_eq!(page.after_cv, Some(a.cv));
    assert!(
        !page.caught_up,
        "a committed write (d) lies beyond the page, which says it is caught up"
    );
    let later = c
        .changes_with(ChangesQuery::default().after(a.cv), patient())
        .await
        .unwrap();
    assert!(later.changes.is_empty(), "{later:?}");
    sees_nothing_more(&mut seen).await;

    pause.release();
    let bc = tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .expect("the batch finished")
        .unwrap();
    assert!(bc.iter().all(|w| a.cv < w.cv && w.cv < d.cv));
    let want: Vec<(String, u64)> = [&bc[0], &bc[1], &d].into_iter().map(key).collect();
    let got = next_seen(&mut seen, 3).await;
    assert_eq!(keys(&got), want, "the follower sees the batch, then d");
    assert_eq!(cvs(&got), [bc[0].cv, bc[1].cv, d.cv]);

    // A writer that stalls past the feed's patience loses its cv: the feed gives it up
    // (seals it) and goes on; the writer then commits with a fresh cv, after what the feed
    // delivered.
    let pause = failpoint::pause(AFTER_BLOB_PUT, &name);
    let stalled = {
        let c = c.clone();
        tokio::spawn(async move {
            c.create_many(vec![json!({"n": "e"})], meta("e"))
                .await
                .unwrap()
        })
    };
    tokio::time::timeout(Duration::from_secs(60), pause.reached())
        .await
        .expect("the stalled write reached its commit");
    let f = c.create(json!({"n": "f"}), meta("f")).await.unwrap();
    let held = c
        .changes_with(ChangesQuery::default().after(d.cv), patient())
        .await
        .unwrap();
    assert!(held.changes.is_empty(), "{held:?}");
    let sealed = c
        .changes_with(ChangesQuery::default().after(d.cv), impatient())
        .await
        .unwrap();
    assert_eq!(keys(&sealed.changes), [key(&f)]);
    assert_eq!(keys(&next_seen(&mut seen, 1).await), [key(&f)]);
    pause.release();
    let e = tokio::time::timeout(Duration::from_secs(60), stalled)
        .await
        .expect("the stalled write finished")
        .unwrap()
        .remove(0);
    assert!(
        e.cv > f.cv,
        "the stalled write committed with a fresh cv: {} after {}",
        e.cv,
        f.cv
    );
    let rest = all_changes(&c, Some(f.cv), 10).await;
    assert_eq!(keys(&rest), [key(&e)]);
    assert_eq!(cvs(&rest), [e.cv]);
    assert_eq!(keys(&next_seen(&mut seen, 1).await), [key(&e)]);
    sees_nothing_more(&mut seen).await;
    follow.abort();

    // From the start, every write once.
    let everything = all_changes(&c, None, 2).await;
    let mut want: Vec<&WriteResult> = vec![&a, &bc[0], &bc[1], &d, &f, &e];
    want.sort_by_key(|w| w.cv);
    assert_eq!(
        keys(&everything),
        want.into_iter().map(key).collect::<Vec<_>>()
    );
}

pub async fn erased_records_are_absent_from_the_feed(env: &Env) {
    let (c, _) = fresh(env, "erased");
    let kept = c.create(json!({"n": 1}), meta("kept")).await.unwrap();
    let gone = c
        .create(json!({"secret": true}), meta("gone"))
        .await
        .unwrap();
    c.update(&gone.id, json!({"secret": 2}), 0, meta("gone"))
        .await
        .unwrap();
    let after = c.create(json!({"n": 2}), meta("after")).await.unwrap();
    c.erase(&gone.id, 1, meta("erase")).await.unwrap();
    let last = c.create(json!({"n": 3}), meta("last")).await.unwrap();
    // The erase sealed the erased versions' cvs: a feed that waits for every gap does not
    // wait for them, and says it is caught up only once it delivered every later write.
    let changes = c
        .changes_with(ChangesQuery::default(), patient())
        .await
        .unwrap();
    let want = [key(&kept), key(&after), key(&last)];
    assert_eq!(keys(&changes.changes), want);
    assert!(changes.changes.iter().all(|v| v.id != gone.id));
    assert!(changes.caught_up);
    assert_eq!(changes.after_cv, Some(last.cv));
}

pub async fn queued_writes_hold_the_feed_until_they_replay(env: &Env) {
    use chronos_db::{DbType, Route};
    let quiet = json!({"fallback": {"enabled": true, "maxRetries": 5, "retryDelayMs": 60_000, "maxDelayMs": 3_600_000}});
    let healthy = env.variant(quiet.clone()).await;
    let broken = env.broken_payloads(quiet).await;
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let route = Route::tenant(DbType::Runtime, "tenant-a", format!("held{}", &tag[22..]));
    let (ok, bad) = (
        healthy.with(route.clone()).unwrap(),
        broken.with(route).unwrap(),
    );
    let x = ok.create(json!({"n": "x"}), meta("x")).await.unwrap();
    let y = bad.create(json!({"n": "y"}), meta("y")).await.unwrap();
    assert!(y.queued.is_some(), "{y:?}");
    let z = ok.create(json!({"n": "z"}), meta("z")).await.unwrap();
    assert!(x.cv < y.cv && y.cv < z.cv);
    // Even an impatient feed never gives up the cv a queued write was acknowledged with.
    let page = ok
        .changes_with(ChangesQuery::default(), impatient())
        .await
        .unwrap();
    assert_eq!(keys(&page.changes), [key(&x)]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        healthy.fallback().replay_now().await.unwrap();
        let page = ok
            .changes_with(ChangesQuery::default(), impatient())
            .await
            .unwrap();
        if page.changes.len() == 3 {
            assert_eq!(keys(&page.changes), [key(&x), key(&y), key(&z)]);
            assert_eq!(cvs(&page.changes), [x.cv, y.cv, z.cv]);
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the queued write never replayed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn a_page_seals_at_most_a_thousand_gaps(env: &Env) {
    let (c, name) = fresh(env, "gaps");
    // Writers that reserved their cvs and died before committing: batches paused at their
    // commit, then dropped. Each batch reserves a cv per record.
    let mut abandoned = 0;
    for _ in 0..3 {
        let pause = failpoint::pause(AFTER_BLOB_PUT, &name);
        let items: Vec<serde_json::Value> = (0..500).map(|i| json!({ "i": i })).collect();
        abandoned += items.len();
        let writer = {
            let c = c.clone();
            tokio::spawn(async move { c.create_many(items, meta("dies")).await })
        };
        tokio::time::timeout(Duration::from_secs(120), pause.reached())
            .await
            .expect("the batch reached its commit");
        writer.abort();
        let _ = writer.await;
    }
    assert!(abandoned > 1000);
    let last = c
        .create(json!({ "n": "last" }), meta("last"))
        .await
        .unwrap();
    let first = c
        .changes_with(ChangesQuery::default(), impatient())
        .await
        .unwrap();
    assert!(first.changes.is_empty(), "{first:?}");
    assert!(
        !first.caught_up,
        "a page that sealed its limit of gaps is not the end"
    );
    assert_eq!(first.after_cv, Some(999));
    let second = c
        .changes_with(ChangesQuery::default().after(999), impatient())
        .await
        .unwrap();
    assert_eq!(keys(&second.changes), [key(&last)]);
    assert!(second.caught_up);
    // A follower goes through the gaps without waiting for a poll between pages.
    let (mut seen, follow) = follower(&c);
    assert_eq!(keys(&next_seen(&mut seen, 1).await), [key(&last)]);
    follow.abort();
}

pub async fn a_refused_write_gives_its_cv_up_at_once(env: &Env) {
    let (c, name) = fresh(env, "refused");
    let a = c.create(json!({"n": 0}), meta("a")).await.unwrap();
    // A writer reserves its cv (where the backend reserves before committing) and pauses;
    // another writer takes the same ov first, so the paused one is refused at its commit.
    let pause = failpoint::pause(AFTER_BLOB_PUT, &name);
    let loser = {
        let c = c.clone();
        let id = a.id.clone();
        tokio::spawn(async move { c.update(&id, json!({"n": "lost"}), 0, meta("late")).await })
    };
    tokio::time::timeout(Duration::from_secs(60), pause.reached())
        .await
        .expect("the writer reached its commit");
    let won = c
        .update(&a.id, json!({"n": "won"}), 0, meta("first"))
        .await
        .unwrap();
    pause.release();
    let lost = loser.await.unwrap();
    assert!(matches!(lost, Err(Error::Conflict { .. })), "{lost:?}");
    let after = c
        .create(json!({"n": "after"}), meta("after"))
        .await
        .unwrap();
    // A patient feed does not wait for the refused write's cv.
    let everything = all_changes(&c, None, 100).await;
    assert_eq!(keys(&everything), [key(&a), key(&won), key(&after)]);
}
