//! The collection handle returned by `Chronos::with`: the version protocol, with no
//! backend-specific code.

mod batch;
mod changes;
mod collections;
mod enrich;
mod envelope;
mod erase;
mod export;
mod history;
mod import;
mod import_history;
mod limits;
mod list;
mod lock;
mod merge;
mod new_version;
mod payload;
mod props;
mod queue;
mod read;
mod repair;
mod restore;
mod retention;
mod sealing;
mod verify;
mod write;

use std::sync::Arc;

use crate::config::ChronosConfig;
use crate::counters::{CounterSink, RuleSet, Tally};
use crate::error::{Error, Result};
use crate::index::{
    self, AuditLog, HeadQuery, HeadRow, IndexStore, Located, LockStore, Namespace, QueueStore,
    RecordRead, VersionPick, VersionRow,
};
use crate::names;
use crate::query::Sort;
use crate::route::{Route, Target};

pub use changes::{ChangePage, ChangesQuery, FeedOptions};
pub(crate) use collections::Collections;
pub use enrich::EnrichMeta;
pub use erase::EraseReport;
pub use export::ExportedVersion;
pub use history::{Diff, HistoryPage, HistoryQuery};
pub use import::{ImportOptions, ImportReport};
pub use import_history::HistoricVersion;
pub use lock::CollectionLock;
pub use props::IndexPolicy;
pub use queue::QueuedWrite;
pub(crate) use queue::Replayed;
pub(crate) use queue::{FallbackPolicy, DEFAULT_DEAD_LETTER, OPS_TABLE};
pub use repair::{OrphanBlob, Progress, ProgressFn, RepairOptions, RepairReport};
pub use restore::{RestoreAction, RestoreOptions, RestoreReport, RestoreTarget};
pub use retention::CollectionPrune;
pub use verify::{
    BrokenLink, ChainBreak, CollectionVerification, RecordVerification, VerifyReport,
};

/// One collection of one route: create, update, delete, read, time-travel and list records.
///
/// Cheap to clone; every clone shares the same backends. Its methods, by what they do (each
/// group lives in the `ops/` files named):
///
/// - **Writes** (`write.rs`, `batch.rs`, `enrich.rs`): [`create`](Self::create),
///   [`create_with_id`](Self::create_with_id), [`create_many`](Self::create_many),
///   [`update`](Self::update), [`delete`](Self::delete), [`enrich`](Self::enrich).
/// - **Reads** (`read.rs`, `list.rs`, `history.rs`): [`get_latest`](Self::get_latest),
///   [`get_version`](Self::get_version), [`get_as_of`](Self::get_as_of),
///   [`list_by_meta`](Self::list_by_meta), [`history`](Self::history), [`diff`](Self::diff).
/// - **Change feed** (`changes.rs`): [`changes`](Self::changes),
///   [`changes_with`](Self::changes_with), [`follow`](Self::follow),
///   [`follow_with`](Self::follow_with).
/// - **Maintenance** (`restore.rs`, `verify.rs`, `retention.rs`, `erase.rs`, `lock.rs`):
///   [`restore_object`](Self::restore_object),
///   [`restore_collection`](Self::restore_collection),
///   [`restore_collection_with`](Self::restore_collection_with), [`verify`](Self::verify),
///   [`verify_all`](Self::verify_all), [`verify_all_with`](Self::verify_all_with),
///   [`prune`](Self::prune), [`erase`](Self::erase), [`audit_log`](Self::audit_log),
///   [`try_lock`](Self::try_lock); their options and reports are in
///   [`maintenance`](crate::maintenance).
/// - **Transfer** (`export.rs`, `import.rs`, `import_history.rs`): [`export`](Self::export),
///   [`import`](Self::import), [`import_history`](Self::import_history); types in
///   [`transfer`](crate::transfer).
/// - **About it**: [`name`](Self::name), [`db_name`](Self::db_name),
///   [`bucket`](Self::bucket).
#[derive(Debug, Clone)]
pub struct Collection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    target: Arc<Target>,
    ns: Namespace,
    policy: IndexPolicy,
    limits: limits::WriteLimits,
    codec: payload::PayloadCodec,
    logical_delete: bool,
    tally: Tally,
    route: Route,
    fallback: Option<Arc<FallbackPolicy>>,
    /// Records per index commit in `create_many`.
    batch_size: usize,
    /// The route's keys, when payloads are encrypted.
    keys: Option<Arc<crate::crypt::RouteKeys>>,
}

/// What every collection handle of one instance shares: counting and the fallback queue.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub sink: Arc<CounterSink>,
    pub rules: Arc<RuleSet>,
    pub fallback: Option<Arc<FallbackPolicy>>,
    /// The instance's keys, when payloads are encrypted.
    pub keyring: Option<Arc<crate::crypt::Keyring>>,
}

impl Collection {
    pub(crate) fn new(
        target: Arc<Target>,
        route: &Route,
        config: &ChronosConfig,
        shared: &Shared,
    ) -> Result<Self> {
        let collection = route.collection.as_str();
        let keys = match &shared.keyring {
            Some(ring) => Some(ring.route(&target.index, &target.db_name)?),
            None => None,
        };
        let tally = Tally::new(shared.sink.clone(), shared.rules.clone(), route, &target);
        let policy = IndexPolicy::from_config(config.collection_maps.get(collection));
        let ns = Namespace {
            db_name: target.db_name.clone(),
            collection: collection.to_string(),
            indexed_props: Arc::new(policy.declared().to_vec()),
        };
        Ok(Collection {
            inner: Arc::new(Inner {
                keys,
                target,
                ns,
                policy,
                codec: payload::PayloadCodec::from_config(config, collection),
                limits: limits::WriteLimits::from_config(&config.write_optimization),
                logical_delete: config.logical_delete.enabled,
                tally,
                route: route.clone(),
                fallback: shared.fallback.clone(),
                batch_size: config
                    .write_optimization
                    .batch_size
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(batch::DEFAULT_BATCH_SIZE)
                    .max(1),
            }),
        })
    }

    /// Collection name.
    pub fn name(&self) -> &str {
        &self.inner.ns.collection
    }

    /// Index database this collection lives in.
    pub fn db_name(&self) -> &str {
        &self.inner.ns.db_name
    }

    /// Bucket holding this collection's payloads.
    pub fn bucket(&self) -> &str {
        self.inner.target.blobs.bucket()
    }

    fn index(&self) -> &dyn IndexStore {
        self.inner.target.index.as_ref()
    }

    /// The collection's fallback queue, or `Unsupported` for `operation`.
    fn queue_store(&self, operation: &'static str) -> Result<Arc<dyn QueueStore>> {
        let store = &self.inner.target.index;
        index::require(
            store.clone().queue(),
            store.as_ref(),
            "fallback queue",
            operation,
        )
    }

    /// The collection's lock store, or `Unsupported` for `operation`.
    fn lock_store(&self, operation: &'static str) -> Result<Arc<dyn LockStore>> {
        let store = &self.inner.target.index;
        index::require(store.clone().locks(), store.as_ref(), "locks", operation)
    }

    /// The collection's audit log, or `Unsupported` for `operation`.
    fn audit_store(&self, operation: &'static str) -> Result<Arc<dyn AuditLog>> {
        let store = &self.inner.target.index;
        index::require(
            store.clone().audit(),
            store.as_ref(),
            "audit log",
            operation,
        )
    }

    /// The head of a record (a full read).
    async fn head(&self, id: &str) -> Result<Option<HeadRow>> {
        let what = RecordRead {
            head: true,
            version: None,
        };
        Ok(self.index().read(&self.inner.ns, id, what).await?.head)
    }

    /// A version of a record (a full read).
    async fn version(&self, id: &str, pick: VersionPick) -> Result<Option<VersionRow>> {
        let what = RecordRead {
            head: false,
            version: Some(pick),
        };
        Ok(self.index().read(&self.inner.ns, id, what).await?.version)
    }

    /// Up to `limit` records (deleted ones too) by id after `after_id`, only those written
    /// since collection version `written_after_cv` when set: one page of a walk over the
    /// collection (maintenance, verification).
    async fn record_page(
        &self,
        after_id: Option<String>,
        limit: usize,
        written_after_cv: Option<u64>,
    ) -> Result<Vec<Located>> {
        let query = HeadQuery {
            filter: None,
            sort: Sort::default(),
            limit,
            after_id,
            include_deleted: true,
            written_after_cv,
        };
        self.index().list_heads(&self.inner.ns, &query).await
    }

    /// The next collection version, reserved now.
    async fn next_cv(&self) -> Result<u64> {
        self.index().reserve_cvs(&self.inner.ns, 1).await
    }

    /// The head of a live (not deleted) record, checked against the caller's expected ov.
    async fn live_head(&self, id: &str, expected_ov: u64) -> Result<HeadRow> {
        let head = self.live_head_any(id).await?;
        if head.latest.ov != expected_ov {
            return Err(self.conflict(id, expected_ov, head.latest.ov));
        }
        Ok(head)
    }

    /// The head of a live (not deleted) record, whatever its ov.
    async fn live_head_any(&self, id: &str) -> Result<HeadRow> {
        let head = self.existing_head(id).await?;
        if head.latest.deleted {
            return Err(self.deleted(id, head.latest.ov));
        }
        Ok(head)
    }

    /// The head of a record that exists (deleted or not).
    async fn existing_head(&self, id: &str) -> Result<HeadRow> {
        self.head(id).await?.ok_or_else(|| self.missing(id))
    }

    /// The error for a record that does not exist.
    fn missing(&self, id: &str) -> Error {
        Error::NotFound(format!("{}/{id} does not exist", self.name()))
    }

    /// The error for a write to a record whose latest version `ov` is a logical delete.
    fn deleted(&self, id: &str, ov: u64) -> Error {
        Error::Deleted {
            collection: self.name().to_string(),
            id: id.to_string(),
            ov,
        }
    }

    fn conflict(&self, id: &str, expected: u64, current: u64) -> Error {
        Error::Conflict {
            collection: self.name().to_string(),
            id: id.to_string(),
            expected,
            current,
            exists: false,
        }
    }

    /// The error for a create whose id exists, at ov `current`.
    fn id_taken(&self, id: &str, current: u64) -> Error {
        Error::Conflict {
            collection: self.name().to_string(),
            id: id.to_string(),
            expected: 0,
            current,
            exists: true,
        }
    }
}

fn check_id(id: &str) -> Result<()> {
    names::check_id(id).map_err(Error::Validation)
}
