//! What every handler shares: the library instance, the keys, the settings and the metrics.

use std::sync::Arc;

use chronos_db::Chronos;

use crate::config::ServeConfig;
use crate::keys::KeyRing;
use crate::metrics::Metrics;

/// The service's shared state.
#[derive(Debug)]
pub struct AppState {
    /// The library instance the service runs on.
    pub chronos: Chronos,
    /// The API keys.
    pub keys: KeyRing,
    /// The `serve` settings.
    pub config: ServeConfig,
    /// Request and write counts for `/metrics`.
    pub metrics: Metrics,
}

/// The state as handlers hold it.
pub type Shared = Arc<AppState>;
