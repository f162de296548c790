//! Analytics counters: how many records of a collection were created, updated and deleted, and
//! how many writes matched each `counterRules` rule, per tenant, database and collection, as
//! totals and per day, ISO week and month. Counters live in the `cnt_total` table/collection of
//! the route's analytics database (`analyticsDbName`, or the record database).
//!
//! ```
//! use chronos_db::{Chronos, ChronosConfig, DbType, Route, WriteMeta};
//! use serde_json::json;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut config: serde_json::Value =
//!     serde_json::from_str(&ChronosConfig::embedded(dir.path()).to_json_string()?)?;
//! config["counterRules"] = json!({"rules": [
//!     {"name": "paid", "on": ["CREATE", "UPDATE"], "when": {"plan": {"$in": ["pro", "team"]}}}
//! ]});
//! let chronos = Chronos::init(ChronosConfig::from_json_value(config)?).await?;
//! let route = Route::generic(DbType::Runtime, "users");
//! let users = chronos.with(route.clone())?;
//! let w = users.create(json!({"plan": "free"}), WriteMeta::new("app", "signup")).await?;
//! users.update(&w.id, json!({"plan": "pro"}), w.ov, WriteMeta::new("app", "upgrade")).await?;
//!
//! let totals = chronos.counters().get_totals(&route).await?;
//! assert_eq!((totals.created, totals.updated, totals.rules["paid"]), (1, 1, 1));
//! # chronos.shutdown().await?; Ok(()) }
//! ```

mod buckets;
mod rules;
mod sink;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub(crate) use buckets::retention_cutoffs;
pub use buckets::Bucket;
pub(crate) use rules::RuleSet;
pub(crate) use sink::{CounterSink, FlushTask};

use crate::config::CounterEvent;
use crate::error::Result;
use crate::index::{CountScope, CounterStore};
use crate::route::{Route, Router, Target, Tier};

/// Counter values of one collection in one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CounterTotals {
    /// Records created.
    pub created: u64,
    /// Updates (including enrich and restore).
    pub updated: u64,
    /// Deletes (logical deletes and erasures).
    pub deleted: u64,
    /// Writes matching each counter rule, by rule name (rules with no match are absent).
    #[serde(flatten)]
    pub rules: BTreeMap<String, u64>,
}

/// Reads analytics counters. Get one with `Chronos::counters`.
#[derive(Debug, Clone)]
pub struct Counters {
    router: Arc<Router>,
    sink: Arc<CounterSink>,
}

impl Counters {
    pub(crate) fn new(router: Arc<Router>, sink: Arc<CounterSink>) -> Self {
        Counters { router, sink }
    }

    /// All-time counters of the route's collection. Pending increments are written first.
    pub async fn get_totals(&self, route: &Route) -> Result<CounterTotals> {
        self.get(route, Bucket::Total).await
    }

    /// Counters of the route's collection in one bucket (day, ISO week or month, UTC).
    /// Pending increments are written first.
    pub async fn get(&self, route: &Route, bucket: Bucket) -> Result<CounterTotals> {
        let target = self.router.resolve(route)?;
        self.sink.flush().await?;
        let (period, bucket) = bucket.storage_key();
        let scope = count_scope(route, &target);
        let cells = target
            .index
            .read_counts(&target.analytics_db_name, &scope, period, &bucket)
            .await?;
        let mut totals = CounterTotals::default();
        for (counter, value) in cells {
            match counter.as_str() {
                "created" => totals.created = value,
                "updated" => totals.updated = value,
                "deleted" => totals.deleted = value,
                other => {
                    if let Some(rule) = other.strip_prefix(rules::RULE_PREFIX) {
                        totals.rules.insert(rule.to_string(), value);
                    }
                }
            }
        }
        Ok(totals)
    }

    /// Writes every pending increment now.
    pub async fn flush(&self) -> Result<()> {
        self.sink.flush().await
    }
}

/// Whose records a route's counters count.
pub(crate) fn count_scope(route: &Route, target: &Target) -> CountScope {
    let tenant = match route.tier {
        Tier::Generic => String::new(),
        Tier::Tenant => route.tenant_id.clone().unwrap_or_default(),
        Tier::Domain => format!("domain:{}", route.domain.clone().unwrap_or_default()),
    };
    CountScope {
        tenant,
        db_name: target.db_name.clone(),
        collection: route.collection.clone(),
    }
}

/// Counts the writes of one collection handle.
#[derive(Debug)]
pub(crate) struct Tally {
    sink: Arc<CounterSink>,
    rules: Arc<RuleSet>,
    store: Arc<dyn CounterStore>,
    analytics_db: String,
    scope: CountScope,
}

impl Tally {
    pub(crate) fn new(
        sink: Arc<CounterSink>,
        rules: Arc<RuleSet>,
        route: &Route,
        target: &Target,
    ) -> Self {
        Tally {
            sink,
            rules,
            store: target.index.clone(),
            analytics_db: target.analytics_db_name.clone(),
            scope: count_scope(route, target),
        }
    }

    /// The counters a write would increment (decided before the payload is transformed).
    pub(crate) fn counters_for(
        &self,
        event: CounterEvent,
        meta: &Map<String, Value>,
        data: &Value,
    ) -> Vec<String> {
        self.rules.counters_for(event, meta, data)
    }

    /// Counts a committed write.
    pub(crate) async fn record(&self, counters: &[String]) {
        self.sink
            .record(
                &self.store,
                &self.analytics_db,
                &self.scope,
                counters,
                sink::today(),
            )
            .await;
    }
}
