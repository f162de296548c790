//! Records: create, list, read (latest, a version, as of a time), update, delete, enrich, and
//! batches of new records. The version is the `ETag`; writes of an existing record take it
//! back as `If-Match`.

use std::time::Duration;

use axum::extract::{OriginalUri, State};
use axum::http::header::{ETAG, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronos_db::{
    Collection, EnrichMeta, ListQuery, Page, ReadOptions, Sort, SortBy, Version, WriteResult,
};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::{collection, parse_json_param, time_param};
use crate::config::Access;
use crate::extract::{IfMatch, JsonBody, Meta, Params, RoutePath};
use crate::keys::Caller;
use crate::problem::{ApiResult, Problem};
use crate::state::Shared;

/// The `ETag` of version `ov`.
pub fn etag(ov: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{ov}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// A write's answer: its result as JSON with the new version as `ETag`.
pub fn written(status: StatusCode, w: WriteResult) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(ETAG, etag(w.ov));
    (status, headers, Json(w)).into_response()
}

/// Query of `POST .../records`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateParams {
    /// Create the record under this id instead of a generated one.
    id: Option<String>,
}

/// Creates a record from the JSON object in the body.
#[utoipa::path(post, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records", tag = "records",
    params(CreateParams), request_body = Object,
    responses((status = 201, description = "Created", body = WriteResult,
               headers(("Location" = String, description = "The record"), ("ETag" = String, description = "Its version, as \"0\""))),
              (status = 400, body = Problem), (status = 409, description = "The id exists", body = Problem)))]
pub async fn create(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    uri: OriginalUri,
    Params(params): Params<CreateParams>,
    Meta(meta): Meta,
    JsonBody(data): JsonBody<Value>,
) -> ApiResult<Response> {
    let coll = collection(&state, &caller, &at, Access::Write)?;
    let w = match params.id {
        Some(id) => coll.create_with_id(&id, data, meta).await?,
        None => coll.create(data, meta).await?,
    };
    state.metrics.write("create");
    let location = format!("{}/{}", uri.path().trim_end_matches('/'), w.id);
    let mut response = written(StatusCode::CREATED, w);
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, v);
    }
    Ok(response)
}

/// Body of `POST .../batch`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Batch {
    /// The records to create, in one atomic step where the index store has transactions.
    items: Vec<Value>,
}

/// Creates many records at once.
#[utoipa::path(post, path = "/v1/{db_type}/{tier}/{owner}/{collection}/batch", tag = "records",
    request_body = Batch,
    responses((status = 201, body = [WriteResult]), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create_many(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    Meta(meta): Meta,
    JsonBody(batch): JsonBody<Batch>,
) -> ApiResult<Response> {
    let coll = collection(&state, &caller, &at, Access::Write)?;
    let written = coll.create_many(batch.items, meta).await?;
    state.metrics.write("create");
    Ok((StatusCode::CREATED, Json(written)).into_response())
}

/// Query of a listing: the seed's `listByMeta`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The filter, as JSON: `{"status": "active", "score": {"$gte": 10}}`.
    filter: Option<String>,
    /// Records per page.
    limit: Option<usize>,
    /// The last id of the previous page (its `nextAfterId`).
    after_id: Option<String>,
    /// The order, as JSON naming one key: `{"updatedAt": -1}`.
    sort: Option<String>,
    /// Also list records whose latest version is a delete.
    #[serde(default)]
    include_deleted: bool,
}

/// Lists a page of records matching a filter.
#[utoipa::path(get, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records", tag = "records",
    params(ListParams),
    responses((status = 200, body = Page), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<Page>> {
    let coll = collection(&state, &caller, &at, Access::Read)?;
    let mut q = ListQuery {
        filter: p
            .filter
            .as_deref()
            .map(|f| parse_json_param("filter", f))
            .transpose()?,
        limit: p.limit,
        after_id: p.after_id,
        include_deleted: p.include_deleted,
        ..ListQuery::default()
    };
    if let Some(sort) = p.sort {
        q.sort = parse_sort(&sort)?;
    }
    Ok(Json(coll.list_by_meta(q, ReadOptions::default()).await?))
}

/// `{"<key>": 1 | -1}` as a sort.
fn parse_sort(text: &str) -> Result<Sort, Problem> {
    let value = parse_json_param("sort", text)?;
    let one = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next());
    let Some((key, dir)) = one else {
        return Err(Problem::bad_request(
            "sort must name exactly one key, as {\"updatedAt\": -1}",
        ));
    };
    let descending = match dir.as_i64() {
        Some(1) => false,
        Some(-1) => true,
        _ => return Err(Problem::bad_request(format!("sort: {key} must be 1 or -1"))),
    };
    let by = match key.as_str() {
        "id" | "_id" => SortBy::Id,
        "updatedAt" => SortBy::UpdatedAt,
        "createdAt" => SortBy::CreatedAt,
        other => SortBy::Prop(other.to_string()),
    };
    Ok(Sort { by, descending })
}

/// Query of a read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ReadParams {
    /// Read this version instead of the latest.
    ov: Option<u64>,
    /// Read the record as it was at this time (RFC 3339).
    at: Option<String>,
    /// Only these property paths of the data, comma-separated (`name,address.city`).
    projection: Option<String>,
    /// Also return a URL of the payload.
    #[serde(default)]
    presign: bool,
    /// Validity of that URL in seconds.
    ttl_seconds: Option<u64>,
}

/// Reads a record: its latest version, a version (`ov`), or its state at a time (`at`).
#[utoipa::path(get, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records/{id}", tag = "records",
    params(ReadParams),
    responses((status = 200, description = "The version", body = Version,
               headers(("ETag" = String, description = "Its ov, as \"3\": send it as If-Match to write"))),
              (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    Params(p): Params<ReadParams>,
) -> ApiResult<Response> {
    let coll = collection(&state, &caller, &at, Access::Read)?;
    let id = record_id(&at)?;
    let opts = ReadOptions {
        projection: p
            .projection
            .map(|s| s.split(',').map(str::trim).map(str::to_string).collect()),
        presign: p.presign,
        ttl: p.ttl_seconds.map(Duration::from_secs),
    };
    let found = match (p.ov, p.at) {
        (None, None) => coll.get_latest(id, opts).await?,
        (Some(ov), None) => coll.get_version(id, ov, opts).await?,
        (None, Some(t)) => coll.get_as_of(id, time_param("at", &t)?, opts).await?,
        (Some(_), Some(_)) => return Err(Problem::bad_request("give ov or at, not both")),
    };
    let v = found.ok_or_else(|| Problem::not_found(format!("no record {id}")))?;
    let mut headers = HeaderMap::new();
    headers.insert(ETAG, etag(v.ov));
    Ok((headers, Json(v)).into_response())
}

/// What a write that builds on a version the client read needs: the collection (once the
/// caller may do `need` there), the record id, and the ov of `If-Match` (428 without it).
pub fn versioned<'a>(
    state: &Shared,
    caller: &Caller,
    at: &'a RoutePath,
    if_match: IfMatch,
    need: Access,
) -> Result<(Collection, &'a str, u64), Problem> {
    let coll = collection(state, caller, at, need)?;
    Ok((coll, record_id(at)?, if_match.required()?))
}

/// The problem of a failed write that named its version with `If-Match` (stale: 412).
pub fn stale(e: chronos_db::Error) -> Problem {
    Problem::from_error(&e, true)
}

/// The record id of a record resource.
pub fn record_id(at: &RoutePath) -> Result<&str, Problem> {
    at.id
        .as_deref()
        .ok_or_else(|| Problem::not_found("no record named"))
}

/// Replaces a record's data: the version read must be sent as `If-Match`.
#[utoipa::path(put, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records/{id}", tag = "records",
    request_body = Object,
    params(("If-Match" = String, Header, description = "The ETag of the version the update builds on")),
    responses((status = 200, body = WriteResult, headers(("ETag" = String, description = "The new version"))),
              (status = 412, description = "Stale: `currentOv` names the record's version", body = Problem),
              (status = 428, body = Problem), (status = 404, body = Problem)))]
pub async fn update(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    if_match: IfMatch,
    Meta(meta): Meta,
    JsonBody(data): JsonBody<Value>,
) -> ApiResult<Response> {
    let (coll, id, expected) = versioned(&state, &caller, &at, if_match, Access::Write)?;
    let w = coll.update(id, data, expected, meta).await.map_err(stale)?;
    state.metrics.write("update");
    Ok(written(StatusCode::OK, w))
}

/// Deletes a record logically (its history stays): the version read must be sent as
/// `If-Match`.
#[utoipa::path(delete, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records/{id}", tag = "records",
    params(("If-Match" = String, Header, description = "The ETag of the version the delete builds on")),
    responses((status = 200, body = WriteResult), (status = 412, body = Problem),
              (status = 428, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    if_match: IfMatch,
    Meta(meta): Meta,
) -> ApiResult<Response> {
    let (coll, id, expected) = versioned(&state, &caller, &at, if_match, Access::Write)?;
    let w = coll.delete(id, expected, meta).await.map_err(stale)?;
    state.metrics.write("delete");
    Ok(written(StatusCode::OK, w))
}

/// Query of an enrichment.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct EnrichParams {
    /// The enrichment function, stored as the version's provenance.
    function_id: Option<String>,
}

/// Merges a JSON object (or an array of them, in order) into a record's data: the seed's
/// `enrich`. `If-Match` is optional: without it the patch applies to the latest version.
#[utoipa::path(patch, path = "/v1/{db_type}/{tier}/{owner}/{collection}/records/{id}", tag = "records",
    params(EnrichParams), request_body = Object,
    responses((status = 200, body = WriteResult), (status = 412, body = Problem), (status = 404, body = Problem)))]
pub async fn enrich(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    if_match: IfMatch,
    Params(p): Params<EnrichParams>,
    Meta(meta): Meta,
    JsonBody(patch): JsonBody<Value>,
) -> ApiResult<Response> {
    let coll = collection(&state, &caller, &at, Access::Write)?;
    let em = EnrichMeta {
        function_id: p.function_id,
        actor: meta.actor,
        reason: meta.reason,
        expected_ov: if_match.0,
    };
    let w = coll
        .enrich(record_id(&at)?, patch, em)
        .await
        .map_err(|e| Problem::from_error(&e, if_match.0.is_some()))?;
    state.metrics.write("enrich");
    Ok(written(StatusCode::OK, w))
}
