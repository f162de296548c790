//! Collection-wide operations: the append-only restore of a whole collection, and its
//! counters.

use axum::extract::State;
use axum::Json;
use chronos_db::counters::CounterTotals;
use chronos_db::maintenance::{RestoreOptions, RestoreReport};

use super::collection;
use super::versions::RestoreBody;
use crate::access;
use crate::config::Access;
use crate::extract::{JsonBody, Meta, RoutePath};
use crate::keys::Caller;
use crate::problem::{ApiResult, Problem};
use crate::state::Shared;

/// Restores every record of the collection to its state at a collection version or a time,
/// by writing new versions; `dryRun` only reports what it would write.
#[utoipa::path(post, path = "/v1/{db_type}/{tier}/{owner}/{collection}/restore", tag = "collections",
    request_body = RestoreBody, responses((status = 200, body = RestoreReport), (status = 400, body = Problem)))]
pub async fn restore_collection(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    Meta(meta): Meta,
    JsonBody(body): JsonBody<RestoreBody>,
) -> ApiResult<Json<RestoreReport>> {
    let coll = collection(&state, &caller, &at, Access::Admin)?;
    let target = body.target()?;
    let options = RestoreOptions {
        dry_run: body.dry_run,
        ..RestoreOptions::default()
    };
    let report = coll.restore_collection_with(target, meta, options).await?;
    if !report.dry_run {
        state.metrics.write("restore");
    }
    Ok(Json(report))
}

/// The collection's counters: records created, updated and deleted.
#[utoipa::path(get, path = "/v1/{db_type}/{tier}/{owner}/{collection}/counters", tag = "collections",
    responses((status = 200, body = CounterTotals), (status = 404, body = Problem)))]
pub async fn counters(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
) -> ApiResult<Json<CounterTotals>> {
    access::check(&caller, &at.route, Access::Read)?;
    Ok(Json(state.chronos.counters().get_totals(&at.route).await?))
}
