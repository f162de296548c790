//! The fallback queue's table on this backend: its rows, written, listed and removed by
//! plain functions, so the queue's trait implementation and the claims of queued writes
//! (which put a queue row in their own atomic step) both build on them.

use rusqlite::{params, Connection, OptionalExtension};

use crate::index::{QueueQuery, QueueRow};

/// Creates a queue table (idempotent).
pub fn ensure_table(conn: &Connection, table: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS \"{table}\" (
            op_id TEXT PRIMARY KEY,
            collection TEXT NOT NULL,
            record_id TEXT NOT NULL,
            due_at INTEGER NOT NULL,
            body TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS \"{table}_record\" ON \"{table}\"(collection, record_id, op_id);
        CREATE INDEX IF NOT EXISTS \"{table}_due\" ON \"{table}\"(due_at);"
    ))
}

/// Inserts or replaces a row.
pub fn put(conn: &Connection, table: &str, row: &QueueRow) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO \"{table}\" (op_id, collection, record_id, due_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5)"
    ))?
    .execute(params![
        row.op_id,
        row.collection,
        row.record_id,
        row.due_at,
        row.body
    ])?;
    Ok(())
}

/// Rows matching `q`, oldest first.
pub fn list(conn: &Connection, table: &str, q: &QueueQuery) -> rusqlite::Result<Vec<QueueRow>> {
    // Written into the SQL rather than bound: a bound LIMIT makes SQLite re-prepare the
    // statement on every call (see `filter_sql::list_sql`).
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT op_id, collection, record_id, due_at, body FROM \"{table}\"
         WHERE (?1 IS NULL OR op_id = ?1)
           AND (?2 IS NULL OR collection = ?2)
           AND (?3 IS NULL OR record_id = ?3)
           AND (?4 IS NULL OR due_at <= ?4)
         ORDER BY op_id LIMIT {limit}"
    ))?;
    let rows = stmt.query_map(params![q.op_id, q.collection, q.record_id, q.due_by], |r| {
        Ok(QueueRow {
            op_id: r.get(0)?,
            collection: r.get(1)?,
            record_id: r.get(2)?,
            due_at: r.get(3)?,
            body: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// Removes a row; returns whether it was there.
pub fn remove(conn: &Connection, table: &str, op_id: &str) -> rusqlite::Result<bool> {
    let gone = conn
        .prepare_cached(&format!(
            "DELETE FROM \"{table}\" WHERE op_id = ?1 RETURNING op_id"
        ))?
        .query_row([op_id], |r| r.get::<_, String>(0))
        .optional()?;
    Ok(gone.is_some())
}
