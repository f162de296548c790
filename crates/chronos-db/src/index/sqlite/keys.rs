//! Wrapped data keys on SQLite (`chronos_keys` in each database file; the route's key is the
//! row `('', '')`). The connection runs with `secure_delete`, so a destroyed key's bytes are
//! overwritten in the file, and the write-ahead log is truncated after a key is destroyed, so
//! no older page holding it stays behind.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::SqliteIndex;
use crate::error::{Error, Result};
use crate::index::keys::{KeySlot, KeyStore, StoredKey};

/// The primary key of a slot.
fn slot_key(slot: KeySlot<'_>) -> (String, String) {
    match slot {
        KeySlot::Route => (String::new(), String::new()),
        KeySlot::Record { collection, id } => (collection.to_string(), id.to_string()),
    }
}

fn read(conn: &Connection, slot: &(String, String)) -> rusqlite::Result<Option<StoredKey>> {
    conn.prepare_cached(
        "SELECT key_id, wrapped, wrapped_by, created_at, shredded_at FROM chronos_keys
         WHERE collection = ?1 AND record_id = ?2",
    )?
    .query_row(params![slot.0, slot.1], |r| {
        Ok(StoredKey {
            key_id: r.get(0)?,
            wrapped: r.get(1)?,
            wrapped_by: r.get(2)?,
            created_at: r.get(3)?,
            shredded_at: r.get(4)?,
        })
    })
    .optional()
}

#[async_trait]
impl KeyStore for SqliteIndex {
    async fn key(&self, db: &str, slot: KeySlot<'_>) -> Result<Option<StoredKey>> {
        let slot = slot_key(slot);
        self.run_db(db, "read a data key", move |conn| read(conn, &slot))
            .await
    }

    async fn add_key(&self, db: &str, slot: KeySlot<'_>, key: &StoredKey) -> Result<StoredKey> {
        let slot = slot_key(slot);
        let key = key.clone();
        let stored = self
            .run_db(db, "store a data key", move |conn| {
                conn.prepare_cached(
                    "INSERT INTO chronos_keys
                     (collection, record_id, key_id, wrapped, wrapped_by, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    slot.0,
                    slot.1,
                    key.key_id,
                    key.wrapped,
                    key.wrapped_by,
                    key.created_at
                ])?;
                read(conn, &slot)
            })
            .await?;
        stored.ok_or_else(|| Error::internal("store a data key", "the key row went missing"))
    }

    async fn rewrap_key(
        &self,
        db: &str,
        slot: KeySlot<'_>,
        key_id: &str,
        wrapped: &[u8],
        wrapped_by: &str,
    ) -> Result<bool> {
        let slot = slot_key(slot);
        let (key_id, wrapped, wrapped_by) =
            (key_id.to_string(), wrapped.to_vec(), wrapped_by.to_string());
        self.run_db(db, "rewrap a data key", move |conn| {
            let n = conn.execute(
                "UPDATE chronos_keys SET wrapped = ?4, wrapped_by = ?5
                 WHERE collection = ?1 AND record_id = ?2 AND key_id = ?3
                   AND wrapped IS NOT NULL",
                params![slot.0, slot.1, key_id, wrapped, wrapped_by],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn destroy_key(&self, db: &str, slot: KeySlot<'_>, at: i64) -> Result<Option<String>> {
        let route = slot == KeySlot::Route;
        let slot = slot_key(slot);
        self.run_db(db, "destroy a data key", move |conn| {
            let found = read(conn, &slot)?;
            let Some(found) = found.filter(|k| k.wrapped.is_some()) else {
                return Ok(None);
            };
            match route {
                true => conn.execute(
                    "UPDATE chronos_keys SET wrapped = NULL, shredded_at = ?3
                     WHERE collection = ?1 AND record_id = ?2",
                    params![slot.0, slot.1, at],
                )?,
                false => conn.execute(
                    "DELETE FROM chronos_keys WHERE collection = ?1 AND record_id = ?2",
                    params![slot.0, slot.1],
                )?,
            };
            // The pages that held the key move into the file, and the log is emptied.
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(Some(found.key_id))
        })
        .await
    }
}
