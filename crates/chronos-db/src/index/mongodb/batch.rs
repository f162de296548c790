//! Batched commits of new records: all version documents in one `insertMany`, all heads in
//! another, inside one transaction when the deployment has them.

use mongodb::bson::Document;
use mongodb::error::{ErrorKind, TRANSIENT_TRANSACTION_ERROR};
use mongodb::Client;
use tracing::debug;

use super::retry::Backoff;
use super::{commit_with_retry, is_duplicate_key, Colls, BACKEND};
use crate::error::{Error, Result};
use crate::index::CommitOutcome;

/// All or nothing: a record that exists aborts the batch with `Conflict`. Retried with
/// backoff while the transaction fails transiently, within the time budget.
pub async fn commit_in_transaction(
    client: &Client,
    c: &Colls,
    vers: Vec<Document>,
    heads: Vec<Document>,
) -> Result<CommitOutcome> {
    let mut backoff = Backoff::new();
    loop {
        let mut s = client
            .start_session()
            .await
            .map_err(|e| Error::backend(BACKEND, "start session", e))?;
        let outcome: mongodb::error::Result<CommitOutcome> = async {
            s.start_transaction().await?;
            c.ver.insert_many(vers.clone()).session(&mut s).await?;
            c.head.insert_many(heads.clone()).session(&mut s).await?;
            commit_with_retry(&mut s).await
        }
        .await;
        match outcome {
            Ok(done) => return Ok(done),
            Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                let _ = s.abort_transaction().await;
                debug!(retries = backoff.retries(), error = %e, "transient transaction error, retrying the batch");
                if !backoff.wait().await {
                    return Err(Error::backend(BACKEND, "commit new records", e));
                }
            }
            Err(e) if is_duplicate_key(&e) => {
                let _ = s.abort_transaction().await;
                // After a commit whose outcome was unknown, the batch may be in already.
                if backoff.retries() > 0 && batch_is_in(c, &vers).await? {
                    return Ok(CommitOutcome::Committed);
                }
                return Ok(CommitOutcome::Conflict { current_ov: 0 });
            }
            Err(e) => {
                let _ = s.abort_transaction().await;
                return Err(Error::backend(BACKEND, "commit new records", e));
            }
        }
    }
}

/// Whether the batch's first version document is stored as this batch wrote it (same payload
/// key): the transaction put all of them in, or none.
async fn batch_is_in(c: &Colls, vers: &[Document]) -> Result<bool> {
    let Some(first) = vers.first() else {
        return Ok(false);
    };
    let (Ok(id), Ok(key)) = (first.get_str("id"), first.get_str("blobKey")) else {
        return Ok(false);
    };
    let found = c
        .ver
        .find_one(mongodb::bson::doc! {"id": id, "ov": 0_i64, "blobKey": key})
        .await
        .map_err(|e| Error::backend(BACKEND, "read version", e))?;
    Ok(found.is_some())
}

/// Without transactions the version insert is each record's commit point: every record
/// whose version 0 went in gets its head, the others make the outcome `Conflict`.
pub async fn commit_without_transaction(
    c: &Colls,
    vers: Vec<Document>,
    heads: Vec<Document>,
) -> Result<CommitOutcome> {
    let failed = match c.ver.insert_many(vers).ordered(false).await {
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
            _ => return Err(Error::backend(BACKEND, "insert versions", e)),
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
                return Err(Error::backend(BACKEND, "insert heads", e));
            }
        }
    }
    Ok(if failed.is_empty() {
        CommitOutcome::Committed
    } else {
        CommitOutcome::Conflict { current_ov: 0 }
    })
}
