//! The service itself: liveness, readiness, metrics, backend health and the fallback queue.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronos_db::fallback::{QueueKind, QueuedWrite};
use chronos_db::health::HealthReport;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access;
use crate::extract::Params;
use crate::keys::Caller;
use crate::problem::{ApiResult, Problem};
use crate::state::Shared;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: every configured backend answers.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses((status = 200, description = "Every backend answers"), (status = 503, body = Problem)))]
pub async fn readyz(State(state): State<Shared>) -> Response {
    let report = state.chronos.health().await;
    if report.all_ok() {
        "ready".into_response()
    } else {
        let down: Vec<String> = report
            .backends
            .iter()
            .filter(|b| !b.ok)
            .map(|b| format!("{} ({})", b.connection, b.target))
            .collect();
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "BACKEND",
            format!("backends not answering: {}", down.join(", ")),
        )
        .into_response()
    }
}

/// Metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<Shared>) -> Response {
    let depth = state
        .chronos
        .fallback()
        .list(QueueKind::Pending)
        .await
        .ok()
        .map(|w| w.len());
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(depth),
    )
        .into_response()
}

/// Every backend's health (keys with an unrestricted admin scope).
#[utoipa::path(get, path = "/v1/health", tag = "service",
    responses((status = 200, body = HealthReport), (status = 403, body = Problem)))]
pub async fn health(State(state): State<Shared>, caller: Caller) -> ApiResult<Json<HealthReport>> {
    access::check_global(&caller)?;
    Ok(Json(state.chronos.health().await))
}

/// Which queue to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// Pending writes (default) or the dead letters.
    kind: Option<QueueList>,
}

/// A part of the fallback queue.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueueList {
    /// Writes waiting to be replayed.
    Pending,
    /// Writes that kept failing.
    Dead,
}

/// The writes in the fallback queue (keys with an unrestricted admin scope).
#[utoipa::path(get, path = "/v1/fallback", tag = "service", params(QueueParams),
    responses((status = 200, body = [QueuedWrite]), (status = 403, body = Problem)))]
pub async fn fallback_list(
    State(state): State<Shared>,
    caller: Caller,
    Params(p): Params<QueueParams>,
) -> ApiResult<Json<Vec<QueuedWrite>>> {
    access::check_global(&caller)?;
    let kind = match p.kind {
        None | Some(QueueList::Pending) => QueueKind::Pending,
        Some(QueueList::Dead) => QueueKind::DeadLetter,
    };
    Ok(Json(state.chronos.fallback().list(kind).await?))
}

/// Makes a queued write due now (a dead-lettered one goes back to the queue).
#[utoipa::path(post, path = "/v1/fallback/{op_id}/retry", tag = "service",
    responses((status = 200, body = QueuedWrite), (status = 404, body = Problem)))]
pub async fn fallback_retry(
    State(state): State<Shared>,
    caller: Caller,
    Path(op_id): Path<String>,
) -> ApiResult<Json<QueuedWrite>> {
    access::check_global(&caller)?;
    Ok(Json(state.chronos.fallback().retry(&op_id).await?))
}

/// Removes a queued write for good.
#[utoipa::path(delete, path = "/v1/fallback/{op_id}", tag = "service",
    responses((status = 200, body = QueuedWrite), (status = 404, body = Problem)))]
pub async fn fallback_cancel(
    State(state): State<Shared>,
    caller: Caller,
    Path(op_id): Path<String>,
) -> ApiResult<Json<QueuedWrite>> {
    access::check_global(&caller)?;
    Ok(Json(state.chronos.fallback().cancel(&op_id).await?))
}
