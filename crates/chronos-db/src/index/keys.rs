//! Wrapped data keys: a route's key (one per index database) and, with per-record keys, one
//! per record. Keys are stored only wrapped; this store never sees key material in clear.

use async_trait::async_trait;

use super::records::IndexBackend;
use crate::error::Result;

/// Which key of an index database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySlot<'a> {
    /// The database's (route's) key, wrapped by the master key.
    Route,
    /// A record's own key, wrapped by the route's key.
    Record {
        /// The record's collection.
        collection: &'a str,
        /// The record's id.
        id: &'a str,
    },
}

/// A stored data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key's id (32 hex digits), which every payload it seals names.
    pub key_id: String,
    /// The key wrapped by the key above it; `None` once the key was destroyed.
    pub wrapped: Option<Vec<u8>>,
    /// What wrapped it: the master key's fingerprint (a route key) or the route key's id (a
    /// record key).
    pub wrapped_by: String,
    /// When it was made (microseconds since the epoch).
    pub created_at: i64,
    /// When it was destroyed.
    pub shredded_at: Option<i64>,
}

/// Where the wrapped data keys of a backend's databases live. Destroying a key overwrites
/// its wrapped bytes where the backend allows it (SQLite: secure delete and a truncated
/// write-ahead log), so that nothing left in the store unwraps it.
#[async_trait]
pub trait KeyStore: IndexBackend {
    /// The key in `slot` of database `db`, destroyed or not.
    async fn key(&self, db: &str, slot: KeySlot<'_>) -> Result<Option<StoredKey>>;

    /// Stores `key` in `slot` unless a key is there already (made by another process at the
    /// same time, say); returns the key the slot holds.
    async fn add_key(&self, db: &str, slot: KeySlot<'_>, key: &StoredKey) -> Result<StoredKey>;

    /// Replaces the wrapping of key `key_id` in `slot` (a master key rotation); `false` when
    /// the slot no longer holds that key.
    async fn rewrap_key(
        &self,
        db: &str,
        slot: KeySlot<'_>,
        key_id: &str,
        wrapped: &[u8],
        wrapped_by: &str,
    ) -> Result<bool>;

    /// Destroys the key in `slot` at time `at`: a route key leaves a tombstone (its id and
    /// when it was destroyed, so reads can name it), a record key is removed. Returns the id
    /// of the key destroyed (`None`: there was none, or it was destroyed before).
    async fn destroy_key(&self, db: &str, slot: KeySlot<'_>, at: i64) -> Result<Option<String>>;
}
