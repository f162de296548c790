//! Commits on MongoDB: in a multi-document transaction when the deployment has them, else
//! with the version insert as the commit point and a head that only moves forward. Both call
//! the rules of `index::rules` on the head they read.

use mongodb::bson::doc;
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::ClientSession;
use tracing::{debug, info};

use super::errors::{err, fail, is_duplicate_key};
use super::{claims, docs, retry, Colls, MongoIndex};
use crate::error::{Error, Result};
use crate::index::rules::{self, Decision, Last};
use crate::index::{CommitOptions, CommitOutcome, HeadRow, VersionRow, CLAIM_SENTINEL};

impl MongoIndex {
    /// Commits in a transaction, retried with backoff while it fails transiently. A record
    /// held by another transaction (a writer that died mid-commit holds it until the server
    /// times the transaction out) is reported as a `Conflict` once [`retry::TXN_RETRY_BUDGET`]
    /// is spent: nothing was written, so the caller removes its payload.
    pub(super) async fn commit_in_transaction(
        &self,
        c: &Colls,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: &CommitOptions,
    ) -> Result<CommitOutcome> {
        let mut backoff = retry::Backoff::new();
        loop {
            // A commit whose outcome was unknown may have gone through after all.
            if backoff.retries() > 0 && self.is_committed(c, row).await? {
                return Ok(CommitOutcome::Committed);
            }
            let mut session = self
                .client
                .start_session()
                .await
                .map_err(err("start session"))?;
            match self
                .try_transaction(c, row, shadow, opts, &mut session)
                .await
            {
                Ok(outcome) => return Ok(outcome),
                Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                    let _ = session.abort_transaction().await;
                    debug!(retries = backoff.retries(), error = %e, "transient transaction error, retrying");
                    if !backoff.wait().await {
                        if self.is_committed(c, row).await? {
                            return Ok(CommitOutcome::Committed);
                        }
                        let last_ov = claims::tail_ov(c, &row.id).await?;
                        let answer = rules::conflict_or_held(row.ov, last_ov);
                        info!(id = %row.id, ov = row.ov, ?answer, error = %e, "the transaction kept meeting another writer's until the retry budget was spent");
                        return Ok(answer);
                    }
                }
                Err(e) if is_duplicate_key(&e) => {
                    let _ = session.abort_transaction().await;
                    if self.is_committed(c, row).await? {
                        return Ok(CommitOutcome::Committed);
                    }
                    let last_ov = claims::tail_ov(c, &row.id).await?;
                    return Ok(rules::conflict_or_held(row.ov, last_ov));
                }
                Err(e) => {
                    let _ = session.abort_transaction().await;
                    return Err(fail("commit version", e));
                }
            }
        }
    }

    /// Whether `row` itself is committed: the version `(id, ov)` exists with its collection
    /// version, which only this writer reserved (or, for a queued write, was acknowledged
    /// with).
    async fn is_committed(&self, c: &Colls, row: &VersionRow) -> Result<bool> {
        let found = c
            .ver
            .find_one(doc! {"id": &row.id, "ov": docs::int(row.ov)?, "cv": docs::int(row.cv)?})
            .await
            .map_err(err("read version"))?;
        Ok(found.is_some())
    }

    async fn try_transaction(
        &self,
        c: &Colls,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: &CommitOptions,
        s: &mut ClientSession,
    ) -> mongodb::error::Result<CommitOutcome> {
        s.start_transaction().await?;
        // A replay takes its queued write's claim in this transaction: gone means the write
        // was cancelled (or its record erased).
        let claim_gone = match &opts.claim {
            Some(op_id) => {
                let taken = c
                    .ver
                    .delete_one(claims::claim_filter(&row.id, row.ov, op_id))
                    .session(&mut *s)
                    .await?;
                taken.deleted_count == 0
            }
            None => false,
        };
        // A new record needs no head read: its inserts fail on an existing one (duplicate
        // key).
        let head = match row.ov {
            0 => None,
            _ => c
                .head
                .find_one(doc! {"_id": &row.id})
                .session(&mut *s)
                .await?
                .as_ref()
                .map(docs::read_head)
                .transpose()
                .map_err(to_driver_error)?,
        };
        // The cv is decided before the transaction (reserved, or held by the claim whose
        // `_id` the version takes over).
        let created_at = match rules::decide(
            last_of(head.as_ref()),
            claim_gone,
            row,
            &rules::Request::of(opts),
        ) {
            Decision::Write { created_at, .. } => created_at,
            Decision::Refuse(refused) => {
                s.abort_transaction().await?;
                return Ok(refused);
            }
        };
        let ver = docs::version_doc(row).map_err(to_driver_error)?;
        c.ver.insert_one(ver).session(&mut *s).await?;
        if row.ov == 0 {
            c.head
                .insert_one(docs::new_head_doc(row, shadow).map_err(to_driver_error)?)
                .session(&mut *s)
                .await?;
        } else {
            let mut fields = docs::head_fields(row, shadow).map_err(to_driver_error)?;
            fields.insert("createdAt", created_at);
            // `$set`, not a replacement: the head keeps what retention wrote into it (its
            // chain's anchor).
            c.head
                .update_one(doc! {"_id": &row.id}, doc! {"$set": fields})
                .upsert(true)
                .session(&mut *s)
                .await?;
        }
        crate::failpoint::hit(crate::failpoint::IN_MONGODB_TRANSACTION).await;
        commit_with_retry(s).await
    }

    /// Commits without a transaction: the version insert (or, for a queued write, the
    /// claim's replacement) is the commit point; the head then moves forward only.
    pub(super) async fn commit_without_transaction(
        &self,
        c: &Colls,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: &CommitOptions,
    ) -> Result<CommitOutcome> {
        // A new record needs no head read: its version insert fails if it exists.
        let head = if row.ov == 0 {
            None
        } else {
            c.head
                .find_one(doc! {"_id": &row.id})
                .await
                .map_err(err("read head"))?
        };
        let current = head.as_ref().map(docs::read_head).transpose()?;
        // The claim is checked at the commit point below (its replacement by the version).
        let created_at = match rules::decide(
            last_of(current.as_ref()),
            false,
            row,
            &rules::Request::of(opts),
        ) {
            Decision::Write { created_at, .. } => created_at,
            // The head may lag behind a version whose writer died before moving it.
            Decision::Refuse(refused) if rules::head_may_lag(refused, row.ov) => {
                return self.roll_forward_and_report(c, row).await;
            }
            Decision::Refuse(refused) => return Ok(refused),
        };
        let mut ver = docs::version_doc(row)?;
        if let Some(op_id) = &opts.claim {
            // The claim becomes the version in one single-document step: the commit point.
            // It keeps the claim's `_id` (its cv's, or, for a claim from before versions
            // were keyed by cv, the one the server gave it).
            ver.remove("_id");
            let replaced = c
                .ver
                .replace_one(claims::claim_filter(&row.id, row.ov, op_id), ver)
                .await
                .map_err(err("commit a queued write's version"))?;
            if replaced.matched_count == 0 {
                return Ok(CommitOutcome::Missing);
            }
        } else if let Err(e) = c.ver.insert_one(ver).await {
            if is_duplicate_key(&e) {
                return self.roll_forward_and_report(c, row).await;
            }
            return Err(fail("insert version", e));
        }
        crate::failpoint::hit(crate::failpoint::BEFORE_HEAD_MOVE).await;
        self.move_head(c, row, created_at, shadow).await?;
        Ok(CommitOutcome::Committed)
    }

    /// Points the head at `row` unless it already points at a later version.
    async fn move_head(
        &self,
        c: &Colls,
        row: &VersionRow,
        created_at: i64,
        shadow: Option<&str>,
    ) -> Result<()> {
        let fields = docs::head_fields(row, shadow)?;
        let ov = i64::try_from(row.ov).unwrap_or(i64::MAX);
        let update = doc! {"$set": fields, "$setOnInsert": {"createdAt": created_at}};
        match c
            .head
            .update_one(doc! {"_id": &row.id, "ov": {"$lt": ov}}, update)
            .upsert(true)
            .await
        {
            Ok(_) => Ok(()),
            // A later version already owns the head: nothing to do.
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(fail("move head", e)),
        }
    }

    /// Rolls the head forward to the latest committed version and reports what refused
    /// `refused` (a version of the record): the conflict, or that the record is held.
    pub(super) async fn roll_forward_and_report(
        &self,
        c: &Colls,
        refused: &VersionRow,
    ) -> Result<CommitOutcome> {
        let Some(latest) = self.roll_forward(c, &refused.id).await? else {
            return Ok(CommitOutcome::Missing);
        };
        // Queued writes may hold later ovs: the conflict reports the last of them.
        let last_ov = claims::tail_ov(c, &refused.id)
            .await?
            .unwrap_or(latest)
            .max(latest);
        Ok(rules::conflict_or_held(refused.ov, Some(last_ov)))
    }

    /// Points the head of `id` at its latest committed version unless it points at a later
    /// one; returns that version's ov (`None`: the record has no committed version).
    pub(super) async fn roll_forward(&self, c: &Colls, id: &str) -> Result<Option<u64>> {
        let latest = c
            .ver
            .find_one(doc! {"id": id, "at": {"$lt": CLAIM_SENTINEL}})
            .sort(doc! {"ov": -1})
            .await
            .map_err(err("read latest version"))?;
        let Some(latest) = latest else {
            return Ok(None);
        };
        let row = docs::read_version(&latest, "id")?;
        let first = c
            .ver
            .find_one(doc! {"id": id, "ov": 0})
            .await
            .map_err(err("read first version"))?;
        let created_at = match first {
            Some(d) => docs::read_version(&d, "id")?.at,
            None => row.at,
        };
        // The shadow of that version is unknown here; readers fall back to its payload.
        self.move_head(c, &row, created_at, None).await?;
        Ok(Some(row.ov))
    }
}

/// Commits a transaction, retrying while the outcome of the commit is unknown: at most
/// [`retry::COMMIT_ATTEMPTS`] attempts, with jittered backoff, within the retry time budget.
pub(super) async fn commit_with_retry(
    s: &mut ClientSession,
) -> mongodb::error::Result<CommitOutcome> {
    let mut attempt = 1;
    let mut backoff = retry::Backoff::new();
    loop {
        match s.commit_transaction().await {
            Err(e)
                if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    && attempt < retry::COMMIT_ATTEMPTS
                    && backoff.wait().await =>
            {
                attempt += 1;
            }
            other => {
                other?;
                return Ok(CommitOutcome::Committed);
            }
        }
    }
}

/// The head as the commit rules read it.
fn last_of(head: Option<&HeadRow>) -> Option<Last> {
    head.map(|h| Last {
        ov: h.latest.ov,
        deleted: h.latest.deleted,
        at: h.latest.at,
        created_at: h.created_at,
        hash: h.latest.hash,
    })
}

fn to_driver_error(e: Error) -> mongodb::error::Error {
    mongodb::error::Error::custom(e.to_string())
}
