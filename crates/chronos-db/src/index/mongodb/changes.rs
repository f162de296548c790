//! The change log on MongoDB. A version document's `_id` is its collection version
//! (`cv:<cv>`), and so is the `_id` of a queued write's claim; sealing a cv inserts a seal
//! document with that `_id`. The unique `_id` makes a seal, a claim and a commit of one cv
//! exclude each other, with or without transactions: a writer whose reserved cv was sealed
//! meets a duplicate key and commits with a fresh cv. Seal documents carry the sentinel time
//! (so every read of versions by time or by record leaves them out) and their cv (so the
//! feed's read in cv order finds them); the settled mark is a document in the collection's
//! counter collection.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};

use super::errors::{err, fail, is_duplicate_key};
use super::{docs, Colls, MongoIndex};
use crate::error::Result;
use crate::index::rules;
use crate::index::{ChangeLog, ChangeScan, CvState, Namespace, CLAIM_KEY_PREFIX, CLAIM_SENTINEL};

/// The record id of seal documents (record ids never contain NUL).
const SEALED_ID: &str = "\0sealed";

/// The `_id` of the counter document holding the settled mark.
const SETTLED_ID: &str = "settled";

/// The `_id` of the version document (or claim, or seal) of collection version `cv`.
pub fn cv_key(cv: u64) -> String {
    format!("cv:{cv}")
}

#[async_trait]
impl ChangeLog for MongoIndex {
    async fn change_scan(
        &self,
        ns: &Namespace,
        after: Option<u64>,
        limit: usize,
    ) -> Result<ChangeScan> {
        let c = self.colls(ns).await?;
        let settled = c
            .counter
            .find_one(doc! {"_id": SETTLED_ID})
            .await
            .map_err(err("read the settled mark"))?
            .and_then(|d| match d.get("cv") {
                Some(Bson::Int64(cv)) => u64::try_from(*cv).ok(),
                Some(Bson::Int32(cv)) => u64::try_from(*cv).ok(),
                _ => None,
            });
        let after = after.map_or(Ok(-1), docs::int)?;
        // Claims carry the sentinel cv: the upper bound leaves them out.
        let mut find = c
            .ver
            .find(doc! {"cv": {"$gt": after, "$lt": CLAIM_SENTINEL}})
            .sort(doc! {"cv": 1});
        if let Ok(limit) = i64::try_from(limit) {
            find = find.limit(limit);
        }
        let found: Vec<Document> = find
            .await
            .map_err(err("read changes"))?
            .try_collect()
            .await
            .map_err(err("read changes"))?;
        let mut versions = Vec::with_capacity(found.len());
        let mut sealed = Vec::new();
        for d in &found {
            if d.get_str("id") == Ok(SEALED_ID) {
                sealed.extend(d.get_i64("cv").ok().and_then(|cv| u64::try_from(cv).ok()));
            } else {
                versions.push(docs::read_version(d, "id")?);
            }
        }
        Ok(ChangeScan {
            settled,
            entries: rules::merge_changes(versions, sealed, limit),
        })
    }

    async fn seal_cv(&self, ns: &Namespace, cv: u64) -> Result<CvState> {
        let c = self.colls(ns).await?;
        seal(&c, cv).await
    }

    async fn mark_settled(&self, ns: &Namespace, cv: u64) -> Result<()> {
        let c = self.colls(ns).await?;
        c.counter
            .update_one(
                doc! {"_id": SETTLED_ID},
                doc! {"$max": {"cv": docs::int(cv)?}},
            )
            .upsert(true)
            .await
            .map_err(err("mark collection versions settled"))?;
        Ok(())
    }
}

/// Seals `cv` unless a version or a claim has its `_id`.
pub async fn seal(c: &Colls, cv: u64) -> Result<CvState> {
    match c.ver.insert_one(seal_doc(cv)?).await {
        Ok(_) => Ok(CvState::Sealed),
        Err(e) if is_duplicate_key(&e) => Ok(state_of(c, cv).await?.unwrap_or(CvState::Sealed)),
        Err(e) => Err(fail("seal a collection version", e)),
    }
}

/// The seal document of `cv`: its `_id`, the sentinel time that keeps it out of every read
/// of versions by time or record, and its cv for the feed's read in cv order.
fn seal_doc(cv: u64) -> Result<Document> {
    let n = docs::int(cv)?;
    Ok(doc! {"_id": cv_key(cv), "id": SEALED_ID, "ov": n, "cv": n, "at": CLAIM_SENTINEL})
}

/// Seals the cvs of versions that erasure or retention removed: no change feed waits for a
/// write that can never come. A cv sealed already stays so. Run right after the removal (a
/// crash between the two leaves gaps that feeds settle on their own).
pub async fn seal_removed(c: &Colls, cvs: impl IntoIterator<Item = u64>) -> Result<()> {
    let seals = cvs.into_iter().map(seal_doc).collect::<Result<Vec<_>>>()?;
    if seals.is_empty() {
        return Ok(());
    }
    match c.ver.insert_many(seals).ordered(false).await {
        Ok(_) => Ok(()),
        Err(e) if only_duplicates(&e) => Ok(()),
        Err(e) => Err(fail("seal removed collection versions", e)),
    }
}

/// Whether every failure of an unordered insert was a duplicate key (nothing else failed).
fn only_duplicates(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::InsertMany(m) => {
            m.write_concern_error.is_none()
                && m.write_errors
                    .as_ref()
                    .is_some_and(|ws| ws.iter().all(|w| w.code == 11000))
        }
        _ => is_duplicate_key(e),
    }
}

/// What holds `cv`'s `_id`: a seal, a claim or a version (`None`: nothing).
async fn state_of(c: &Colls, cv: u64) -> Result<Option<CvState>> {
    let found = c
        .ver
        .find_one(doc! {"_id": cv_key(cv)})
        .projection(doc! {"id": 1, "blobKey": 1})
        .await
        .map_err(err("read a collection version"))?;
    Ok(found.map(|d| {
        if d.get_str("id") == Ok(SEALED_ID) {
            CvState::Sealed
        } else if d
            .get_str("blobKey")
            .is_ok_and(|k| k.starts_with(CLAIM_KEY_PREFIX))
        {
            CvState::Held
        } else {
            CvState::Committed
        }
    }))
}

/// Whether `cv` is sealed.
pub async fn is_sealed(c: &Colls, cv: u64) -> Result<bool> {
    Ok(state_of(c, cv).await? == Some(CvState::Sealed))
}
