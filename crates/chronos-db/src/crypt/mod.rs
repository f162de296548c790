//! Encryption at rest, and erasure by destroying keys (crypto-shredding).
//!
//! With `encryption.enabled`, every payload chronos-db stores (inline payloads in version
//! rows and heads, payload objects, base64 side blobs, devShadows, queued writes) is
//! encrypted with XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`) after compression,
//! under a data key:
//!
//! - each route database (a tenant's, a domain's, a generic one) has a random **route key**,
//!   stored in that database wrapped (encrypted) by the **master key**;
//! - with `perRecord`, each record has a random **record key** of its own, stored wrapped by
//!   its route key.
//!
//! The master key is never stored by chronos-db: a [`MasterKeyProvider`] reads it (an
//! environment variable or a key file; a KMS can be another provider). Every encrypted
//! payload names its key and format, and is bound to its place (database, collection, record,
//! version, and where it is kept): bytes copied elsewhere do not decrypt. The version hash
//! chain covers the stored (encrypted) bytes, so `verify` needs no key.
//!
//! Destroying a key makes everything it encrypted unreadable, copies included:
//! [`Collection::erase`](crate::Collection::erase) destroys a record's key (with `perRecord`),
//! [`Chronos::shred`](crate::Chronos::shred) a route's. Reads of what they encrypted answer
//! [`Error::Shredded`](crate::Error::Shredded). Indexed properties stay readable in the
//! index, because listings filter and sort on them: declare only what listings need.
//!
//! Not yet combined with encryption (refused by validation, with their JSON path):
//! `devShadow`, `collectionMaps.<coll>.base64Props` and the `fallback` queue, whose stored
//! copies are not encrypted yet.

mod data_key;
mod keyring;
mod master;
mod open;
pub(crate) mod sealed;

pub(crate) use keyring::{Keyring, RouteKeys};
use master::provider;
pub use master::{EnvMasterKey, FileMasterKey, MasterKey, MasterKeyProvider, KEY_BYTES};
pub(crate) use open::open_keyring;

use serde::{Deserialize, Serialize};

/// What [`Chronos::rotate_master_key`](crate::Chronos::rotate_master_key) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RotationReport {
    /// Route keys rewrapped under the new master key.
    pub rewrapped: u64,
    /// Route keys found wrapped by the new master key already (a rotation run again).
    pub already_rotated: u64,
    /// Route keys that were shredded (nothing to rewrap).
    pub shredded: u64,
    /// The new master key's fingerprint.
    pub fingerprint: String,
}

/// What [`Chronos::shred`](crate::Chronos::shred) destroyed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShredReport {
    /// The route database.
    pub db_name: String,
    /// The destroyed route key's id on each index connection where the database had one.
    pub key_ids: Vec<String>,
}
