//! The values the public API takes and returns: `Version`, `WriteResult`, `WriteMeta`,
//! `ReadOptions`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One version of a record: what point reads, listings, history pages and the change feed
/// return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Version {
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
    /// What kind of write produced it.
    pub kind: VersionKind,
    /// Who wrote this version.
    pub actor: String,
    /// Why this version was written.
    pub reason: String,
    /// Enrichment functions that produced this version (provenance; empty for plain writes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub function_ids: Vec<String>,
    /// The record's JSON (projected when `ReadOptions::projection` was set). A record is
    /// always a JSON object, so `null` means the read did not ask for data: a history page
    /// or a page of changes without `with_data`.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Also return a URL of the payload (`Version::url`).
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

/// What kind of write produced a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VersionKind {
    /// Version 0 of a record (`create`, `create_with_id`, `create_many`).
    Create,
    /// A new version written by `update` (also one that brings a deleted record back).
    Update,
    /// A logical delete.
    Delete,
    /// A version written by `enrich`.
    Enrich,
    /// A version written by `restore_object` or `restore_collection`.
    Restore,
}

impl VersionKind {
    /// Every kind, in the order of their [`VersionKind::code`].
    pub const ALL: [VersionKind; 5] = [
        VersionKind::Create,
        VersionKind::Update,
        VersionKind::Delete,
        VersionKind::Enrich,
        VersionKind::Restore,
    ];

    /// Its name: `create`, `update`, `delete`, `enrich` or `restore`.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::Create => "create",
            VersionKind::Update => "update",
            VersionKind::Delete => "delete",
            VersionKind::Enrich => "enrich",
            VersionKind::Restore => "restore",
        }
    }

    /// The kind named `name` (see [`VersionKind::as_str`]).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The small integer an index row stores (1 to 5).
    pub fn code(self) -> i64 {
        match self {
            VersionKind::Create => 1,
            VersionKind::Update => 2,
            VersionKind::Delete => 3,
            VersionKind::Enrich => 4,
            VersionKind::Restore => 5,
        }
    }

    /// The kind stored as `code`.
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The kind a version's row suggests: version 0 is a create, a logical delete a delete,
    /// any other an update.
    pub(crate) fn inferred(ov: u64, deleted: bool) -> Self {
        match (ov, deleted) {
            (0, _) => VersionKind::Create,
            (_, true) => VersionKind::Delete,
            _ => VersionKind::Update,
        }
    }
}

impl std::fmt::Display for VersionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
