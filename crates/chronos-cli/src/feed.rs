//! `changes`: a collection's committed writes in collection-version order, as one page of
//! JSON or, with `--follow`, as JSON Lines that keep coming.

use std::io::Write;

use chronos_db::{ChangesQuery, Chronos};
use futures::StreamExt;
use serde_json::Value;

use crate::cli_result::{parse_route, CliResult};

/// One page of `collection`'s changes after `query.after_cv` (the page's `afterCv` continues).
pub async fn page(
    chronos: &Chronos,
    route: &str,
    collection: &str,
    query: ChangesQuery,
) -> CliResult<Value> {
    let coll = chronos.with(parse_route(route, collection)?)?;
    Ok(serde_json::to_value(coll.changes(query).await?)?)
}

/// Writes every change after `query.after_cv` to stdout, one JSON line each, flushed, and
/// waits for more; returns only on an error (a consumer restarts after the last `cv` it
/// printed).
pub async fn follow(
    chronos: &Chronos,
    route: &str,
    collection: &str,
    query: ChangesQuery,
) -> CliResult<()> {
    let coll = chronos.with(parse_route(route, collection)?)?;
    let mut changes = std::pin::pin!(coll.follow(query));
    while let Some(change) = changes.next().await {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, &change?)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(())
}
