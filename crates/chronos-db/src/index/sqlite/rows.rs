//! Mapping between SQLite rows and [`VersionRow`] / [`HeadRow`] and their lean forms.

use rusqlite::types::ValueRef;
use rusqlite::{Row, ToSql, Transaction};
use serde_json::{Map, Value};

use super::schema::Tables;
use crate::index::chain::Hash;
use crate::index::{Anchor, HeadRow, Located, PayloadRef, VersionRef, VersionRow};
use crate::model::VersionKind;

/// Columns read into a [`VersionRow`], in order.
pub const VERSION_COLUMNS: &str =
    "id, ov, cv, at, deleted, blob_key, payload, meta, actor, reason, kind, hash, function_ids";
/// Columns read into a [`HeadRow`], in order.
pub const HEAD_COLUMNS: &str = "id, ov, cv, at, deleted, blob_key, payload, meta, actor, reason, \
     kind, hash, function_ids, created_at, shadow, anchor_ov, anchor";

/// The columns of a head a commit writes (the anchor is retention's).
const HEAD_WRITTEN_COLUMNS: &str =
    "id, ov, cv, at, deleted, blob_key, payload, meta, actor, reason, \
     kind, hash, function_ids, created_at, shadow";

/// The columns of a head a payload read needs, for [`read_located_head`].
pub const LEAN_HEAD_COLUMNS: &str = "id, ov, cv, at, deleted, blob_key, payload, kind, shadow";
/// The columns of a version a payload read needs, for [`read_located_version`].
pub const LEAN_VERSION_COLUMNS: &str = "id, ov, cv, at, deleted, blob_key, payload, kind";

/// A u64 as SQLite's integer (refused beyond `i64`).
pub fn to_sql_int(v: u64) -> rusqlite::Result<i64> {
    i64::try_from(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Reads an ov or cv column, which chronos-db only ever writes non-negative.
fn read_u64(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: i64 = r.get(i)?;
    u64::try_from(v).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Integer, Box::new(e))
    })
}

/// Reads columns 0 to 6 (`id, ov, cv, at, deleted, blob_key, payload`, as every row reader
/// selects them first): a version from [`LEAN_VERSION_COLUMNS`]. An inline payload has an
/// empty `blob_key`.
pub fn read_ref(r: &Row<'_>) -> rusqlite::Result<VersionRef> {
    // chronos-db writes a blob; text (a row edited by hand) is read as its bytes, so that
    // `verify` can name the row rather than fail the whole read.
    let inline: Option<Vec<u8>> = match r.get_ref(6)? {
        ValueRef::Null => None,
        ValueRef::Blob(b) | ValueRef::Text(b) => Some(b.to_vec()),
        other => {
            return Err(rusqlite::Error::InvalidColumnType(
                6,
                "payload".into(),
                other.data_type(),
            ))
        }
    };
    Ok(VersionRef {
        id: r.get(0)?,
        ov: read_u64(r, 1)?,
        cv: read_u64(r, 2)?,
        at: r.get(3)?,
        deleted: r.get(4)?,
        payload: match inline {
            Some(bytes) => PayloadRef::Inline(bytes.into()),
            None => PayloadRef::Object(r.get(5)?),
        },
    })
}

/// Reads a version row from [`VERSION_COLUMNS`].
pub fn read_version(r: &Row<'_>) -> rusqlite::Result<VersionRow> {
    let meta_text: String = r.get(7)?;
    let meta: Map<String, Value> = serde_json::from_str(&meta_text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let version = read_ref(r)?;
    Ok(VersionRow {
        kind: read_kind(r, 10)?,
        version,
        meta,
        actor: r.get(8)?,
        reason: r.get(9)?,
        function_ids: match r.get::<_, Option<String>>(12)? {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    12,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
        },
        digest: None,
        hash: read_hash(r, 11)?,
    })
}

/// Reads a kind column.
fn read_kind(r: &Row<'_>, i: usize) -> rusqlite::Result<VersionKind> {
    let code: i64 = r.get(i)?;
    VersionKind::from_code(code).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Integer,
            format!("unknown version kind {code}").into(),
        )
    })
}

/// Reads a hash column (NULL: the version has none).
pub fn read_hash(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Hash>> {
    let Some(bytes) = r.get::<_, Option<Vec<u8>>>(i)? else {
        return Ok(None);
    };
    Hash::try_from(bytes.as_slice()).map(Some).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            format!("a hash of {} bytes", bytes.len()).into(),
        )
    })
}

/// Reads a head row from [`HEAD_COLUMNS`].
pub fn read_head(r: &Row<'_>) -> rusqlite::Result<HeadRow> {
    Ok(HeadRow {
        latest: read_version(r)?,
        created_at: r.get(13)?,
        shadow: r.get(14)?,
        anchor: match r.get::<_, Option<i64>>(15)? {
            None => None,
            Some(_) => Some(Anchor {
                ov: read_u64(r, 15)?,
                hash: read_hash(r, 16)?,
            }),
        },
    })
}

/// Reads a head from [`LEAN_HEAD_COLUMNS`] (point reads and listings).
pub fn read_located_head(r: &Row<'_>) -> rusqlite::Result<Located> {
    Ok(Located {
        version: read_ref(r)?,
        kind: read_kind(r, 7)?,
        shadow: r.get(8)?,
    })
}

/// Reads a version from [`LEAN_VERSION_COLUMNS`] (point reads of history).
pub fn read_located_version(r: &Row<'_>) -> rusqlite::Result<Located> {
    Ok(Located {
        version: read_ref(r)?,
        kind: read_kind(r, 7)?,
        shadow: None,
    })
}

fn meta_json(row: &VersionRow) -> rusqlite::Result<String> {
    serde_json::to_string(&row.meta)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Runs `sql` with the version columns of `row` bound to ?1..?13 (in `VERSION_COLUMNS`
/// order) and `extra` after them.
fn execute_with_row(
    tx: &Transaction<'_>,
    sql: &str,
    row: &VersionRow,
    extra: &[&dyn ToSql],
) -> rusqlite::Result<()> {
    let ov = to_sql_int(row.ov)?;
    let cv = to_sql_int(row.cv)?;
    let meta = meta_json(row)?;
    let (key, inline) = match &row.payload {
        PayloadRef::Object(key) => (key.as_str(), None),
        PayloadRef::Inline(bytes) => ("", Some(bytes.as_ref())),
    };
    let kind = row.kind.code();
    let hash = row.hash.as_ref().map(|h| h.as_slice());
    // NULL for the many versions without (most are not enrichments).
    let function_ids = match row.function_ids.is_empty() {
        true => None,
        false => Some(
            serde_json::to_string(&row.function_ids)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
        ),
    };
    let mut values: Vec<&dyn ToSql> = vec![
        &row.id,
        &ov,
        &cv,
        &row.at,
        &row.deleted,
        &key,
        &inline,
        &meta,
        &row.actor,
        &row.reason,
        &kind,
        &hash,
        &function_ids,
    ];
    values.extend_from_slice(extra);
    tx.prepare_cached(sql)?.execute(values.as_slice())?;
    Ok(())
}

/// Inserts a version row (fails on a duplicate `(id, ov)`).
pub fn insert_version(tx: &Transaction<'_>, t: &Tables, row: &VersionRow) -> rusqlite::Result<()> {
    let sql = format!(
        "INSERT INTO {} ({VERSION_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        t.ver
    );
    execute_with_row(tx, &sql, row, &[])
}

/// Records in the head of `id` that its chain starts after version `ov`, whose hash was
/// `hash` (retention removed it, or an import began after it), unless it starts later
/// already.
pub fn anchor_head(
    tx: &Transaction<'_>,
    t: &Tables,
    id: &str,
    ov: u64,
    hash: Option<&Hash>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE {} SET anchor_ov = ?2, anchor = ?3 WHERE id = ?1 \
         AND (anchor_ov IS NULL OR anchor_ov < ?2)",
        t.head
    ))?
    .execute(rusqlite::params![
        id,
        to_sql_int(ov)?,
        hash.map(|h| h.as_slice())
    ])?;
    Ok(())
}

/// Points the head of `row.id` at `row`: a new head gets `created_at`, an existing one keeps
/// its own.
pub fn upsert_head(
    tx: &Transaction<'_>,
    t: &Tables,
    row: &VersionRow,
    created_at: i64,
    shadow: Option<&str>,
) -> rusqlite::Result<()> {
    // An update in place, not INSERT OR REPLACE: a replace deletes the row and reinserts it,
    // rewriting the entry of every index, where an update only touches the indexes of the
    // columns it sets (never `created_at`, which callers carry over from the head).
    let sql = format!(
        "INSERT INTO {} ({HEAD_WRITTEN_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT(id) DO UPDATE SET ov = excluded.ov, cv = excluded.cv, at = excluded.at,
             deleted = excluded.deleted, blob_key = excluded.blob_key,
             payload = excluded.payload, meta = excluded.meta,
             actor = excluded.actor, reason = excluded.reason, kind = excluded.kind,
             hash = excluded.hash, function_ids = excluded.function_ids,
             shadow = excluded.shadow",
        t.head
    );
    execute_with_row(tx, &sql, row, &[&created_at, &shadow])
}
