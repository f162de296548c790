//! Claims of queued writes on MongoDB: a document in `<coll>_ver` holding `(id, ov)` for a
//! write the fallback queue acknowledged (see `IndexStore::claim_queued`). The unique
//! `(id, ov)` index makes a claim and a committed version exclude each other, with or
//! without transactions. Claims carry the sentinel `at` and `cv`, which keeps them out of
//! every range read.

use mongodb::bson::{doc, Document};
use mongodb::error::TRANSIENT_TRANSACTION_ERROR;
use mongodb::{Client, ClientSession};
use tracing::debug;

use super::errors::{err, fail, is_duplicate_key};
use super::retry::Backoff;
use super::{changes, docs, queue_table, Colls};
use crate::error::Result;
use crate::index::rules::sequence_outcome;
use crate::index::{CommitOutcome, QueueClaim, VersionRow, CLAIM_KEY_PREFIX};

/// The filter matching the claim of `op_id` on `(id, ov)`.
pub fn claim_filter(id: &str, ov: u64, op_id: &str) -> Document {
    doc! {
        "id": id,
        "ov": i64::try_from(ov).unwrap_or(i64::MAX),
        "blobKey": format!("{CLAIM_KEY_PREFIX}{op_id}"),
    }
}

/// The claim row document of a queued write, keyed by the cv it holds for the write.
fn claim_doc(claim: &QueueClaim) -> Result<Document> {
    let mut d = docs::version_doc(&VersionRow::claim(
        &claim.row.record_id,
        claim.ov,
        claim.deleted,
        &claim.row.op_id,
    ))?;
    d.insert("_id", changes::cv_key(claim.cv));
    Ok(d)
}

/// Why a claim was refused by a duplicate key: its cv was sealed (the key was its cv's),
/// else the conflict on `(id, ov)`.
async fn refused_claim(c: &Colls, claim: &QueueClaim) -> Result<CommitOutcome> {
    if changes::is_sealed(c, claim.cv).await? {
        return Ok(CommitOutcome::CvSealed);
    }
    Ok(CommitOutcome::Conflict {
        current_ov: tail_ov(c, &claim.row.record_id).await?.unwrap_or(claim.ov),
    })
}

/// The last version of `id`, committed or claimed: its ov and whether it is a delete.
async fn tail(
    c: &Colls,
    id: &str,
    session: Option<&mut ClientSession>,
) -> mongodb::error::Result<Option<(u64, bool)>> {
    let find = c.ver.find_one(doc! {"id": id}).sort(doc! {"ov": -1});
    let found = match session {
        Some(s) => find.session(s).await?,
        None => find.await?,
    };
    Ok(found.and_then(|d| docs::read_version(&d, "id").ok().map(|r| (r.ov, r.deleted))))
}

/// The last ov of `id`, committed or claimed (what a conflict reports).
pub async fn tail_ov(c: &Colls, id: &str) -> Result<Option<u64>> {
    Ok(tail(c, id, None)
        .await
        .map_err(err("read latest version"))?
        .map(|(ov, _)| ov))
}

/// Claims inside a transaction, retried while the transaction fails transiently.
pub async fn claim_in_transaction(
    client: &Client,
    c: &Colls,
    db_name: &str,
    claim: &QueueClaim,
) -> Result<CommitOutcome> {
    let id = &claim.row.record_id;
    let row = claim_doc(claim)?;
    let queue = queue_table::collection(client, db_name, &claim.table);
    let mut backoff = Backoff::new();
    loop {
        let mut s = client.start_session().await.map_err(err("start session"))?;
        let tried: mongodb::error::Result<CommitOutcome> = async {
            s.start_transaction().await?;
            if let Some(refused) = sequence_outcome(
                tail(c, id, Some(&mut s)).await?,
                claim.ov,
                claim.require_live,
            ) {
                s.abort_transaction().await?;
                return Ok(refused);
            }
            c.ver.insert_one(row.clone()).session(&mut s).await?;
            queue
                .insert_one(queue_table::row_doc(&claim.row))
                .session(&mut s)
                .await?;
            super::commit::commit_with_retry(&mut s).await
        }
        .await;
        match tried {
            Ok(outcome) => return Ok(outcome),
            Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                let _ = s.abort_transaction().await;
                debug!(retries = backoff.retries(), error = %e, "transient transaction error while queueing, retrying");
                if !backoff.wait().await {
                    return Err(fail("queue a write", e));
                }
            }
            Err(e) if is_duplicate_key(&e) => {
                let _ = s.abort_transaction().await;
                // After a commit whose outcome was unknown, the claim may be in already.
                let ours = claim_filter(id, claim.ov, &claim.row.op_id);
                if backoff.retries() > 0
                    && c.ver
                        .find_one(ours)
                        .await
                        .map_err(err("read claim"))?
                        .is_some()
                {
                    return Ok(CommitOutcome::Committed);
                }
                return refused_claim(c, claim).await;
            }
            Err(e) => {
                let _ = s.abort_transaction().await;
                return Err(fail("queue a write", e));
            }
        }
    }
}

/// Claims without a transaction: the queue row first, then the claim, whose unique
/// `(id, ov)` decides. A refused claim takes its queue row back. A crash between the two
/// leaves a queue row without a claim: that write was never acknowledged, and its replay
/// finds no claim and dead-letters it.
pub async fn claim_without_transaction(
    client: &Client,
    c: &Colls,
    db_name: &str,
    claim: &QueueClaim,
) -> Result<CommitOutcome> {
    let id = &claim.row.record_id;
    let last = tail(c, id, None)
        .await
        .map_err(err("read latest version"))?;
    if let Some(refused) = sequence_outcome(last, claim.ov, claim.require_live) {
        return Ok(refused);
    }
    queue_table::put(client, db_name, &claim.table, &claim.row).await?;
    let row = claim_doc(claim)?;
    match c.ver.insert_one(row).await {
        Ok(_) => Ok(CommitOutcome::Committed),
        Err(e) if is_duplicate_key(&e) => {
            queue_table::remove(client, db_name, &claim.table, &claim.row.op_id).await?;
            refused_claim(c, claim).await
        }
        // The claim may or may not be in: the queue row stays, and its replay commits the
        // write (a claim is there) or dead-letters it (none is). Either way it was never
        // acknowledged.
        Err(e) => Err(fail("claim a queued write's version", e)),
    }
}
