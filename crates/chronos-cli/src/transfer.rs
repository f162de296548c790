//! `export` and `import`: a collection's (or a whole route's) versions as JSON Lines, one
//! version per line, records by id and each record's versions oldest first.

use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use chronos_db::transfer::{ExportedVersion, ImportOptions, ImportReport};
use chronos_db::{Chronos, Collection};
use futures::TryStreamExt;
use serde::Serialize;

use crate::cli_result::{parse_route, CliResult};

/// Records handed to one `import` call.
const IMPORT_RECORDS: usize = 200;
/// Versions handed to one `import` call (a deep record makes a call of its own).
const IMPORT_VERSIONS: usize = 5_000;

/// What an export wrote.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportSummary {
    /// Versions written, per collection.
    pub collections: BTreeMap<String, u64>,
    /// Versions written in all.
    pub versions: u64,
}

/// Writes every version of `collection` (or of every collection of the route) to `out`.
pub async fn export(
    chronos: &Chronos,
    route: &str,
    collection: Option<&str>,
    out: &Path,
) -> CliResult<ExportSummary> {
    let collections: Vec<Collection> = match collection {
        Some(name) => vec![chronos.with(parse_route(route, name)?)?],
        None => {
            chronos
                .route_collections(&parse_route(route, "any")?)
                .await?
        }
    };
    let mut file = BufWriter::new(std::fs::File::create(out)?);
    let mut summary = ExportSummary::default();
    for coll in &collections {
        let mut versions = std::pin::pin!(coll.export());
        let mut n = 0;
        while let Some(v) = versions.try_next().await? {
            serde_json::to_writer(&mut file, &v)?;
            file.write_all(b"\n")?;
            n += 1;
        }
        summary.versions += n;
        summary.collections.insert(coll.name().to_string(), n);
    }
    file.flush()?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(summary)
}

/// What an import did, per collection.
pub type ImportSummary = BTreeMap<String, ImportReport>;

/// Reads JSON Lines from `input` into the collections of the route they name.
pub async fn import(
    chronos: &Chronos,
    route: &str,
    input: &Path,
    opts: ImportOptions,
) -> CliResult<ImportSummary> {
    let reader = std::io::BufReader::new(std::fs::File::open(input)?);
    let mut summary = ImportSummary::new();
    let mut batch: Vec<ExportedVersion> = Vec::new();
    let mut records = 0;
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: ExportedVersion = serde_json::from_str(&line)
            .map_err(|e| format!("{} line {}: {e}", input.display(), n + 1))?;
        let next_record = batch
            .last()
            .is_none_or(|last| last.collection != v.collection || last.id != v.id);
        let next_collection = batch
            .last()
            .is_some_and(|last| last.collection != v.collection);
        if next_record
            && (next_collection || records >= IMPORT_RECORDS || batch.len() >= IMPORT_VERSIONS)
        {
            flush(chronos, route, &mut batch, opts, &mut summary).await?;
            records = 0;
        }
        if next_record {
            records += 1;
        }
        batch.push(v);
    }
    flush(chronos, route, &mut batch, opts, &mut summary).await?;
    Ok(summary)
}

/// Imports the versions of `batch` (all of one collection, whole records) and empties it.
async fn flush(
    chronos: &Chronos,
    route: &str,
    batch: &mut Vec<ExportedVersion>,
    opts: ImportOptions,
    summary: &mut ImportSummary,
) -> CliResult<()> {
    let Some(first) = batch.first() else {
        return Ok(());
    };
    let name = first.collection.clone();
    let coll = chronos.with(parse_route(route, &name)?)?;
    let done = coll.import(std::mem::take(batch), opts).await?;
    let total = summary.entry(name).or_default();
    total.imported += done.imported;
    total.completed += done.completed;
    total.present += done.present;
    total.versions_written += done.versions_written;
    total.skipped.extend(done.skipped);
    Ok(())
}
