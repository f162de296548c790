//! create, update and delete: the write half of the version protocol.
//!
//! 1. check the input (an update's new ov is the caller's expected ov + 1);
//! 2. encode the payload; with the `inline` layout a small one rides in the version row.
//!    Otherwise put the payload blob if absent (an uncommitted blob at the key moves the write
//!    to an alternate key; a committed one means another writer won). Meanwhile the
//!    collection version is reserved, unless the index store takes it inside the commit;
//! 3. commit the version row: the commit checks the head is at the expected ov (and live,
//!    for an update) and the unique `(id, ov)` makes exactly one writer win. A loser removes
//!    its blob and reports `Conflict` with the current ov (or `NotFound`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{debug, warn};

use super::envelope::Envelope;
use super::new_version::{AppendMode, NewVersion, Prev};
use super::payload::{Encoded, SideBlob};
use super::props::check_payload;
use super::queue::QueuedWrite;
use super::{check_id, Collection};
use crate::blob::side_key;
use crate::blob::{alternate_version_key, version_key, PutOutcome};
use crate::error::{Error, Result};
use crate::index::chain;
use crate::index::{
    CommitOptions, CommitOutcome, CvChoice, Located, PayloadRef, VersionPick, VersionRef,
    VersionRow,
};
use crate::model::{VersionKind, WriteMeta, WriteResult};

pub(super) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(super) fn from_micros(at: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(at)
        .ok_or_else(|| Error::Corrupt(format!("timestamp {at} is out of range")))
}

/// How long MongoDB keeps an abandoned transaction (and the records it holds) by default:
/// its `transactionLifetimeLimitSeconds`, which a deployment may lower.
const HOLD_LIMIT_SECONDS: u64 = 60;

impl Collection {
    /// Creates a record with a new id (a time-ordered UUID v7). Its first version has ov 0.
    pub async fn create(&self, data: Value, meta: WriteMeta) -> Result<WriteResult> {
        // A fresh id has no head and no queued writes to check; the commit itself refuses
        // an existing record.
        let id = uuid::Uuid::now_v7().to_string();
        self.check_record(&data)?;
        self.append_first(&id, data, meta).await
    }

    /// Writes version 0 of a record whose id is free (checked data).
    async fn append_first(&self, id: &str, data: Value, meta: WriteMeta) -> Result<WriteResult> {
        self.append(NewVersion {
            id,
            prev: Prev::New,
            data,
            deleted: false,
            meta,
            kind: VersionKind::Create,
            function_ids: Vec::new(),
            mode: AppendMode::Queueable,
        })
        .await
    }

    /// Creates a record with the caller's id (`[A-Za-z0-9_-]`, 1 to 128 characters). Fails with
    /// `Conflict` if the id exists.
    pub async fn create_with_id(
        &self,
        id: &str,
        data: Value,
        meta: WriteMeta,
    ) -> Result<WriteResult> {
        check_id(id)?;
        self.check_record(&data)?;
        if let Some(tail) = self.queued_tail(id).await? {
            return Err(self.id_taken(id, tail.ov));
        }
        if let Some(head) = self.head(id).await? {
            return Err(self.id_taken(id, head.latest.ov));
        }
        self.append_first(id, data, meta).await
    }

    /// Writes a new version of a record. `expected_ov` is the ov the caller last read; when
    /// the record moved on since, nothing is written and `Error::Conflict` carries the current ov.
    pub async fn update(
        &self,
        id: &str,
        data: Value,
        expected_ov: u64,
        meta: WriteMeta,
    ) -> Result<WriteResult> {
        check_id(id)?;
        self.check_record(&data)?;
        if let Some(tail) = self.queued_tail(id).await? {
            return self
                .queue_behind(&tail, expected_ov, data, false, meta)
                .await;
        }
        self.append(NewVersion {
            id,
            prev: Prev::Expected(expected_ov),
            data,
            deleted: false,
            meta,
            kind: VersionKind::Update,
            function_ids: Vec::new(),
            mode: AppendMode::Queueable,
        })
        .await
    }

    /// Deletes a record. By default (`logicalDelete.enabled`) a new version marked deleted,
    /// holding the last data: history stays readable and `get_latest` returns an item with
    /// `deleted: true`. With `logicalDelete.enabled: false` the record is erased for good
    /// (see [`Collection::erase`]) and the result carries its last ov.
    pub async fn delete(&self, id: &str, expected_ov: u64, meta: WriteMeta) -> Result<WriteResult> {
        check_id(id)?;
        if let Some(tail) = self.queued_tail(id).await? {
            if !self.logical_delete() {
                return Err(Error::Precondition(format!(
                    "{}/{id} has queued writes; erase it once the fallback queue has replayed them",
                    self.name()
                )));
            }
            let data = tail.data.clone();
            return self
                .queue_behind(&tail, expected_ov, data, true, meta)
                .await;
        }
        if !self.logical_delete() {
            let head = self.live_head(id, expected_ov).await?;
            self.erase(id, expected_ov, meta).await?;
            return Ok(WriteResult {
                id: id.to_string(),
                ov: expected_ov,
                cv: head.latest.cv,
                at: Utc::now(),
                queued: None,
            });
        }
        let head = self.live_head(id, expected_ov).await?;
        let last = self.load(&head.latest).await?;
        self.append(NewVersion {
            id,
            prev: Prev::Head(&head.latest),
            data: last.data,
            deleted: true,
            meta,
            kind: VersionKind::Delete,
            function_ids: Vec::new(),
            mode: AppendMode::Queueable,
        })
        .await
    }

    /// Checks a record before anything is stored: a JSON object within the nesting and
    /// size limits, whose indexed values are within theirs, carrying every required property.
    pub(super) fn check_record(&self, data: &Value) -> Result<()> {
        check_payload(data)?;
        self.inner.limits.check_record(data)?;
        let meta = self.inner.policy.extract(data);
        self.inner.limits.check_indexed(&meta)?;
        self.inner.policy.check_required(&meta)
    }

    /// Puts the payload blobs and commits the version row of `v`. When storage fails and the
    /// fallback queue is on, a `Queueable` write is queued for replay and acknowledged with
    /// `WriteResult::queued`.
    pub(super) async fn append(&self, v: NewVersion<'_>) -> Result<WriteResult> {
        let ns = &self.inner.ns;
        let props = self.inner.policy.extract(&v.data);
        let counters = self
            .inner
            .tally
            .counters_for(v.prev.event(v.deleted), &props, &v.data);
        let queueable = v.mode == AppendMode::Queueable && self.inner.fallback.is_some();
        // A queued write keeps the record as given. Only base64 properties change it on the
        // way to storage; otherwise the envelope's copy serves, and none is made.
        let original = (queueable && self.inner.codec.moves_properties()).then(|| v.data.clone());
        let mut data = v.data;
        // Bad base64 is refused here, before anything is taken or stored.
        let side = self.inner.codec.extract(&mut data)?;
        let (fixed_cv, at, live_only, claim) = match v.mode {
            AppendMode::Replay {
                op_id,
                cv,
                at,
                live_only,
            } => (Some(cv), micros(at), live_only, Some(op_id)),
            _ => (
                None,
                micros(Utc::now()),
                matches!(v.prev, Prev::Expected(_)),
                None,
            ),
        };
        let envelope = Envelope {
            id: v.id.to_string(),
            ov: v.prev.next_ov(),
            deleted: v.deleted,
            actor: v.meta.actor,
            reason: v.meta.reason,
            function_ids: v.function_ids,
            data,
        };
        let mut row = VersionRow {
            version: VersionRef {
                id: envelope.id.clone(),
                ov: envelope.ov,
                cv: fixed_cv.unwrap_or(0),
                at: at.max(v.prev.at()),
                deleted: v.deleted,
                payload: PayloadRef::Inline(bytes::Bytes::new()),
            },
            meta: props,
            actor: envelope.actor.clone(),
            reason: envelope.reason.clone(),
            kind: v.kind,
            function_ids: envelope.function_ids.clone(),
            digest: None,
            hash: None,
        };
        let mut cv_known = fixed_cv.is_some();
        let stored = self
            .store_version(&envelope, &mut row, &mut cv_known, &side, live_only, claim)
            .await;
        match stored {
            Ok(()) => {
                debug!(collection = %ns.collection, id = %row.id, ov = row.ov, cv = row.cv, "committed version");
                self.inner.tally.record(&counters).await;
                let at = from_micros(row.at)?;
                Ok(WriteResult {
                    ov: row.ov,
                    cv: row.cv,
                    at,
                    queued: None,
                    id: row.version.id,
                })
            }
            Err(e) if queueable && e.is_transient() => {
                let data = original.unwrap_or(envelope.data);
                let cv = if cv_known {
                    row.cv
                } else {
                    match self.next_cv().await {
                        Ok(cv) => cv,
                        Err(_) => return Err(e),
                    }
                };
                // The write is acknowledged with the time it will commit with, which
                // never goes back behind the record's latest version.
                let head_at = match self.index().locate(ns, &row.id, VersionPick::Latest).await {
                    Ok(head) => head.map_or(i64::MIN, |h: Located| h.version.at),
                    Err(_) => return Err(e),
                };
                let at = from_micros(row.at.max(head_at))?;
                self.enqueue(QueuedWrite {
                    op_id: uuid::Uuid::now_v7().to_string(),
                    route: self.inner.route.clone(),
                    id: row.id.clone(),
                    ov: row.ov,
                    cv,
                    at,
                    deleted: row.deleted,
                    live_only,
                    data,
                    actor: envelope.actor,
                    reason: envelope.reason,
                    function_ids: envelope.function_ids,
                    kind: Some(row.kind),
                    attempts: 0,
                    next_attempt_at: at,
                    last_error: e.to_string(),
                })
                .await
            }
            Err(e) => {
                // A cv reserved for a write that failed before its commit (a replay keeps
                // its own) is given up now, so change feeds need not wait for it.
                if cv_known && fixed_cv.is_none() {
                    self.give_up_cv(row.cv).await;
                }
                Err(e)
            }
        }
    }

    /// Seals a reserved cv that no commit will take (best effort: a change feed seals it
    /// after a while anyway).
    pub(super) async fn give_up_cv(&self, cv: u64) {
        if let Err(e) = self.index().seal_cv(&self.inner.ns, cv).await {
            debug!(cv, error = %e, "could not give up a reserved collection version");
        }
    }

    /// Stores the payload of a version (reserving its collection version meanwhile, unless the
    /// index store takes it in the commit) and commits its row. A payload that is an object
    /// is removed again when its version lost (or was refused); after a failed commit it is
    /// left, because the commit may have gone through (an orphan is harmless, a missing
    /// payload is not). An inline payload goes in with the row or not at all.
    pub(super) async fn store_version(
        &self,
        envelope: &Envelope,
        row: &mut VersionRow,
        cv_known: &mut bool,
        side: &[SideBlob],
        live_only: bool,
        claim: Option<&str>,
    ) -> Result<()> {
        let encoded = self.inner.codec.encode(envelope, !side.is_empty())?;
        let encoded = self
            .seal_encoded(encoded, &envelope.id, envelope.ov)
            .await?;
        row.digest = Some(chain::digest(&encoded.bytes));
        let shadow = encoded.shadow.clone();
        let put = self.store_payload(&envelope.id, envelope.ov, encoded, side);
        let known = cv_known.then_some(row.cv);
        let cv = async {
            match known {
                Some(cv) => Ok(CvChoice::Given(cv)),
                None => self.index().cv_for_commit(&self.inner.ns).await,
            }
        };
        let (payload, cv) = tokio::join!(put, cv);
        if let Ok(CvChoice::Given(cv)) = cv {
            row.cv = cv;
            *cv_known = true;
        }
        row.payload = payload?;
        let cv = match cv {
            Ok(cv) => cv,
            Err(e) => {
                self.discard_version(&row.payload, side).await;
                return Err(e);
            }
        };
        crate::failpoint::hit_in(crate::failpoint::AFTER_BLOB_PUT, self.name()).await;
        let opts = CommitOptions {
            cv,
            require_live: live_only,
            claim: claim.map(str::to_string),
        };
        let outcome = self
            .index()
            .commit(&self.inner.ns, row, shadow.as_deref(), opts)
            .await?;
        let refused = match outcome {
            CommitOutcome::Committed => {
                *cv_known = true;
                return Ok(());
            }
            CommitOutcome::Missing if claim.is_some() => Error::NotFound(format!(
                "{}/{} v{}: the queued write's claim is gone (the write was cancelled or the record erased)",
                self.name(),
                row.id,
                row.ov
            )),
            refused => self.refusal(&row.id, row.ov, refused),
        };
        self.discard_version(&row.payload, side).await;
        Err(refused)
    }

    /// Stores the encoded payload of `(id, ov)` where the layout puts it: inline payloads
    /// stay with the row (nothing to do before the commit); others are put as an object,
    /// with their base64 properties beside it.
    pub(super) async fn store_payload(
        &self,
        id: &str,
        ov: u64,
        encoded: Encoded,
        side: &[SideBlob],
    ) -> Result<PayloadRef> {
        if encoded.inline {
            return Ok(PayloadRef::Inline(encoded.bytes));
        }
        let key = self.put_version_blob(id, ov, encoded.bytes).await?;
        let payload = PayloadRef::Object(key);
        if let Err(e) = self.put_side_blobs(&payload, side).await {
            self.discard_version(&payload, side).await;
            return Err(e);
        }
        Ok(payload)
    }

    /// The error that tells a caller why writing version `ov` of `id` was refused.
    pub(super) fn refusal(&self, id: &str, ov: u64, outcome: CommitOutcome) -> Error {
        match outcome {
            CommitOutcome::Conflict { current_ov } if ov == 0 => self.id_taken(id, current_ov),
            CommitOutcome::Conflict { current_ov } => {
                self.conflict(id, ov.saturating_sub(1), current_ov)
            }
            CommitOutcome::Missing => {
                Error::NotFound(format!("{}/{id} does not exist", self.name()))
            }
            CommitOutcome::Deleted { current_ov } => self.deleted(id, current_ov),
            CommitOutcome::CvSealed => Error::storage(
                "index",
                "queue a write",
                "change feeds kept giving up the collection versions the write took",
                true,
            ),
            CommitOutcome::Held { limit_seconds } => {
                let limit = match limit_seconds {
                    Some(s) => format!("after {s} s on this server"),
                    None => format!("after {HOLD_LIMIT_SECONDS} s by default on MongoDB"),
                };
                Error::storage(
                    "index",
                    "commit a version",
                    format!(
                        "{}/{id} is held by another writer's unfinished transaction (a busy \
                         writer's, or one that stopped mid-commit, which holds the record until \
                         the server ends its transaction, {limit}: \
                         transactionLifetimeLimitSeconds); v{ov} was not written and may pass \
                         later",
                        self.name()
                    ),
                    true,
                )
            }
            CommitOutcome::Committed => Error::Corrupt(format!(
                "{}/{id} v{ov}: a committed write was reported as refused",
                self.name()
            )),
        }
    }

    /// Stores the base64 properties of a version next to its item blob. Creating the item blob
    /// made this writer the owner of these keys, so a leftover from a crashed writer is
    /// overwritten.
    async fn put_side_blobs(&self, payload: &PayloadRef, side: &[SideBlob]) -> Result<()> {
        let Some(item_key) = payload.object_key() else {
            return Ok(());
        };
        let blobs = &self.inner.target.blobs;
        for s in side {
            blobs
                .put(&side_key(item_key, &s.path, "blob.bin"), s.bytes.clone())
                .await?;
            if let Some(text) = &s.text {
                blobs
                    .put(
                        &side_key(item_key, &s.path, "text.txt"),
                        bytes::Bytes::from(text.clone()),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Puts the payload of `(id, ov)` at its normal key, or at an alternate key when an
    /// uncommitted blob occupies it. Returns the key written.
    async fn put_version_blob(&self, id: &str, ov: u64, bytes: bytes::Bytes) -> Result<String> {
        let ns = &self.inner.ns;
        let blobs = &self.inner.target.blobs;
        let key = version_key(&ns.db_name, &ns.collection, id, ov);
        if blobs.put_if_absent(&key, bytes.clone()).await? == PutOutcome::Created {
            return Ok(key);
        }
        if let Some(head) = self.head(id).await? {
            if head.latest.ov >= ov {
                return Err(self.conflict(id, ov.saturating_sub(1), head.latest.ov));
            }
        }
        let nonce = uuid::Uuid::now_v7().simple().to_string();
        let alt = alternate_version_key(&ns.db_name, &ns.collection, id, ov, &nonce);
        match blobs.put_if_absent(&alt, bytes).await? {
            PutOutcome::Created => Ok(alt),
            PutOutcome::AlreadyExists => Err(Error::internal(
                format!("put {alt}"),
                "a fresh alternate key already exists",
            )),
        }
    }

    /// Removes the blobs of a version that did not commit, side blobs first (none for an
    /// inline payload). A failure only leaves orphans, which no committed row points at.
    pub(super) async fn discard_version(&self, payload: &PayloadRef, side: &[SideBlob]) {
        let Some(item_key) = payload.object_key() else {
            return;
        };
        let mut keys: Vec<String> = side
            .iter()
            .flat_map(|s| {
                [
                    side_key(item_key, &s.path, "blob.bin"),
                    side_key(item_key, &s.path, "text.txt"),
                ]
            })
            .collect();
        keys.push(item_key.to_string());
        for key in keys {
            if let Err(e) = self.inner.target.blobs.delete(&key).await {
                warn!(key, error = %e, "could not remove a blob of an uncommitted version");
            }
        }
    }
}
