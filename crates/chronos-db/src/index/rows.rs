//! What the record index stores and answers: version rows (full and lean), heads, and the
//! options and outcomes of commits and reads.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::model::VersionKind;
use crate::query::{Filter, Sort};

/// A SHA-256 hash: of a version's payload bytes, or a link of the hash chain.
pub type Hash = [u8; 32];

/// One collection in one index database.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    /// Index database name.
    pub db_name: String,
    /// Collection name.
    pub collection: String,
    /// Properties declared in `collectionMaps.indexedProps`, to create indexes for.
    pub indexed_props: Arc<Vec<String>>,
}

/// Where a committed version's payload is, and the facts of its history: what a payload
/// read needs (a lean read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRef {
    /// Record id.
    pub id: String,
    /// Object version.
    pub ov: u64,
    /// Collection version.
    pub cv: u64,
    /// Time of the write, in microseconds since the Unix epoch.
    pub at: i64,
    /// Logical delete marker.
    pub deleted: bool,
    /// Where the payload bytes are.
    pub payload: PayloadRef,
}

/// Where a committed version's payload bytes are (`writeOptimization.payloadLayout`).
#[derive(Clone, PartialEq, Eq)]
pub enum PayloadRef {
    /// An object at this key in the route's bucket.
    Object(String),
    /// In the version row itself; a head keeps a copy of its latest version's.
    Inline(Bytes),
}

impl PayloadRef {
    /// The object key, when the payload is an object.
    pub fn object_key(&self) -> Option<&str> {
        match self {
            PayloadRef::Object(key) => Some(key),
            PayloadRef::Inline(_) => None,
        }
    }
}

impl std::fmt::Debug for PayloadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes: they are a user's record.
        match self {
            PayloadRef::Object(key) => f.debug_tuple("Object").field(key).finish(),
            PayloadRef::Inline(bytes) => write!(f, "Inline({} bytes)", bytes.len()),
        }
    }
}

/// One version, as the index keeps it (a full read): the lean part plus the indexed
/// properties and provenance. It derefs to its [`VersionRef`].
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    /// Identity, history facts and the payload key.
    pub version: VersionRef,
    /// Indexed properties (flat: dotted path -> value).
    pub meta: Map<String, Value>,
    /// Who wrote it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// What kind of write produced it (inferred from `ov` and `deleted` for rows written
    /// before kinds were stored).
    pub kind: VersionKind,
    /// Enrichment functions that produced it (empty for other writes, and in rows written
    /// before function ids were kept in the index: their payloads have them).
    pub function_ids: Vec<String>,
    /// The digest of its payload bytes (SHA-256, see the `chain` module), given to a commit
    /// so that the commit links the row's `hash` once it has fixed its time. Never stored;
    /// `None` in rows read back.
    pub digest: Option<Hash>,
    /// Its link in the record's hash chain ([`super::chain::link`]), set by the commit;
    /// `None` for versions written before versions had hashes, and for rows committed
    /// without a `digest`.
    pub hash: Option<Hash>,
}

impl VersionRow {
    /// A version row of `version` without indexed properties, provenance or hash, of the
    /// kind its ov and delete marker suggest.
    pub fn bare(version: VersionRef) -> Self {
        VersionRow {
            kind: VersionKind::inferred(version.ov, version.deleted),
            version,
            meta: Map::new(),
            actor: String::new(),
            reason: String::new(),
            function_ids: Vec::new(),
            digest: None,
            hash: None,
        }
    }

    /// Whether this row is a queued write's claim rather than a committed version.
    #[cfg(any(test, feature = "backend-api"))]
    pub fn is_claim(&self) -> bool {
        self.payload
            .object_key()
            .is_some_and(|k| k.starts_with(CLAIM_KEY_PREFIX))
    }

    /// The claim row that holds version `ov` of `id` for the queued write `op_id`.
    pub fn claim(id: &str, ov: u64, deleted: bool, op_id: &str) -> Self {
        VersionRow::bare(VersionRef {
            id: id.to_string(),
            ov,
            cv: CLAIM_SENTINEL as u64,
            at: CLAIM_SENTINEL,
            deleted,
            payload: PayloadRef::Object(format!("{CLAIM_KEY_PREFIX}{op_id}")),
        })
    }
}

impl std::ops::Deref for VersionRow {
    type Target = VersionRef;

    fn deref(&self) -> &VersionRef {
        &self.version
    }
}

impl std::ops::DerefMut for VersionRow {
    fn deref_mut(&mut self) -> &mut VersionRef {
        &mut self.version
    }
}

/// The head of a record: its latest version plus when the record was created (a full read).
#[derive(Debug, Clone, PartialEq)]
pub struct HeadRow {
    /// The latest committed version.
    pub latest: VersionRow,
    /// Time of version 0, in microseconds since the Unix epoch.
    pub created_at: i64,
    /// The latest payload envelope kept in the head (`devShadow`), when small enough.
    pub shadow: Option<String>,
    /// The newest version retention removed, when it removed any: the record's hash chain
    /// now starts after it.
    pub anchor: Option<Anchor>,
}

/// What the record's chain links to after retention removed its oldest versions: the last
/// removed version's ov and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// The removed version's ov.
    pub ov: u64,
    /// Its hash (`None`: it was written before versions had hashes).
    pub hash: Option<Hash>,
}

/// A version found by a lean read ([`crate::index::RecordIndex::locate`], listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The version.
    pub version: VersionRef,
    /// What kind of write produced it.
    pub kind: VersionKind,
    /// The payload envelope kept in the head (`devShadow`), when the version is the
    /// record's latest and the head keeps one.
    pub shadow: Option<String>,
}

/// Which version of a record a read designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionPick {
    /// The latest committed version (the head's).
    Latest,
    /// Object version `ov`.
    Ov(u64),
    /// The latest version written at or before this time (microseconds).
    AsOf(i64),
    /// The latest version whose collection version is at most this.
    AtCv(u64),
}

/// What a full read of one record returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordRead {
    /// Read the head.
    pub head: bool,
    /// Read this version.
    pub version: Option<VersionPick>,
}

/// The answer to a [`RecordRead`]: what was asked for and exists. The two reads are one step
/// where the backend has snapshots (SQLite); elsewhere the head may be newer than the
/// version, so callers check what they rely on at commit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordState {
    /// The head, when asked for and the record exists.
    pub head: Option<HeadRow>,
    /// The version, when asked for and it exists.
    pub version: Option<VersionRow>,
}

/// The collection version a commit carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvChoice {
    /// This one, reserved beforehand (or acknowledged with a queued write).
    Given(u64),
    /// The next one, taken inside the commit's own atomic step.
    AtCommit,
}

/// How a version is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOptions {
    /// The collection version it carries.
    pub cv: CvChoice,
    /// Refuse with `Deleted` when the record's latest version is a logical delete.
    pub require_live: bool,
    /// The version replays the queued write with this op id: it replaces that write's claim
    /// (see [`crate::index::QueueStore::claim_queued`]) in the same atomic step, and is
    /// refused with `Missing` when the claim is gone (the write was cancelled or the record
    /// erased).
    pub claim: Option<String>,
}

/// Result of trying to commit a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitOutcome {
    /// The version row is written and the head points at it.
    Committed,
    /// Another version won: the record's current ov is given.
    Conflict {
        /// The record's current ov.
        current_ov: u64,
    },
    /// A version > 0 was committed for a record that has no versions.
    Missing,
    /// The record's latest version is a logical delete and the commit asked for a live one.
    Deleted {
        /// The record's current ov.
        current_ov: u64,
    },
    /// A queued write's claim named a collection version that a change feed gave up
    /// (sealed) before the claim: nothing is stored, and the write may claim again with a
    /// fresh collection version.
    CvSealed,
    /// The record is held by another writer's unfinished atomic step (on MongoDB, a
    /// transaction of a writer that stopped mid-commit holds it until the server ends the
    /// transaction): nothing is stored, the record did not move on, and the same write may
    /// pass later. Never a conflict: the stored ov is the one expected.
    Held {
        /// How long the server keeps an unfinished transaction (and what it holds), in
        /// seconds, when the backend could find out.
        limit_seconds: Option<u64>,
    },
}

/// Result of committing a batch of new records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchOutcome {
    /// Every record of the batch is committed.
    Committed,
    /// These ids exist already.
    Taken {
        /// The ids that exist already.
        ids: Vec<String>,
        /// Whether the other records were committed all the same (a backend without
        /// transactions); otherwise none was.
        others_committed: bool,
    },
}

/// Marks the version row that holds a queued write's place (its object key starts with this,
/// followed by the op id).
pub const CLAIM_KEY_PREFIX: &str = "queued:";

/// The `at` and `cv` of a claim row: beyond every real time and collection version, so no
/// range read (as-of, by cv) ever reaches one.
pub const CLAIM_SENTINEL: i64 = i64::MAX;

/// A listing of heads, already validated by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadQuery {
    /// Filter over indexed properties.
    pub filter: Option<Filter>,
    /// Order.
    pub sort: Sort,
    /// Most rows to return.
    pub limit: usize,
    /// Start after this record in `sort` order (it must exist).
    pub after_id: Option<String>,
    /// Include heads whose latest version is a logical delete.
    pub include_deleted: bool,
    /// Only records written since this collection version (their head's cv is above it).
    pub written_after_cv: Option<u64>,
}
