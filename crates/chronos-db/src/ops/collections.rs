//! Collection handles of one instance: what `Chronos::with` and the fallback replay worker
//! open collections through, so neither depends on the other.

use std::sync::Arc;

use super::{Collection, Shared};
use crate::config::ChronosConfig;
use crate::error::Result;
use crate::route::{Route, Router};

/// The routes, configuration and shared state every collection handle of an instance is
/// built from.
#[derive(Debug)]
pub(crate) struct Collections {
    router: Arc<Router>,
    config: ChronosConfig,
    shared: Shared,
}

impl Collections {
    /// Handles over `router`, configured by `config`, sharing `shared`.
    pub(crate) fn new(router: Arc<Router>, config: ChronosConfig, shared: Shared) -> Self {
        Collections {
            router,
            config,
            shared,
        }
    }

    /// The handle of a route (`Error::Route` when it does not resolve).
    pub(crate) fn with(&self, route: &Route) -> Result<Collection> {
        self.open(self.router.resolve(route)?, route)
    }

    /// The handle of a route already resolved to `target`.
    pub(crate) fn open(
        &self,
        target: Arc<crate::route::Target>,
        route: &Route,
    ) -> Result<Collection> {
        Collection::new(target, route, &self.config, &self.shared)
    }

    /// Where routes lead.
    pub(crate) fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// The configuration the handles follow.
    pub(crate) fn config(&self) -> &ChronosConfig {
        &self.config
    }

    /// State shared by every handle.
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}
