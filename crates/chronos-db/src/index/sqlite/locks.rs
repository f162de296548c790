//! [`LockStore`] on SQLite: one row per lock in `<coll>_locks`, taken by an upsert that only
//! wins over the same owner or an expired lock.

use async_trait::async_trait;

use super::SqliteIndex;
use crate::error::Result;
use crate::index::{LockStore, Namespace};

#[async_trait]
impl LockStore for SqliteIndex {
    async fn try_lock(
        &self,
        ns: &Namespace,
        name: &str,
        owner: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.run(ns, "take lock", move |conn, t| {
            let changed = conn.execute(
                &format!(
                    "INSERT INTO {} (name, owner, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET owner = excluded.owner,
                         expires_at = excluded.expires_at
                     WHERE owner = excluded.owner OR expires_at <= ?4",
                    t.locks
                ),
                rusqlite::params![name, owner, expires_at, now],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    async fn unlock(&self, ns: &Namespace, name: &str, owner: &str) -> Result<()> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.run(ns, "release lock", move |conn, t| {
            conn.execute(
                &format!("DELETE FROM {} WHERE name = ?1 AND owner = ?2", t.locks),
                rusqlite::params![name, owner],
            )?;
            Ok(())
        })
        .await
    }
}
