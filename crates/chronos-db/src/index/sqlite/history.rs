//! The version history on SQLite: all versions of a record, where the timeline passes a
//! time, pruning, erasure, rolling a head forward and the list of collections.

use rusqlite::{params, Connection, OptionalExtension};

use super::changes;
use super::rows::{self, VERSION_COLUMNS};
use super::schema::Tables;
use crate::index::rules;
use crate::index::{VersionRow, CLAIM_SENTINEL};

/// Every committed version of `id`, oldest first (claims of queued writes left out).
pub fn versions(conn: &Connection, t: &Tables, id: &str) -> rusqlite::Result<Vec<VersionRow>> {
    version_page(conn, t, id, None, usize::MAX)
}

/// Up to `limit` committed versions of `id` above `after_ov`, oldest first. The limit is
/// written into the SQL, as listings do it (a bound LIMIT makes SQLite re-prepare the
/// statement on every call): `versions` and each page size keep a statement of their own.
pub fn version_page(
    conn: &Connection,
    t: &Tables,
    id: &str,
    after_ov: Option<u64>,
    limit: usize,
) -> rusqlite::Result<Vec<VersionRow>> {
    // ov is never negative, so -1 lists from the first version.
    let after = after_ov.map_or(-1, |ov| i64::try_from(ov).unwrap_or(i64::MAX));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM {} WHERE id = ?1 AND ov > ?2 AND at < {CLAIM_SENTINEL} \
         ORDER BY ov LIMIT {limit}",
        t.ver
    ))?;
    let rows = stmt.query_map(params![id, after], rows::read_version)?;
    rows.collect()
}

/// Up to `limit` committed versions of every record after `(id, ov)`, in that order.
pub fn version_scan(
    conn: &Connection,
    t: &Tables,
    after: Option<(String, u64)>,
    limit: usize,
) -> rusqlite::Result<Vec<VersionRow>> {
    // Every id sorts after the empty one, and ov is never negative.
    let (id, ov) = after.map_or((String::new(), -1), |(id, ov)| {
        (id, i64::try_from(ov).unwrap_or(i64::MAX))
    });
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM {} WHERE (id, ov) > (?1, ?2) AND at < {CLAIM_SENTINEL} \
         ORDER BY id, ov LIMIT {limit}",
        t.ver
    ))?;
    let rows = stmt.query_map(params![id, ov], rows::read_version)?;
    rows.collect()
}

/// The lowest cv of a committed version stamped after `at`.
pub fn first_cv_after(conn: &Connection, t: &Tables, at: i64) -> rusqlite::Result<Option<u64>> {
    let cv: Option<i64> = conn.query_row(
        &format!(
            "SELECT MIN(cv) FROM {} WHERE at > ?1 AND at < {CLAIM_SENTINEL}",
            t.ver
        ),
        [at],
        |r| r.get(0),
    )?;
    Ok(cv.and_then(|cv| u64::try_from(cv).ok()))
}

/// Deletes the versions `doomed` names below each record's head, in one transaction, then
/// returns the freed pages to the file system (files created with incremental auto-vacuum);
/// returns the rows removed.
pub fn delete_versions(
    conn: &mut Connection,
    t: &Tables,
    doomed: &[(String, Vec<u64>)],
) -> rusqlite::Result<Vec<VersionRow>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut removed = Vec::new();
    for (id, ovs) in doomed {
        let head_ov: Option<i64> = tx
            .prepare_cached(&format!("SELECT ov FROM {} WHERE id = ?1", t.head))?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let Some(head_ov) = head_ov else { continue };
        for ov in ovs {
            let Ok(ov) = i64::try_from(*ov) else { continue };
            if ov >= head_ov {
                continue;
            }
            let row = tx
                .prepare_cached(&format!(
                    "DELETE FROM {} WHERE id = ?1 AND ov = ?2 RETURNING {VERSION_COLUMNS}",
                    t.ver
                ))?
                .query_row(params![id, ov], rows::read_version)
                .optional()?;
            removed.extend(row);
        }
        // The chain of the record now starts after the newest version removed.
        if let Some(last) = removed.iter().rev().find(|r| &r.id == id) {
            rows::anchor_head(&tx, t, id, last.ov, last.hash.as_ref())?;
        }
    }
    changes::seal_removed(&tx, t, &removed)?;
    tx.commit()?;
    conn.execute_batch("PRAGMA incremental_vacuum;")?;
    Ok(removed)
}

/// Deletes the head and every version of `id`; returns the versions.
///
/// Secure delete (set when the file is opened) zeroes the freed rows in the pages the
/// transaction writes; a truncating checkpoint then copies those pages into the database file
/// and empties the write-ahead log, whose older frames still held the record. A checkpoint
/// that readers hold up is finished by a later one.
pub fn erase(conn: &mut Connection, t: &Tables, id: &str) -> rusqlite::Result<Vec<VersionRow>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let removed = versions(&tx, t, id)?;
    tx.execute(&format!("DELETE FROM {} WHERE id = ?1", t.head), [id])?;
    tx.execute(&format!("DELETE FROM {} WHERE id = ?1", t.ver), [id])?;
    changes::seal_removed(&tx, t, &removed)?;
    tx.commit()?;
    conn.execute_batch("PRAGMA incremental_vacuum;")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(removed)
}

/// Collections with a head table.
pub fn collections(conn: &mut Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT substr(name, 1, length(name) - 5) FROM sqlite_master
         WHERE type = 'table' AND name LIKE '%\\_head' ESCAPE '\\' ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Points the head of `id` at its latest version if it lags; returns whether it moved.
/// (Commits are transactions here, so only a damaged file can need this.)
pub fn roll_head_forward(conn: &mut Connection, t: &Tables, id: &str) -> rusqlite::Result<bool> {
    let tx = conn.transaction()?;
    let latest = tx
        .query_row(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM {} WHERE id = ?1 AND at < {CLAIM_SENTINEL} \
                 ORDER BY ov DESC LIMIT 1",
                t.ver
            ),
            [id],
            rows::read_version,
        )
        .optional()?;
    let Some(latest) = latest else {
        return Ok(false);
    };
    let head: Option<(i64, i64)> = tx
        .query_row(
            &format!("SELECT ov, created_at FROM {} WHERE id = ?1", t.head),
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let head_ov = head.map(|(ov, _)| u64::try_from(ov).unwrap_or(0));
    if !rules::head_lags(head_ov, latest.ov) {
        return Ok(false);
    }
    let created_at: i64 = match head {
        Some((_, c)) => c,
        None => tx.query_row(
            &format!("SELECT MIN(at) FROM {} WHERE id = ?1", t.ver),
            [id],
            |r| r.get(0),
        )?,
    };
    rows::upsert_head(&tx, t, &latest, created_at, None)?;
    tx.commit()?;
    Ok(true)
}

/// Records whose head is missing or behind their latest committed version.
pub fn lagging_heads(conn: &mut Connection, t: &Tables) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT v.id FROM (SELECT id, MAX(ov) AS ov FROM {ver} WHERE at < {CLAIM_SENTINEL} \
         GROUP BY id) v LEFT JOIN {head} h ON h.id = v.id WHERE h.ov IS NULL OR h.ov < v.ov",
        ver = t.ver,
        head = t.head
    ))?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::sqlite::schema;
    use crate::index::{PayloadRef, VersionRef};

    fn row(id: &str, ov: u64) -> VersionRow {
        VersionRow::bare(VersionRef {
            id: id.into(),
            ov,
            cv: ov,
            at: 10 + ov as i64,
            deleted: false,
            payload: PayloadRef::Inline(bytes::Bytes::from_static(b"{}")),
        })
    }

    /// Heads behind their latest version, and records without a head, are found; a claim
    /// beyond a head is not a version.
    #[test]
    fn lagging_heads_are_found_from_the_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        let t = Tables::new("c");
        schema::ensure_collection(&conn, &t, &[]).unwrap();
        let tx = conn.transaction().unwrap();
        for (id, versions, head) in [
            ("ok", 2, Some(1)),
            ("behind", 2, Some(0)),
            ("headless", 1, None),
        ] {
            for ov in 0..versions {
                rows::insert_version(&tx, &t, &row(id, ov)).unwrap();
            }
            if let Some(ov) = head {
                rows::upsert_head(&tx, &t, &row(id, ov), 10, None).unwrap();
            }
        }
        rows::insert_version(&tx, &t, &VersionRow::claim("ok", 2, false, "op")).unwrap();
        tx.commit().unwrap();
        let mut found = lagging_heads(&mut conn, &t).unwrap();
        found.sort();
        assert_eq!(found, vec!["behind".to_string(), "headless".to_string()]);
        for id in ["behind", "headless"] {
            assert!(roll_head_forward(&mut conn, &t, id).unwrap());
        }
        assert!(lagging_heads(&mut conn, &t).unwrap().is_empty());
    }
}
