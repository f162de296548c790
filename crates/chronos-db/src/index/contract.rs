//! The contract every index backend keeps, as checks a backend's own tests call (the way
//! `object_store`'s integration module is shared by its stores). `tests/index_contract.rs`
//! runs them against SQLite and MongoDB (with and without transactions); a custom backend
//! runs [`run_all`] against itself.
//!
//! Each check works in a collection of its own (named from a fresh UUID) in the database the
//! caller names, and panics with what went wrong.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::chain;
use super::{
    Anchor, AuditEntry, AuditLog, BatchOutcome, CommitOptions, CommitOutcome, CountKey, CountScope,
    CounterStore, CvChoice, HeadQuery, IndexStore, LockStore, Namespace, PayloadRef, QueueClaim,
    QueueQuery, QueueRow, QueueStore, RecordRead, VersionPick, VersionRef, VersionRow,
};
use crate::model::VersionKind;
use crate::query::{Filter, Sort, SortBy};

/// Runs every check against `store`, in database `db_name`: those of the capabilities every
/// backend has, then those of each optional capability the store reports.
pub async fn run_all(store: Arc<dyn IndexStore>, db_name: &str) {
    let core = store.as_ref();
    commits_follow_the_sequence_rules(core, db_name).await;
    time_never_goes_back_within_a_record(core, db_name).await;
    collection_versions_are_unique_and_given_ones_kept(core, db_name).await;
    reads_answer_full_and_lean(core, db_name).await;
    version_pages_follow_ov(core, db_name).await;
    commits_link_each_version_to_the_one_before(core, db_name).await;
    listings_filter_sort_and_page(core, db_name).await;
    batches_of_new_records_name_the_ids_taken(core, db_name).await;
    the_change_log_seals_and_settles(core, db_name).await;
    maintenance_keeps_the_head(core, db_name).await;
    counters_add_read_and_prune(core, db_name).await;
    if let Some(queue) = store.clone().queue() {
        claims_hold_a_version_and_stay_invisible(core, queue.as_ref(), db_name).await;
        claims_hold_their_collection_version(core, queue.as_ref(), db_name).await;
        queues_keep_rows_in_order(queue.as_ref(), db_name).await;
    }
    if let Some(locks) = store.clone().locks() {
        locks_have_one_owner_until_they_expire(locks.as_ref(), db_name).await;
    }
    if let Some(audit) = store.clone().audit() {
        the_audit_log_keeps_entries_in_order(audit.as_ref(), db_name).await;
    }
}

/// A fresh collection of `db_name` with `indexed` declared.
fn namespace(db_name: &str, indexed: &[&str]) -> Namespace {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    Namespace {
        db_name: db_name.to_string(),
        collection: format!("k{}", &tag[tag.len() - 12..]),
        indexed_props: Arc::new(indexed.iter().map(|s| s.to_string()).collect()),
    }
}

/// A version row of `id` at `ov`, written at `at`, with indexed properties `meta`.
fn row(id: &str, ov: u64, at: i64, meta: Value) -> VersionRow {
    VersionRow {
        version: VersionRef {
            id: id.to_string(),
            ov,
            cv: 0,
            at,
            deleted: false,
            // Odd versions inline, even ones objects: both round-trip through every read.
            payload: match ov % 2 {
                1 => PayloadRef::Inline(format!("{{\"id\":\"{id}\",\"ov\":{ov}}}").into()),
                _ => PayloadRef::Object(format!("payloads/{id}/v{ov}/{at}")),
            },
        },
        meta: meta.as_object().cloned().unwrap_or_else(Map::new),
        actor: "contract".into(),
        reason: format!("v{ov}"),
        kind: VersionKind::inferred(ov, false),
        function_ids: match ov % 3 {
            2 => vec![format!("f{ov}@v1"), "g@v2".into()],
            _ => Vec::new(),
        },
        digest: Some(chain::digest(format!("payload of {id} v{ov}").as_bytes())),
        hash: None,
    }
}

fn at_commit(require_live: bool) -> CommitOptions {
    CommitOptions {
        cv: CvChoice::AtCommit,
        require_live,
        claim: None,
    }
}

/// Commits `r` taking its cv in the commit, and returns the outcome.
async fn commit(store: &dyn IndexStore, ns: &Namespace, r: &mut VersionRow) -> CommitOutcome {
    store.commit(ns, r, None, at_commit(false)).await.unwrap()
}

/// ov 0 only for a new record, ov n only after n-1, and no live-only commit after a delete.
pub async fn commits_follow_the_sequence_rules(store: &dyn IndexStore, db_name: &str) {
    let ns = namespace(db_name, &[]);
    assert_eq!(
        commit(store, &ns, &mut row("a", 1, 10, json!({}))).await,
        CommitOutcome::Missing
    );
    assert_eq!(
        commit(store, &ns, &mut row("a", 0, 10, json!({}))).await,
        CommitOutcome::Committed
    );
    for stale in [0, 2] {
        assert_eq!(
            commit(store, &ns, &mut row("a", stale, 20, json!({}))).await,
            CommitOutcome::Conflict { current_ov: 0 },
            "ov {stale} after ov 0"
        );
    }
    let mut delete = row("a", 1, 30, json!({}));
    delete.deleted = true;
    assert_eq!(
        commit(store, &ns, &mut delete).await,
        CommitOutcome::Committed
    );
    let refused = store
        .commit(&ns, &mut row("a", 2, 40, json!({})), None, at_commit(true))
        .await
        .unwrap();
    assert_eq!(refused, CommitOutcome::Deleted { current_ov: 1 });
    // A restore (not live-only) may follow a delete.
    assert_eq!(
        commit(store, &ns, &mut row("a", 2, 40, json!({}))).await,
        CommitOutcome::Committed
    );
    let ovs: Vec<u64> = store
        .versions(&ns, "a")
        .await
        .unwrap()
        .iter()
        .map(|v| v.ov)
        .collect();
    assert_eq!(ovs, [0, 1, 2], "refused commits leave no version");
}

/// The ovs of a history page of `id`.
async fn page_ovs(
    store: &dyn IndexStore,
    ns: &Namespace,
    id: &str,
    after: Option<u64>,
    limit: usize,
) -> Vec<u64> {
    let page = store.version_page(ns, id, after, limit).await.unwrap();
    page.iter().map(|v| v.ov).collect()
}

/// History pages hold the versions above an ov, oldest first, at most `limit` of them, and
/// only of their record.
pub async fn version_pages_follow_ov(store: &dyn IndexStore, db_name: &str) {
    let ns = namespace(db_name, &[]);
    for ov in 0..5 {
        commit(store, &ns, &mut row("h", ov, 10 + ov as i64, json!({}))).await;
    }
    commit(store, &ns, &mut row("other", 0, 10, json!({}))).await;
    assert_eq!(page_ovs(store, &ns, "h", None, 2).await, [0, 1]);
    assert_eq!(page_ovs(store, &ns, "h", Some(1), 2).await, [2, 3]);
    assert_eq!(page_ovs(store, &ns, "h", Some(3), 10).await, [4]);
    assert!(page_ovs(store, &ns, "h", Some(4), 10).await.is_empty());
    assert!(page_ovs(store, &ns, "nobody", None, 10).await.is_empty());
    // Across records, in (id, ov) order, a page at a time.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.version_scan(&ns, after.clone(), 4).await.unwrap();
        seen.extend(page.iter().map(|v| (v.id.clone(), v.ov)));
        match page.last() {
            Some(last) if page.len() == 4 => after = Some((last.id.clone(), last.ov)),
            _ => break,
        }
    }
    let want: Vec<(String, u64)> = (0..5)
        .map(|ov| ("h".to_string(), ov))
        .chain([("other".to_string(), 0)])
        .collect();
    assert_eq!(seen, want);
    let full = store.version_page(&ns, "h", Some(2), 1).await.unwrap();
    assert_eq!(full[0].reason, "v3", "pages are full rows");
    // Function ids round-trip, and are empty where a row has none.
    let all = store.versions(&ns, "h").await.unwrap();
    let ids: Vec<Vec<String>> = all.iter().map(|v| v.function_ids.clone()).collect();
    assert_eq!(ids[2], ["f2@v1", "g@v2"]);
    assert!(ids[0].is_empty() && ids[3].is_empty());
    let head = read_head(store, &ns, "h").await;
    assert!(
        head.latest.function_ids.is_empty(),
        "the head follows its latest version"
    );
}

/// A commit stores the row's kind and links its hash to the previous version's hash, with
/// the time the commit stored; batches link their new records; a row without a digest keeps
/// no hash, and the next one links to none.
pub async fn commits_link_each_version_to_the_one_before(store: &dyn IndexStore, db_name: &str) {
    let ns = namespace(db_name, &[]);
    let mut rows = Vec::new();
    for (ov, at, kind) in [
        (0, 100, VersionKind::Create),
        (1, 50, VersionKind::Enrich),
        (2, 300, VersionKind::Restore),
    ] {
        let mut r = row("c", ov, at, json!({}));
        r.kind = kind;
        assert_eq!(commit(store, &ns, &mut r).await, CommitOutcome::Committed);
        rows.push(r);
    }
    let stored = store.versions(&ns, "c").await.unwrap();
    let mut prev = None;
    for (want, got) in rows.iter().zip(&stored) {
        assert_eq!((got.kind, got.at), (want.kind, want.at), "v{}", got.ov);
        let digest = chain::digest(format!("payload of c v{}", got.ov).as_bytes());
        let link = chain::link(prev.as_ref(), got, &digest);
        assert_eq!(
            got.hash,
            Some(link),
            "v{} links to v{}",
            got.ov,
            got.ov.wrapping_sub(1)
        );
        assert_eq!(want.hash, Some(link), "the committed row reports its hash");
        prev = got.hash;
    }
    let head = read_head(store, &ns, "c").await;
    assert_eq!(head.latest.hash, prev, "the head keeps its version's hash");
    let mut unhashed = row("c", 3, 400, json!({}));
    unhashed.digest = None;
    commit(store, &ns, &mut unhashed).await;
    let mut after = row("c", 4, 500, json!({}));
    commit(store, &ns, &mut after).await;
    let digest = chain::digest(b"payload of c v4");
    let stored = store.versions(&ns, "c").await.unwrap();
    assert_eq!(stored[3].hash, None);
    assert_eq!(stored[4].hash, Some(chain::link(None, &stored[4], &digest)));
    let mut new = row("n", 0, 10, json!({}));
    new.cv = store.reserve_cvs(&ns, 1).await.unwrap();
    let done = store.commit_new(&ns, &mut [(new.clone(), None)]).await;
    assert_eq!(done.unwrap(), BatchOutcome::Committed);
    let n = store.versions(&ns, "n").await.unwrap();
    let digest = chain::digest(b"payload of n v0");
    assert_eq!(
        n[0].hash,
        Some(chain::link(None, &new, &digest)),
        "a batch links too"
    );
    assert_eq!(read_head(store, &ns, "n").await.anchor, None);
    // A new record whose history starts later (an import) anchors its chain before it.
    let mut late = row("late", 3, 10, json!({}));
    late.cv = store.reserve_cvs(&ns, 1).await.unwrap();
    let done = store.commit_new(&ns, &mut [(late, None)]).await;
    assert_eq!(done.unwrap(), BatchOutcome::Committed);
    let head = read_head(store, &ns, "late").await;
    assert_eq!(head.anchor, Some(Anchor { ov: 2, hash: None }));
    let digest = chain::digest(b"payload of late v3");
    assert_eq!(
        head.latest.hash,
        Some(chain::link(None, &head.latest, &digest))
    );
    // A commit after it keeps the anchor.
    let mut next = row("late", 4, 20, json!({}));
    assert_eq!(
        commit(store, &ns, &mut next).await,
        CommitOutcome::Committed
    );
    let head = read_head(store, &ns, "late").await;
    assert_eq!((head.latest.ov, head.anchor.map(|a| a.ov)), (4, Some(2)));
}

/// A version stamped before the record's latest is stored at the latest's time.
pub async fn time_never_goes_back_within_a_record(store: &dyn IndexStore, db_name: &str) {
    let ns = namespace(db_name, &[]);
    commit(store, &ns, &mut row("t", 0, 1_000, json!({}))).await;
    let mut early = row("t", 1, 500, json!({}));
    assert_eq!(
        commit(store, &ns, &mut early).await,
        CommitOutcome::Committed
    );
    assert_eq!(early.at, 1_000, "the committed row reports the stored time");
    let head = read_head(store, &ns, "t").await;
    assert_eq!(
        (head.latest.ov, head.latest.at, head.created_at),
        (1, 1_000, 1_000)
    );
}

/// Collection versions taken in commits are unique; reserved blocks are consecutive; a given
/// cv is stored as given.
pub async fn collection_versions_are_unique_and_given_ones_kept(
    store: &dyn IndexStore,
    db_name: &str,
) {
    let ns = namespace(db_name, &[]);
    let mut seen = Vec::new();
    for i in 0..5 {
        let mut r = row(&format!("c{i}"), 0, 10, json!({}));
        commit(store, &ns, &mut r).await;
        seen.push(r.cv);
    }
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "cvs {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "cvs {seen:?}");
    let first = store.reserve_cvs(&ns, 3).await.unwrap();
    let next = store.reserve_cvs(&ns, 1).await.unwrap();
    assert!(first > seen[4] && next == first + 3, "{first} then {next}");
    let mut given = row("g", 0, 10, json!({}));
    let opts = CommitOptions {
        cv: CvChoice::Given(first + 1),
        require_live: false,
        claim: None,
    };
    let done = store.commit(&ns, &mut given, None, opts).await.unwrap();
    assert_eq!((done, given.cv), (CommitOutcome::Committed, first + 1));
    match store.cv_for_commit(&ns).await.unwrap() {
        CvChoice::Given(cv) => assert!(cv > next, "a reserved cv is fresh"),
        CvChoice::AtCommit => {}
    }
}

async fn read_head(store: &dyn IndexStore, ns: &Namespace, id: &str) -> super::HeadRow {
    let what = RecordRead {
        head: true,
        version: None,
    };
    store
        .read(ns, id, what)
        .await
        .unwrap()
        .head
        .expect("the record has a head")
}

/// Full reads carry indexed properties and provenance; lean reads find the same version and
/// the head's shadow.
pub async fn reads_answer_full_and_lean(store: &dyn IndexStore, db_name: &str) {
    let ns = namespace(db_name, &["status"]);
    commit(store, &ns, &mut row("r", 0, 100, json!({"status": "new"}))).await;
    let mut v1 = row("r", 1, 200, json!({"status": "paid"}));
    store
        .commit(&ns, &mut v1, Some("{\"shadow\":1}"), at_commit(true))
        .await
        .unwrap();
    let what = RecordRead {
        head: true,
        version: Some(VersionPick::AsOf(150)),
    };
    let state = store.read(&ns, "r", what).await.unwrap();
    let (head, then) = (state.head.unwrap(), state.version.unwrap());
    assert_eq!((head.latest.ov, then.ov), (1, 0));
    assert_eq!(head.latest.meta["status"], "paid");
    assert_eq!(
        (then.actor.as_str(), then.reason.as_str()),
        ("contract", "v0")
    );
    assert_eq!(head.shadow.as_deref(), Some("{\"shadow\":1}"));
    for (pick, ov) in [
        (VersionPick::Latest, 1),
        (VersionPick::Ov(0), 0),
        (VersionPick::AsOf(200), 1),
        (VersionPick::AtCv(then.cv), 0),
    ] {
        let found = store.locate(&ns, "r", pick).await.unwrap().unwrap();
        assert_eq!(found.version.ov, ov, "{pick:?}");
        assert_eq!(
            found.shadow.is_some(),
            pick == VersionPick::Latest,
            "{pick:?}"
        );
    }
    for pick in [VersionPick::Ov(2), VersionPick::AsOf(99)] {
        assert!(
            store.locate(&ns, "r", pick).await.unwrap().is_none(),
            "{pick:?}"
        );
    }
    assert!(store
        .locate(&ns, "nobody", VersionPick::Latest)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.first_cv_after(&ns, 150).await.unwrap(), Some(v1.cv));
    assert_eq!(store.first_cv_after(&ns, 200).await.unwrap(), None);
}

/// Listings filter on indexed properties, leave deleted heads out unless asked, sort, and
/// continue after a record.
pub async fn listings_filter_sort_and_page(store: &dyn IndexStore, db_name: &str) {
    let ns = namespace(db_name, &["n"]);
    for (i, id) in ["d", "b", "a", "c"].iter().enumerate() {
        commit(store, &ns, &mut row(id, 0, 10, json!({"n": i}))).await;
    }
    let mut gone = row("e", 0, 10, json!({"n": 9}));
    gone.deleted = true;
    commit(store, &ns, &mut gone).await;
    let list = |filter: Option<Value>, sort: Sort, after: Option<&str>, deleted: bool| HeadQuery {
        filter: filter.map(|f| Filter::parse(&f).unwrap()),
        sort,
        limit: 10,
        after_id: after.map(str::to_string),
        include_deleted: deleted,
        written_after_cv: None,
    };
    let ids = |heads: Vec<super::Located>| -> Vec<String> {
        heads.into_iter().map(|h| h.version.id).collect()
    };
    let by_id = Sort::asc(SortBy::Id);
    let all = store
        .list_heads(&ns, &list(None, by_id.clone(), None, false))
        .await
        .unwrap();
    assert_eq!(ids(all), ["a", "b", "c", "d"]);
    let with_deleted = store
        .list_heads(&ns, &list(None, by_id.clone(), Some("c"), true))
        .await
        .unwrap();
    assert_eq!(ids(with_deleted), ["d", "e"]);
    let by_n = Sort::desc(SortBy::Prop("n".into()));
    let filtered = store
        .list_heads(
            &ns,
            &list(Some(json!({"n": {"$gte": 1}})), by_n, None, false),
        )
        .await
        .unwrap();
    assert_eq!(ids(filtered), ["c", "a", "b"]);
}

/// A batch of new records commits whole; ids that exist are named.
pub async fn batches_of_new_records_name_the_ids_taken(store: &dyn IndexStore, db_name: &str) {
    let ns = namespace(db_name, &[]);
    // Each row with a cv of its own, as reserved.
    let batch = |ids: &[&str]| -> Vec<(VersionRow, Option<String>)> {
        ids.iter()
            .map(|id| {
                let mut r = row(id, 0, 10, json!({}));
                r.cv = u64::from(id.as_bytes()[0]);
                (r, None)
            })
            .collect()
    };
    let first = store
        .commit_new(&ns, &mut batch(&["x", "y"]))
        .await
        .unwrap();
    assert_eq!(first, BatchOutcome::Committed);
    match store
        .commit_new(&ns, &mut batch(&["z", "y"]))
        .await
        .unwrap()
    {
        BatchOutcome::Taken {
            ids,
            others_committed,
        } => {
            assert_eq!(ids, ["y"]);
            let z = store.locate(&ns, "z", VersionPick::Latest).await.unwrap();
            assert_eq!(z.is_some(), others_committed, "z committed: {z:?}");
        }
        other => panic!("a taken id was answered {other:?}"),
    }
}

/// The cvs of a change scan: versions as their cv, seals as their negation minus one.
async fn scanned(store: &dyn IndexStore, ns: &Namespace, after: Option<u64>) -> Vec<(u64, bool)> {
    let scan = store.change_scan(ns, after, 100).await.unwrap();
    scan.entries
        .iter()
        .map(|e| (e.cv(), matches!(e, super::ChangeEntry::Version(_))))
        .collect()
}

/// The change log lists versions and seals in cv order; a sealed cv is never committed (a
/// commit given one takes a fresh cv), a committed one is never sealed, and the
/// settled mark only rises.
pub async fn the_change_log_seals_and_settles(store: &dyn IndexStore, db_name: &str) {
    use super::CvState;
    let ns = namespace(db_name, &[]);
    let a = store.reserve_cvs(&ns, 3).await.unwrap();
    let given = |cv| CommitOptions {
        cv: CvChoice::Given(cv),
        require_live: false,
        claim: None,
    };
    let mut x = row("x", 0, 10, json!({}));
    let done = store.commit(&ns, &mut x, None, given(a + 2)).await.unwrap();
    assert_eq!((done, x.cv), (CommitOutcome::Committed, a + 2));
    assert_eq!(scanned(store, &ns, None).await, [(a + 2, true)]);
    assert_eq!(store.seal_cv(&ns, a).await.unwrap(), CvState::Sealed);
    assert_eq!(store.seal_cv(&ns, a).await.unwrap(), CvState::Sealed);
    assert_eq!(store.seal_cv(&ns, a + 2).await.unwrap(), CvState::Committed);
    // A writer whose reserved cv was sealed commits with a fresh one.
    let mut y = row("y", 0, 10, json!({}));
    let done = store.commit(&ns, &mut y, None, given(a)).await.unwrap();
    assert_eq!(done, CommitOutcome::Committed);
    assert!(y.cv > a + 2, "a sealed cv was committed: {}", y.cv);
    let mut batch = vec![(row("z", 0, 10, json!({})), None)];
    batch[0].0.cv = a;
    assert_eq!(
        store.commit_new(&ns, &mut batch).await.unwrap(),
        BatchOutcome::Committed
    );
    assert!(batch[0].0.cv > y.cv, "a batch kept a sealed cv");
    assert_eq!(
        scanned(store, &ns, None).await,
        [
            (a, false),
            (a + 2, true),
            (y.cv, true),
            (batch[0].0.cv, true)
        ]
    );
    assert_eq!(scanned(store, &ns, Some(a + 2)).await.len(), 2);
    // A batch with a sealed cv and a taken id: the taken id alone is named, the sealed row
    // is never stored with its sealed cv, and whatever went in did so with a fresh cv.
    let before = scanned(store, &ns, None).await;
    let b = store.reserve_cvs(&ns, 1).await.unwrap();
    assert_eq!(store.seal_cv(&ns, b).await.unwrap(), CvState::Sealed);
    let fresh = store.reserve_cvs(&ns, 2).await.unwrap();
    let mut mixed = vec![
        (row("p", 0, 10, json!({})), None),
        (row("q", 0, 10, json!({})), None),
        (row("x", 0, 10, json!({})), None),
    ];
    mixed[0].0.cv = b;
    mixed[1].0.cv = fresh;
    mixed[2].0.cv = fresh + 1;
    match store.commit_new(&ns, &mut mixed).await.unwrap() {
        BatchOutcome::Taken {
            ids,
            others_committed,
        } => {
            assert_eq!(ids, ["x"]);
            let in_now = usize::from(others_committed);
            let p = store.versions(&ns, "p").await.unwrap();
            let q = store.versions(&ns, "q").await.unwrap();
            assert_eq!((p.len(), q.len()), (in_now, in_now));
            if let Some(p) = p.first() {
                assert!(p.cv > fresh + 1, "p kept its sealed cv: {}", p.cv);
            }
            let after = scanned(store, &ns, None).await;
            assert!(after.contains(&(b, false)), "the sealed cv stays sealed");
            assert_eq!(after.len(), before.len() + 1 + 2 * in_now);
        }
        other => panic!("a batch with a taken id was answered {other:?}"),
    }
    // The settled mark only rises.
    assert_eq!(store.change_scan(&ns, None, 1).await.unwrap().settled, None);
    store.mark_settled(&ns, a + 2).await.unwrap();
    store.mark_settled(&ns, a).await.unwrap();
    let scan = store.change_scan(&ns, None, 1).await.unwrap();
    assert_eq!((scan.settled, scan.entries.len()), (Some(a + 2), 1));
}

/// The claim of queued write `op` on version `ov` of `record`, acknowledged with `cv`, in the
/// queue table of the namespace's collection.
fn queue_claim(ns: &Namespace, record: &str, op: &str, ov: u64, cv: u64) -> QueueClaim {
    QueueClaim {
        table: format!("{}_queue", ns.collection),
        row: QueueRow {
            op_id: op.into(),
            collection: ns.collection.clone(),
            record_id: record.into(),
            due_at: 0,
            body: "{}".into(),
        },
        ov,
        cv,
        deleted: false,
        require_live: true,
    }
}

/// A queued write's claim holds its collection version against the change log's sealing
/// until the write replays with it; a claim of a sealed cv is refused.
pub async fn claims_hold_their_collection_version(
    store: &dyn IndexStore,
    queue: &dyn QueueStore,
    db_name: &str,
) {
    use super::CvState;
    let ns = namespace(db_name, &[]);
    commit(store, &ns, &mut row("x", 0, 10, json!({}))).await;
    let a = store.reserve_cvs(&ns, 2).await.unwrap();
    assert_eq!(store.seal_cv(&ns, a).await.unwrap(), CvState::Sealed);
    let claim = |cv| queue_claim(&ns, "x", &format!("op{cv}"), 1, cv);
    let sealed = queue.claim_queued(&ns, &claim(a)).await;
    assert_eq!(
        sealed.unwrap(),
        CommitOutcome::CvSealed,
        "a claim of a sealed cv"
    );
    let held = queue.claim_queued(&ns, &claim(a + 1)).await.unwrap();
    assert_eq!(held, CommitOutcome::Committed);
    assert_eq!(store.seal_cv(&ns, a + 1).await.unwrap(), CvState::Held);
    let mut replay = row("x", 1, 20, json!({}));
    let opts = CommitOptions {
        cv: CvChoice::Given(a + 1),
        require_live: true,
        claim: Some(format!("op{}", a + 1)),
    };
    let done = store.commit(&ns, &mut replay, None, opts).await.unwrap();
    assert_eq!((done, replay.cv), (CommitOutcome::Committed, a + 1));
    assert_eq!(store.seal_cv(&ns, a + 1).await.unwrap(), CvState::Committed);
    assert_eq!(scanned(store, &ns, Some(a)).await[0], (a + 1, true));
}

/// A queued write's claim holds its `(id, ov)` against direct writers, is never read, and
/// turns into the version when the write replays with it.
pub async fn claims_hold_a_version_and_stay_invisible(
    store: &dyn IndexStore,
    queue: &dyn QueueStore,
    db_name: &str,
) {
    let ns = namespace(db_name, &[]);
    commit(store, &ns, &mut row("q", 0, 10, json!({}))).await;
    let claim = |op: &str, ov| queue_claim(&ns, "q", op, ov, 900 + ov);
    let held = queue.claim_queued(&ns, &claim("op1", 1)).await.unwrap();
    assert_eq!(held, CommitOutcome::Committed);
    let stale = queue.claim_queued(&ns, &claim("op2", 1)).await.unwrap();
    assert_eq!(stale, CommitOutcome::Conflict { current_ov: 1 });
    let direct = commit(store, &ns, &mut row("q", 1, 20, json!({}))).await;
    assert_eq!(direct, CommitOutcome::Conflict { current_ov: 1 });
    assert!(store
        .locate(&ns, "q", VersionPick::Ov(1))
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.versions(&ns, "q").await.unwrap().len(), 1);
    assert_eq!(
        store.version_page(&ns, "q", None, 10).await.unwrap().len(),
        1,
        "a claim is not a version of the record's history"
    );
    assert_eq!(
        store.version_scan(&ns, None, 10).await.unwrap().len(),
        1,
        "nor of the collection's"
    );
    // A claim beyond the head is not a version the head lags behind.
    assert_eq!(
        store.lagging_heads(&ns).await.unwrap(),
        Vec::<String>::new()
    );
    let mut replay = row("q", 1, 20, json!({}));
    let opts = CommitOptions {
        cv: CvChoice::Given(901),
        require_live: true,
        claim: Some("op1".into()),
    };
    let done = store.commit(&ns, &mut replay, None, opts).await.unwrap();
    assert_eq!(done, CommitOutcome::Committed);
    assert_eq!(read_head(store, &ns, "q").await.latest.ov, 1);
    // A released claim is gone; releasing again says so.
    assert_eq!(
        queue.claim_queued(&ns, &claim("op3", 2)).await.unwrap(),
        CommitOutcome::Committed
    );
    assert!(queue.release_claim(&ns, "q", 2, "op3").await.unwrap());
    assert!(!queue.release_claim(&ns, "q", 2, "op3").await.unwrap());
    assert_eq!(
        commit(store, &ns, &mut row("q", 2, 30, json!({}))).await,
        CommitOutcome::Committed
    );
}

/// Pruning never removes the head's version; erase removes everything; a head that does
/// not lag is neither reported lagging nor rolled.
pub async fn maintenance_keeps_the_head(store: &dyn IndexStore, db_name: &str) {
    let ns = namespace(db_name, &[]);
    for ov in 0..3 {
        commit(store, &ns, &mut row("m", ov, 10 + ov as i64, json!({}))).await;
    }
    commit(store, &ns, &mut row("m2", 0, 10, json!({}))).await;
    commit(store, &ns, &mut row("m2", 1, 11, json!({}))).await;
    let doomed = [
        ("m".to_string(), vec![0, 2]),
        ("m2".to_string(), vec![0]),
        ("nobody".to_string(), vec![0]),
    ];
    let removed = store.delete_versions(&ns, &doomed).await.unwrap();
    let mut gone: Vec<(String, u64)> = removed.iter().map(|r| (r.id.clone(), r.ov)).collect();
    gone.sort();
    assert_eq!(gone, [("m".to_string(), 0), ("m2".to_string(), 0)]);
    // The chain of a pruned record starts after the newest version removed.
    let m2 = read_head(store, &ns, "m2").await;
    let v0 = removed.iter().find(|r| r.id == "m2").unwrap();
    assert_eq!(
        m2.anchor,
        Some(Anchor {
            ov: 0,
            hash: v0.hash
        })
    );
    assert!(v0.hash.is_some());
    assert_eq!(
        read_head(store, &ns, "m").await.anchor.map(|a| a.ov),
        Some(0)
    );
    assert!(!store.roll_head_forward(&ns, "m").await.unwrap());
    assert_eq!(
        store.lagging_heads(&ns).await.unwrap(),
        Vec::<String>::new()
    );
    assert!(store
        .collections(db_name)
        .await
        .unwrap()
        .contains(&ns.collection));
    let erased = store.erase(&ns, "m").await.unwrap();
    assert_eq!(erased.len(), 2);
    assert!(store
        .locate(&ns, "m", VersionPick::Latest)
        .await
        .unwrap()
        .is_none());
    assert!(store.versions(&ns, "m").await.unwrap().is_empty());
}

/// A lock has one owner until it expires; the owner may extend and release it.
pub async fn locks_have_one_owner_until_they_expire(store: &dyn LockStore, db_name: &str) {
    let ns = namespace(db_name, &[]);
    let now = chrono::Utc::now().timestamp_micros();
    let minute = 60_000_000;
    assert!(store
        .try_lock(&ns, "l", "a", now, now + minute)
        .await
        .unwrap());
    assert!(!store
        .try_lock(&ns, "l", "b", now, now + minute)
        .await
        .unwrap());
    assert!(store
        .try_lock(&ns, "l", "a", now, now + 2 * minute)
        .await
        .unwrap());
    let later = now + 3 * minute;
    assert!(store
        .try_lock(&ns, "l", "b", later, later + minute)
        .await
        .unwrap());
    store.unlock(&ns, "l", "a").await.unwrap();
    assert!(!store
        .try_lock(&ns, "l", "a", later, later + minute)
        .await
        .unwrap());
    store.unlock(&ns, "l", "b").await.unwrap();
    assert!(store
        .try_lock(&ns, "l", "a", later, later + minute)
        .await
        .unwrap());
}

/// Counter cells add up per bucket and old buckets are pruned.
pub async fn counters_add_read_and_prune(store: &dyn CounterStore, db_name: &str) {
    let scope = CountScope {
        tenant: "t".into(),
        db_name: db_name.into(),
        collection: namespace(db_name, &[]).collection,
    };
    let cell = |counter: &str, bucket: &str| CountKey {
        scope: scope.clone(),
        counter: counter.into(),
        period: "day",
        bucket: bucket.into(),
    };
    let written = store
        .add_counts(
            db_name,
            &[
                (cell("created", "2026-01-01"), 2),
                (cell("created", "2026-01-01"), 3),
                (cell("updated", "2026-01-02"), 1),
            ],
        )
        .await;
    assert!(
        written.error.is_none() && written.applied == 3,
        "{written:?}"
    );
    let day1 = store
        .read_counts(db_name, &scope, "day", "2026-01-01")
        .await
        .unwrap();
    assert_eq!(day1, [("created".to_string(), 5)]);
    let pruned = store
        .prune_counts(db_name, "day", "2026-01-02")
        .await
        .unwrap();
    assert!(pruned >= 1);
    let gone = store
        .read_counts(db_name, &scope, "day", "2026-01-01")
        .await
        .unwrap();
    assert!(gone.is_empty());
}

/// Queue rows come back oldest first, filtered, replaced by op id, and removed.
pub async fn queues_keep_rows_in_order(store: &dyn QueueStore, db_name: &str) {
    let table = format!("{}_q", namespace(db_name, &[]).collection);
    let entry = |op: &str, rec: &str, due| QueueRow {
        op_id: op.into(),
        collection: "c".into(),
        record_id: rec.into(),
        due_at: due,
        body: format!("{{\"op\":\"{op}\"}}"),
    };
    for r in [
        entry("02", "b", 20),
        entry("01", "a", 30),
        entry("03", "a", 10),
    ] {
        store.queue_put(db_name, &table, &r).await.unwrap();
    }
    let all = QueueQuery {
        limit: 10,
        ..Default::default()
    };
    let ops = |rows: Vec<QueueRow>| -> Vec<String> { rows.into_iter().map(|r| r.op_id).collect() };
    let listed = store.queue_list(db_name, &table, &all).await.unwrap();
    assert_eq!(ops(listed), ["01", "02", "03"]);
    let due = QueueQuery {
        due_by: Some(20),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        ops(store.queue_list(db_name, &table, &due).await.unwrap()),
        ["02", "03"]
    );
    let of_a = QueueQuery {
        collection: Some("c".into()),
        record_id: Some("a".into()),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(
        ops(store.queue_list(db_name, &table, &of_a).await.unwrap()),
        ["01"]
    );
    store
        .queue_put(db_name, &table, &entry("01", "a", 5))
        .await
        .unwrap();
    let replaced = store.queue_list(db_name, &table, &due).await.unwrap();
    assert_eq!(ops(replaced), ["01", "02", "03"]);
    assert!(store.queue_remove(db_name, &table, "01").await.unwrap());
    assert!(!store.queue_remove(db_name, &table, "01").await.unwrap());
}

/// Audit entries of a collection come back in the order they were appended.
pub async fn the_audit_log_keeps_entries_in_order(store: &dyn AuditLog, db_name: &str) {
    let collection = namespace(db_name, &[]).collection;
    let entry = |id: &str| AuditEntry {
        at: 1,
        collection: collection.clone(),
        id: id.into(),
        action: "erase".into(),
        actor: "contract".into(),
        reason: "check".into(),
        detail: json!({"versions": 1}),
    };
    for id in ["2", "1", "3"] {
        store.append_audit(db_name, &entry(id)).await.unwrap();
    }
    let log = store.audit_log(db_name, &collection).await.unwrap();
    let ids: Vec<&str> = log.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["2", "1", "3"]);
    assert_eq!(log[0], entry("2"));
}
