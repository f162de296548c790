//! `Chronos`: the entry point. Validates the configuration, opens one client per connection
//! and hands out collection handles per route.

use std::sync::Arc;

use tracing::info;

use crate::config::ChronosConfig;
use crate::error::Result;
use crate::health::{self, HealthReport};
use crate::ops::Collection;
use crate::route::{Route, Router};

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
