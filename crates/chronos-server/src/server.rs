//! The service: the router with its layers (body limit, request timeout, concurrency
//! limit, one log line and metrics per request), and serving it until a shutdown signal,
//! after which requests in flight finish and the library flushes its counters.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chronos_db::Chronos;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::limit::GlobalConcurrencyLimitLayer;
use tracing::{debug, info, warn};

use crate::config::ServeConfig;
use crate::error::ServeError;
use crate::keys::{self, KeyRing};
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
///
/// Each connection must send a request's headers within `serve.headerReadTimeoutMs` (a
/// client that trickles them is cut off without holding a request slot); after
/// `shutdown`, no connection is accepted, requests in flight get `serve.shutdownGraceSeconds`
/// to finish (open streams are closed then), and the library shuts down.
pub async fn serve_on(
    listener: TcpListener,
    chronos: Chronos,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr().ok();
    info!(
        ?addr,
        keys = config.keys.len(),
        "chronos-db service listening"
    );
    if config.keys.is_empty() {
        warn!("no API keys configured: every request has every right (loopback only)");
    }
    let header_timeout = Duration::from_millis(config.header_read_timeout_ms);
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let app = router(chronos.clone(), config);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait a moment rather than spin.
                    warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers go out at once rather than waiting to fill a segment.
        if let Err(e) = stream.set_nodelay(true) {
            debug!(%peer, error = %e, "TCP_NODELAY not set");
        }
        let service = TowerToHyperService::new(app.clone());
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout);
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    info!("shutting down: requests in flight finish");
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        warn!(
            grace_seconds = grace.as_secs(),
            "connections still open after the grace period are closed"
        );
    }
    info!("shutting the library down");
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
    let key_id = keys::presented(req.headers())
        .and_then(keys::key_id)
        .unwrap_or("-")
        .to_string();
    let response = next.run(req).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.request(&method, &route, status, took);
    info!(key = %key_id, %method, %route, status, latency_us = took.as_micros() as u64, "request");
    response
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
