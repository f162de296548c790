//! What `Collection::append` is asked to write: the new version, what it follows and how
//! it is written. Direct writes, restores, enrichment and the replay of queued writes all
//! describe their version this way.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::CounterEvent;
use crate::index::VersionRef;
use crate::model::{VersionKind, WriteMeta};

/// What a new version will hold.
pub(super) struct NewVersion<'a> {
    pub id: &'a str,
    pub prev: Prev<'a>,
    pub data: Value,
    pub deleted: bool,
    pub meta: WriteMeta,
    /// What kind of write it is.
    pub kind: VersionKind,
    /// Enrichment functions that produced this version (provenance).
    pub function_ids: Vec<String>,
    /// How the version is written.
    pub mode: AppendMode<'a>,
}

/// What a new version follows.
#[derive(Debug, Clone, Copy)]
pub(super) enum Prev<'a> {
    /// Nothing: version 0 of a new record.
    New,
    /// The latest version, as the caller read (and checked) it from the head.
    Head(&'a VersionRef),
    /// The version the caller says is latest, unread: the commit checks it, and that the
    /// record is live.
    Expected(u64),
}

impl Prev<'_> {
    pub(super) fn next_ov(self) -> u64 {
        match self {
            Prev::New => 0,
            Prev::Head(h) => h.ov + 1,
            Prev::Expected(ov) => ov + 1,
        }
    }

    /// The earliest time the new version may carry (as far as the caller knows).
    pub(super) fn at(self) -> i64 {
        match self {
            Prev::Head(h) => h.at,
            _ => i64::MIN,
        }
    }

    /// The counter event of a new version: a create, a delete of a live record, or an
    /// update (which includes enrich, restore and undeleting).
    pub(super) fn event(self, deleted: bool) -> CounterEvent {
        match self {
            Prev::New => CounterEvent::Create,
            Prev::Head(h) if deleted && !h.deleted => CounterEvent::Delete,
            Prev::Expected(_) if deleted => CounterEvent::Delete,
            _ => CounterEvent::Update,
        }
    }
}

/// How `append` writes a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AppendMode<'a> {
    /// A user write: queued for replay when storage fails and the fallback queue is on.
    Queueable,
    /// Written or failed, never queued (restores, which report what they did).
    Direct,
    /// The replay of a queued write, with the collection version and time it was
    /// acknowledged with; it takes the place its claim holds.
    Replay {
        /// The queued write's op id (its claim).
        op_id: &'a str,
        /// Collection version.
        cv: u64,
        /// Time of the write.
        at: DateTime<Utc>,
        /// Whether the record must still be live (the queued write was an update).
        live_only: bool,
    },
}
