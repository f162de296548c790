//! The collection handle returned by `Chronos::with`: the version protocol, with no
//! backend-specific code.

mod envelope;
mod list;
mod lock;
mod props;
mod read;
mod write;

use std::sync::Arc;

use crate::config::ChronosConfig;
use crate::error::{Error, Result};
use crate::index::{HeadRow, IndexStore, Namespace};
use crate::names;
use crate::route::Target;

pub use lock::{CollectionLock, MAX_LOCK_TTL};
pub use props::IndexPolicy;

/// One collection of one route: create, update, delete, read, time-travel and list records.
///
/// Cheap to clone; every clone shares the same backends.
#[derive(Debug, Clone)]
pub struct Collection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    target: Arc<Target>,
    ns: Namespace,
    policy: IndexPolicy,
    logical_delete: bool,
}

impl Collection {
    pub(crate) fn new(target: Arc<Target>, collection: &str, config: &ChronosConfig) -> Self {
        let policy = IndexPolicy::from_config(config.collection_maps.get(collection));
        let ns = Namespace {
            db_name: target.db_name.clone(),
            collection: collection.to_string(),
            indexed_props: Arc::new(policy.declared().to_vec()),
        };
        Collection {
            inner: Arc::new(Inner {
                target,
                ns,
                policy,
                logical_delete: config.logical_delete.enabled,
            }),
        }
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

    /// The head of a live (not deleted) record, checked against the caller's expected ov.
    async fn live_head(&self, id: &str, expected_ov: u64) -> Result<HeadRow> {
        let head = self
            .index()
            .head(&self.inner.ns, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("{}/{id} does not exist", self.name())))?;
        if head.latest.deleted {
            return Err(Error::NotFound(format!(
                "{}/{id} is deleted (ov {}); restore it before writing",
                self.name(),
                head.latest.ov
            )));
        }
        if head.latest.ov != expected_ov {
            return Err(self.conflict(id, expected_ov, head.latest.ov));
        }
        Ok(head)
    }

    fn conflict(&self, id: &str, expected: u64, current: u64) -> Error {
        Error::Conflict {
            collection: self.name().to_string(),
            id: id.to_string(),
            expected,
            current,
        }
    }
}

fn check_id(id: &str) -> Result<()> {
    names::check_id(id).map_err(Error::Validation)
}
