//! Resolution of a [`Route`] to its [`Target`]: never a fallback to another tier or tenant.

use std::collections::HashMap;
use std::sync::Arc;

use super::backends::Backends;
use super::{Route, Tier};
use crate::blob::BlobStore;
use crate::config::{ChronosConfig, DatabaseEntry, DbType};
use crate::error::{Error, Result};
use crate::index::IndexStore;
use crate::names;

/// What a route resolves to: one index database and one bucket.
#[derive(Debug)]
pub struct Target {
    /// Index database name.
    pub db_name: String,
    /// Database for analytics counters.
    pub analytics_db_name: String,
    /// Index store holding `db_name`.
    pub index: Arc<dyn IndexStore>,
    /// Bucket of payloads.
    pub blobs: BlobStore,
}

/// (type, tier, tenant or domain) -> target.
type TargetKey = (DbType, Tier, Option<String>);

/// Every configured target, built once at start.
#[derive(Debug)]
pub struct Router {
    targets: HashMap<TargetKey, Arc<Target>>,
}

impl Router {
    /// Opens the backends of a validated configuration and builds every target.
    pub fn build(config: &ChronosConfig) -> Result<Self> {
        let mut backends = Backends::open(config)?;
        let mut targets = HashMap::new();
        let mut add = |key: TargetKey, entry: &DatabaseEntry, path: String| -> Result<()> {
            let target = Target {
                db_name: entry.db_name.clone(),
                analytics_db_name: entry
                    .analytics_db_name
                    .clone()
                    .unwrap_or_else(|| entry.db_name.clone()),
                index: backends.index(&entry.db_conn_ref)?,
                blobs: backends.blobs(config, entry, &path)?,
            };
            targets.insert(key, Arc::new(target));
            Ok(())
        };
        for db_type in DbType::ALL {
            let base = format!("databases.{}", db_type.as_str());
            if db_type == DbType::Logs {
                if let Some(e) = &config.databases.logs {
                    add((db_type, Tier::Generic, None), e, base)?;
                }
                continue;
            }
            let Some(tiered) = config.databases.tiered(db_type) else {
                continue;
            };
            if let Some(e) = &tiered.generic_database {
                add(
                    (db_type, Tier::Generic, None),
                    e,
                    format!("{base}.genericDatabase"),
                )?;
            }
            for (i, e) in tiered.domains_databases.iter().enumerate() {
                let path = format!("{base}.domainsDatabases[{i}]");
                add((db_type, Tier::Domain, e.domain.clone()), e, path)?;
            }
            for (i, e) in tiered.tenant_databases.iter().enumerate() {
                let path = format!("{base}.tenantDatabases[{i}]");
                add((db_type, Tier::Tenant, e.tenant_id.clone()), e, path)?;
            }
        }
        Ok(Router { targets })
    }

    /// Resolves a route. Errors name what is wrong: a missing or superfluous tenant/domain, a
    /// bad collection name, or a tenant/domain/tier that is not configured.
    pub fn resolve(&self, route: &Route) -> Result<Arc<Target>> {
        names::check_collection(&route.collection).map_err(Error::Route)?;
        let db = route.db_type.as_str();
        let key = match (route.tier, &route.tenant_id, &route.domain) {
            (Tier::Generic, None, None) => None,
            (Tier::Domain, None, Some(d)) => {
                names::check_tenant_or_domain("domain", d).map_err(Error::Route)?;
                Some(d.clone())
            }
            (Tier::Tenant, Some(t), None) => {
                names::check_tenant_or_domain("tenant", t).map_err(Error::Route)?;
                Some(t.clone())
            }
            (Tier::Tenant, None, _) => {
                return Err(Error::Route("the tenant tier needs a tenantId".into()))
            }
            (Tier::Domain, _, None) => {
                return Err(Error::Route("the domain tier needs a domain".into()))
            }
            (tier, _, _) => {
                return Err(Error::Route(format!(
                    "the {tier:?} tier takes {}",
                    match tier {
                        Tier::Generic => "neither tenantId nor domain",
                        Tier::Domain => "a domain and no tenantId",
                        Tier::Tenant => "a tenantId and no domain",
                    }
                )))
            }
        };
        if route.db_type == DbType::Logs && route.tier != Tier::Generic {
            return Err(Error::Route(
                "the logs database has only the generic tier".into(),
            ));
        }
        let what = match (&route.tier, &key) {
            (Tier::Tenant, Some(t)) => format!("tenant {t:?}"),
            (Tier::Domain, Some(d)) => format!("domain {d:?}"),
            _ => "the generic tier".to_string(),
        };
        self.targets
            .get(&(route.db_type, route.tier, key))
            .cloned()
            .ok_or_else(|| Error::Route(format!("{what} has no {db} database configured")))
    }
}
