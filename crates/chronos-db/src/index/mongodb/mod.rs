//! The production index store on the official `mongodb` driver.
//!
//! Per collection: `<coll>_head` (one document per record, `_id` = record id), `<coll>_ver`
//! (one document per version; the unique index on `(id, ov)` is the commit point) and
//! `<coll>_counter` (the collection version, advanced with find-one-and-update `$inc`).
//! Indexes are created once per collection and process.
//!
//! Commits use a multi-document transaction when the deployment supports it (detected once, on
//! first use, from `hello`; or forced by `transactions.enabled`). Without one the protocol stays
//! correct: the version insert decides the winner, and the head only ever moves forward
//! (`ov: {$lt: new}`); a head left behind by a crash is rolled forward by the next writer that
//! trips over it.

mod batch;
mod claims;
mod counts;
mod docs;
mod errors;
mod filter_doc;
mod queue;
mod retry;
mod schema;

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::options::{ClientOptions, ReturnDocument};
use mongodb::{Client, ClientSession, Collection};
use tokio::sync::{Mutex, OnceCell};
use tracing::{debug, info};

use super::{
    sequence_outcome, AuditEntry, BatchOutcome, CommitOptions, CommitOutcome, CountKey, CountScope,
    CountsWritten, HeadQuery, HeadRow, IndexStore, Namespace, QueueClaim, QueueQuery, QueueRow,
    VersionPick, VersionRow, CLAIM_SENTINEL,
};
use crate::error::{Error, Result};
use errors::{err, fail, is_duplicate_key};

const BACKEND: &str = "mongodb";
/// How long an operation waits for a MongoDB server to answer before it fails, unless the
/// connection says otherwise (`serverSelectionTimeoutMs`, or `serverSelectionTimeoutMS` in
/// the URI). The driver's own default, 30 s, would hold every write that long during an
/// outage.
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How a connection decides whether to use transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionMode {
    /// Always use them (`transactions.enabled: true`).
    Forced,
    /// Never use them (`transactions.enabled: false`, or auto-detection off).
    Off,
    /// Ask the server once (`hello`: a replica set or mongos supports them).
    Detect,
}

/// MongoDB index store of one `dbConnections` entry.
#[derive(Debug)]
pub struct MongoIndex {
    client: Client,
    mode: TransactionMode,
    transactions: OnceCell<bool>,
    ensured: Mutex<HashSet<(String, String)>>,
    queues_ensured: Mutex<HashSet<(String, String)>>,
}

/// Collections of one namespace.
pub(crate) struct Colls {
    pub(crate) head: Collection<Document>,
    pub(crate) ver: Collection<Document>,
    pub(crate) counter: Collection<Document>,
    pub(crate) locks: Collection<Document>,
}

impl MongoIndex {
    /// A client for `uri` (no round trip yet: the driver connects on first use).
    /// `server_selection_timeout` bounds how long an operation waits for a server while
    /// none answers (default: the URI's `serverSelectionTimeoutMS`, else
    /// [`DEFAULT_SERVER_SELECTION_TIMEOUT`]); connecting to a server is bounded the same way.
    pub async fn connect(
        uri: &str,
        mode: TransactionMode,
        server_selection_timeout: Option<Duration>,
    ) -> Result<Self> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(err("parse connection string"))?;
        let wait = server_selection_timeout
            .or(options.server_selection_timeout)
            .unwrap_or(DEFAULT_SERVER_SELECTION_TIMEOUT);
        options.server_selection_timeout = Some(wait);
        options.connect_timeout = Some(options.connect_timeout.unwrap_or(wait).min(wait));
        let client = Client::with_options(options).map_err(err("open client"))?;
        Ok(MongoIndex {
            client,
            mode,
            transactions: OnceCell::new(),
            ensured: Mutex::new(HashSet::new()),
            queues_ensured: Mutex::new(HashSet::new()),
        })
    }

    async fn use_transactions(&self) -> Result<bool> {
        self.transactions
            .get_or_try_init(|| async {
                let on = match self.mode {
                    TransactionMode::Forced => true,
                    TransactionMode::Off => false,
                    TransactionMode::Detect => {
                        let hello = self
                            .client
                            .database("admin")
                            .run_command(doc! {"hello": 1})
                            .await
                            .map_err(err("detect transaction support"))?;
                        hello.contains_key("setName")
                            || hello.get_str("msg").is_ok_and(|m| m == "isdbgrid")
                    }
                };
                info!(transactions = on, "mongodb transaction support");
                Ok(on)
            })
            .await
            .copied()
    }

    /// Makes sure a queue collection has its indexes (once per process).
    async fn queue_ready(&self, db_name: &str, table: &str) -> Result<()> {
        let key = (db_name.to_string(), table.to_string());
        let mut ensured = self.queues_ensured.lock().await;
        if !ensured.contains(&key) {
            queue::ensure_indexes(&self.client, db_name, table).await?;
            ensured.insert(key);
        }
        Ok(())
    }

    async fn colls(&self, ns: &Namespace) -> Result<Colls> {
        let db = self.client.database(&ns.db_name);
        let colls = Colls {
            head: db.collection(&format!("{}_head", ns.collection)),
            ver: db.collection(&format!("{}_ver", ns.collection)),
            counter: db.collection(&format!("{}_counter", ns.collection)),
            locks: db.collection(&format!("{}_locks", ns.collection)),
        };
        let key = (ns.db_name.clone(), ns.collection.clone());
        let mut ensured = self.ensured.lock().await;
        if !ensured.contains(&key) {
            schema::ensure_indexes(&colls, &ns.indexed_props).await?;
            ensured.insert(key);
            debug!(db = %ns.db_name, collection = %ns.collection, "mongodb indexes ensured");
        }
        Ok(colls)
    }

    /// Commits in a transaction, retried with backoff while it fails transiently. A record
    /// held by another transaction (a writer that died mid-commit holds it until the server
    /// times the transaction out) is reported as a `Conflict` once [`retry::TXN_RETRY_BUDGET`]
    /// is spent: nothing was written, so the caller removes its payload.
    async fn commit_in_transaction(
        &self,
        c: &Colls,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: &CommitOptions,
    ) -> Result<CommitOutcome> {
        let mut backoff = retry::Backoff::new();
        loop {
            // A commit whose outcome was unknown may have gone through after all.
            if backoff.retries() > 0 && self.is_committed(c, row).await? {
                return Ok(CommitOutcome::Committed);
            }
            let mut session = self
                .client
                .start_session()
                .await
                .map_err(err("start session"))?;
            match self
                .try_transaction(c, row, shadow, opts, &mut session)
                .await
            {
                Ok(outcome) => return Ok(outcome),
                Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                    let _ = session.abort_transaction().await;
                    debug!(retries = backoff.retries(), error = %e, "transient transaction error, retrying");
                    if !backoff.wait().await {
                        if self.is_committed(c, row).await? {
                            return Ok(CommitOutcome::Committed);
                        }
                        info!(id = %row.id, ov = row.ov, error = %e, "record held by another transaction; reporting a conflict");
                        return Ok(CommitOutcome::Conflict {
                            current_ov: claims::tail_ov(c, &row.id).await?.unwrap_or(0),
                        });
                    }
                }
                Err(e) if is_duplicate_key(&e) => {
                    let _ = session.abort_transaction().await;
                    if self.is_committed(c, row).await? {
                        return Ok(CommitOutcome::Committed);
                    }
                    return Ok(CommitOutcome::Conflict {
                        current_ov: claims::tail_ov(c, &row.id).await?.unwrap_or(0),
                    });
                }
                Err(e) => {
                    let _ = session.abort_transaction().await;
                    return Err(fail("commit version", e));
                }
            }
        }
    }

    /// Whether `row` itself is committed: the version `(id, ov)` exists and points at its
    /// payload key, which only this writer used.
    async fn is_committed(&self, c: &Colls, row: &VersionRow) -> Result<bool> {
        let found = c
            .ver
            .find_one(doc! {"id": &row.id, "ov": docs::int(row.ov)?, "blobKey": &row.blob_key})
            .await
            .map_err(err("read version"))?;
        Ok(found.is_some())
    }

    async fn try_transaction(
        &self,
        c: &Colls,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: &CommitOptions,
        s: &mut ClientSession,
    ) -> mongodb::error::Result<CommitOutcome> {
        s.start_transaction().await?;
        if let Some(op_id) = &opts.claim {
            let taken = c
                .ver
                .delete_one(claims::claim_filter(&row.id, row.ov, op_id))
                .session(&mut *s)
                .await?;
            if taken.deleted_count == 0 {
                s.abort_transaction().await?;
                return Ok(CommitOutcome::Missing);
            }
        }
        if row.ov == 0 {
            // A new record: the inserts themselves fail on an existing one (duplicate key).
            c.ver
                .insert_one(docs::version_doc(row).map_err(to_driver_error)?)
                .session(&mut *s)
                .await?;
            c.head
                .insert_one(docs::new_head_doc(row, shadow).map_err(to_driver_error)?)
                .session(&mut *s)
                .await?;
            return commit_with_retry(s).await;
        }
        let head = c
            .head
            .find_one(doc! {"_id": &row.id})
            .session(&mut *s)
            .await?;
        let current = head.as_ref().and_then(|h| docs::read_head(h).ok());
        if let Some(outcome) =
            sequence_outcome(last_of(current.as_ref()), row.ov, opts.require_live)
        {
            s.abort_transaction().await?;
            return Ok(outcome);
        }
        if let Some(h) = &current {
            row.at = row.at.max(h.latest.at);
        }
        let created_at = current.as_ref().map_or(row.at, |h| h.created_at);
        let ver = docs::version_doc(row).map_err(to_driver_error)?;
        c.ver.insert_one(ver).session(&mut *s).await?;
        let mut fields = docs::head_fields(row, shadow).map_err(to_driver_error)?;
        fields.insert("createdAt", created_at);
        c.head
            .replace_one(doc! {"_id": &row.id}, fields)
            .upsert(true)
            .session(&mut *s)
            .await?;
        crate::failpoint::hit(crate::failpoint::IN_MONGODB_TRANSACTION).await;
        commit_with_retry(s).await
    }

    async fn commit_without_transaction(
        &self,
        c: &Colls,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: &CommitOptions,
    ) -> Result<CommitOutcome> {
        // A new record needs no head read: its version insert fails if it exists.
        let head = if row.ov == 0 {
            None
        } else {
            c.head
                .find_one(doc! {"_id": &row.id})
                .await
                .map_err(err("read head"))?
        };
        let current = head.as_ref().map(docs::read_head).transpose()?;
        if let Some(outcome) =
            sequence_outcome(last_of(current.as_ref()), row.ov, opts.require_live)
        {
            if let CommitOutcome::Conflict { current_ov } = outcome {
                if current_ov < row.ov {
                    // The head may lag behind a version whose writer died before moving it.
                    return self.roll_forward_and_report(c, &row.id).await;
                }
            }
            return Ok(outcome);
        }
        if let Some(h) = &current {
            row.at = row.at.max(h.latest.at);
        }
        let ver = docs::version_doc(row)?;
        if let Some(op_id) = &opts.claim {
            // The claim becomes the version in one single-document step: the commit point.
            let replaced = c
                .ver
                .replace_one(claims::claim_filter(&row.id, row.ov, op_id), ver)
                .await
                .map_err(err("commit a queued write's version"))?;
            if replaced.matched_count == 0 {
                return Ok(CommitOutcome::Missing);
            }
        } else if let Err(e) = c.ver.insert_one(ver).await {
            if is_duplicate_key(&e) {
                return self.roll_forward_and_report(c, &row.id).await;
            }
            return Err(fail("insert version", e));
        }
        let created_at = current.as_ref().map_or(row.at, |h| h.created_at);
        self.move_head(c, row, created_at, shadow).await?;
        Ok(CommitOutcome::Committed)
    }

    /// Points the head at `row` unless it already points at a later version.
    async fn move_head(
        &self,
        c: &Colls,
        row: &VersionRow,
        created_at: i64,
        shadow: Option<&str>,
    ) -> Result<()> {
        let fields = docs::head_fields(row, shadow)?;
        let ov = i64::try_from(row.ov).unwrap_or(i64::MAX);
        let update = doc! {"$set": fields, "$setOnInsert": {"createdAt": created_at}};
        match c
            .head
            .update_one(doc! {"_id": &row.id, "ov": {"$lt": ov}}, update)
            .upsert(true)
            .await
        {
            Ok(_) => Ok(()),
            // A later version already owns the head: nothing to do.
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(fail("move head", e)),
        }
    }

    /// Rolls the head forward to the latest committed version and reports the conflict.
    async fn roll_forward_and_report(&self, c: &Colls, id: &str) -> Result<CommitOutcome> {
        let latest = c
            .ver
            .find_one(doc! {"id": id, "at": {"$lt": CLAIM_SENTINEL}})
            .sort(doc! {"ov": -1})
            .await
            .map_err(err("read latest version"))?;
        let Some(latest) = latest else {
            return Ok(CommitOutcome::Missing);
        };
        let row = docs::read_version(&latest, "id")?;
        let first = c
            .ver
            .find_one(doc! {"id": id, "ov": 0})
            .await
            .map_err(err("read first version"))?;
        let created_at = match first {
            Some(d) => docs::read_version(&d, "id")?.at,
            None => row.at,
        };
        // The shadow of that version is unknown here; readers fall back to its payload.
        self.move_head(c, &row, created_at, None).await?;
        // Queued writes may hold later ovs: the conflict reports the last of them.
        let current_ov = claims::tail_ov(c, id).await?.unwrap_or(row.ov).max(row.ov);
        Ok(CommitOutcome::Conflict { current_ov })
    }
}

/// Commits a transaction, retrying (a bounded number of times) while the outcome of the commit
/// is unknown.
async fn commit_with_retry(s: &mut ClientSession) -> mongodb::error::Result<CommitOutcome> {
    let mut attempt = 1;
    loop {
        match s.commit_transaction().await {
            Err(e)
                if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    && attempt < retry::COMMIT_ATTEMPTS =>
            {
                attempt += 1;
            }
            other => {
                other?;
                return Ok(CommitOutcome::Committed);
            }
        }
    }
}

/// The head's ov and deleted flag, as the sequence rule reads them.
fn last_of(head: Option<&HeadRow>) -> Option<(u64, bool)> {
    head.map(|h| (h.latest.ov, h.latest.deleted))
}

fn to_driver_error(e: Error) -> mongodb::error::Error {
    mongodb::error::Error::custom(e.to_string())
}

#[async_trait]
impl IndexStore for MongoIndex {
    fn kind(&self) -> &'static str {
        BACKEND
    }

    async fn close(&self) {
        self.client.clone().shutdown().immediate(true).await;
    }

    async fn ping(&self) -> Result<()> {
        self.client
            .database("admin")
            .run_command(doc! {"ping": 1})
            .await
            .map(|_| ())
            .map_err(err("ping"))
    }

    async fn reserve_cvs(&self, ns: &Namespace, n: u64) -> Result<u64> {
        let c = self.colls(ns).await?;
        let n = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        // The increment never upserts: an upsert that answers no document (as some servers
        // do when first upserts race) may or may not have counted, and retrying it could take
        // a second value. A missing counter is created first, alone, and a duplicate-key
        // answer there just means another writer created it.
        for attempt in 0..3 {
            let found = c
                .counter
                .find_one_and_update(doc! {"_id": "cv"}, doc! {"$inc": {"next": n}})
                .return_document(ReturnDocument::After)
                .await
                .map_err(err("increment collection version"))?;
            let Some(d) = found else {
                debug!(attempt, "creating the collection version counter");
                match c
                    .counter
                    .insert_one(doc! {"_id": "cv", "next": 0_i64})
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_duplicate_key(&e) => {}
                    Err(e) => return Err(fail("create collection version counter", e)),
                }
                continue;
            };
            let next = match d.get("next") {
                Some(mongodb::bson::Bson::Int32(i)) => i64::from(*i),
                _ => d
                    .get_i64("next")
                    .map_err(|e| Error::Corrupt(format!("counter: {e}")))?,
            };
            return u64::try_from(next - n)
                .map_err(|_| Error::Corrupt("counter below zero".into()));
        }
        Err(Error::storage(
            BACKEND,
            "increment collection version",
            "the counter document kept disappearing",
            true,
        ))
    }

    async fn commit_new(
        &self,
        ns: &Namespace,
        rows: &[(VersionRow, Option<String>)],
    ) -> Result<BatchOutcome> {
        let c = self.colls(ns).await?;
        let mut vers = Vec::with_capacity(rows.len());
        let mut heads = Vec::with_capacity(rows.len());
        for (row, shadow) in rows {
            vers.push(docs::version_doc(row)?);
            heads.push(docs::new_head_doc(row, shadow.as_deref())?);
        }
        if self.use_transactions().await? {
            batch::commit_in_transaction(&self.client, &c, vers, heads).await
        } else {
            batch::commit_without_transaction(&c, vers, heads).await
        }
    }

    fn assigns_cv_in_commit(&self) -> bool {
        // The counter is its own document: taking it inside the commit transaction would make
        // every writer of a collection conflict on it. It is reserved beforehand instead,
        // alongside the payload put.
        false
    }

    async fn commit(
        &self,
        ns: &Namespace,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: CommitOptions,
    ) -> Result<CommitOutcome> {
        let c = self.colls(ns).await?;
        if opts.assign_cv {
            row.cv = self.next_cv(ns).await?;
        }
        if self.use_transactions().await? {
            self.commit_in_transaction(&c, row, shadow, &opts).await
        } else {
            self.commit_without_transaction(&c, row, shadow, &opts)
                .await
        }
    }

    async fn head(&self, ns: &Namespace, id: &str) -> Result<Option<HeadRow>> {
        let c = self.colls(ns).await?;
        let d = c
            .head
            .find_one(doc! {"_id": id})
            .await
            .map_err(err("read head"))?;
        d.as_ref().map(docs::read_head).transpose()
    }

    async fn pick_version(
        &self,
        ns: &Namespace,
        id: &str,
        pick: VersionPick,
    ) -> Result<Option<VersionRow>> {
        let (filter, sort) = match pick {
            VersionPick::Ov(ov) => {
                let Ok(ov) = i64::try_from(ov) else {
                    return Ok(None);
                };
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
        let c = self.colls(ns).await?;
        let mut find = c.ver.find_one(filter);
        if let Some(sort) = sort {
            find = find.sort(sort);
        }
        let d = find.await.map_err(err("read version"))?;
        let row = d
            .as_ref()
            .map(|d| docs::read_version(d, "id"))
            .transpose()?;
        Ok(row.filter(|r| !r.is_claim()))
    }

    async fn list_heads(&self, ns: &Namespace, q: &HeadQuery) -> Result<Vec<HeadRow>> {
        let c = self.colls(ns).await?;
        let mut conditions = Vec::new();
        if let Some(f) = &q.filter {
            conditions.push(filter_doc::filter_doc(f));
        }
        if !q.include_deleted {
            conditions.push(doc! {"deleted": false});
        }
        if let Some(after) = &q.after_id {
            let Some(after_head) = self.head(ns, after).await? else {
                return Ok(Vec::new());
            };
            conditions.push(filter_doc::after_doc(&q.sort, &after_head));
        }
        let filter = filter_doc::all_of(conditions);
        let docs: Vec<Document> = c
            .head
            .find(filter)
            .sort(filter_doc::sort_doc(&q.sort))
            .limit(i64::try_from(q.limit).unwrap_or(i64::MAX))
            .await
            .map_err(err("list heads"))?
            .try_collect()
            .await
            .map_err(err("list heads"))?;
        docs.iter().map(docs::read_head).collect()
    }

    async fn try_lock(
        &self,
        ns: &Namespace,
        name: &str,
        owner: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool> {
        let c = self.colls(ns).await?;
        // expiresAt is a BSON date so the TTL index removes abandoned locks; the owner check
        // below does not wait for the TTL monitor, which runs only once a minute.
        let expires = mongodb::bson::DateTime::from_millis(expires_at / 1000);
        let now = mongodb::bson::DateTime::from_millis(now / 1000);
        let filter = doc! {"_id": name, "$or": [{"owner": owner}, {"expiresAt": {"$lte": now}}]};
        let update = doc! {"$set": {"owner": owner, "expiresAt": expires}};
        match c.locks.update_one(filter, update).upsert(true).await {
            Ok(_) => Ok(true),
            // Held by someone else: the upsert's insert collided with their document.
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(fail("take lock", e)),
        }
    }

    async fn unlock(&self, ns: &Namespace, name: &str, owner: &str) -> Result<()> {
        let c = self.colls(ns).await?;
        c.locks
            .delete_one(doc! {"_id": name, "owner": owner})
            .await
            .map(|_| ())
            .map_err(err("release lock"))
    }

    async fn versions(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>> {
        let c = self.colls(ns).await?;
        let found: Vec<Document> = c
            .ver
            .find(doc! {"id": id, "at": {"$lt": CLAIM_SENTINEL}})
            .sort(doc! {"ov": 1})
            .await
            .map_err(err("read versions"))?
            .try_collect()
            .await
            .map_err(err("read versions"))?;
        found.iter().map(|d| docs::read_version(d, "id")).collect()
    }

    async fn first_cv_after(&self, ns: &Namespace, at: i64) -> Result<Option<u64>> {
        let c = self.colls(ns).await?;
        let first = c
            .ver
            .find_one(doc! {"at": {"$gt": at, "$lt": CLAIM_SENTINEL}})
            .sort(doc! {"cv": 1})
            .await
            .map_err(err("find where the timeline passes a time"))?;
        first
            .map(|d| docs::read_version(&d, "id").map(|r| r.cv))
            .transpose()
    }

    async fn delete_versions(
        &self,
        ns: &Namespace,
        id: &str,
        ovs: &[u64],
    ) -> Result<Vec<VersionRow>> {
        let Some(head) = self.head(ns, id).await? else {
            return Ok(Vec::new());
        };
        let doomed: Vec<i64> = ovs
            .iter()
            .filter(|ov| **ov < head.latest.ov)
            .filter_map(|ov| i64::try_from(*ov).ok())
            .collect();
        if doomed.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.colls(ns).await?;
        let filter = doc! {"id": id, "ov": {"$in": &doomed}};
        let found: Vec<Document> = c
            .ver
            .find(filter.clone())
            .await
            .map_err(err("read versions to delete"))?
            .try_collect()
            .await
            .map_err(err("read versions to delete"))?;
        c.ver
            .delete_many(filter)
            .await
            .map_err(err("delete versions"))?;
        found.iter().map(|d| docs::read_version(d, "id")).collect()
    }

    async fn roll_head_forward(&self, ns: &Namespace, id: &str) -> Result<bool> {
        let c = self.colls(ns).await?;
        let before = self.head(ns, id).await?.map(|h| h.latest.ov);
        match self.roll_forward_and_report(&c, id).await? {
            CommitOutcome::Conflict { current_ov } => Ok(before.is_none_or(|ov| ov < current_ov)),
            _ => Ok(false),
        }
    }

    async fn erase(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>> {
        let removed = self.versions(ns, id).await?;
        let c = self.colls(ns).await?;
        // The head goes first, so listings and reads stop seeing the record at once.
        c.head
            .delete_one(doc! {"_id": id})
            .await
            .map_err(err("erase head"))?;
        c.ver
            .delete_many(doc! {"id": id})
            .await
            .map_err(err("erase versions"))?;
        Ok(removed)
    }

    async fn collections(&self, db_name: &str) -> Result<Vec<String>> {
        let names = self
            .client
            .database(db_name)
            .list_collection_names()
            .await
            .map_err(err("list collections"))?;
        let mut out: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_suffix("_head").map(str::to_string))
            .collect();
        out.sort();
        Ok(out)
    }

    async fn append_audit(&self, db_name: &str, entry: &AuditEntry) -> Result<()> {
        let d = mongodb::bson::to_document(entry)
            .map_err(|e| Error::internal("encode audit entry", e))?;
        self.client
            .database(db_name)
            .collection::<Document>("chronos_audit")
            .insert_one(d)
            .await
            .map(|_| ())
            .map_err(err("append audit entry"))
    }

    async fn audit_log(&self, db_name: &str, collection: &str) -> Result<Vec<AuditEntry>> {
        let found: Vec<Document> = self
            .client
            .database(db_name)
            .collection::<Document>("chronos_audit")
            .find(doc! {"collection": collection})
            .sort(doc! {"_id": 1})
            .await
            .map_err(err("read audit log"))?
            .try_collect()
            .await
            .map_err(err("read audit log"))?;
        found
            .into_iter()
            .map(|d| {
                mongodb::bson::from_document(d)
                    .map_err(|e| Error::Corrupt(format!("audit entry: {e}")))
            })
            .collect()
    }

    async fn add_counts(&self, db_name: &str, counts: &[(CountKey, u64)]) -> CountsWritten {
        counts::add(&self.client, db_name, counts).await
    }

    async fn read_counts(
        &self,
        db_name: &str,
        scope: &CountScope,
        period: &str,
        bucket: &str,
    ) -> Result<Vec<(String, u64)>> {
        counts::read(&self.client, db_name, scope, period, bucket).await
    }

    async fn prune_counts(&self, db_name: &str, period: &str, before: &str) -> Result<u64> {
        counts::prune(&self.client, db_name, period, before).await
    }

    async fn queue_put(&self, db_name: &str, table: &str, row: &QueueRow) -> Result<()> {
        self.queue_ready(db_name, table).await?;
        queue::put(&self.client, db_name, table, row).await
    }

    async fn queue_list(
        &self,
        db_name: &str,
        table: &str,
        query: &QueueQuery,
    ) -> Result<Vec<QueueRow>> {
        queue::list(&self.client, db_name, table, query).await
    }

    async fn queue_remove(&self, db_name: &str, table: &str, op_id: &str) -> Result<bool> {
        queue::remove(&self.client, db_name, table, op_id).await
    }

    async fn claim_queued(&self, ns: &Namespace, claim: &QueueClaim) -> Result<CommitOutcome> {
        let c = self.colls(ns).await?;
        self.queue_ready(&ns.db_name, &claim.table).await?;
        if self.use_transactions().await? {
            claims::claim_in_transaction(&self.client, &c, &ns.db_name, claim).await
        } else {
            claims::claim_without_transaction(&self.client, &c, &ns.db_name, claim).await
        }
    }

    async fn release_claim(&self, ns: &Namespace, id: &str, ov: u64, op_id: &str) -> Result<bool> {
        let c = self.colls(ns).await?;
        let gone = c
            .ver
            .delete_one(claims::claim_filter(id, ov, op_id))
            .await
            .map_err(err("release a queued write's claim"))?;
        Ok(gone.deleted_count == 1)
    }
}
