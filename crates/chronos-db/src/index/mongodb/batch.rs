//! Batched commits of new records: all version documents in one `insertMany`, all heads in
//! another, inside one transaction when the deployment has them.

use std::time::Duration;

use mongodb::bson::Document;
use mongodb::error::{ErrorKind, TRANSIENT_TRANSACTION_ERROR};
use mongodb::Client;
use tracing::debug;

use super::{commit_with_retry, is_duplicate_key, Colls, BACKEND, TXN_ATTEMPTS};
use crate::error::{Error, Result};
use crate::index::CommitOutcome;

/// All or nothing: a record that exists aborts the batch with `Conflict`.
pub async fn commit_in_transaction(
    client: &Client,
    c: &Colls,
    vers: Vec<Document>,
    heads: Vec<Document>,
) -> Result<CommitOutcome> {
    let mut last_error = None;
    for attempt in 0..TXN_ATTEMPTS {
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
                debug!(attempt, error = %e, "transient transaction error, retrying the batch");
                tokio::time::sleep(Duration::from_millis(2 << attempt)).await;
                last_error = Some(e);
            }
            Err(e) if is_duplicate_key(&e) => {
                let _ = s.abort_transaction().await;
                return Ok(CommitOutcome::Conflict { current_ov: 0 });
            }
            Err(e) => {
                let _ = s.abort_transaction().await;
                return Err(Error::backend(BACKEND, "commit new records", e));
            }
        }
    }
    Err(Error::backend(
        BACKEND,
        "commit new records",
        last_error.map_or_else(|| "transaction kept failing".to_string(), |e| e.to_string()),
    ))
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
