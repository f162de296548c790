//! A record's versions: its history, the diff between two versions, the verification of
//! its hash chain, and the append-only restore and the erase of one record.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronos_db::maintenance::{EraseReport, RecordVerification, RestoreTarget};
use chronos_db::{Diff, HistoryPage, HistoryQuery, WriteResult};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::records::{record_id, stale, versioned, written};
use super::{collection, time_param};
use crate::config::Access;
use crate::extract::{IfMatch, JsonBody, Meta, Params, RoutePath};
use crate::keys::Caller;
use crate::problem::{ApiResult, Problem};
use crate::state::Shared;

/// Query of a history page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Versions after this ov (the previous page's `nextAfterOv`).
    after_ov: Option<u64>,
    /// At most this many versions (1 to 1,000; default 100).
    limit: Option<usize>,
    /// With each version's data.
    #[serde(default)]
    include_data: bool,
}

/// A page of a record's versions, oldest first.
#[utoipa::path(get, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records/{id}/history", tag = "versions",
    params(HistoryParams), responses((status = 200, body = HistoryPage), (status = 404, body = Problem)))]
pub async fn history(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    Params(p): Params<HistoryParams>,
) -> ApiResult<Json<HistoryPage>> {
    let coll = collection(&state, &caller, &at, Access::Read)?;
    let mut q = HistoryQuery {
        after_ov: p.after_ov,
        include_data: p.include_data,
        ..HistoryQuery::default()
    };
    if let Some(limit) = p.limit {
        q.limit = limit;
    }
    Ok(Json(coll.history(record_id(&at)?, q).await?))
}

/// Query of a diff.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The version the patch starts from.
    from: u64,
    /// The version it leads to.
    to: u64,
}

/// The RFC 6902 JSON Patch between two versions of a record.
#[utoipa::path(get, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records/{id}/diff", tag = "versions",
    params(DiffParams), responses((status = 200, body = Diff), (status = 404, body = Problem)))]
pub async fn diff(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    Params(p): Params<DiffParams>,
) -> ApiResult<Json<Diff>> {
    let coll = collection(&state, &caller, &at, Access::Read)?;
    Ok(Json(coll.diff(record_id(&at)?, p.from, p.to).await?))
}

/// Recomputes a record's hash chain from its stored bytes.
#[utoipa::path(get, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records/{id}/verify", tag = "versions",
    responses((status = 200, body = RecordVerification), (status = 404, body = Problem)))]
pub async fn verify(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
) -> ApiResult<Json<RecordVerification>> {
    let coll = collection(&state, &caller, &at, Access::Read)?;
    Ok(Json(coll.verify(record_id(&at)?).await?))
}

/// What to restore: exactly one of `ov`, `cv` and `at`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RestoreBody {
    /// An object version (records only).
    pub ov: Option<u64>,
    /// A collection version: the state after every write with `cv <=` it.
    pub cv: Option<u64>,
    /// A time (RFC 3339).
    pub at: Option<String>,
    /// Only report what a collection restore would do.
    #[serde(default)]
    pub dry_run: bool,
}

impl RestoreBody {
    /// The library's restore target.
    pub fn target(&self) -> Result<RestoreTarget, Problem> {
        match (self.ov, self.cv, &self.at) {
            (Some(ov), None, None) => Ok(RestoreTarget::Ov(ov)),
            (None, Some(cv), None) => Ok(RestoreTarget::Cv(cv)),
            (None, None, Some(at)) => Ok(RestoreTarget::At(time_param("at", at)?)),
            _ => Err(Problem::bad_request("give exactly one of ov, cv and at")),
        }
    }
}

/// Writes an older state of a record as its new version (history is never rewritten).
#[utoipa::path(post, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records/{id}/restore", tag = "versions",
    request_body = RestoreBody, responses((status = 200, body = WriteResult), (status = 404, body = Problem)))]
pub async fn restore(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    Meta(meta): Meta,
    JsonBody(body): JsonBody<RestoreBody>,
) -> ApiResult<Response> {
    let coll = collection(&state, &caller, &at, Access::Write)?;
    let w = coll
        .restore_object(record_id(&at)?, body.target()?, meta)
        .await?;
    state.metrics.write("restore");
    Ok(written(StatusCode::OK, w))
}

/// Removes every version and payload of a record for good, leaving an audit entry; the
/// version read must be sent as `If-Match`.
#[utoipa::path(post, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records/{id}/erase", tag = "versions",
    params(("If-Match" = String, Header, description = "The ETag of the record's latest version")),
    responses((status = 200, body = EraseReport), (status = 412, body = Problem), (status = 428, body = Problem)))]
pub async fn erase(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    if_match: IfMatch,
    Meta(meta): Meta,
) -> ApiResult<Response> {
    let (coll, id, expected) = versioned(&state, &caller, &at, if_match, Access::Admin)?;
    let report = coll.erase(id, expected, meta).await.map_err(stale)?;
    state.metrics.write("erase");
    Ok((StatusCode::OK, Json(report)).into_response())
}
