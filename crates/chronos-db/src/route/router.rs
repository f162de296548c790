//! Resolution of a [`Route`] to its [`Target`]: never a fallback to another tier or tenant.

use std::collections::HashMap;
use std::sync::Arc;

use super::backends::{local_storage_dir, Backends, BucketConn, IndexConn};
use super::hashing::{self, KeyParts};
use super::{Route, Tier};
use crate::blob::BlobStore;
use crate::config::{ChronosConfig, DatabaseEntry, DbType, HashAlgo};
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

/// One configured database entry with its opened connections (one or several to choose from).
#[derive(Debug)]
struct Entry {
    db_name: String,
    analytics_db_name: String,
    index: Vec<IndexConn>,
    buckets: Vec<BucketConn>,
}

/// A configured database, as `Router::databases` lists it.
#[derive(Debug, Clone)]
pub struct ConfiguredDb {
    /// A route to the database (its collection name is empty).
    pub route: Route,
    /// Index database name.
    pub db_name: String,
    /// Database of its analytics counters.
    pub analytics_db_name: String,
    /// The index stores it may live on.
    pub stores: Vec<Arc<dyn IndexStore>>,
    /// The buckets its payloads may live in.
    pub buckets: Vec<BlobStore>,
}

/// (type, tier, tenant or domain) -> entry.
type EntryKey = (DbType, Tier, Option<String>);

/// Every configured entry, built once at start.
#[derive(Debug)]
pub struct Router {
    entries: HashMap<EntryKey, Entry>,
    backends: Backends,
    algo: HashAlgo,
    template: String,
}

impl Router {
    /// Opens the backends of a validated configuration and builds every entry.
    pub async fn build(config: &ChronosConfig) -> Result<Self> {
        let mut backends = Backends::open(config).await?;
        let mut entries = HashMap::new();
        for (key, entry) in config_entries(config) {
            let index = entry
                .db_conn_ref
                .names()
                .iter()
                .map(|n| backends.index(n))
                .collect::<Result<Vec<_>>>()?;
            let buckets = match (&entry.space_conn_ref, local_storage_dir(config)) {
                (_, Some(_)) | (None, None) => {
                    vec![backends.bucket(config, None, &entry.bucket)?]
                }
                (Some(refs), None) => refs
                    .names()
                    .iter()
                    .map(|n| backends.bucket(config, Some(n), &entry.bucket))
                    .collect::<Result<Vec<_>>>()?,
            };
            entries.insert(
                key,
                Entry {
                    db_name: entry.db_name.clone(),
                    analytics_db_name: entry
                        .analytics_db_name
                        .clone()
                        .unwrap_or_else(|| entry.db_name.clone()),
                    index,
                    buckets,
                },
            );
        }
        Ok(Router {
            entries,
            backends,
            algo: config.routing.hash_algo,
            template: config
                .routing
                .choose_key
                .clone()
                .unwrap_or_else(|| hashing::DEFAULT_TEMPLATE.to_string()),
        })
    }

    /// Every configured database: a route to it (with an empty collection name) and the index
    /// stores it may live on.
    pub fn databases(&self) -> Vec<ConfiguredDb> {
        let mut out: Vec<_> = self
            .entries
            .iter()
            .map(|((db_type, tier, key), entry)| {
                let route = Route {
                    db_type: *db_type,
                    tier: *tier,
                    tenant_id: key.clone().filter(|_| *tier == Tier::Tenant),
                    domain: key.clone().filter(|_| *tier == Tier::Domain),
                    collection: String::new(),
                };
                ConfiguredDb {
                    route,
                    db_name: entry.db_name.clone(),
                    analytics_db_name: entry.analytics_db_name.clone(),
                    stores: entry.index.iter().map(|c| c.store.clone()).collect(),
                    buckets: entry.buckets.iter().map(|c| c.store.clone()).collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.db_name.cmp(&b.db_name));
        out
    }

    /// The opened connections, for health checks.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// Resolves a route. Errors name what is wrong: a missing or superfluous tenant/domain, a
    /// bad collection name, or a tenant/domain/tier that is not configured.
    pub fn resolve(&self, route: &Route) -> Result<Arc<Target>> {
        names::check_collection(&route.collection).map_err(Error::Route)?;
        let key = route_key(route)?;
        let what = match (&route.tier, &key) {
            (Tier::Tenant, Some(t)) => format!("tenant {t:?}"),
            (Tier::Domain, Some(d)) => format!("domain {d:?}"),
            _ => "the generic tier".to_string(),
        };
        let entry = self
            .entries
            .get(&(route.db_type, route.tier, key))
            .ok_or_else(|| {
                Error::Route(format!(
                    "{what} has no {} database configured",
                    route.db_type.as_str()
                ))
            })?;
        let choose_key = hashing::render(
            &self.template,
            &KeyParts {
                db_type: route.db_type.as_str(),
                tier: tier_name(route.tier),
                tenant_id: route.tenant_id.as_deref().unwrap_or(""),
                domain: route.domain.as_deref().unwrap_or(""),
                db_name: &entry.db_name,
                collection: &route.collection,
            },
        );
        let pick = |names: Vec<String>| hashing::choose(self.algo, &choose_key, &names);
        let index = entry
            .index
            .get(pick(entry.index.iter().map(|c| c.name.clone()).collect()))
            .ok_or_else(|| Error::Route(format!("{what} has no index connection")))?;
        let bucket = entry
            .buckets
            .get(pick(entry.buckets.iter().map(|c| c.name.clone()).collect()))
            .ok_or_else(|| Error::Route(format!("{what} has no payload connection")))?;
        Ok(Arc::new(Target {
            db_name: entry.db_name.clone(),
            analytics_db_name: entry.analytics_db_name.clone(),
            index: index.store.clone(),
            blobs: bucket.store.clone(),
        }))
    }
}

fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Generic => "generic",
        Tier::Domain => "domain",
        Tier::Tenant => "tenant",
    }
}

/// The tenant or domain of a route, after checking the route's shape.
fn route_key(route: &Route) -> Result<Option<String>> {
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
                "the {} tier takes {}",
                tier_name(tier),
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
    Ok(key)
}

/// Every database entry of a configuration with its routing key.
fn config_entries(config: &ChronosConfig) -> Vec<(EntryKey, &DatabaseEntry)> {
    let mut out = Vec::new();
    for db_type in DbType::ALL {
        if db_type == DbType::Logs {
            if let Some(e) = &config.databases.logs {
                out.push(((db_type, Tier::Generic, None), e));
            }
            continue;
        }
        let Some(tiered) = config.databases.tiered(db_type) else {
            continue;
        };
        if let Some(e) = &tiered.generic_database {
            out.push(((db_type, Tier::Generic, None), e));
        }
        for e in &tiered.domains_databases {
            out.push(((db_type, Tier::Domain, e.domain.clone()), e));
        }
        for e in &tiered.tenant_databases {
            out.push(((db_type, Tier::Tenant, e.tenant_id.clone()), e));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn routes_naming_one_connection_share_its_client() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = ChronosConfig::embedded(dir.path())
            .with_tenant("a")
            .with_tenant("b");
        let router = Router::build(&config).await.expect("router");
        let a = router
            .resolve(&Route::tenant(DbType::Runtime, "a", "users"))
            .expect("a");
        let b = router
            .resolve(&Route::tenant(DbType::Metadata, "b", "users"))
            .expect("b");
        assert!(Arc::ptr_eq(&a.index, &b.index));
        assert_ne!(a.db_name, b.db_name);
        assert_eq!(router.backends().index_conns().count(), 1);
    }
}
