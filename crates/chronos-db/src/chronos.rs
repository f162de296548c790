//! `Chronos`: the entry point. Validates the configuration, opens one client per connection
//! and hands out collection handles per route.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::config::ChronosConfig;
use crate::error::Result;
use crate::health::{self, HealthReport};
use crate::ops::{Collection, CollectionPrune};
use crate::route::{Route, Router};

/// What `Chronos::prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    /// Version rows removed in all.
    pub versions_removed: u64,
    /// Payload blobs removed in all.
    pub blobs_removed: u64,
    /// Per collection.
    pub collections: Vec<CollectionPrune>,
}

/// A chronos-db instance. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct Chronos {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ChronosConfig,
    router: Router,
}

impl Chronos {
    /// Validates `config` (every problem is reported at once) and opens its backends.
    pub async fn init(config: ChronosConfig) -> Result<Self> {
        config.validate()?;
        let router = Router::build(&config).await?;
        info!(
            index_connections = config.db_connections.len(),
            payload_connections = config.spaces_connections.len(),
            "chronos-db ready"
        );
        Ok(Chronos {
            inner: Arc::new(Inner { config, router }),
        })
    }

    /// The collection handle of a route. Fails with `Error::Route` when the route names a
    /// tenant, domain or tier that is not configured, or an invalid collection.
    pub fn with(&self, route: Route) -> Result<Collection> {
        let target = self.inner.router.resolve(&route)?;
        Ok(Collection::new(
            target,
            &route.collection,
            &self.inner.config,
        ))
    }

    /// Pings every configured index connection and bucket and reports each one's state and
    /// latency. Connection strings are redacted; credentials never appear.
    pub async fn health(&self) -> HealthReport {
        health::check(&self.inner.router).await
    }

    /// Applies `retention.ver` (`days`, `maxPerItem`) to every collection of every configured
    /// database: old version rows and their blobs are removed, never a record's latest
    /// version, nor the version that was current at the `days` cutoff. Reports what it removed.
    pub async fn prune(&self) -> Result<PruneReport> {
        let policy = self.inner.config.retention.ver.clone().unwrap_or_default();
        let now = chrono::Utc::now().timestamp_micros();
        let mut report = PruneReport::default();
        for db in self.inner.router.databases() {
            let (route, db_name) = (db.route, db.db_name);
            for store in db.stores {
                for collection in store.collections(&db_name).await? {
                    let route = Route {
                        collection: collection.clone(),
                        ..route.clone()
                    };
                    let Ok(target) = self.inner.router.resolve(&route) else {
                        continue;
                    };
                    if !Arc::ptr_eq(&target.index, &store) {
                        warn!(db = %db_name, collection = %collection, "collection is not where routing puts it; skipped");
                        continue;
                    }
                    let coll = Collection::new(target, &collection, &self.inner.config);
                    let pruned = coll.prune(&policy, now).await?;
                    report.versions_removed += pruned.versions_removed;
                    report.blobs_removed += pruned.blobs_removed;
                    report.collections.push(pruned);
                }
            }
        }
        info!(
            versions = report.versions_removed,
            blobs = report.blobs_removed,
            "prune done"
        );
        Ok(report)
    }

    /// The configuration this instance runs with.
    pub fn config(&self) -> &ChronosConfig {
        &self.inner.config
    }

    /// Stops the instance. Pending work is finished first; connections close when the last
    /// clone is dropped.
    pub async fn shutdown(self) -> Result<()> {
        info!("chronos-db shut down");
        Ok(())
    }
}
