//! `Chronos::health`: every configured backend pinged, with its latency; URIs redacted.
//!
//! ```
//! use chronos_db::{Chronos, ChronosConfig};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let chronos = Chronos::init(ChronosConfig::embedded(dir.path())).await?;
//! let report = chronos.health().await;
//! assert!(report.all_ok());
//! for backend in &report.backends {
//!     println!("{} {} ({}): {:?}", backend.kind, backend.connection, backend.target, backend.latency);
//! }
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use futures::future::join_all;
use serde::Serialize;

use crate::route::Router;

/// How long one ping may take before it counts as failed.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// What a backend holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BackendRole {
    /// Heads, versions and counters.
    Index,
    /// Payload blobs.
    Payloads,
}

/// The health of one backend.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackendHealth {
    /// Index or payloads.
    pub role: BackendRole,
    /// The connection name from the configuration.
    pub connection: String,
    /// `sqlite`, `mongodb`, `s3`, `local` or `memory`.
    pub kind: String,
    /// Where it points, credentials redacted.
    pub target: String,
    /// Whether it answered.
    pub ok: bool,
    /// How long the ping took.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub latency: Duration,
    /// Why it failed.
    pub error: Option<String>,
}

/// The health of every configured backend.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    /// One entry per index connection and per bucket.
    pub backends: Vec<BackendHealth>,
}

impl HealthReport {
    /// Whether every backend answered.
    pub fn all_ok(&self) -> bool {
        self.backends.iter().all(|b| b.ok)
    }
}

async fn timed<F>(ping: F) -> (bool, Duration, Option<String>)
where
    F: std::future::Future<Output = crate::Result<()>>,
{
    let start = Instant::now();
    let outcome = tokio::time::timeout(PING_TIMEOUT, ping).await;
    let latency = start.elapsed();
    match outcome {
        Ok(Ok(())) => (true, latency, None),
        Ok(Err(e)) => (false, latency, Some(e.to_string())),
        Err(_) => (
            false,
            latency,
            Some(format!("no answer within {PING_TIMEOUT:?}")),
        ),
    }
}

/// Pings every index connection and bucket concurrently.
pub(crate) async fn check(router: &Router) -> HealthReport {
    let backends = router.backends();
    let index = backends.index_conns().map(|c| async move {
        let (ok, latency, error) = timed(c.store.ping()).await;
        BackendHealth {
            role: BackendRole::Index,
            connection: c.name.clone(),
            kind: c.store.kind().to_string(),
            target: c.target.clone(),
            ok,
            latency,
            error,
        }
    });
    let buckets = backends.bucket_conns().map(|c| async move {
        let (ok, latency, error) = timed(c.store.ping()).await;
        BackendHealth {
            role: BackendRole::Payloads,
            connection: c.name.clone(),
            kind: c.store.kind().to_string(),
            target: c.target.clone(),
            ok,
            latency,
            error,
        }
    });
    let mut all = join_all(index).await;
    all.extend(join_all(buckets).await);
    all.sort_by(|a, b| {
        (a.role as u8, &a.connection, &a.target).cmp(&(b.role as u8, &b.connection, &b.target))
    });
    HealthReport { backends: all }
}
