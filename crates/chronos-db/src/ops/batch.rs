//! `create_many`: many new records with one collection-version reservation and one index
//! commit per batch, and a bounded number of payload puts in flight.

use chrono::Utc;
use futures::{stream, StreamExt};
use serde_json::Value;
use tracing::debug;

use super::envelope::Envelope;
use super::payload::SideBlob;
use super::write::{from_micros, micros};
use super::Collection;
use crate::config::CounterEvent;
use crate::error::{Error, Result};
use crate::index::{chain, BatchOutcome, PayloadRef, VersionRef, VersionRow};
use crate::model::{VersionKind, WriteMeta, WriteResult};

/// Records per index commit unless `writeOptimization.batchSize` says otherwise.
pub(crate) const DEFAULT_BATCH_SIZE: usize = 500;
/// Payload puts in flight at once within a batch.
pub(crate) const MAX_CONCURRENT_PUTS: usize = 32;

/// One record of a batch, ready to store: its first version (ov 0, or the first one an
/// import brings).
pub(super) struct Prepared {
    pub envelope: Envelope,
    pub row: VersionRow,
    pub side: Vec<SideBlob>,
    pub counters: Vec<String>,
    /// The envelope kept in the head (`devShadow`), once encoded.
    pub shadow: Option<String>,
}

/// The time the versions of a batch carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BatchTime {
    /// Now, one time for the whole batch.
    Now,
    /// The time each row already has (an import's original times).
    Kept,
}

/// A record whose payload was put, or one that failed with why.
type Stored = std::result::Result<Prepared, (Prepared, Error)>;

impl Collection {
    /// Creates many records at once, each with a new id; results come in input order.
    ///
    /// Every item is checked first: one bad item is a `Validation` error naming its index,
    /// and nothing is written. Items are then stored in batches of
    /// `writeOptimization.batchSize` (default 500): one collection-version reservation, at
    /// most 32 payload puts in flight, and one index commit per batch (one transaction where
    /// the backend has them). A failure stops at the failing batch: earlier batches stay
    /// committed (their results are lost with the error, but the records are readable), the
    /// failing batch's payloads are removed. Failed batches are not put in the fallback queue.
    pub async fn create_many(
        &self,
        items: Vec<Value>,
        meta: WriteMeta,
    ) -> Result<Vec<WriteResult>> {
        let mut prepared = Vec::with_capacity(items.len());
        for (i, data) in items.into_iter().enumerate() {
            prepared.push(self.prepare_new(data, &meta).map_err(|e| match e {
                Error::Validation(m) => Error::Validation(format!("item {i}: {m}")),
                other => other,
            })?);
        }
        let mut results = Vec::with_capacity(prepared.len());
        let size = self.inner.batch_size;
        while !prepared.is_empty() {
            let rest = prepared.split_off(prepared.len().min(size));
            results.extend(self.create_batch(prepared, BatchTime::Now).await?);
            prepared = rest;
        }
        Ok(results)
    }

    /// Checks one item and builds its version (cv and time come with the batch).
    fn prepare_new(&self, data: Value, meta: &WriteMeta) -> Result<Prepared> {
        self.check_record(&data)?;
        let props = self.inner.policy.extract(&data);
        let counters = self
            .inner
            .tally
            .counters_for(CounterEvent::Create, &props, &data);
        let mut data = data;
        let side = self.inner.codec.extract(&mut data)?;
        let id = uuid::Uuid::now_v7().to_string();
        let envelope = Envelope {
            id: id.clone(),
            ov: 0,
            deleted: false,
            actor: meta.actor.clone(),
            reason: meta.reason.clone(),
            function_ids: Vec::new(),
            data,
        };
        let row = VersionRow {
            version: VersionRef {
                id,
                ov: 0,
                cv: 0,
                at: 0,
                deleted: false,
                payload: PayloadRef::Inline(bytes::Bytes::new()),
            },
            meta: props,
            actor: meta.actor.clone(),
            reason: meta.reason.clone(),
            kind: VersionKind::Create,
            function_ids: Vec::new(),
            digest: None,
            hash: None,
        };
        Ok(Prepared {
            envelope,
            row,
            side,
            counters,
            shadow: None,
        })
    }

    /// Stores the payloads of a batch of new records and commits their first versions in
    /// one step; a record that exists fails the batch with `BatchConflict`.
    pub(super) async fn create_batch(
        &self,
        mut batch: Vec<Prepared>,
        time: BatchTime,
    ) -> Result<Vec<WriteResult>> {
        let ns = &self.inner.ns;
        let n = u64::try_from(batch.len()).unwrap_or(u64::MAX);
        let first_cv = self.index().reserve_cvs(ns, n).await?;
        let at = micros(Utc::now());
        for (p, cv) in batch.iter_mut().zip(first_cv..) {
            p.row.cv = cv;
            if time == BatchTime::Now {
                p.row.at = at;
            }
        }
        // Futures built first, so the stream holds no closure over borrows (keeps `Send`).
        let puts: Vec<_> = batch.into_iter().map(|p| self.put_new(p)).collect();
        let stored: Vec<Stored> = stream::iter(puts)
            .buffered(MAX_CONCURRENT_PUTS)
            .collect()
            .await;
        let mut ok = Vec::with_capacity(stored.len());
        let mut first_error = None;
        for s in stored {
            match s {
                Ok(p) => ok.push(p),
                Err((_, e)) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            self.discard_batch(&ok).await;
            return Err(e);
        }
        crate::failpoint::hit_in(crate::failpoint::AFTER_BLOB_PUT, self.name()).await;
        let mut rows: Vec<(VersionRow, Option<String>)> = ok
            .iter()
            .map(|p| (p.row.clone(), p.shadow.clone()))
            .collect();
        match self.index().commit_new(ns, &mut rows).await {
            Ok(BatchOutcome::Committed) => {
                // A cv the change log sealed meanwhile was replaced by a fresh one.
                for (p, (row, _)) in ok.iter_mut().zip(&rows) {
                    p.row.cv = row.cv;
                }
            }
            Ok(BatchOutcome::Taken {
                ids,
                others_committed,
            }) => {
                // The payloads of versions that did not commit are orphans: removed now.
                let lost: Vec<_> = ok
                    .into_iter()
                    .filter(|p| !others_committed || ids.contains(&p.row.id))
                    .collect();
                self.discard_batch(&lost).await;
                return Err(Error::BatchConflict {
                    collection: self.name().to_string(),
                    ids,
                    others_committed,
                });
            }
            // The commit may have gone through: the payloads stay (orphans at worst).
            Err(e) => return Err(e),
        }
        debug!(collection = %ns.collection, records = ok.len(), first_cv, "committed a batch of new records");
        let mut results = Vec::with_capacity(ok.len());
        for p in ok {
            self.inner.tally.record(&p.counters).await;
            results.push(WriteResult {
                id: p.envelope.id,
                ov: p.envelope.ov,
                cv: p.row.cv,
                at: from_micros(p.row.at)?,
                queued: None,
            });
        }
        Ok(results)
    }

    /// Stores the payload (and side blobs) of one new record; returns it with its payload and
    /// shadow set.
    async fn put_new(&self, mut p: Prepared) -> Stored {
        let encoded = match self.inner.codec.encode(&p.envelope, !p.side.is_empty()) {
            Ok(encoded) => encoded,
            Err(e) => return Err((p, e)),
        };
        let encoded = match self
            .seal_encoded(encoded, &p.envelope.id, p.envelope.ov)
            .await
        {
            Ok(encoded) => encoded,
            Err(e) => return Err((p, e)),
        };
        p.shadow = encoded.shadow.clone();
        p.row.digest = Some(chain::digest(&encoded.bytes));
        match self
            .store_payload(&p.envelope.id, p.envelope.ov, encoded, &p.side)
            .await
        {
            Ok(payload) => p.row.payload = payload,
            Err(e) => return Err((p, e)),
        }
        Ok(p)
    }

    async fn discard_batch(&self, stored: &[Prepared]) {
        let discards: Vec<_> = stored
            .iter()
            .map(|p| self.discard_version(&p.row.payload, &p.side))
            .collect();
        stream::iter(discards)
            .buffer_unordered(MAX_CONCURRENT_PUTS)
            .collect::<Vec<()>>()
            .await;
    }
}
