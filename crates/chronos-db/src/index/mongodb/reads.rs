//! Point reads on MongoDB: a record's head and single versions, full or lean.

use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};

use super::errors::err;
use super::{docs, Colls};
use crate::error::Result;
use crate::index::{HeadRow, Located, VersionPick, VersionRow, CLAIM_SENTINEL};

/// The head document of `id`, with every field or only the lean ones.
async fn head_doc(c: &Colls, id: &str, lean: bool) -> Result<Option<Document>> {
    let mut find = c.head.find_one(doc! {"_id": id});
    if lean {
        find = find.projection(docs::lean_projection());
    }
    find.await.map_err(err("read head"))
}

/// The version document of `id` that a historical `pick` designates (never a claim).
async fn version_doc(
    c: &Colls,
    id: &str,
    pick: VersionPick,
    lean: bool,
) -> Result<Option<Document>> {
    let (filter, sort) = match pick {
        // The callers read the latest from the head.
        VersionPick::Latest => return Ok(None),
        VersionPick::Ov(ov) => {
            let Ok(ov) = i64::try_from(ov) else {
                return Ok(None);
            };
            // A point lookup on the unique (id, ov) index; a claim (it carries the sentinel
            // time) is dropped below rather than filtered here, which would let a server
            // plan the read on another index.
            (doc! {"id": id, "ov": ov}, None)
        }
        // Claims carry the sentinel time and cv, so bounds below it never reach them.
        VersionPick::AsOf(at) => (
            doc! {"id": id, "at": {"$lte": at.min(CLAIM_SENTINEL - 1)}},
            Some(doc! {"at": -1, "ov": -1}),
        ),
        VersionPick::AtCv(cv) => (
            doc! {"id": id, "cv": {"$lte": i64::try_from(cv).unwrap_or(i64::MAX).min(CLAIM_SENTINEL - 1)}},
            Some(doc! {"ov": -1}),
        ),
    };
    let mut find = c.ver.find_one(filter);
    if let Some(sort) = sort {
        find = find.sort(sort);
    }
    if lean {
        find = find.projection(docs::lean_projection());
    }
    let found = find.await.map_err(err("read version"))?;
    Ok(found.filter(|d| !matches!(d.get("at"), Some(Bson::Int64(CLAIM_SENTINEL)))))
}

/// Up to `limit` version rows matching `filter` in `order` (a limit beyond `i64` is no
/// limit).
pub async fn versions_where(
    c: &Colls,
    filter: Document,
    order: Document,
    limit: usize,
    operation: &'static str,
) -> Result<Vec<VersionRow>> {
    let mut find = c.ver.find(filter).sort(order);
    if let Ok(limit) = i64::try_from(limit) {
        find = find.limit(limit);
    }
    let found: Vec<Document> = find
        .await
        .map_err(err(operation))?
        .try_collect()
        .await
        .map_err(err(operation))?;
    found.iter().map(|d| docs::read_version(d, "id")).collect()
}

/// The head of `id` (full).
pub async fn head(c: &Colls, id: &str) -> Result<Option<HeadRow>> {
    head_doc(c, id, false)
        .await?
        .as_ref()
        .map(docs::read_head)
        .transpose()
}

/// The version of `id` that `pick` designates (full).
pub async fn version(c: &Colls, id: &str, pick: VersionPick) -> Result<Option<VersionRow>> {
    if pick == VersionPick::Latest {
        return Ok(head(c, id).await?.map(|h| h.latest));
    }
    version_doc(c, id, pick, false)
        .await?
        .as_ref()
        .map(|d| docs::read_version(d, "id"))
        .transpose()
}

/// Where the version of `id` that `pick` designates is (lean), with the head's shadow for
/// the latest.
pub async fn locate(c: &Colls, id: &str, pick: VersionPick) -> Result<Option<Located>> {
    if pick == VersionPick::Latest {
        return head_doc(c, id, true)
            .await?
            .as_ref()
            .map(|d| docs::read_located(d, "_id"))
            .transpose();
    }
    let found = version_doc(c, id, pick, true).await?;
    found
        .as_ref()
        .map(|d| docs::read_located(d, "id"))
        .transpose()
}
