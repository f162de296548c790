//! The instance: opening one from its configuration, collection handles, health, counters,
//! the fallback queue, maintenance and shutdown.

use chronos_db::fallback::QueueKind;
use chronos_db::maintenance::RepairOptions;
use chronos_db::{Chronos, ChronosConfig, DbType, Route};
use napi_derive::napi;
use serde::Serialize;
use serde_json::Value;

use crate::collection::NativeCollection;
use crate::errors::{bad_request, to_napi};
use crate::numbers::make_safe;
use crate::requests::parse;

/// Opens an instance from its configuration: the seed's JSON configuration, or
/// `{ "embedded": "<data dir>", "tenants": [...], "domains": [...] }` for the embedded
/// default (SQLite and local files under one directory). Every configuration problem is
/// reported at once, each with its JSON path.
#[napi]
pub async fn open(config_json: String) -> napi::Result<NativeChronos> {
    let value: Value = parse("configuration", &config_json)?;
    let config = match value.get("embedded") {
        Some(dir) => embedded(dir, &value)?,
        None => ChronosConfig::from_json_value(value).map_err(to_napi)?,
    };
    let chronos = Chronos::init(config).await.map_err(to_napi)?;
    Ok(NativeChronos { chronos })
}

/// The embedded default in `dir`, with the tenants and domains listed beside it.
fn embedded(dir: &Value, value: &Value) -> napi::Result<ChronosConfig> {
    let Some(dir) = dir.as_str() else {
        return Err(bad_request(
            "embedded",
            "name the data directory as a string",
        ));
    };
    let names = |key: &str| -> napi::Result<Vec<String>> {
        match value.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| bad_request(key, e)),
        }
    };
    let mut config = ChronosConfig::embedded(dir);
    for tenant in names("tenants")? {
        config = config.with_tenant(&tenant);
    }
    for domain in names("domains")? {
        config = config.with_domain(&domain);
    }
    // Other keys (fallback, collectionMaps, ...) apply over the embedded form.
    let mut json: Value = serde_json::from_str(&config.to_json_string().map_err(to_napi)?)
        .map_err(|e| bad_request("embedded configuration", e))?;
    if let (Some(base), Some(extra)) = (json.as_object_mut(), value.as_object()) {
        for (k, v) in extra {
            if !matches!(k.as_str(), "embedded" | "tenants" | "domains") {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    ChronosConfig::from_json_value(json).map_err(to_napi)
}

/// The route of `collection` in the configured database named `db_name` (its `dbName`, or
/// its `analyticsDbName`; a record database is preferred when both match).
fn route_of_database(config: &ChronosConfig, db_name: &str, collection: &str) -> Option<Route> {
    let mut found = Vec::new();
    for db_type in DbType::ALL {
        if db_type == DbType::Logs {
            if let Some(e) = &config.databases.logs {
                found.push((e, Route::generic(db_type, collection)));
            }
            continue;
        }
        let Some(tiers) = config.databases.tiered(db_type) else {
            continue;
        };
        if let Some(e) = &tiers.generic_database {
            found.push((e, Route::generic(db_type, collection)));
        }
        for e in &tiers.domains_databases {
            if let Some(d) = &e.domain {
                found.push((e, Route::domain(db_type, d.clone(), collection)));
            }
        }
        for e in &tiers.tenant_databases {
            if let Some(t) = &e.tenant_id {
                found.push((e, Route::tenant(db_type, t.clone(), collection)));
            }
        }
    }
    let by_name = found.iter().find(|(e, _)| e.db_name == db_name);
    let by_analytics = found
        .iter()
        .find(|(e, _)| e.analytics_db_name.as_deref() == Some(db_name));
    by_name.or(by_analytics).map(|(_, route)| route.clone())
}

/// A JSON answer, with version numbers JavaScript can hold.
pub(crate) fn answer<T: Serialize>(value: &T) -> napi::Result<String> {
    let mut json = serde_json::to_value(value)
        .map_err(|e| to_napi(chronos_db::Error::Validation(format!("answer: {e}"))))?;
    make_safe(&mut json);
    Ok(json.to_string())
}

/// An open chronos-db instance.
#[napi]
pub struct NativeChronos {
    chronos: Chronos,
}

#[napi]
impl NativeChronos {
    /// A handle on the collection a route names (the seed's
    /// `{ databaseType, tier, tenantId?, domain?, collection }`).
    #[napi]
    pub fn collection(&self, route_json: String) -> napi::Result<NativeCollection> {
        let route: Route = parse("route", &route_json)?;
        let coll = self.chronos.with(route).map_err(to_napi)?;
        Ok(NativeCollection::new(coll))
    }

    /// Every backend pinged, with its latency.
    #[napi]
    pub async fn health(&self) -> napi::Result<String> {
        answer(&self.chronos.health().await)
    }

    /// The counter totals of a collection, named by its route or, as the seed names it, by
    /// `{ dbName, collection }` (the record or analytics database of a configured entry).
    #[napi]
    pub async fn counters(&self, route_json: String) -> napi::Result<String> {
        let value: Value = parse("route", &route_json)?;
        let route = match (value.get("dbName"), value.get("collection")) {
            (Some(Value::String(db)), Some(Value::String(coll))) => {
                route_of_database(self.chronos.config(), db, coll).ok_or_else(|| {
                    to_napi(chronos_db::Error::Route(format!(
                        "no configured database is named {db:?} (as dbName or analyticsDbName)"
                    )))
                })?
            }
            _ => serde_json::from_value(value).map_err(|e| bad_request("route", e))?,
        };
        let totals = self
            .chronos
            .counters()
            .get_totals(&route)
            .await
            .map_err(to_napi)?;
        answer(&totals)
    }

    /// The fallback queue: `list` (`pending` or `deadLetter`), `retry`, `cancel` (an op id)
    /// or `replay`.
    #[napi]
    pub async fn fallback(&self, action: String, arg: String) -> napi::Result<String> {
        let queue = self.chronos.fallback();
        match action.as_str() {
            "list" => {
                let kind = match arg.as_str() {
                    "pending" => QueueKind::Pending,
                    "deadLetter" => QueueKind::DeadLetter,
                    other => return Err(bad_request("queue kind", other)),
                };
                answer(&queue.list(kind).await.map_err(to_napi)?)
            }
            "retry" => answer(&queue.retry(&arg).await.map_err(to_napi)?),
            "cancel" => answer(&queue.cancel(&arg).await.map_err(to_napi)?),
            "replay" => answer(&queue.replay_now().await.map_err(to_napi)?),
            other => Err(bad_request("fallback action", other)),
        }
    }

    /// Applies the configured retention to every collection.
    #[napi]
    pub async fn prune(&self) -> napi::Result<String> {
        answer(&self.chronos.prune().await.map_err(to_napi)?)
    }

    /// Crash repair: orphaned payloads older than `minAgeSeconds` and lagging heads;
    /// `dryRun` only reports.
    #[napi]
    pub async fn repair(&self, dry_run: bool, min_age_seconds: f64) -> napi::Result<String> {
        let opts = RepairOptions {
            dry_run,
            min_age: std::time::Duration::from_secs_f64(min_age_seconds.max(0.0)),
            ..RepairOptions::default()
        };
        answer(&self.chronos.repair(opts).await.map_err(to_napi)?)
    }

    /// Flushes counters and closes every connection. The instance is unusable afterwards.
    #[napi]
    pub async fn shutdown(&self) -> napi::Result<()> {
        self.chronos.clone().shutdown().await.map_err(to_napi)
    }
}
