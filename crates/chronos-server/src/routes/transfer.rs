//! Export and import of a collection with its whole history, as JSON Lines (one exported
//! version per line), streamed in both directions.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronos_db::transfer::{ExportedVersion, ImportOptions, ImportReport};
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::IntoParams;

use super::collection;
use crate::config::Access;
use crate::extract::{Params, RoutePath};
use crate::keys::Caller;
use crate::problem::{ApiResult, Problem};
use crate::state::Shared;

/// The media type of exports and imports.
const JSON_LINES: &str = "application/jsonl";

/// Lines buffered ahead of a slow export client.
const EXPORT_BUFFER: usize = 64;

/// Every version of every record, as JSON Lines, streamed.
#[utoipa::path(get, path = "/v1/{db_type}/{tier}/{owner}/{collection}/export", tag = "transfer",
    responses((status = 200, description = "One exported version per line", content_type = "application/jsonl", body = String),
              (status = 404, body = Problem)))]
pub async fn export(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
) -> ApiResult<Response> {
    let coll = collection(&state, &caller, &at, Access::Read)?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(EXPORT_BUFFER);
    tokio::spawn(async move {
        let mut versions = std::pin::pin!(coll.export());
        while let Some(v) = versions.next().await {
            let line = v
                .map_err(std::io::Error::other)
                .and_then(|v| serde_json::to_vec(&v).map_err(std::io::Error::other))
                .map(|mut line| {
                    line.push(b'\n');
                    Bytes::from(line)
                });
            let failed = line.is_err();
            // A failure ends the body early: the client sees a cut stream, never a
            // silently shorter export.
            if tx.send(line).await.is_err() || failed {
                return;
            }
        }
    });
    let body =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|l| (l, rx)) });
    Ok(([(CONTENT_TYPE, JSON_LINES)], Body::from_stream(body)).into_response())
}

/// Query of an import.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Skip records that exist with another history instead of refusing the import.
    #[serde(default)]
    skip_existing: bool,
}

/// Imports JSON Lines written by export, with the library's checks (complete histories,
/// ids and versions in order); nothing is written when a line is bad.
#[utoipa::path(post, path = "/v1/{db_type}/{tier}/{owner}/{collection}/import", tag = "transfer",
    params(ImportParams),
    request_body(content((String = "application/jsonl"), (String = "text/plain")), description = "One exported version per line (JSON Lines, sent as either type)"),
    responses((status = 200, body = ImportReport), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn import(
    State(state): State<Shared>,
    caller: Caller,
    at: RoutePath,
    Params(p): Params<ImportParams>,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    let coll = collection(&state, &caller, &at, Access::Write)?;
    let mut versions = Vec::new();
    let mut pending = Vec::new();
    let mut line_no = 0usize;
    let mut chunks = body.into_data_stream();
    loop {
        let chunk = chunks.next().await;
        let done = chunk.is_none();
        match chunk {
            Some(Ok(bytes)) => pending.extend_from_slice(&bytes),
            Some(Err(e)) => {
                return Err(Problem::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "VALIDATION",
                    format!("the body could not be read: {e}"),
                ))
            }
            None => {}
        }
        // Every complete line (all of them at the end) is parsed as it arrives.
        let mut start = 0;
        while let Some(end) = pending[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|i| start + i)
        {
            line_no += 1;
            parse_line(&pending[start..end], line_no, &mut versions)?;
            start = end + 1;
        }
        pending.drain(..start);
        if done {
            if !pending.is_empty() {
                parse_line(&pending, line_no + 1, &mut versions)?;
            }
            break;
        }
    }
    let options = match p.skip_existing {
        true => ImportOptions::skipping_existing(),
        false => ImportOptions::default(),
    };
    let report = coll.import(versions, options).await?;
    state.metrics.write("import");
    Ok(Json(report))
}

fn parse_line(line: &[u8], n: usize, out: &mut Vec<ExportedVersion>) -> Result<(), Problem> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let v = serde_json::from_slice(line)
        .map_err(|e| Problem::bad_request(format!("line {n} is not an exported version: {e}")))?;
    out.push(v);
    Ok(())
}
