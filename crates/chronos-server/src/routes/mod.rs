//! The resources: every route template and the handler behind it. Collection resources
//! live under `/v1/{db_type}/{tier}/{owner}/{collection}` (tenant and domain tiers) and
//! `/v1/{db_type}/generic/{collection}` (the generic tier); the same handlers serve both.

pub mod collection_ops;
pub mod feed;
pub mod records;
pub mod service;
pub mod transfer;
pub mod versions;

use axum::routing::{get, post, MethodRouter};
use axum::Router;
use chrono::{DateTime, Utc};
use chronos_db::Collection;
use serde_json::Value;

use crate::access;
use crate::config::Access;
use crate::extract::RoutePath;
use crate::keys::Caller;
use crate::problem::Problem;
use crate::state::Shared;

/// The two prefixes of a collection: tenant or domain tier, and the generic tier.
const PREFIXES: [&str; 2] = [
    "/v1/{db_type}/{tier}/{owner}/{collection}",
    "/v1/{db_type}/generic/{collection}",
];

/// The handle on the route's collection, once the caller may do `need` there.
pub fn collection(
    state: &Shared,
    caller: &Caller,
    at: &RoutePath,
    need: Access,
) -> Result<Collection, Problem> {
    access::check(caller, &at.route, need)?;
    state.chronos.with(at.route.clone()).map_err(Problem::from)
}

/// A query parameter holding JSON.
pub fn parse_json_param(name: &str, text: &str) -> Result<Value, Problem> {
    serde_json::from_str(text)
        .map_err(|e| Problem::bad_request(format!("{name} is not valid JSON: {e}")))
}

/// A query parameter holding an RFC 3339 time.
pub fn time_param(name: &str, text: &str) -> Result<DateTime<Utc>, Problem> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Problem::bad_request(format!("{name} is not an RFC 3339 time ({e}): {text:?}"))
        })
}

/// Mounts `handler` at `suffix` under both collection prefixes.
fn both(router: Router<Shared>, suffix: &str, handler: MethodRouter<Shared>) -> Router<Shared> {
    PREFIXES.iter().fold(router, |r, prefix| {
        r.route(&format!("{prefix}{suffix}"), handler.clone())
    })
}

/// The request–response resources, which the request timeout applies to.
pub fn api() -> Router<Shared> {
    let mut r = Router::new();
    r = both(r, "/records", post(records::create).get(records::list));
    r = both(
        r,
        "/records/{id}",
        get(records::get)
            .put(records::update)
            .delete(records::delete)
            .patch(records::enrich),
    );
    r = both(r, "/batch", post(records::create_many));
    r = both(r, "/records/{id}/history", get(versions::history));
    r = both(r, "/records/{id}/diff", get(versions::diff));
    r = both(r, "/records/{id}/verify", get(versions::verify));
    r = both(r, "/records/{id}/restore", post(versions::restore));
    r = both(r, "/records/{id}/erase", post(versions::erase));
    r = both(r, "/restore", post(collection_ops::restore_collection));
    r = both(r, "/counters", get(collection_ops::counters));
    r = both(r, "/changes", get(feed::changes));
    r = both(r, "/import", post(transfer::import));
    r.route("/v1/health", get(service::health))
        .route("/v1/fallback", get(service::fallback_list))
        .route("/v1/fallback/{op_id}/retry", post(service::fallback_retry))
        .route(
            "/v1/fallback/{op_id}",
            axum::routing::delete(service::fallback_cancel),
        )
        .route("/readyz", get(service::readyz))
}

/// The streaming resources (the live feed, export), which no request timeout cuts.
pub fn streams() -> Router<Shared> {
    let mut r = Router::new();
    r = both(r, "/changes/stream", get(feed::stream));
    r = both(r, "/export", get(transfer::export));
    r
}

/// What answers without a key: liveness and metrics.
pub fn open() -> Router<Shared> {
    Router::new()
        .route("/healthz", get(service::healthz))
        .route("/metrics", get(service::metrics))
}
