//! Analytics counters on SQLite: the `cnt_total` table of a database.

use rusqlite::{params, Connection};

use crate::error::Result;
use crate::index::{CountKey, CountScope, CounterStore, CountsWritten};

/// Creates the counter table (idempotent).
pub fn ensure_table(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS cnt_total (
            tenant TEXT NOT NULL,
            db_name TEXT NOT NULL,
            collection TEXT NOT NULL,
            counter TEXT NOT NULL,
            period TEXT NOT NULL,
            bucket TEXT NOT NULL,
            value INTEGER NOT NULL,
            PRIMARY KEY (tenant, db_name, collection, period, bucket, counter)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS cnt_total_bucket ON cnt_total(period, bucket);",
    )
}

/// Adds every count in one transaction.
pub fn add(conn: &mut Connection, counts: &[(CountKey, u64)]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO cnt_total (tenant, db_name, collection, counter, period, bucket, value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO UPDATE SET value = value + excluded.value",
        )?;
        for (k, n) in counts {
            let n = i64::try_from(*n).unwrap_or(i64::MAX);
            stmt.execute(params![
                k.scope.tenant,
                k.scope.db_name,
                k.scope.collection,
                k.counter,
                k.period,
                k.bucket,
                n
            ])?;
        }
    }
    tx.commit()
}

/// The counters of `scope` in one bucket.
pub fn read(
    conn: &Connection,
    scope: &CountScope,
    period: &str,
    bucket: &str,
) -> rusqlite::Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT counter, value FROM cnt_total
         WHERE tenant = ?1 AND db_name = ?2 AND collection = ?3 AND period = ?4 AND bucket = ?5
         ORDER BY counter",
    )?;
    let rows = stmt.query_map(
        params![
            scope.tenant,
            scope.db_name,
            scope.collection,
            period,
            bucket
        ],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
    )?;
    rows.map(|r| r.map(|(c, v)| (c, u64::try_from(v).unwrap_or(0))))
        .collect()
}

/// Removes the buckets of kind `period` older than `before`.
pub fn prune(conn: &Connection, period: &str, before: &str) -> rusqlite::Result<u64> {
    let n = conn.execute(
        "DELETE FROM cnt_total WHERE period = ?1 AND bucket < ?2",
        params![period, before],
    )?;
    Ok(n as u64)
}

#[async_trait::async_trait]
impl CounterStore for super::SqliteIndex {
    async fn add_counts(&self, db_name: &str, counts: &[(CountKey, u64)]) -> CountsWritten {
        let n = counts.len();
        let counts = counts.to_vec();
        // One transaction: all or nothing.
        let done = self
            .run_db(db_name, "add counters", move |conn| add(conn, &counts))
            .await;
        match done {
            Ok(()) => CountsWritten::all(n),
            Err(e) => CountsWritten {
                applied: 0,
                error: Some(e),
            },
        }
    }

    async fn read_counts(
        &self,
        db_name: &str,
        scope: &CountScope,
        period: &str,
        bucket: &str,
    ) -> Result<Vec<(String, u64)>> {
        let (scope, period, bucket) = (scope.clone(), period.to_string(), bucket.to_string());
        self.run_db(db_name, "read counters", move |conn| {
            read(conn, &scope, &period, &bucket)
        })
        .await
    }

    async fn prune_counts(&self, db_name: &str, period: &str, before: &str) -> Result<u64> {
        let (period, before) = (period.to_string(), before.to_string());
        self.run_db(db_name, "prune counters", move |conn| {
            prune(conn, &period, &before)
        })
        .await
    }
}
