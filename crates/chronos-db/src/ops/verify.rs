//! Verification of the version chain: every version's payload bytes and index row are read
//! back, its hash recomputed from them and the hash of the version before it, and the first
//! version that does not match is reported, per record.

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::repair::{Progress, ProgressFn};
use super::{check_id, Collection};
use crate::error::{Error, Result};
use crate::index::chain::{self, Hash};
use crate::index::{Anchor, PayloadRef, VersionRow};

/// Records whose chains are verified per page of heads.
const VERIFY_BATCH: usize = 200;
/// Versions of one record read per page.
const VERSION_PAGE: usize = 500;
/// Payloads read at once while a record is verified.
const PAYLOAD_READS: usize = 16;

/// Why a version breaks its record's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "problem")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChainBreak {
    /// The hash recomputed from the version's payload bytes, its index row and the previous
    /// version's hash is not the one stored: the payload, the row or the stored hash was
    /// changed after the commit.
    HashMismatch {
        /// The hash stored in the row (lowercase hex).
        stored: String,
        /// The hash its bytes and row give now (lowercase hex).
        computed: String,
    },
    /// The version has no hash although an earlier version of the record has one: its hash
    /// was removed.
    HashMissing,
    /// The version before it is gone although retention did not remove it (a row deleted
    /// behind chronos-db's back).
    PredecessorMissing,
    /// The payload object the row points at is gone.
    PayloadMissing {
        /// Its key.
        key: String,
    },
}

/// The first version of a record that breaks its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokenLink {
    /// Record id.
    pub id: String,
    /// Object version.
    pub ov: u64,
    /// What is wrong with it.
    #[serde(flatten)]
    pub problem: ChainBreak,
}

/// What verifying one record's chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordVerification {
    /// Record id.
    pub id: String,
    /// Versions whose hash was recomputed and matched.
    pub verified: u64,
    /// Versions written before versions had hashes (nothing to check them against).
    pub unhashed: u64,
    /// Whether the oldest kept version follows versions removed by retention: it is then
    /// checked against the hash of the last removed one, which the record's head keeps.
    pub starts_after_prune: bool,
    /// The hash of the record's latest version (lowercase hex), to keep elsewhere: a chain
    /// rewritten as a whole ends in another hash.
    pub latest_hash: Option<String>,
    /// The first version that breaks the chain; `None` when every version matched.
    pub broken: Option<BrokenLink>,
}

/// What [`Collection::verify_all`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VerifyReport {
    /// Records checked.
    pub records: u64,
    /// Versions whose hash matched.
    pub verified: u64,
    /// Versions without a hash (written before versions had hashes).
    pub unhashed: u64,
    /// The first broken version of every record that has one, by record id.
    pub broken: Vec<BrokenLink>,
}

/// What verifying one collection found, for reports over several.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CollectionVerification {
    /// Index database.
    pub db_name: String,
    /// Collection.
    pub collection: String,
    /// What its chains gave.
    #[serde(flatten)]
    pub report: VerifyReport,
}

impl VerifyReport {
    /// Whether every chain is whole.
    pub fn is_whole(&self) -> bool {
        self.broken.is_empty()
    }
}

impl Collection {
    /// Verifies the version chain of one record: reads every kept version's payload bytes and
    /// index row, recomputes its hash and reports the first version that does not match.
    /// An unknown or erased record is [`Error::NotFound`].
    pub async fn verify(&self, id: &str) -> Result<RecordVerification> {
        check_id(id)?;
        self.verify_record(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("{}/{id}", self.name())))
    }

    /// Verifies the chain of every record of the collection, a page of records at a time
    /// (memory stays bounded by a page, whatever the collection's size).
    pub async fn verify_all(&self) -> Result<VerifyReport> {
        self.verify_all_with(None).await
    }

    /// [`Collection::verify_all`], telling `progress` after every page: records checked so
    /// far and broken chains found so far.
    pub async fn verify_all_with(&self, progress: Option<ProgressFn>) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let mut after_id = None;
        loop {
            let heads = self
                .record_page(after_id.take(), VERIFY_BATCH, None)
                .await?;
            for head in &heads {
                // A record erased since the page was read is skipped.
                let Some(checked) = self.verify_record(&head.version.id).await? else {
                    continue;
                };
                report.records += 1;
                report.verified += checked.verified;
                report.unhashed += checked.unhashed;
                report.broken.extend(checked.broken);
            }
            if let Some(tell) = &progress {
                tell(Progress {
                    scanned: report.records,
                    found: report.broken.len() as u64,
                });
            }
            match heads.last() {
                Some(last) if heads.len() == VERIFY_BATCH => {
                    after_id = Some(last.version.id.clone())
                }
                _ => return Ok(report),
            }
        }
    }

    /// Walks the kept versions of `id`, oldest first, a page at a time.
    /// `None` when the record does not exist.
    async fn verify_record(&self, id: &str) -> Result<Option<RecordVerification>> {
        let Some(head) = self.head(id).await? else {
            return Ok(None);
        };
        let mut out = RecordVerification {
            id: id.to_string(),
            verified: 0,
            unhashed: 0,
            starts_after_prune: false,
            latest_hash: None,
            broken: None,
        };
        let mut walk = ChainWalk {
            anchor: head.anchor,
            ..ChainWalk::default()
        };
        let mut after = None;
        loop {
            let rows = self
                .index()
                .version_page(&self.inner.ns, id, after, VERSION_PAGE)
                .await?;
            let reads: Vec<_> = rows.iter().map(|row| self.stored_digest(row)).collect();
            let digests: Vec<_> = futures::stream::iter(reads)
                .buffered(PAYLOAD_READS)
                .try_collect()
                .await?;
            for (row, digest) in rows.iter().zip(digests) {
                let digest = match digest {
                    Ok(digest) => digest,
                    Err(problem) => {
                        out.broken = Some(broken(row, problem));
                        return Ok(Some(out));
                    }
                };
                match walk.step(row, &digest) {
                    Step::Verified => out.verified += 1,
                    Step::Unhashed => out.unhashed += 1,
                    Step::Broken(problem) => {
                        out.broken = Some(broken(row, problem));
                        return Ok(Some(out));
                    }
                }
            }
            match rows.last() {
                Some(last) if rows.len() == VERSION_PAGE => after = Some(last.ov),
                _ => break,
            }
        }
        out.starts_after_prune = walk.after_prune;
        out.latest_hash = walk
            .last
            .and_then(|(_, hash)| hash)
            .as_ref()
            .map(chain::hex);
        Ok(Some(out))
    }

    /// The digest of a version's stored payload bytes, or why they cannot be had.
    async fn stored_digest(
        &self,
        row: &VersionRow,
    ) -> Result<std::result::Result<Hash, ChainBreak>> {
        match &row.payload {
            PayloadRef::Inline(bytes) => Ok(Ok(chain::digest(bytes))),
            PayloadRef::Object(key) => match self.inner.target.blobs.get(key).await? {
                Some(bytes) => Ok(Ok(chain::digest(&bytes))),
                None => Ok(Err(ChainBreak::PayloadMissing { key: key.clone() })),
            },
        }
    }
}

fn broken(row: &VersionRow, problem: ChainBreak) -> BrokenLink {
    BrokenLink {
        id: row.id.clone(),
        ov: row.ov,
        problem,
    }
}

/// What one version did to a chain being walked.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Verified,
    Unhashed,
    Broken(ChainBreak),
}

/// A record's chain as it is walked oldest first.
#[derive(Debug, Default)]
struct ChainWalk {
    /// Where retention left the chain to start (from the record's head).
    anchor: Option<Anchor>,
    /// The previous version's ov and hash, once a version was seen.
    last: Option<(u64, Option<Hash>)>,
    /// Whether the first kept version followed the anchor.
    after_prune: bool,
}

impl ChainWalk {
    fn step(&mut self, row: &VersionRow, digest: &Hash) -> Step {
        // What this version links to: the version before it, or, for the oldest kept one
        // after a prune, the last version removed.
        let prev = match (self.last, row.ov.checked_sub(1)) {
            (None, None) => None,
            (Some((ov, hash)), Some(before)) if ov == before => hash,
            (None, Some(before)) if self.anchor.is_some_and(|a| a.ov == before) => {
                self.after_prune = true;
                self.anchor.and_then(|a| a.hash)
            }
            // Versions written before hashes were pruned before anchors were kept.
            (None, Some(_)) if row.hash.is_none() => None,
            _ => return Step::Broken(ChainBreak::PredecessorMissing),
        };
        self.last = Some((row.ov, row.hash));
        let Some(stored) = row.hash else {
            if prev.is_some() {
                return Step::Broken(ChainBreak::HashMissing);
            }
            return Step::Unhashed;
        };
        let computed = chain::link(prev.as_ref(), row, digest);
        if computed == stored {
            Step::Verified
        } else {
            Step::Broken(ChainBreak::HashMismatch {
                stored: chain::hex(&stored),
                computed: chain::hex(&computed),
            })
        }
    }
}
