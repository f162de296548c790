//! The change log on SQLite: versions read in cv order through a `(cv)` index, and the
//! `<coll>_cvs` table of cvs that are sealed (`op` NULL) or held by a queued write's claim
//! (`id`, `ov`, `op` of the claim). Sealing, holding and committing a cv each run in an
//! immediate transaction, so one of them wins. The `(cv)` index is created by the first
//! use of the change log in a collection: a collection whose feed nobody reads does not
//! pay for it on every version.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::rows::{self, to_sql_int, VERSION_COLUMNS};
use super::schema::Tables;
use super::SqliteIndex;
use crate::error::Result;
use crate::index::rules;
use crate::index::{ChangeLog, ChangeScan, CvState, Namespace, CLAIM_KEY_PREFIX};

#[async_trait]
impl ChangeLog for SqliteIndex {
    async fn change_scan(
        &self,
        ns: &Namespace,
        after: Option<u64>,
        limit: usize,
    ) -> Result<ChangeScan> {
        let coll = ns.collection.clone();
        self.run(ns, "read changes", move |conn, t| {
            ensure_cv_index(conn, t)?;
            // One read transaction: the mark, the versions and the seals of one snapshot.
            let tx = conn.transaction()?;
            let scan = scan(&tx, t, &coll, after, limit)?;
            tx.finish()?;
            Ok(scan)
        })
        .await
    }

    async fn seal_cv(&self, ns: &Namespace, cv: u64) -> Result<CvState> {
        self.run(ns, "seal a collection version", move |conn, t| {
            ensure_cv_index(conn, t)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let state = seal(&tx, t, cv)?;
            tx.commit()?;
            Ok(state)
        })
        .await
    }

    async fn mark_settled(&self, ns: &Namespace, cv: u64) -> Result<()> {
        let coll = ns.collection.clone();
        self.run(ns, "mark collection versions settled", move |conn, _| {
            conn.prepare_cached(
                "INSERT INTO chronos_settled(collection, cv) VALUES (?1, ?2)
                 ON CONFLICT(collection) DO UPDATE SET cv = MAX(cv, ?2)",
            )?
            .execute(params![coll, to_sql_int(cv)?])?;
            Ok(())
        })
        .await
    }
}

/// Creates the versions' `(cv)` index unless it exists: looked up in the schema once per
/// collection and process.
fn ensure_cv_index(conn: &Connection, t: &Tables) -> rusqlite::Result<()> {
    use std::sync::atomic::Ordering;
    if t.cv_index.load(Ordering::Relaxed) {
        return Ok(());
    }
    let name = t.index_name("ver_by_cv");
    let exists = conn
        .prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1")?
        .query_row([name.trim_matches('"')], |_| Ok(()))
        .optional()?
        .is_some();
    if !exists {
        conn.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS {name} ON {}(cv)",
            t.ver
        ))?;
    }
    t.cv_index.store(true, Ordering::Relaxed);
    Ok(())
}

/// The settled mark, then versions and seals above `after`, merged in cv order.
fn scan(
    conn: &Connection,
    t: &Tables,
    coll: &str,
    after: Option<u64>,
    limit: usize,
) -> rusqlite::Result<ChangeScan> {
    let settled: Option<i64> = conn
        .prepare_cached("SELECT cv FROM chronos_settled WHERE collection = ?1")?
        .query_row([coll], |r| r.get(0))
        .optional()?;
    // cv is never negative, so -1 reads from the first.
    let after = after.map_or(Ok(-1), to_sql_int)?;
    let n = i64::try_from(limit).unwrap_or(i64::MAX);
    let versions = conn
        .prepare_cached(&format!(
            "SELECT {VERSION_COLUMNS} FROM {} WHERE cv > ?1 AND cv < {} ORDER BY cv LIMIT ?2",
            t.ver,
            crate::index::CLAIM_SENTINEL
        ))?
        .query_map(params![after, n], rows::read_version)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let sealed = conn
        .prepare_cached(&format!(
            "SELECT cv FROM {} WHERE cv > ?1 AND op IS NULL ORDER BY cv LIMIT ?2",
            t.cvs
        ))?
        .query_map(params![after, n], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let sealed = sealed.into_iter().filter_map(|cv| u64::try_from(cv).ok());
    Ok(ChangeScan {
        settled: settled.and_then(|cv| u64::try_from(cv).ok()),
        entries: rules::merge_changes(versions, sealed, limit),
    })
}

/// Seals `cv` unless a version has it or a live claim holds it (a claim that is gone, its
/// write cancelled or its record erased, holds nothing).
fn seal(tx: &Transaction<'_>, t: &Tables, cv: u64) -> rusqlite::Result<CvState> {
    let cv = to_sql_int(cv)?;
    let committed = tx
        .prepare_cached(&format!("SELECT 1 FROM {} WHERE cv = ?1", t.ver))?
        .query_row([cv], |_| Ok(()))
        .optional()?
        .is_some();
    if committed {
        return Ok(CvState::Committed);
    }
    let holder: Option<(Option<String>, Option<i64>, Option<String>)> = tx
        .prepare_cached(&format!("SELECT id, ov, op FROM {} WHERE cv = ?1", t.cvs))?
        .query_row([cv], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    if let Some((Some(id), Some(ov), Some(op))) = &holder {
        let claimed = tx
            .prepare_cached(&format!(
                "SELECT 1 FROM {} WHERE id = ?1 AND ov = ?2 AND blob_key = ?3",
                t.ver
            ))?
            .query_row(params![id, ov, format!("{CLAIM_KEY_PREFIX}{op}")], |_| {
                Ok(())
            })
            .optional()?
            .is_some();
        if claimed {
            return Ok(CvState::Held);
        }
    }
    insert_seal(tx, t, cv)?;
    Ok(CvState::Sealed)
}

/// Marks `cv` sealed (replacing a hold whose claim is gone).
fn insert_seal(tx: &Transaction<'_>, t: &Tables, cv: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {}(cv, id, ov, op) VALUES (?1, NULL, NULL, NULL)",
        t.cvs
    ))?
    .execute([cv])?;
    Ok(())
}

/// Seals the cvs of versions that erasure or retention removes, in their transaction: no
/// change feed waits for a write that can never come.
pub fn seal_removed(
    tx: &Transaction<'_>,
    t: &Tables,
    removed: &[crate::index::VersionRow],
) -> rusqlite::Result<()> {
    for row in removed {
        insert_seal(tx, t, to_sql_int(row.cv)?)?;
    }
    Ok(())
}

/// Whether `cv` is sealed.
pub fn is_sealed(tx: &Transaction<'_>, t: &Tables, cv: u64) -> rusqlite::Result<bool> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT 1 FROM {} WHERE cv = ?1 AND op IS NULL",
            t.cvs
        ))?
        .query_row([to_sql_int(cv)?], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Holds `cv` for the claim of queued write `op` on `(id, ov)`; false when it is sealed.
pub fn hold(
    tx: &Transaction<'_>,
    t: &Tables,
    cv: u64,
    id: &str,
    ov: u64,
    op: &str,
) -> rusqlite::Result<bool> {
    if is_sealed(tx, t, cv)? {
        return Ok(false);
    }
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {}(cv, id, ov, op) VALUES (?1, ?2, ?3, ?4)",
        t.cvs
    ))?
    .execute(params![to_sql_int(cv)?, id, to_sql_int(ov)?, op])?;
    Ok(true)
}

/// Lets go of `cv` once the queued write holding it committed with it.
pub fn unhold(tx: &Transaction<'_>, t: &Tables, cv: u64) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "DELETE FROM {} WHERE cv = ?1 AND op IS NOT NULL",
        t.cvs
    ))?
    .execute([to_sql_int(cv)?])?;
    Ok(())
}
