//! Batched commits of new records: all version documents in one `insertMany`, all heads in
//! another, inside one transaction when the deployment has them.

use mongodb::bson::Document;
use mongodb::error::{ErrorKind, TRANSIENT_TRANSACTION_ERROR};
use mongodb::Client;
use tracing::debug;

use super::commit::commit_with_retry;
use super::errors::{err, fail, is_duplicate_key};
use super::retry::Backoff;
use super::Colls;
use crate::error::Result;
use crate::index::BatchOutcome;

/// All or nothing: a record that exists aborts the batch, which answers the ids taken. Retried with
/// backoff while the transaction fails transiently, within the time budget.
pub async fn commit_in_transaction(
    client: &Client,
    c: &Colls,
    vers: Vec<Document>,
    heads: Vec<Document>,
) -> Result<BatchOutcome> {
    let mut backoff = Backoff::new();
    loop {
        let mut s = client.start_session().await.map_err(err("start session"))?;
        let outcome: mongodb::error::Result<()> = async {
            s.start_transaction().await?;
            c.ver.insert_many(vers.clone()).session(&mut s).await?;
            c.head.insert_many(heads.clone()).session(&mut s).await?;
            commit_with_retry(&mut s).await.map(|_| ())
        }
        .await;
        match outcome {
            Ok(()) => return Ok(BatchOutcome::Committed),
            Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                let _ = s.abort_transaction().await;
                debug!(retries = backoff.retries(), error = %e, "transient transaction error, retrying the batch");
                if !backoff.wait().await {
                    return Err(fail("commit new records", e));
                }
            }
            Err(e) if is_duplicate_key(&e) => {
                let _ = s.abort_transaction().await;
                // After a commit whose outcome was unknown, the batch may be in already.
                if backoff.retries() > 0 && batch_is_in(c, &vers).await? {
                    return Ok(BatchOutcome::Committed);
                }
                return Ok(BatchOutcome::Taken {
                    ids: existing_ids(c, &vers).await?,
                    others_committed: false,
                });
            }
            Err(e) => {
                let _ = s.abort_transaction().await;
                return Err(fail("commit new records", e));
            }
        }
    }
}

/// Whether the batch's first version document is stored as this batch wrote it (same
/// collection version, which only this batch reserved): the transaction put all of them in,
/// or none.
async fn batch_is_in(c: &Colls, vers: &[Document]) -> Result<bool> {
    let Some(first) = vers.first() else {
        return Ok(false);
    };
    let (Ok(id), Ok(cv)) = (first.get_str("id"), first.get_i64("cv")) else {
        return Ok(false);
    };
    let found = c
        .ver
        .find_one(mongodb::bson::doc! {"id": id, "ov": 0_i64, "cv": cv})
        .await
        .map_err(err("read version"))?;
    Ok(found.is_some())
}

/// The ids of a batch's version documents whose record has a head already.
async fn existing_ids(c: &Colls, vers: &[Document]) -> Result<Vec<String>> {
    use futures::TryStreamExt;
    let ids: Vec<&str> = vers.iter().filter_map(|d| d.get_str("id").ok()).collect();
    let found: Vec<Document> = c
        .head
        .find(mongodb::bson::doc! {"_id": {"$in": ids}})
        .projection(mongodb::bson::doc! {"_id": 1})
        .await
        .map_err(err("read heads"))?
        .try_collect()
        .await
        .map_err(err("read heads"))?;
    Ok(found
        .iter()
        .filter_map(|d| d.get_str("_id").ok().map(str::to_string))
        .collect())
}

/// Without transactions the version insert is each record's commit point: every record
/// whose version 0 went in gets its head; the others are answered as taken.
pub async fn commit_without_transaction(
    c: &Colls,
    vers: Vec<Document>,
    heads: Vec<Document>,
) -> Result<BatchOutcome> {
    let taken_ids = |failed: &[usize]| -> Vec<String> {
        failed
            .iter()
            .filter_map(|i| vers.get(*i).and_then(|d| d.get_str("id").ok()))
            .map(str::to_string)
            .collect()
    };
    let failed: Vec<usize> = match c.ver.insert_many(vers.clone()).ordered(false).await {
        Ok(_) => Vec::new(),
        Err(e) => match e.kind.as_ref() {
            ErrorKind::InsertMany(m)
                if m.write_concern_error.is_none()
                    && m.write_errors
                        .as_ref()
                        .is_some_and(|ws| ws.iter().all(|w| w.code == 11000)) =>
            {
                m.write_errors
                    .as_ref()
                    .map(|ws| ws.iter().map(|w| w.index).collect())
                    .unwrap_or_default()
            }
            _ => return Err(fail("insert versions", e)),
        },
    };
    let heads: Vec<Document> = heads
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !failed.contains(i))
        .map(|(_, h)| h)
        .collect();
    if !heads.is_empty() {
        if let Err(e) = c.head.insert_many(heads).ordered(false).await {
            // A head that exists already belongs to a record that was committed before.
            if !is_duplicate_key(&e) {
                return Err(fail("insert heads", e));
            }
        }
    }
    Ok(if failed.is_empty() {
        BatchOutcome::Committed
    } else {
        BatchOutcome::Taken {
            ids: taken_ids(&failed),
            others_committed: failed.len() < vers.len(),
        }
    })
}
