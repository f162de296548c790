//! The audit log on SQLite (`chronos_audit` in each database file).

use async_trait::async_trait;
use rusqlite::{params, Connection};

use super::SqliteIndex;
use crate::error::Result;
use crate::index::{AuditEntry, AuditLog};

/// Appends an audit entry.
fn append_audit(conn: &mut Connection, e: &AuditEntry) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO chronos_audit (at, collection, id, action, actor, reason, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.at,
            e.collection,
            e.id,
            e.action,
            e.actor,
            e.reason,
            e.detail.to_string()
        ],
    )?;
    Ok(())
}

/// The audit log of a collection, oldest first.
fn audit_log(conn: &mut Connection, collection: &str) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare(
        "SELECT at, collection, id, action, actor, reason, detail FROM chronos_audit
         WHERE collection = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([collection], |r| {
        let detail: String = r.get(6)?;
        Ok(AuditEntry {
            at: r.get(0)?,
            collection: r.get(1)?,
            id: r.get(2)?,
            action: r.get(3)?,
            actor: r.get(4)?,
            reason: r.get(5)?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        })
    })?;
    rows.collect()
}

#[async_trait]
impl AuditLog for SqliteIndex {
    async fn append_audit(&self, db_name: &str, entry: &AuditEntry) -> Result<()> {
        let entry = entry.clone();
        self.run_db(db_name, "append audit entry", move |conn| {
            append_audit(conn, &entry)
        })
        .await
    }

    async fn audit_log(&self, db_name: &str, collection: &str) -> Result<Vec<AuditEntry>> {
        let collection = collection.to_string();
        self.run_db(db_name, "read audit log", move |conn| {
            audit_log(conn, &collection)
        })
        .await
    }
}
