//! Append-only restore of one record or a whole collection: new versions equal to the target
//! state; nothing is overwritten or removed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::info;

use super::new_version::{AppendMode, NewVersion, Prev};
use super::{check_id, Collection};
use crate::error::{Error, Result};
use crate::index::{Located, RecordRead, VersionPick, VersionRef, VersionRow};
use crate::model::{VersionKind, WriteMeta, WriteResult};

/// Records examined per batch of a collection restore.
const RESTORE_BATCH: usize = 200;
/// How long a collection restore holds its lock between batches.
const RESTORE_LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(300);
/// Name of the lock a collection restore holds.
const RESTORE_LOCK: &str = "restore-collection";

/// Which past state to restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RestoreTarget {
    /// Object version `n` of the record (records only).
    Ov(u64),
    /// The state as of a time.
    At(DateTime<Utc>),
    /// The state as of collection version `n` (every write with `cv <= n`).
    Cv(u64),
}

/// Options of a collection restore.
#[derive(Clone, Default)]
pub struct RestoreOptions {
    /// Only compute the plan; write nothing.
    pub dry_run: bool,
    /// Start after this record id (the `resume_after` of an earlier, partial run).
    pub after_id: Option<String>,
    /// Stop after examining this many records (the report then says where to resume).
    pub max_records: Option<usize>,
    /// Told after every batch of records: how many were examined and how many need (or
    /// got) a new version.
    pub progress: Option<super::ProgressFn>,
}

impl std::fmt::Debug for RestoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreOptions")
            .field("dry_run", &self.dry_run)
            .field("after_id", &self.after_id)
            .field("max_records", &self.max_records)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

/// What a collection restore does (or, in a dry run, would do) to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RestoreAction {
    /// A new version equal to version `from_ov`.
    Restore {
        /// Record id.
        id: String,
        /// The version whose state is restored.
        from_ov: u64,
        /// The new version (`None` in a dry run).
        new_ov: Option<u64>,
    },
    /// The record did not exist at the target: it is logically deleted.
    Delete {
        /// Record id.
        id: String,
        /// The delete version (`None` in a dry run).
        new_ov: Option<u64>,
    },
}

/// The outcome (or plan) of a collection restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestoreReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Records examined.
    pub examined: u64,
    /// Records already in their target state.
    pub unchanged: u64,
    /// What was (or would be) changed, in id order.
    pub actions: Vec<RestoreAction>,
    /// Set when `max_records` stopped the run early: pass as `after_id` to continue.
    pub resume_after: Option<String>,
}

/// What one record needs to reach the target.
enum Step {
    Keep,
    Restore(Box<VersionRow>),
    Delete,
}

impl Collection {
    /// Restores one record to a past version by writing a new version whose data (and deleted
    /// flag) equal that version's. Works on a logically deleted record too, bringing it back.
    pub async fn restore_object(
        &self,
        id: &str,
        target: RestoreTarget,
        meta: WriteMeta,
    ) -> Result<WriteResult> {
        check_id(id)?;
        // Both index reads at once: one blocking call on SQLite, concurrent on MongoDB.
        let what = RecordRead {
            head: true,
            version: Some(target.pick()),
        };
        let found = self.index().read(&self.inner.ns, id, what).await?;
        let (head, source) = (found.head, found.version);
        let head = head.ok_or_else(|| self.missing(id))?;
        let source = source.ok_or_else(|| {
            Error::NotFound(format!(
                "{}/{id} has no version at {target:?} (not created yet, or pruned)",
                self.name()
            ))
        })?;
        let item = self.load(&source).await?;
        self.append(NewVersion {
            id,
            prev: Prev::Head(&head.latest),
            data: item.data,
            deleted: source.deleted,
            meta,
            kind: VersionKind::Restore,
            function_ids: Vec::new(),
            mode: AppendMode::Direct,
        })
        .await
    }

    /// Restores the whole collection to its state at a collection version or a time: every
    /// record that changed since gets a new version equal to its state then; records created
    /// after the target are logically deleted. Append-only, so it can itself be undone.
    ///
    /// Runs in batches under the collection lock `restore-collection`; a record already in its
    /// target state is left alone, so a run that stopped half way can simply run again (or
    /// continue from `resume_after`). Use [`Collection::restore_collection_with`] for a dry
    /// run or a run in steps.
    pub async fn restore_collection(
        &self,
        target: RestoreTarget,
        meta: WriteMeta,
    ) -> Result<RestoreReport> {
        self.restore_collection_with(target, meta, RestoreOptions::default())
            .await
    }

    /// [`Collection::restore_collection`] with options: `dry_run` returns the plan without
    /// writing; `after_id` and `max_records` run it in steps.
    pub async fn restore_collection_with(
        &self,
        target: RestoreTarget,
        meta: WriteMeta,
        opts: RestoreOptions,
    ) -> Result<RestoreReport> {
        if let RestoreTarget::Ov(_) = target {
            return Err(ov_is_for_records());
        }
        if let Some(after) = &opts.after_id {
            check_id(after)?;
        }
        let mut lock = match opts.dry_run {
            true => None,
            false => Some(
                self.try_lock(RESTORE_LOCK, RESTORE_LOCK_TTL)
                    .await?
                    .ok_or_else(|| {
                        Error::Validation(format!(
                            "another restore of {} is running; try again when it ends",
                            self.name()
                        ))
                    })?,
            ),
        };
        let outcome = match self.collection_cut(target).await {
            Ok(cut) => self.restore_batches(cut, &meta, &opts, &mut lock).await,
            Err(e) => Err(e),
        };
        if let Some(lock) = lock {
            lock.release().await?;
        }
        let report = outcome?;
        info!(collection = %self.name(), examined = report.examined, changed = report.actions.len(), dry_run = report.dry_run, "collection restore");
        Ok(report)
    }

    /// The point of the collection's timeline a target names: the last collection version
    /// whose write it includes (`None`: before the first write). The collection's writes in
    /// cv order are its timeline, so a time resolves to the state just before the first write
    /// stamped after it: a state the collection really had, even where a clock stepped back
    /// and a later write carries an earlier time.
    async fn collection_cut(&self, target: RestoreTarget) -> Result<Option<u64>> {
        match target {
            RestoreTarget::At(at) => {
                let first_after = self
                    .index()
                    .first_cv_after(&self.inner.ns, at.timestamp_micros())
                    .await?;
                Ok(match first_after {
                    None => Some(u64::MAX),
                    Some(cv) => cv.checked_sub(1),
                })
            }
            RestoreTarget::Cv(cv) => Ok(Some(cv)),
            RestoreTarget::Ov(_) => Err(ov_is_for_records()),
        }
    }

    async fn restore_batches(
        &self,
        cut: Option<u64>,
        meta: &WriteMeta,
        opts: &RestoreOptions,
        lock: &mut Option<super::CollectionLock>,
    ) -> Result<RestoreReport> {
        let mut report = RestoreReport {
            dry_run: opts.dry_run,
            examined: 0,
            unchanged: 0,
            actions: Vec::new(),
            resume_after: None,
        };
        let mut after = opts.after_id.clone();
        loop {
            // A record not written since the cut is in its state at the cut already.
            let heads = self.record_page(after.clone(), RESTORE_BATCH, cut).await?;
            for head in &heads {
                if opts
                    .max_records
                    .is_some_and(|m| report.examined as usize >= m)
                {
                    report.resume_after = after;
                    return Ok(report);
                }
                report.examined += 1;
                let id = head.version.id.clone();
                match self.restore_step(head, cut).await? {
                    Step::Keep => report.unchanged += 1,
                    Step::Restore(source) => {
                        let new_ov = match opts.dry_run {
                            true => None,
                            false => Some(
                                self.append_state(&head.version, &source, source.deleted, meta)
                                    .await?,
                            ),
                        };
                        report.actions.push(RestoreAction::Restore {
                            id: id.clone(),
                            from_ov: source.ov,
                            new_ov,
                        });
                    }
                    Step::Delete => {
                        let new_ov = match opts.dry_run {
                            true => None,
                            false => Some(
                                self.append_state(&head.version, &head.version, true, meta)
                                    .await?,
                            ),
                        };
                        report.actions.push(RestoreAction::Delete {
                            id: id.clone(),
                            new_ov,
                        });
                    }
                }
                after = Some(id);
            }
            if let Some(tell) = &opts.progress {
                tell(super::Progress {
                    scanned: report.examined,
                    found: report.actions.len() as u64,
                });
            }
            if heads.len() < RESTORE_BATCH {
                return Ok(report);
            }
            if let Some(lock) = lock.as_mut() {
                if !lock.extend(RESTORE_LOCK_TTL).await? {
                    return Err(Error::Validation(
                        "the restore lock lapsed and another restore took it; run again".into(),
                    ));
                }
            }
        }
    }

    /// What a record needs to reach its state at the collection version `cut` (`None`:
    /// before the first write, when no record existed).
    async fn restore_step(&self, head: &Located, cut: Option<u64>) -> Result<Step> {
        let head = &head.version;
        let id = &head.id;
        let source = match cut {
            Some(cv) => self.version(id, VersionPick::AtCv(cv)).await?,
            None => None,
        };
        let Some(source) = source else {
            return Ok(if head.deleted {
                Step::Keep
            } else {
                Step::Delete
            });
        };
        if source.ov == head.ov {
            return Ok(Step::Keep);
        }
        if source.deleted && head.deleted {
            return Ok(Step::Keep);
        }
        if source.deleted == head.deleted {
            // An earlier (possibly interrupted) restore may already have written this state.
            let (now, then) = (self.load(head).await?, self.load(&source).await?);
            if now.data == then.data {
                return Ok(Step::Keep);
            }
        }
        Ok(Step::Restore(Box::new(source)))
    }

    /// Appends a version with the data of `source` and the given deleted flag (a restore, or
    /// the logical delete of a record that did not exist at the target). Returns its ov.
    async fn append_state(
        &self,
        head: &VersionRef,
        source: &VersionRef,
        deleted: bool,
        meta: &WriteMeta,
    ) -> Result<u64> {
        let item = self.load(source).await?;
        let w = self
            .append(NewVersion {
                id: &head.id,
                prev: Prev::Head(head),
                data: item.data,
                deleted,
                meta: meta.clone(),
                kind: VersionKind::Restore,
                function_ids: Vec::new(),
                mode: AppendMode::Direct,
            })
            .await?;
        Ok(w.ov)
    }
}

fn ov_is_for_records() -> Error {
    Error::Validation("a collection is restored to a cv or a time, not an ov".into())
}

impl RestoreTarget {
    /// The index read that finds a record's version at this target.
    fn pick(self) -> VersionPick {
        match self {
            RestoreTarget::Ov(ov) => VersionPick::Ov(ov),
            RestoreTarget::At(at) => VersionPick::AsOf(at.timestamp_micros()),
            RestoreTarget::Cv(cv) => VersionPick::AtCv(cv),
        }
    }
}
