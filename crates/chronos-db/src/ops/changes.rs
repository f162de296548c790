//! The change feed: a collection's committed writes in collection-version order, page by
//! page or followed as a stream.
//!
//! A page ends at the collection's *stable point*: a cv the feed delivers has no cv below it
//! that could still commit. A cv below it that no version carries is a write in flight (it
//! reserved the cv and has not committed), an abandoned reservation (its writer crashed, or
//! was refused), a queued write (the fallback queue acknowledged it with that cv), or a
//! version that retention or erasure removed. The feed waits at such a gap while the write
//! after it is younger than [`FeedOptions::settle_after`]; then it seals the cv (see
//! [`crate::index::ChangeLog`]): no commit can take it any more, and a writer that held it
//! commits with a fresh one. A cv held by a queued write is never sealed: the feed waits
//! for the replay. So a consumer that resumes after the last cv it saw never misses and
//! never repeats a committed write.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::Utc;
use futures::Stream;
use serde::{Deserialize, Serialize};
use tracing::debug;

use super::Collection;
use crate::error::{Error, Result};
use crate::index::{ChangeEntry, CvState, VersionRow};
use crate::model::Version;

/// The most changes one page holds.
pub(crate) const MAX_CHANGES_PAGE: usize = 1000;
/// The page size of a [`ChangesQuery`] that does not set one.
pub(crate) const DEFAULT_CHANGES_PAGE: usize = 100;
/// How long a gap in the collection versions is waited for, by default, before it is sealed.
pub(crate) const DEFAULT_SETTLE_AFTER: Duration = Duration::from_secs(10);
/// How often, by default, a follower looks for new writes when nothing is new.
pub(crate) const DEFAULT_POLL: Duration = Duration::from_millis(100);
/// Gaps one page seals at most.
const MAX_SEALS_PER_PAGE: usize = 1000;
/// How far the feed gets past the settled mark before it raises the mark (a write).
const MARK_EVERY: u64 = 1000;
/// Scans one page makes again after a cv committed under it.
const MAX_RESCANS: usize = 3;

/// Which changes [`Collection::changes`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangesQuery {
    /// Changes after this collection version (`None`: from the first).
    pub after_cv: Option<u64>,
    /// At most this many changes, 1 to 1,000 (default 100).
    pub limit: usize,
    /// Whether each change comes with its data, which reads its payload.
    pub include_data: bool,
}

impl Default for ChangesQuery {
    fn default() -> Self {
        ChangesQuery {
            after_cv: None,
            limit: DEFAULT_CHANGES_PAGE,
            include_data: false,
        }
    }
}

impl ChangesQuery {
    /// Continues after collection version `cv`.
    pub fn after(mut self, cv: u64) -> Self {
        self.after_cv = Some(cv);
        self
    }

    /// At most `limit` changes.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// With each change's data.
    pub fn with_data(mut self) -> Self {
        self.include_data = true;
        self
    }
}

/// How a feed waits: for a gap in the collection versions, and for new writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeedOptions {
    /// How old the write after a gap in the collection versions must be before the feed
    /// gives the gap up (seals it) instead of waiting for its write to commit. Shorter makes
    /// a stalled writer retry with a fresh cv sooner; longer waits for slow writers.
    /// Default: 10 seconds.
    pub settle_after: Duration,
    /// How often [`Collection::follow`] looks again when nothing is new. Default: 100 ms.
    pub poll: Duration,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            settle_after: DEFAULT_SETTLE_AFTER,
            poll: DEFAULT_POLL,
        }
    }
}

impl FeedOptions {
    /// Gives a gap up once the write after it is `age` old.
    pub fn settle_after(mut self, age: Duration) -> Self {
        self.settle_after = age;
        self
    }

    /// Looks for new writes every `poll`.
    pub fn poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }
}

/// One page of changes, by ascending collection version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePage {
    /// The committed writes, as versions with their kind, provenance and (when asked) data.
    pub changes: Vec<Version>,
    /// Pass as [`ChangesQuery::after_cv`] for the next page: the last cv this page settled,
    /// which may be past the last change (a gap given up); the query's own when it settled
    /// none.
    pub after_cv: Option<u64>,
    /// Whether the page delivered every committed write: nothing more is settled now and no
    /// committed write lies beyond `after_cv`. It is false when the page stopped at its
    /// limit (of changes, or of gaps sealed in one call; the next page follows at once), or
    /// at a write still in flight with committed writes after it (the next page delivers
    /// them once that write commits or its cv is given up).
    pub caught_up: bool,
}

/// A page of the feed as its walk over the change log builds it.
struct PageWalk {
    /// The last cv settled so far (delivered, sealed, or the query's own).
    after: Option<u64>,
    /// The versions to deliver, in cv order.
    rows: Vec<VersionRow>,
    /// Gaps sealed so far.
    seals: usize,
    /// Most versions on the page.
    limit: usize,
    /// How old (microseconds) the write after a gap must be before the gap is sealed.
    settle_micros: i64,
}

/// Where a walk over the change log stopped.
enum Walk {
    /// It may go on from the new position.
    More,
    /// The stable point: nothing settled beyond it yet. `writes_beyond`: committed writes
    /// lie beyond it (the page is not the end of the feed).
    Stable {
        /// Whether a committed write lies beyond the stable point.
        writes_beyond: bool,
    },
    /// The page sealed as many gaps as one call may.
    Capped,
    /// A cv below the scan committed meanwhile: scan again from the same position.
    Rescan,
}

impl Collection {
    /// The committed writes after [`ChangesQuery::after_cv`], in collection-version order,
    /// up to the stable point: no cv below one it delivers can still be committed.
    /// Erased records and versions removed by retention are not in the feed. Gaps are given
    /// up once the write after them is 10 seconds old; [`Collection::changes_with`] sets how
    /// long.
    pub async fn changes(&self, query: ChangesQuery) -> Result<ChangePage> {
        self.changes_with(query, FeedOptions::default()).await
    }

    /// [`Collection::changes`], waiting for gaps as `options` say.
    pub async fn changes_with(
        &self,
        query: ChangesQuery,
        options: FeedOptions,
    ) -> Result<ChangePage> {
        if !(1..=MAX_CHANGES_PAGE).contains(&query.limit) {
            return Err(Error::Validation(format!(
                "changes limit {} is outside 1..={MAX_CHANGES_PAGE}",
                query.limit
            )));
        }
        if let Some(cv) = query.after_cv.filter(|cv| i64::try_from(*cv).is_err()) {
            return Err(Error::Validation(format!(
                "changes after_cv {cv} is beyond any collection version"
            )));
        }
        let ns = &self.inner.ns;
        let mut page = PageWalk {
            after: query.after_cv,
            rows: Vec::new(),
            seals: 0,
            limit: query.limit,
            settle_micros: i64::try_from(options.settle_after.as_micros()).unwrap_or(i64::MAX),
        };
        let mut settled_mark = None;
        let mut rescans = 0;
        let caught_up = loop {
            let scan = self
                .index()
                .change_scan(ns, page.after, query.limit)
                .await?;
            settled_mark = settled_mark.or(scan.settled);
            let full = scan.entries.len() >= query.limit;
            match self.walk(scan.entries, scan.settled, &mut page).await? {
                // A version committed under a scan is read by the next one (a few times at
                // most: past that, the page ends here and the next page reads it).
                Walk::Rescan if rescans < MAX_RESCANS => rescans += 1,
                Walk::Rescan | Walk::Capped => break false,
                Walk::More if page.rows.len() >= query.limit => break false,
                Walk::More if full => continue,
                Walk::Stable { writes_beyond } => break !writes_beyond,
                Walk::More => break true,
            }
        };
        let PageWalk { after, rows, .. } = page;
        let due = |cv: &u64| settled_mark.is_none_or(|s| *cv >= s.saturating_add(MARK_EVERY));
        if let Some(cv) = after.filter(due) {
            // Best effort: the mark only spares later feeds a look at the gaps below it.
            if let Err(e) = self.index().mark_settled(ns, cv).await {
                debug!(cv, error = %e, "could not record the settled mark");
            }
        }
        let changes = self.versions_of(rows, query.include_data).await?;
        Ok(ChangePage {
            changes,
            after_cv: after,
            caught_up,
        })
    }

    /// Follows the collection's changes after `query.after_cv`: each committed write once,
    /// in collection-version order, as it settles, looking again every
    /// [`FeedOptions::poll`] (100 ms by default) when there is nothing new. It never ends;
    /// an error is yielded and the next poll tries
    /// again.
    pub fn follow(
        &self,
        query: ChangesQuery,
    ) -> impl Stream<Item = Result<Version>> + Send + 'static {
        self.follow_with(query, FeedOptions::default())
    }

    /// [`Collection::follow`], waiting as `options` say.
    pub fn follow_with(
        &self,
        query: ChangesQuery,
        options: FeedOptions,
    ) -> impl Stream<Item = Result<Version>> + Send + 'static {
        let poll = options.poll;
        let state = (self.clone(), query, VecDeque::<Version>::new(), false);
        futures::stream::unfold(
            state,
            move |(coll, mut query, mut buf, mut idle)| async move {
                loop {
                    if let Some(v) = buf.pop_front() {
                        return Some((Ok(v), (coll, query, buf, false)));
                    }
                    if idle {
                        tokio::time::sleep(poll).await;
                    }
                    match coll.changes_with(query.clone(), options).await {
                        Ok(page) => {
                            // Nothing delivered and no step made (caught up, or waiting
                            // for a write in flight): wait a poll before looking again.
                            idle = page.changes.is_empty() && page.after_cv == query.after_cv;
                            query.after_cv = page.after_cv;
                            buf.extend(page.changes);
                        }
                        // The stream goes on after an error (the next poll tries again); a
                        // consumer that stops resumes from the last cv it saw.
                        Err(e) => return Some((Err(e), (coll, query, buf, true))),
                    }
                }
            },
        )
    }

    /// Walks scanned entries from `page.after`, settling each gap before an entry: collects
    /// the versions into the page and moves its `after` past every settled cv.
    async fn walk(
        &self,
        entries: Vec<ChangeEntry>,
        settled: Option<u64>,
        page: &mut PageWalk,
    ) -> Result<Walk> {
        let now = Utc::now().timestamp_micros();
        // The time of the first version at or after each entry: how old a gap before it is.
        let mut next_at = vec![None; entries.len()];
        let mut later = None;
        for (i, e) in entries.iter().enumerate().rev() {
            if let ChangeEntry::Version(row) = e {
                later = Some(row.at);
            }
            next_at[i] = later;
        }
        for (entry, at) in entries.into_iter().zip(next_at) {
            if page.rows.len() >= page.limit {
                return Ok(Walk::More);
            }
            let cv = entry.cv();
            let next = |cv: Option<u64>| cv.map_or(0, |c| c.saturating_add(1));
            let first_gap = next(page.after).max(next(settled));
            let old = at.is_some_and(|at| now.saturating_sub(at) >= page.settle_micros);
            for gap in first_gap..cv {
                // Many gaps (versions pruned before any feed ran) are settled over pages.
                if !old {
                    return Ok(Walk::Stable {
                        writes_beyond: at.is_some(),
                    });
                }
                if page.seals >= MAX_SEALS_PER_PAGE {
                    return Ok(Walk::Capped);
                }
                page.seals += 1;
                match self.index().seal_cv(&self.inner.ns, gap).await? {
                    CvState::Sealed => {
                        debug!(collection = %self.name(), cv = gap, "sealed a gap in the collection versions")
                    }
                    CvState::Committed => return Ok(Walk::Rescan),
                    CvState::Held => {
                        return Ok(Walk::Stable {
                            writes_beyond: at.is_some(),
                        })
                    }
                }
                page.after = Some(gap);
            }
            if let ChangeEntry::Version(row) = entry {
                page.rows.push(row);
            }
            page.after = Some(cv);
        }
        Ok(Walk::More)
    }
}
