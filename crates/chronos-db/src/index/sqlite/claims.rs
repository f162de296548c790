//! Claims of queued writes on SQLite: a row in `<coll>_ver` holding `(id, ov)` for a write
//! the fallback queue acknowledged, so no other writer can take that ov (see
//! `QueueStore::claim_queued`). Claim rows carry the sentinel `at` and `cv`, which keeps them
//! out of every range read.

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use super::{changes, queue_table, rows, schema::Tables};
use crate::index::rules::sequence_outcome;
use crate::index::{CommitOutcome, QueueClaim, VersionRow, CLAIM_KEY_PREFIX};

/// The last version of `id`, committed or claimed: its ov and whether it is a delete.
pub fn tail(conn: &Connection, t: &Tables, id: &str) -> rusqlite::Result<Option<(u64, bool)>> {
    conn.prepare_cached(&format!(
        "SELECT ov, deleted FROM {} WHERE id = ?1 ORDER BY ov DESC LIMIT 1",
        t.ver
    ))?
    .query_row([id], |r| {
        Ok((u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), r.get(1)?))
    })
    .optional()
}

/// Checks the sequence, then holds the write's cv and inserts the claim row and the queue row,
/// in one transaction; when the cv was sealed, nothing is stored.
pub fn claim(conn: &mut Connection, t: &Tables, c: &QueueClaim) -> rusqlite::Result<CommitOutcome> {
    queue_table::ensure_table(conn, &c.table)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = &c.row.record_id;
    if let Some(refused) = sequence_outcome(tail(&tx, t, id)?, c.ov, c.require_live) {
        return Ok(refused);
    }
    if !changes::hold(&tx, t, c.cv, id, c.ov, &c.row.op_id)? {
        return Ok(CommitOutcome::CvSealed);
    }
    rows::insert_version(
        &tx,
        t,
        &VersionRow::claim(id, c.ov, c.deleted, &c.row.op_id),
    )?;
    queue_table::put(&tx, &c.table, &c.row)?;
    tx.commit()?;
    Ok(CommitOutcome::Committed)
}

/// Removes the claim of `op_id` on `(id, ov)`; returns whether it was there.
pub fn release(
    conn: &Connection,
    t: &Tables,
    id: &str,
    ov: u64,
    op_id: &str,
) -> rusqlite::Result<bool> {
    let ov = i64::try_from(ov).unwrap_or(i64::MAX);
    let removed = conn
        .prepare_cached(&format!(
            "DELETE FROM {} WHERE id = ?1 AND ov = ?2 AND blob_key = ?3",
            t.ver
        ))?
        .execute(params![id, ov, format!("{CLAIM_KEY_PREFIX}{op_id}")])?;
    Ok(removed == 1)
}

/// Whether an error is the unique `(id, ov)` refusing a second row.
pub fn is_taken(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}
