//! The change log: what a change feed reads, and how it makes the order of collection
//! versions final.
//!
//! A collection version (cv) is taken before its commit wherever taking it inside the commit
//! would serialise a collection's writers (MongoDB always; SQLite for batches and queued
//! writes), so a write that took cv 7 may commit after the one that took cv 8. A feed that
//! delivered cv 8 must never see cv 7 appear later. The log lets it settle every cv below
//! what it delivers: a cv is *committed* (a version carries it), *held* (a queued write the
//! fallback queue acknowledged with it), or *sealed* (given up: no commit can take it any
//! more; a writer whose reserved cv was sealed commits with a fresh one instead). Every cv up
//! to the collection's *settled* mark is one of committed or sealed, for good.

use async_trait::async_trait;

use super::records::IndexBackend;
use super::rows::{Namespace, VersionRow};
use crate::error::Result;

/// One entry of a [`ChangeLog::change_scan`], in cv order. Nearly every entry is a version,
/// so versions are not boxed.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum ChangeEntry {
    /// A committed version.
    Version(VersionRow),
    /// A sealed cv: no version has it, and none ever will.
    Sealed(u64),
}

impl ChangeEntry {
    /// The collection version of the entry.
    pub fn cv(&self) -> u64 {
        match self {
            ChangeEntry::Version(row) => row.cv,
            ChangeEntry::Sealed(cv) => *cv,
        }
    }
}

/// What a change scan read: committed versions and sealed cvs above a cv, and the
/// collection's settled mark.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeScan {
    /// Every cv at or below this is committed or sealed for good (`None`: no mark yet).
    pub settled: Option<u64>,
    /// Entries above the asked cv, in cv order, at most the asked number.
    pub entries: Vec<ChangeEntry>,
}

/// What became of a cv that a feed asked to seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvState {
    /// It is sealed: no commit can take it any more.
    Sealed,
    /// A committed version carries it.
    Committed,
    /// A queued write holds it: it commits with it when it is replayed.
    Held,
}

/// The change log of the collections of one backend.
#[async_trait]
pub trait ChangeLog: IndexBackend {
    /// Up to `limit` committed versions and sealed cvs with a cv above `after` (all when
    /// `None`), in cv order, with the settled mark. Claims of queued writes are never listed.
    async fn change_scan(
        &self,
        ns: &Namespace,
        after: Option<u64>,
        limit: usize,
    ) -> Result<ChangeScan>;

    /// Seals `cv` unless a version carries it or a queued write holds it, in one atomic
    /// step against the commit that would take it.
    async fn seal_cv(&self, ns: &Namespace, cv: u64) -> Result<CvState>;

    /// Raises the settled mark to `cv` (never lowers it). Callers pass a cv only when every
    /// cv up to it is committed or sealed.
    async fn mark_settled(&self, ns: &Namespace, cv: u64) -> Result<()>;
}
