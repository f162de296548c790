//! The service: the router with its layers (body limit, request timeout, concurrency
//! limit, one log line and metrics per request), and serving it until a shutdown signal,
//! after which requests in flight finish and the library flushes its counters.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chronos_db::Chronos;
use tokio::net::TcpListener;
use tower::limit::GlobalConcurrencyLimitLayer;
use tracing::info;

use crate::config::ServeConfig;
use crate::error::ServeError;
use crate::keys::KeyRing;
use crate::metrics::Metrics;
use crate::openapi;
use crate::problem::Problem;
use crate::routes;
use crate::state::{AppState, Shared};

/// The whole service as an axum router over `chronos`, configured by `config`.
pub fn router(chronos: Chronos, config: ServeConfig) -> Router {
    let state: Shared = Arc::new(AppState {
        keys: KeyRing::new(&config.keys),
        chronos,
        metrics: Metrics::default(),
        config,
    });
    let limits = &state.config;
    let api = routes::api()
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(GlobalConcurrencyLimitLayer::new(limits.concurrency_limit));
    let streams =
        routes::streams().layer(GlobalConcurrencyLimitLayer::new(limits.concurrency_limit));
    let document = openapi::document();
    Router::new()
        .merge(api)
        .merge(streams)
        .merge(routes::open())
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { Json(document) }
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.body_limit_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves `router(chronos, config)` on `config.listen` until `shutdown` completes; then
/// lets requests in flight finish and shuts the library down (counters flushed).
pub async fn serve(
    chronos: Chronos,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    serve_on(listener, chronos, config, shutdown).await
}

/// Like [`serve`], on a listener the caller bound (port 0 for tests).
pub async fn serve_on(
    listener: TcpListener,
    chronos: Chronos,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr().ok();
    let open = config.keys.is_empty();
    info!(
        ?addr,
        keys = config.keys.len(),
        "chronos-db service listening"
    );
    if open {
        tracing::warn!("no API keys configured: every request has every right (loopback only)");
    }
    let app = router(chronos.clone(), config);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Serve)?;
    info!("requests finished; shutting the library down");
    Ok(chronos.shutdown().await?)
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Answers 503 when a request outlives the configured timeout.
async fn timeout(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let limit = state.config.request_timeout();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "TIMEOUT",
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .into_response(),
    }
}

/// One log line and the metrics of every request: key id, route, status, latency; never
/// the key itself.
async fn observe(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", |p| p.as_str())
        .to_string();
    let key_id = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(key_id_of)
        .unwrap_or("-")
        .to_string();
    let response = next.run(req).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.request(&method, &route, status, took);
    info!(key = %key_id, %method, %route, status, latency_us = took.as_micros() as u64, "request");
    response
}

/// The id part of `Bearer chr_<id>_<secret>` (ids are not secret).
fn key_id_of(header: &str) -> Option<&str> {
    let key = header
        .strip_prefix("Bearer ")?
        .trim()
        .strip_prefix("chr_")?;
    key.split_once('_').map(|(id, _)| id)
}

async fn not_found() -> Problem {
    Problem::not_found("no such resource")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "this resource does not take that method",
    )
}
