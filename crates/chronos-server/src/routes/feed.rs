//! The change feed: pages in collection-version order, and the live stream over
//! Server-Sent Events, whose event id is the cv (a client resumes with `Last-Event-ID`).
//! Each stream client has a bounded buffer: one that falls behind is sent a `lagged` event
//! and cut off, so a slow reader never grows the server's memory.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::Json;
use chronos_db::{ChangePage, ChangesQuery};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::IntoParams;

use super::collection;
use crate::config::Access;
use crate::extract::{Params, RoutePath};
use crate::keys::Caller;
use crate::metrics::StreamGuard;
use crate::problem::{ApiResult, Problem};
use crate::state::Shared;

/// Query of a page of changes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// Changes after this collection version (the previous page's `afterCv`).
    after_cv: Option<u64>,
    /// At most this many changes (1 to 1,000; default 100).
    limit: Option<usize>,
    /// With each change's data.
    #[serde(default)]
    include_data: bool,
}

impl ChangesParams {
    fn query(&self, after_cv: Option<u64>) -> ChangesQuery {
        let mut q = ChangesQuery {
            after_cv,
            include_data: self.include_data,
            ..ChangesQuery::default()
        };
        if let Some(limit) = self.limit {
            q.limit = limit;
        }
        q
    }
}

/// A page of committed writes in collection-version order; `caughtUp` says whether it
/// reached the end of what is settled.
#[utoipa::path(get, path = "/v1/{db_type}/{tier}/{owner}/{collection}/changes", tag = "changes",
    params(ChangesParams), responses((status = 200, body = ChangePage), (status = 400, body = Problem)))]
pub async fn changes(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    Params(p): Params<ChangesParams>,
) -> ApiResult<Json<ChangePage>> {
    let coll = collection(&state, &caller, &at, Access::Read)?;
    Ok(Json(coll.changes(p.query(p.after_cv)).await?))
}

/// The live change feed as Server-Sent Events: one `change` event per committed write
/// (its id is the write's cv, its data the version as JSON), keep-alive comments while
/// idle, `lagged` when the client fell too far behind, `error` when the feed failed.
/// Resume with `Last-Event-ID` (or `afterCv`).
#[utoipa::path(get, path = "/v1/{db_type}/{tier}/{owner}/{collection}/changes/stream", tag = "changes",
    params(ChangesParams, ("Last-Event-ID" = Option<String>, Header, description = "The last cv received")),
    responses((status = 200, description = "`text/event-stream` of `change` events", content_type = "text/event-stream", body = String),
              (status = 404, body = Problem)))]
pub async fn stream(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    headers: HeaderMap,
    Params(p): Params<ChangesParams>,
) -> ApiResult<impl IntoResponse> {
    let coll = collection(&state, &caller, &at, Access::Read)?;
    let resume = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .ok_or_else(|| Problem::bad_request("Last-Event-ID must be a cv"))?,
        ),
        None => p.after_cv,
    };
    let follow = coll.follow(p.query(resume));
    let feed = &state.config.feed;
    let events = bounded(follow, feed.buffer_events, state.metrics.stream_started());
    let keep_alive = KeepAlive::new().interval(Duration::from_secs(feed.keep_alive_seconds));
    Ok(Sse::new(events).keep_alive(keep_alive))
}

/// Runs `follow` into a buffer of `capacity` events and streams them out; when the buffer
/// is full, the feed stops and the stream ends with a `lagged` event. `live` counts the feed
/// task while it runs.
fn bounded<S>(
    follow: S,
    capacity: usize,
    live: StreamGuard,
) -> impl Stream<Item = Result<Event, Infallible>>
where
    S: Stream<Item = chronos_db::Result<chronos_db::Version>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Event>(capacity);
    let lagged = Arc::new(AtomicBool::new(false));
    let flag = lagged.clone();
    tokio::spawn(async move {
        let _live = live;
        let mut follow = std::pin::pin!(follow);
        loop {
            // A client that went away ends the task at once, not at the next write.
            let next = tokio::select! {
                next = follow.next() => next,
                () = tx.closed() => return,
            };
            let Some(next) = next else { return };
            let (event, last) = match next {
                Ok(v) => (change_event(&v), false),
                Err(e) => (error_event(&e), true),
            };
            match tx.try_send(event) {
                Ok(()) if !last => {}
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    flag.store(true, Ordering::SeqCst);
                    return;
                }
                // The client went away.
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    });
    let events =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    let tail = futures::stream::once(async move { lagged.load(Ordering::SeqCst) }).filter_map(
        |lagged| async move {
            lagged.then(|| {
                Event::default().event("lagged").data(
                    "this client fell behind the feed; reconnect with Last-Event-ID to resume",
                )
            })
        },
    );
    events.chain(tail).map(Ok)
}

fn change_event(v: &chronos_db::Version) -> Event {
    let data = serde_json::to_string(v).unwrap_or_default();
    Event::default()
        .event("change")
        .id(v.cv.to_string())
        .data(data)
}

fn error_event(e: &chronos_db::Error) -> Event {
    let problem = Problem::from_error(e, false);
    Event::default()
        .event("error")
        .data(serde_json::to_string(&problem).unwrap_or_default())
}
