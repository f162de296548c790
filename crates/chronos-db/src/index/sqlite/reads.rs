//! Point reads on SQLite: a record's head and single versions, as plain functions so one
//! blocking call can make several of them.

use rusqlite::{params, Connection, OptionalExtension};

use super::rows::{self, HEAD_COLUMNS, LEAN_HEAD_COLUMNS, LEAN_VERSION_COLUMNS, VERSION_COLUMNS};
use super::schema::Tables;
use crate::index::{HeadRow, VersionPick, VersionRow, CLAIM_SENTINEL};

/// How much of a row a read decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Every column.
    Full,
    /// What a payload read needs: identity, history facts and the blob key (and a head's
    /// shadow); indexed properties, actor and reason are left empty.
    Lean,
}

/// The head of `id`.
pub fn head(
    conn: &Connection,
    t: &Tables,
    id: &str,
    detail: Detail,
) -> rusqlite::Result<Option<HeadRow>> {
    let (columns, read): (&str, fn(&rusqlite::Row<'_>) -> rusqlite::Result<HeadRow>) = match detail
    {
        Detail::Full => (HEAD_COLUMNS, rows::read_head),
        Detail::Lean => (LEAN_HEAD_COLUMNS, rows::read_lean_head),
    };
    conn.prepare_cached(&format!("SELECT {columns} FROM {} WHERE id = ?1", t.head))?
        .query_row([id], read)
        .optional()
}

/// The version of `id` that `pick` designates.
pub fn version(
    conn: &Connection,
    t: &Tables,
    id: &str,
    pick: VersionPick,
    detail: Detail,
) -> rusqlite::Result<Option<VersionRow>> {
    let (columns, read): (&str, fn(&rusqlite::Row<'_>) -> rusqlite::Result<VersionRow>) =
        match detail {
            Detail::Full => (VERSION_COLUMNS, rows::read_version),
            Detail::Lean => (LEAN_VERSION_COLUMNS, rows::read_lean_version),
        };
    match pick {
        VersionPick::Ov(ov) => {
            let Ok(ov) = i64::try_from(ov) else {
                return Ok(None);
            };
            conn.prepare_cached(&format!(
                "SELECT {columns} FROM {} WHERE id = ?1 AND ov = ?2",
                t.ver
            ))?
            .query_row(params![id, ov], read)
            .optional()
            .map(|row| row.filter(|r| !r.is_claim()))
        }
        // Claims carry the sentinel time and cv, so bounds below it never reach them.
        VersionPick::AsOf(at) => conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM {} WHERE id = ?1 AND at <= ?2 \
                 ORDER BY at DESC, ov DESC LIMIT 1",
                t.ver
            ))?
            .query_row(params![id, at.min(CLAIM_SENTINEL - 1)], read)
            .optional(),
        VersionPick::AtCv(cv) => conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM {} WHERE id = ?1 AND cv <= ?2 \
                 ORDER BY ov DESC LIMIT 1",
                t.ver
            ))?
            .query_row(
                params![
                    id,
                    i64::try_from(cv).map_or(CLAIM_SENTINEL - 1, |cv| cv.min(CLAIM_SENTINEL - 1))
                ],
                read,
            )
            .optional(),
    }
}
