//! `Chronos`: the entry point. Validates the configuration, opens one client per connection
//! and hands out collection handles per route.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::blob::parse_payload_key;
use crate::config::ChronosConfig;
use crate::counters::{retention_cutoffs, CounterSink, Counters, FlushTask, RuleSet};
use crate::error::{Error, Result};
use crate::fallback::{start_worker, FallbackQueue};
use crate::health::{self, HealthReport};
use crate::ops::{
    Collection, CollectionPrune, CollectionVerification, Collections, FallbackPolicy, Progress,
    ProgressFn, RepairOptions, RepairReport, Shared,
};
use crate::route::{Route, Router};

/// Payload keys checked per batch by `Chronos::repair`.
const REPAIR_BATCH: usize = 1_000;

/// Counter increments are written out this often unless `writeOptimization.debounceMs` says
/// otherwise.
pub(crate) const DEFAULT_COUNTER_DEBOUNCE_MS: u64 = 100;

/// What `Chronos::prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PruneReport {
    /// Version rows removed in all.
    pub versions_removed: u64,
    /// Payload blobs removed in all.
    pub blobs_removed: u64,
    /// Per collection.
    pub collections: Vec<CollectionPrune>,
    /// Counter cells (day, week and month buckets) removed by `retention.counters`.
    pub counter_cells_removed: u64,
}

/// A chronos-db instance. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct Chronos {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    collections: Arc<Collections>,
    /// Writes pending counter increments out; stops (after a last flush) with the instance.
    _flush: Option<FlushTask>,
    /// One fallback replay pass at a time per instance.
    replaying: Arc<tokio::sync::Mutex<()>>,
}

impl Chronos {
    /// Validates `config` (every problem is reported at once) and opens its backends.
    pub async fn init(config: ChronosConfig) -> Result<Self> {
        config.validate()?;
        let router = Arc::new(Router::build(&config).await?);
        let debounce = config
            .write_optimization
            .debounce_ms
            .unwrap_or(DEFAULT_COUNTER_DEBOUNCE_MS);
        let sink = Arc::new(CounterSink::new(debounce == 0));
        let flush = (debounce > 0)
            .then(|| FlushTask::start(sink.clone(), std::time::Duration::from_millis(debounce)));
        let fallback = FallbackPolicy::from_config(config.fallback.as_ref());
        let keyring = crate::crypt::open_keyring(&config, &router).await?;
        let shared = Shared {
            sink,
            rules: Arc::new(RuleSet::compile(&config.counter_rules)?),
            fallback: fallback.clone().map(Arc::new),
            keyring,
        };
        info!(
            index_connections = config.db_connections.len(),
            payload_connections = config.spaces_connections.len(),
            "chronos-db ready"
        );
        let collections = Arc::new(Collections::new(router, config, shared));
        let replaying = Arc::new(tokio::sync::Mutex::new(()));
        if let Some(policy) = fallback {
            start_worker(Arc::downgrade(&collections), replaying.clone(), policy);
        }
        Ok(Chronos {
            inner: Arc::new(Inner {
                collections,
                _flush: flush,
                replaying,
            }),
        })
    }

    fn router(&self) -> &Router {
        self.inner.collections.router()
    }

    /// The fallback queue: inspect, retry and cancel writes that storage failed to take.
    pub fn fallback(&self) -> FallbackQueue {
        FallbackQueue::new(self.inner.collections.clone(), self.inner.replaying.clone())
    }

    /// The collection handle of a route. Fails with `Error::Route` when the route names a
    /// tenant, domain or tier that is not configured, or an invalid collection.
    pub fn with(&self, route: Route) -> Result<Collection> {
        self.inner.collections.with(&route)
    }

    /// Pings every configured index connection and bucket and reports each one's state and
    /// latency. Connection strings are redacted; credentials never appear.
    pub async fn health(&self) -> HealthReport {
        health::check(self.router()).await
    }

    /// Applies `retention.ver` (`days`, `maxPerItem`) to every collection of every configured
    /// database: old version rows and their blobs are removed, never a record's latest
    /// version, nor the version that was current at the `days` cutoff. Reports what it removed.
    pub async fn prune(&self) -> Result<PruneReport> {
        self.prune_with(None).await
    }

    /// [`Chronos::prune`], telling `progress` after every batch of records: records examined
    /// so far and versions removed so far, over all collections.
    pub async fn prune_with(&self, progress: Option<ProgressFn>) -> Result<PruneReport> {
        let policy = self.config().retention.ver.clone().unwrap_or_default();
        let now = chrono::Utc::now().timestamp_micros();
        let mut report = PruneReport::default();
        let mut report_records = 0;
        for coll in self.stored_collections().await? {
            let (records, removed) = (report_records, report.versions_removed);
            let tell = |done: &CollectionPrune| {
                if let Some(tell) = &progress {
                    tell(Progress {
                        scanned: records + done.records,
                        found: removed + done.versions_removed,
                    });
                }
            };
            let pruned = coll.prune_reporting(&policy, now, &tell).await?;
            report_records += pruned.records;
            report.versions_removed += pruned.versions_removed;
            report.blobs_removed += pruned.blobs_removed;
            report.collections.push(pruned);
        }
        report.counter_cells_removed = self.prune_counters().await?;
        info!(
            versions = report.versions_removed,
            counter_cells = report.counter_cells_removed,
            blobs = report.blobs_removed,
            "prune done"
        );
        Ok(report)
    }

    /// Verifies the version chain of every record ([`Collection::verify_all`]) of every
    /// collection stored in a configured database, or of the collections named `only`,
    /// telling `progress` after every page of records: records checked and broken chains
    /// found so far, over all collections.
    pub async fn verify_all(
        &self,
        only: Option<&str>,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<CollectionVerification>> {
        let mut out = Vec::new();
        let (mut records, mut broken) = (0, 0);
        for coll in self.stored_collections().await? {
            if only.is_some_and(|name| name != coll.name()) {
                continue;
            }
            let tell: Option<ProgressFn> = progress.clone().map(|tell| {
                let f: ProgressFn = Arc::new(move |p: Progress| {
                    tell(Progress {
                        scanned: records + p.scanned,
                        found: broken + p.found,
                    })
                });
                f
            });
            let report = coll.verify_all_with(tell).await?;
            records += report.records;
            broken += report.broken.len() as u64;
            out.push(CollectionVerification {
                db_name: coll.db_name().to_string(),
                collection: coll.name().to_string(),
                report,
            });
        }
        info!(records, broken, "verify done");
        Ok(out)
    }

    /// The collections with records in the database and bucket `route` resolves to (its
    /// collection name only has to be a valid one): what a whole route holds, for an export.
    pub async fn route_collections(&self, route: &Route) -> Result<Vec<Collection>> {
        let target = self.router().resolve(route)?;
        let mut out = Vec::new();
        for name in target.index.collections(&target.db_name).await? {
            out.push(self.with(Route {
                collection: name,
                ..route.clone()
            })?);
        }
        Ok(out)
    }

    /// Every collection that has records in a configured database, opened where routing puts
    /// it (a collection found elsewhere is skipped with a warning).
    async fn stored_collections(&self) -> Result<Vec<Collection>> {
        let mut out = Vec::new();
        for db in self.router().databases() {
            let (route, db_name) = (db.route, db.db_name);
            for store in db.stores {
                for collection in store.collections(&db_name).await? {
                    let route = Route {
                        collection: collection.clone(),
                        ..route.clone()
                    };
                    let Ok(target) = self.router().resolve(&route) else {
                        continue;
                    };
                    if !Arc::ptr_eq(&target.index, &store) {
                        warn!(db = %db_name, collection = %collection, "collection is not where routing puts it; skipped");
                        continue;
                    }
                    out.push(self.inner.collections.open(target, &route)?);
                }
            }
        }
        Ok(out)
    }

    /// Applies `retention.counters` to the analytics database of every configured database.
    async fn prune_counters(&self) -> Result<u64> {
        let Some(policy) = &self.config().retention.counters else {
            return Ok(0);
        };
        let cutoffs = retention_cutoffs(policy, chrono::Utc::now().date_naive());
        let mut done = std::collections::HashSet::new();
        let mut removed = 0;
        for db in self.router().databases() {
            for store in db.stores {
                let key = (
                    Arc::as_ptr(&store).cast::<()>() as usize,
                    db.analytics_db_name.clone(),
                );
                if !done.insert(key) {
                    continue;
                }
                for (period, before) in &cutoffs {
                    removed += store
                        .prune_counts(&db.analytics_db_name, period, before)
                        .await?;
                }
            }
        }
        Ok(removed)
    }

    /// Analytics counters (created / updated / deleted and `counterRules`) per collection.
    pub fn counters(&self) -> Counters {
        Counters::new(
            self.inner.collections.router().clone(),
            self.inner.collections.shared().sink.clone(),
        )
    }

    /// Finds payload blobs that no committed version points at (a writer died between its
    /// blob put and its commit) in every configured bucket and removes them, and rolls heads
    /// left behind a committed version forward (found from the index: one pass over each
    /// collection's versions and heads, since inline payloads leave no object to go by). Blobs younger than `opts.min_age` are left
    /// alone (a write may be in flight); `opts.dry_run` only reports.
    ///
    /// Each bucket is listed as a stream and checked a batch at a time, so memory stays
    /// bounded however many payloads there are (the orphans found are kept for the report);
    /// `opts.progress` is told after every batch. Orphans are removed once a bucket's listing
    /// is done.
    pub async fn repair(&self, opts: RepairOptions) -> Result<RepairReport> {
        use futures::StreamExt;
        let now = chrono::Utc::now();
        let mut report = RepairReport::default();
        let mut progress = Progress::default();
        for db in self.router().databases() {
            for bucket in &db.buckets {
                let mut found = RepairReport::default();
                let mut batches = bucket
                    .list_stream(&format!("{}/", db.db_name))?
                    .chunks(REPAIR_BATCH);
                while let Some(batch) = batches.next().await {
                    let batch = batch.into_iter().collect::<Result<Vec<_>>>()?;
                    progress.scanned += batch.len() as u64;
                    found.merge(self.repair_batch(&db, bucket, batch, &opts, now).await?);
                    progress.found = (report.orphans.len() + found.orphans.len()) as u64;
                    if let Some(tell) = &opts.progress {
                        tell(progress);
                    }
                }
                if !opts.dry_run {
                    for orphan in &found.orphans {
                        match bucket.delete(&orphan.key).await {
                            Ok(()) => found.removed += 1,
                            Err(e) => {
                                warn!(key = %orphan.key, error = %e, "could not remove an orphaned blob")
                            }
                        }
                    }
                }
                report.merge(found);
                report.merge(unfinished_puts(bucket, &db.db_name, &opts, now).await?);
            }
        }
        // Inline payloads leave no object to find a record by: heads are checked against the
        // index itself, every collection in one pass over its versions.
        for coll in self.stored_collections().await? {
            report.heads_rolled_forward += coll.roll_lagging_heads(opts.dry_run).await?;
        }
        info!(
            orphans = report.orphans.len(),
            removed = report.removed,
            heads = report.heads_rolled_forward,
            dry_run = opts.dry_run,
            "repair done"
        );
        Ok(report)
    }

    /// Checks one batch of a bucket's payload keys, collection by collection.
    async fn repair_batch(
        &self,
        db: &crate::route::ConfiguredDb,
        bucket: &crate::blob::BlobStore,
        keys: Vec<(String, chrono::DateTime<chrono::Utc>)>,
        opts: &RepairOptions,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<RepairReport> {
        let mut report = RepairReport::default();
        let mut by_collection: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for (key, written_at) in keys {
            match parse_payload_key(&db.db_name, &key) {
                Some(parsed) => by_collection
                    .entry(parsed.collection.clone())
                    .or_default()
                    .push((parsed, key, written_at)),
                None => warn!(key = %key, "not a payload key; left alone"),
            }
        }
        for (collection, blobs) in by_collection {
            let route = Route {
                collection: collection.clone(),
                ..db.route.clone()
            };
            let Ok(target) = self.router().resolve(&route) else {
                warn!(db = %db.db_name, collection = %collection, "blobs of an unroutable collection; left alone");
                continue;
            };
            if !target.blobs.same_as(bucket) {
                warn!(db = %db.db_name, collection = %collection, "blobs outside the collection's bucket; left alone");
                continue;
            }
            let coll = self.inner.collections.open(target, &route)?;
            report
                .orphans
                .extend(coll.orphans_among(blobs, opts, now).await?);
        }
        Ok(report)
    }

    /// Crypto-shredding: destroys the data key of the database `route` leads to (its
    /// collection name is ignored), so every version of every record in it, and every copy
    /// of them made before, can never be decrypted again. Reads then answer
    /// [`Error::Shredded`](crate::Error::Shredded) naming the key, and writes to the
    /// database are refused the same way. `confirm` must be the database's name
    /// ([`Collection::db_name`]), a guard against shredding the wrong tenant.
    pub async fn shred(&self, route: &Route, confirm: &str) -> Result<crate::crypt::ShredReport> {
        let ring = self.keyring("shred")?;
        let db = self.configured_db(route)?;
        if confirm != db.db_name {
            return Err(Error::Validation(format!(
                "shredding destroys every record of database {db:?} for good; pass its name                  as the confirmation (got {confirm:?})",
                db = db.db_name
            )));
        }
        let mut key_ids = Vec::new();
        for store in &db.stores {
            if let Some(id) = ring.route(store, &db.db_name)?.shred().await? {
                key_ids.push(id);
            }
        }
        warn!(db = %db.db_name, keys = ?key_ids, "route shredded: its data keys were destroyed");
        Ok(crate::crypt::ShredReport {
            db_name: db.db_name,
            key_ids,
        })
    }

    /// Rewraps the data key of every configured database under the master key of `new`, without rewriting any payload. Safe to interrupt and run again (keys
    /// already under the new key are left alone). This instance uses the new key from then
    /// on; point the configuration's `encryption.masterKey` at it before the next start.
    pub async fn rotate_master_key(
        &self,
        new: &dyn crate::crypt::MasterKeyProvider,
    ) -> Result<crate::crypt::RotationReport> {
        let ring = self.keyring("rotate_master_key")?;
        let new = new.master_key().await?;
        let mut report = crate::crypt::RotationReport {
            fingerprint: new.fingerprint().to_string(),
            ..Default::default()
        };
        for db in self.router().databases() {
            for store in &db.stores {
                let Some(keys) = store.clone().keys() else {
                    continue;
                };
                let (rewrapped, done, shredded) =
                    ring.rewrap(keys.as_ref(), &db.db_name, &new).await?;
                report.rewrapped += rewrapped;
                report.already_rotated += done;
                report.shredded += shredded;
            }
        }
        ring.replace_master(new)?;
        info!(rewrapped = report.rewrapped, fingerprint = %report.fingerprint, "master key rotated");
        Ok(report)
    }

    fn keyring(&self, operation: &str) -> Result<&Arc<crate::crypt::Keyring>> {
        self.inner
            .collections
            .shared()
            .keyring
            .as_ref()
            .ok_or_else(|| {
                Error::config(
                    "encryption.enabled",
                    format!("{operation} needs encryption to be enabled"),
                )
            })
    }

    /// The configured database `route` leads to.
    fn configured_db(&self, route: &Route) -> Result<crate::route::ConfiguredDb> {
        let route = Route {
            collection: String::new(),
            ..route.clone()
        };
        self.router()
            .databases()
            .into_iter()
            .find(|db| db.route == route)
            .ok_or_else(|| Error::Route(format!("no database is configured for {route:?}")))
    }

    /// The configuration this instance runs with.
    pub fn config(&self) -> &ChronosConfig {
        self.inner.collections.config()
    }

    /// Stops the instance: pending counter increments are written first (an error says they
    /// could not be), then every index connection is closed, so no driver worker outlives
    /// the call. Other clones of this instance cannot use the index store afterwards.
    pub async fn shutdown(self) -> Result<()> {
        let flushed = self.inner.collections.shared().sink.flush().await;
        for conn in self.router().backends().index_conns() {
            conn.store.close().await;
        }
        flushed?;
        info!("chronos-db shut down");
        Ok(())
    }
}

/// The temporary files of puts a killed writer never finished (local files), older than
/// `min_age`: reported as orphans and removed unless `dry_run`.
async fn unfinished_puts(
    bucket: &crate::blob::BlobStore,
    db_name: &str,
    opts: &RepairOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<RepairReport> {
    let min_age = chrono::Duration::from_std(opts.min_age).unwrap_or(chrono::Duration::MAX);
    let mut report = RepairReport::default();
    for (key, written_at) in bucket.unfinished_puts(&format!("{db_name}/")).await? {
        if now - written_at < min_age {
            continue;
        }
        if !opts.dry_run {
            bucket.remove_unfinished_put(&key).await?;
            report.removed += 1;
        }
        report.orphans.push(crate::ops::OrphanBlob {
            bucket: bucket.bucket().to_string(),
            key,
            written_at,
        });
    }
    Ok(report)
}
