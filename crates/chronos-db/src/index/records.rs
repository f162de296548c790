//! The record index: the version protocol's storage (commits, heads, versions, listings).

use async_trait::async_trait;

use super::rows::{
    BatchOutcome, CommitOptions, CommitOutcome, CvChoice, HeadQuery, Located, Namespace,
    RecordRead, RecordState, VersionPick, VersionRow,
};
use crate::error::Result;

/// A backend's connection: its name, a liveness check and an orderly close.
#[async_trait]
pub trait IndexBackend: Send + Sync + std::fmt::Debug {
    /// Short backend name for errors and health reports.
    fn kind(&self) -> &'static str;

    /// Checks the backend answers.
    async fn ping(&self) -> Result<()>;

    /// Closes the backend's connections (background workers included). Operations after it
    /// fail.
    async fn close(&self);
}

/// Heads, versions and collection versions of the collections of one backend. Every method
/// is scoped to one [`Namespace`].
///
/// Invariants a backend keeps: `(id, ov)` is unique (the commit point), across committed
/// versions and the claims of queued writes; a commit applies the rules of
/// `index::rules` (the sequence of ovs, the live check, time never going back) inside its
/// atomic step and moves the head in the same step, or, without transactions, moves it
/// forward only and rolls a lagging head forward. A commit whose `(id, ov)` is claimed by a
/// queued write is a `Conflict` reporting the claimed ov. Reads never return claim rows.
/// A commit given a collection version that the change log sealed meanwhile (see
/// [`super::ChangeLog`]) takes a fresh one instead, and the row says which. A refused
/// commit leaves its cv alone: the caller that reserved it gives it up.
#[async_trait]
pub trait RecordIndex: IndexBackend {
    /// Reserves `n` (at least 1) consecutive collection versions and returns the first (0 for
    /// the first write of a collection).
    async fn reserve_cvs(&self, ns: &Namespace, n: u64) -> Result<u64>;

    /// The collection version for a commit about to happen: reserved now, when taking it in
    /// the commit would serialise the collection's writers (a counter document under
    /// MongoDB transactions), else [`CvChoice::AtCommit`] at no cost (the default). Callers
    /// ask while they put the payload.
    async fn cv_for_commit(&self, ns: &Namespace) -> Result<CvChoice> {
        let _ = ns;
        Ok(CvChoice::AtCommit)
    }

    /// Commits a version row and moves the head to it, keeping `shadow` (the payload envelope,
    /// for `devShadow`) in the head. On `Committed`, `row.cv` and `row.at` hold what was
    /// stored (the time is raised to the previous version's when earlier).
    async fn commit(
        &self,
        ns: &Namespace,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: CommitOptions,
    ) -> Result<CommitOutcome>;

    /// Commits the first versions (collection versions given) of new records, with their
    /// heads, in one batch: all or nothing where the backend has transactions. Ids that
    /// exist are answered as [`BatchOutcome::Taken`], saying whether the others went in. A
    /// first version is ov 0, or a later ov for an imported history that starts there: its
    /// head then anchors the chain after the ov before it (with no hash). On `Committed`,
    /// each row's `cv` and `hash` hold what was stored.
    async fn commit_new(
        &self,
        ns: &Namespace,
        rows: &mut [(VersionRow, Option<String>)],
    ) -> Result<BatchOutcome>;

    /// A full read of one record: its head and one version, as `what` asks.
    async fn read(&self, ns: &Namespace, id: &str, what: RecordRead) -> Result<RecordState>;

    /// A lean read: where the version `pick` designates is, with the head's shadow for
    /// [`VersionPick::Latest`]. By default a full [`RecordIndex::read`] cut down; backends
    /// read fewer columns.
    async fn locate(&self, ns: &Namespace, id: &str, pick: VersionPick) -> Result<Option<Located>> {
        let latest = pick == VersionPick::Latest;
        let what = RecordRead {
            head: latest,
            version: (!latest).then_some(pick),
        };
        let state = self.read(ns, id, what).await?;
        Ok(match latest {
            true => state.head.map(|h| Located {
                version: h.latest.version,
                kind: h.latest.kind,
                shadow: h.shadow,
            }),
            false => state.version.map(|v| Located {
                version: v.version,
                kind: v.kind,
                shadow: None,
            }),
        })
    }

    /// The latest versions of the records matching a query, in order (lean).
    async fn list_heads(&self, ns: &Namespace, query: &HeadQuery) -> Result<Vec<Located>>;

    /// Every committed version of a record, oldest first: by default one
    /// [`RecordIndex::version_page`] without a limit.
    async fn versions(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>> {
        self.version_page(ns, id, None, usize::MAX).await
    }

    /// Up to `limit` committed versions of a record with an ov above `after_ov` (all when
    /// `None`), oldest first. Claims are never listed.
    async fn version_page(
        &self,
        ns: &Namespace,
        id: &str,
        after_ov: Option<u64>,
        limit: usize,
    ) -> Result<Vec<VersionRow>>;

    /// Up to `limit` committed versions of every record, in (id, ov) order, after version
    /// `after` (`(id, ov)`; `None`: from the first). Claims are never listed.
    async fn version_scan(
        &self,
        ns: &Namespace,
        after: Option<(String, u64)>,
        limit: usize,
    ) -> Result<Vec<VersionRow>>;

    /// The lowest collection version of a committed write stamped after `at` (microseconds),
    /// if any: where the collection's timeline passes `at`.
    async fn first_cv_after(&self, ns: &Namespace, at: i64) -> Result<Option<u64>>;
}
