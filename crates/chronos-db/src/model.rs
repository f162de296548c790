//! The values the public API takes and returns: `Item`, `WriteResult`, `WriteMeta`,
//! `ReadOptions`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One version of a record, as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Item {
    /// Record id.
    pub id: String,
    /// Object version: 0 for the first version, +1 per write of the record.
    pub ov: u64,
    /// Collection version of the write that produced this version.
    pub cv: u64,
    /// When this version was written.
    pub at: DateTime<Utc>,
    /// Whether this version is a logical delete (its data is the last state before it).
    pub deleted: bool,
    /// The record's JSON (projected when `ReadOptions::projection` was set).
    pub data: Value,
    /// Who wrote this version.
    pub actor: String,
    /// Why this version was written.
    pub reason: String,
    /// Enrichment functions that produced this version (provenance; empty for plain writes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub function_ids: Vec<String>,
    /// Where the payload can be fetched directly, when `ReadOptions::presign` was set: a
    /// presigned GET URL on S3, the file path for local files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// URLs of the base64 properties stored as their own blobs (`blob.bin`), by property path,
    /// when `ReadOptions::presign` was set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub blob_urls: BTreeMap<String, String>,
}

/// What a write returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WriteResult {
    /// Record id.
    pub id: String,
    /// The new object version.
    pub ov: u64,
    /// The collection version of this write.
    pub cv: u64,
    /// When the version was written.
    pub at: DateTime<Utc>,
    /// Set when storage failed and the write went to the fallback queue (the queue entry
    /// id): it is durable and will commit as exactly this `ov`, `cv` and `at`, but it becomes
    /// readable only once replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<String>,
}

/// Who writes and why; stored with every version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WriteMeta {
    /// Who writes (a user, a service).
    pub actor: String,
    /// Why.
    pub reason: String,
}

impl WriteMeta {
    /// Builds write metadata.
    pub fn new(actor: impl Into<String>, reason: impl Into<String>) -> Self {
        WriteMeta {
            actor: actor.into(),
            reason: reason.into(),
        }
    }
}

/// Longest validity of a presigned URL (the S3 limit).
pub const MAX_PRESIGN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Validity of a presigned URL when `ttl` is not set.
pub const DEFAULT_PRESIGN_TTL: Duration = Duration::from_secs(3600);

/// Options of every read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Return only these property paths of the data (dotted paths allowed).
    pub projection: Option<Vec<String>>,
    /// Also return a URL of the payload (`Item::url`).
    pub presign: bool,
    /// Validity of the presigned URL (default one hour, at most seven days).
    pub ttl: Option<Duration>,
}

impl ReadOptions {
    /// Only these property paths of the data.
    pub fn project<S: Into<String>>(paths: impl IntoIterator<Item = S>) -> Self {
        ReadOptions {
            projection: Some(paths.into_iter().map(Into::into).collect()),
            ..ReadOptions::default()
        }
    }

    /// With a URL of the payload valid for `ttl`.
    pub fn presigned(ttl: Duration) -> Self {
        ReadOptions {
            presign: true,
            ttl: Some(ttl),
            ..ReadOptions::default()
        }
    }
}
