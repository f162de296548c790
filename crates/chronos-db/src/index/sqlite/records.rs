//! [`RecordIndex`] on SQLite: commits in an immediate transaction, reads in one blocking call.
//! The collection version of a commit is the trait's default (taken at commit): the counter
//! row is taken inside the commit's transaction, which serialises the writers of the
//! database file anyway.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{changes, claims, filter_sql, history, reads, rows, SqliteIndex};
use crate::error::Result;
use crate::index::rules::{self, CvStep, Decision, Last};
use crate::index::{
    BatchOutcome, CommitOptions, CommitOutcome, HeadQuery, Located, Namespace, RecordIndex,
    RecordRead, RecordState, VersionPick, VersionRow,
};

#[async_trait]
impl RecordIndex for SqliteIndex {
    async fn reserve_cvs(&self, ns: &Namespace, n: u64) -> Result<u64> {
        let coll = ns.collection.clone();
        let n = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        let next: i64 = self
            .run(ns, "increment collection version", move |conn, _| {
                advance_counter(conn, &coll, n)
            })
            .await?;
        rules::first_reserved(next, n)
    }

    async fn commit_new(
        &self,
        ns: &Namespace,
        rows: &mut [(VersionRow, Option<String>)],
    ) -> Result<BatchOutcome> {
        let batch = rows.to_vec();
        let coll = ns.collection.clone();
        let (outcome, batch) = self
            .run(ns, "commit new records", move |conn, t| {
                let mut batch = batch;
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let find_head = format!("SELECT 1 FROM {} WHERE id = ?1", t.head);
                let mut taken = Vec::new();
                for (row, shadow) in &mut batch {
                    rules::link(row, None);
                    let exists = tx
                        .prepare_cached(&find_head)?
                        .query_row([&row.id], |_| Ok(()))
                        .optional()?
                        .is_some();
                    if exists {
                        taken.push(row.id.clone());
                    } else if taken.is_empty() {
                        row.cv = fresh_if_sealed(&tx, t, &coll, row.cv)?;
                        rows::insert_version(&tx, t, row)?;
                        rows::upsert_head(&tx, t, row, row.at, shadow.as_deref())?;
                        // An imported history that starts later: its chain starts there.
                        if let Some(before) = row.ov.checked_sub(1) {
                            rows::anchor_head(&tx, t, &row.id, before, None)?;
                        }
                    }
                }
                if !taken.is_empty() {
                    // Dropping the transaction rolls every row of the batch back.
                    let outcome = BatchOutcome::Taken {
                        ids: taken,
                        others_committed: false,
                    };
                    return Ok((outcome, batch));
                }
                tx.commit()?;
                Ok((BatchOutcome::Committed, batch))
            })
            .await?;
        if outcome == BatchOutcome::Committed {
            for (row, stored) in rows.iter_mut().zip(batch) {
                *row = stored;
            }
        }
        Ok(outcome)
    }

    async fn commit(
        &self,
        ns: &Namespace,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: CommitOptions,
    ) -> Result<CommitOutcome> {
        let mut r = row.clone();
        let shadow = shadow.map(str::to_string);
        let coll = ns.collection.clone();
        let req = rules::Request::of(&opts);
        let (outcome, r) = self
            .run(ns, "commit version", move |conn, t| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let last = tx
                    .prepare_cached(&format!(
                        "SELECT ov, created_at, at, deleted, hash FROM {} WHERE id = ?1",
                        t.head
                    ))?
                    .query_row([&r.id], |x| {
                        Ok(Last {
                            ov: u64::try_from(x.get::<_, i64>(0)?).unwrap_or(0),
                            created_at: x.get(1)?,
                            at: x.get(2)?,
                            deleted: x.get(3)?,
                            hash: rows::read_hash(x, 4)?,
                        })
                    })
                    .optional()?;
                // A replay takes its queued write's claim in this transaction: gone means
                // the write was cancelled (or its record erased).
                let claim_gone = match &opts.claim {
                    Some(op_id) => !claims::release(&tx, t, &r.id, r.ov, op_id)?,
                    None => false,
                };
                let (created_at, cv) = match rules::decide(last, claim_gone, &mut r, &req) {
                    Decision::Write { created_at, cv } => (created_at, cv),
                    // Dropping the transaction takes the claim's release back.
                    Decision::Refuse(refused) => return Ok((refused, r)),
                };
                r.cv = match cv {
                    CvStep::Held(cv) => {
                        changes::unhold(&tx, t, cv)?;
                        cv
                    }
                    CvStep::Given(cv) => fresh_if_sealed(&tx, t, &coll, cv)?,
                    CvStep::Next => next_cv(&tx, &coll)?,
                };
                match rows::insert_version(&tx, t, &r) {
                    Ok(()) => {}
                    // A queued write claimed this ov: answered with the record's last ov.
                    Err(e) if claims::is_taken(&e) => {
                        let last_ov = claims::tail(&tx, t, &r.id)?.map(|(ov, _)| ov);
                        return Ok((rules::conflict_or_held(r.ov, last_ov), r));
                    }
                    Err(e) => return Err(e),
                }
                rows::upsert_head(&tx, t, &r, created_at, shadow.as_deref())?;
                tx.commit()?;
                Ok((CommitOutcome::Committed, r))
            })
            .await?;
        *row = r;
        Ok(outcome)
    }

    async fn read(&self, ns: &Namespace, id: &str, what: RecordRead) -> Result<RecordState> {
        let id = id.to_string();
        self.run(ns, "read record", move |conn, t| {
            Ok(RecordState {
                head: match what.head {
                    true => reads::head(conn, t, &id)?,
                    false => None,
                },
                version: match what.version {
                    Some(pick) => reads::version(conn, t, &id, pick)?,
                    None => None,
                },
            })
        })
        .await
    }

    async fn locate(&self, ns: &Namespace, id: &str, pick: VersionPick) -> Result<Option<Located>> {
        let id = id.to_string();
        self.run(ns, "locate version", move |conn, t| {
            reads::locate(conn, t, &id, pick)
        })
        .await
    }

    async fn list_heads(&self, ns: &Namespace, query: &HeadQuery) -> Result<Vec<Located>> {
        let query = query.clone();
        self.run(ns, "list heads", move |conn, t| {
            let after = match &query.after_id {
                None => None,
                Some(id) => {
                    let keys = conn
                        .prepare_cached(&filter_sql::after_keys_sql(t, &query.sort))?
                        .query_row([id], |r| {
                            (0..r.as_ref().column_count())
                                .map(|i| r.get::<_, rusqlite::types::Value>(i))
                                .collect::<rusqlite::Result<Vec<_>>>()
                        })
                        .optional()?;
                    match keys {
                        Some(keys) => Some(keys),
                        // Not a record (any more): nothing comes after it.
                        None => return Ok(Vec::new()),
                    }
                }
            };
            let (sql, params) = filter_sql::list_sql(t, &query, after.as_deref());
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows =
                stmt.query_map(rusqlite::params_from_iter(params), rows::read_located_head)?;
            rows.collect()
        })
        .await
    }

    async fn version_page(
        &self,
        ns: &Namespace,
        id: &str,
        after_ov: Option<u64>,
        limit: usize,
    ) -> Result<Vec<VersionRow>> {
        let id = id.to_string();
        self.run(ns, "read a page of versions", move |conn, t| {
            history::version_page(conn, t, &id, after_ov, limit)
        })
        .await
    }

    async fn version_scan(
        &self,
        ns: &Namespace,
        after: Option<(String, u64)>,
        limit: usize,
    ) -> Result<Vec<VersionRow>> {
        self.run(ns, "read versions in id order", move |conn, t| {
            history::version_scan(conn, t, after, limit)
        })
        .await
    }

    async fn first_cv_after(&self, ns: &Namespace, at: i64) -> Result<Option<u64>> {
        self.run(
            ns,
            "find where the timeline passes a time",
            move |conn, t| history::first_cv_after(conn, t, at),
        )
        .await
    }
}

/// The next collection version, taken from the counter inside the caller's transaction.
fn next_cv(tx: &rusqlite::Transaction<'_>, collection: &str) -> rusqlite::Result<u64> {
    rules::first_reserved(advance_counter(tx, collection, 1)?, 1)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// `cv`, or a fresh one when the change log sealed it after it was reserved.
fn fresh_if_sealed(
    tx: &rusqlite::Transaction<'_>,
    t: &super::schema::Tables,
    collection: &str,
    cv: u64,
) -> rusqlite::Result<u64> {
    match changes::is_sealed(tx, t, cv)? {
        true => next_cv(tx, collection),
        false => Ok(cv),
    }
}

/// Adds `n` to the collection version counter and returns its new value.
fn advance_counter(conn: &rusqlite::Connection, collection: &str, n: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO chronos_counters(collection, next_cv) VALUES (?1, ?2)
         ON CONFLICT(collection) DO UPDATE SET next_cv = next_cv + ?2
         RETURNING next_cv",
    )?
    .query_row(params![collection, n], |r| r.get(0))
}
