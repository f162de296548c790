//! [`RecordIndex`] on MongoDB.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;
use tracing::debug;

use super::errors::{err, fail, is_duplicate_key};
use super::{batch, changes, docs, filter_doc, reads, MongoIndex, BACKEND};
use crate::error::{Error, Result};
use crate::index::rules;
use crate::index::{
    BatchOutcome, CommitOptions, CommitOutcome, CvChoice, HeadQuery, Located, Namespace,
    RecordIndex, RecordRead, RecordState, VersionPick, VersionRow, CLAIM_SENTINEL,
};

/// How many times one commit takes a fresh cv after a change feed sealed the one it had.
const MAX_FRESH_CVS: usize = 5;

#[async_trait]
impl RecordIndex for MongoIndex {
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
            return rules::first_reserved(next, n);
        }
        Err(Error::storage(
            BACKEND,
            "increment collection version",
            "the counter document kept disappearing",
            true,
        ))
    }

    async fn cv_for_commit(&self, ns: &Namespace) -> Result<CvChoice> {
        // The counter is its own document: taking it inside the commit transaction would make
        // every writer of a collection conflict on it. It is reserved now, alongside the
        // payload put.
        self.reserve_cvs(ns, 1).await.map(CvChoice::Given)
    }

    async fn commit_new(
        &self,
        ns: &Namespace,
        rows: &mut [(VersionRow, Option<String>)],
    ) -> Result<BatchOutcome> {
        let c = self.colls(ns).await?;
        let txn = self.use_transactions().await?;
        // Rows still to commit; a row whose cv a change feed sealed meanwhile is tried again
        // with a fresh one.
        let mut pending: Vec<usize> = (0..rows.len()).collect();
        let mut taken = Vec::new();
        let mut committed_any = false;
        for attempt in 0..=MAX_FRESH_CVS {
            let mut vers = Vec::with_capacity(pending.len());
            let mut heads = Vec::with_capacity(pending.len());
            for &i in &pending {
                let (row, shadow) = &mut rows[i];
                rules::link(row, None);
                vers.push(docs::version_doc(row)?);
                heads.push(docs::new_head_doc(row, shadow.as_deref())?);
            }
            let outcome = if txn {
                batch::commit_in_transaction(&self.client, &c, vers, heads).await?
            } else {
                batch::commit_without_transaction(&c, vers, heads).await?
            };
            let BatchOutcome::Taken {
                ids,
                others_committed,
            } = outcome
            else {
                committed_any = true;
                break;
            };
            let mut sealed = Vec::new();
            for &i in &pending {
                if changes::is_sealed(&c, rows[i].0.cv).await? {
                    sealed.push(i);
                }
            }
            let sealed_ids: Vec<&str> = sealed.iter().map(|&i| rows[i].0.id.as_str()).collect();
            let really_taken: Vec<String> = ids
                .into_iter()
                .filter(|id| !sealed_ids.contains(&id.as_str()))
                .collect();
            committed_any |= others_committed;
            taken.extend(really_taken);
            // In a transaction a taken id stopped the whole batch: it is answered as taken,
            // and nothing went in.
            if sealed.is_empty() || (txn && !taken.is_empty()) {
                break;
            }
            if attempt == MAX_FRESH_CVS {
                return Err(Error::storage(
                    BACKEND,
                    "commit new records",
                    "a change feed kept sealing the collection versions the batch reserved",
                    true,
                ));
            }
            if !txn {
                pending = sealed.clone();
            }
            let first = self.reserve_cvs(ns, sealed.len() as u64).await?;
            for (&i, cv) in sealed.iter().zip(first..) {
                rows[i].0.cv = cv;
            }
        }
        Ok(match taken.is_empty() {
            true => BatchOutcome::Committed,
            false => BatchOutcome::Taken {
                ids: taken,
                others_committed: committed_any && !txn,
            },
        })
    }

    async fn commit(
        &self,
        ns: &Namespace,
        row: &mut VersionRow,
        shadow: Option<&str>,
        mut opts: CommitOptions,
    ) -> Result<CommitOutcome> {
        let c = self.colls(ns).await?;
        // Without a counter in the commit's atomic step, a cv taken at commit is reserved now.
        row.cv = match opts.cv {
            CvChoice::Given(cv) => cv,
            CvChoice::AtCommit => self.reserve_cvs(ns, 1).await?,
        };
        opts.cv = CvChoice::Given(row.cv);
        let txn = self.use_transactions().await?;
        let mut fresh = 0;
        loop {
            let outcome = if txn {
                self.commit_in_transaction(&c, row, shadow, &opts).await?
            } else {
                self.commit_without_transaction(&c, row, shadow, &opts)
                    .await?
            };
            if outcome == CommitOutcome::Committed {
                return Ok(outcome);
            }
            let req = rules::Request::of(&opts);
            if fresh < MAX_FRESH_CVS
                && rules::fresh_cv_after_refusal(&req, changes::is_sealed(&c, row.cv).await?)
            {
                fresh += 1;
                row.cv = self.reserve_cvs(ns, 1).await?;
                opts.cv = CvChoice::Given(row.cv);
                debug!(id = %row.id, ov = row.ov, cv = row.cv, "collection version sealed by a change feed; committing with a fresh one");
                continue;
            }
            // A held record: the answer says how long the server keeps an unfinished
            // transaction, when it tells.
            if let CommitOutcome::Held { .. } = outcome {
                let limit_seconds = self.transaction_lifetime_limit().await;
                return Ok(CommitOutcome::Held { limit_seconds });
            }
            // The caller gives the refused write's cv up (the version protocol does it for
            // every write that fails before its commit).
            return Ok(outcome);
        }
    }

    async fn read(&self, ns: &Namespace, id: &str, what: RecordRead) -> Result<RecordState> {
        let c = self.colls(ns).await?;
        let head = async {
            match what.head {
                true => reads::head(&c, id).await,
                false => Ok(None),
            }
        };
        let version = async {
            match what.version {
                Some(pick) => reads::version(&c, id, pick).await,
                None => Ok(None),
            }
        };
        let (head, version) = tokio::try_join!(head, version)?;
        Ok(RecordState { head, version })
    }

    async fn locate(&self, ns: &Namespace, id: &str, pick: VersionPick) -> Result<Option<Located>> {
        reads::locate(&self.colls(ns).await?, id, pick).await
    }

    async fn list_heads(&self, ns: &Namespace, q: &HeadQuery) -> Result<Vec<Located>> {
        let c = self.colls(ns).await?;
        let mut conditions = Vec::new();
        if let Some(f) = &q.filter {
            conditions.push(filter_doc::filter_doc(f));
        }
        if !q.include_deleted {
            conditions.push(doc! {"deleted": false});
        }
        if let Some(cv) = q.written_after_cv {
            conditions.push(doc! {"cv": {"$gt": i64::try_from(cv).unwrap_or(i64::MAX)}});
        }
        if let Some(after) = &q.after_id {
            let Some(after_head) = reads::head(&c, after).await? else {
                return Ok(Vec::new());
            };
            conditions.push(filter_doc::after_doc(&q.sort, &after_head));
        }
        let filter = filter_doc::all_of(conditions);
        let docs: Vec<Document> = c
            .head
            .find(filter)
            .sort(filter_doc::sort_doc(&q.sort))
            .projection(docs::lean_projection())
            .limit(i64::try_from(q.limit).unwrap_or(i64::MAX))
            .await
            .map_err(err("list heads"))?
            .try_collect()
            .await
            .map_err(err("list heads"))?;
        docs.iter().map(|d| docs::read_located(d, "_id")).collect()
    }

    async fn version_scan(
        &self,
        ns: &Namespace,
        after: Option<(String, u64)>,
        limit: usize,
    ) -> Result<Vec<VersionRow>> {
        let c = self.colls(ns).await?;
        let position = match &after {
            None => doc! {},
            Some((id, ov)) => {
                let ov = i64::try_from(*ov).unwrap_or(i64::MAX);
                doc! {"$or": [{"id": {"$gt": id}}, {"id": id, "ov": {"$gt": ov}}]}
            }
        };
        let mut filter = doc! {"at": {"$lt": CLAIM_SENTINEL}};
        filter.extend(position);
        let order = doc! {"id": 1, "ov": 1};
        reads::versions_where(&c, filter, order, limit, "read versions in id order").await
    }

    async fn version_page(
        &self,
        ns: &Namespace,
        id: &str,
        after_ov: Option<u64>,
        limit: usize,
    ) -> Result<Vec<VersionRow>> {
        let c = self.colls(ns).await?;
        // ov is never negative, so -1 lists from the first version.
        let after = after_ov.map_or(-1, |ov| i64::try_from(ov).unwrap_or(i64::MAX));
        let filter = doc! {"id": id, "ov": {"$gt": after}, "at": {"$lt": CLAIM_SENTINEL}};
        reads::versions_where(&c, filter, doc! {"ov": 1}, limit, "read versions").await
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
}
