//! Point reads on SQLite: a record's head and single versions, as plain functions so one
//! blocking call can make several of them.

use rusqlite::{params, Connection, OptionalExtension};

use super::rows::{self, HEAD_COLUMNS, VERSION_COLUMNS};
use super::schema::Tables;
use crate::index::{HeadRow, VersionPick, VersionRow};

/// The head of `id`.
pub fn head(conn: &Connection, t: &Tables, id: &str) -> rusqlite::Result<Option<HeadRow>> {
    conn.prepare_cached(&format!(
        "SELECT {HEAD_COLUMNS} FROM {} WHERE id = ?1",
        t.head
    ))?
    .query_row([id], rows::read_head)
    .optional()
}

/// The version of `id` that `pick` designates.
pub fn version(
    conn: &Connection,
    t: &Tables,
    id: &str,
    pick: VersionPick,
) -> rusqlite::Result<Option<VersionRow>> {
    match pick {
        VersionPick::Ov(ov) => {
            let Ok(ov) = i64::try_from(ov) else {
                return Ok(None);
            };
            conn.prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM {} WHERE id = ?1 AND ov = ?2",
                t.ver
            ))?
            .query_row(params![id, ov], rows::read_version)
            .optional()
        }
        VersionPick::AsOf(at) => conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM {} WHERE id = ?1 AND at <= ?2 \
                 ORDER BY at DESC, ov DESC LIMIT 1",
                t.ver
            ))?
            .query_row(params![id, at], rows::read_version)
            .optional(),
        VersionPick::AtCv(cv) => conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM {} WHERE id = ?1 AND cv <= ?2 \
                 ORDER BY ov DESC LIMIT 1",
                t.ver
            ))?
            .query_row(
                params![id, i64::try_from(cv).unwrap_or(i64::MAX)],
                rows::read_version,
            )
            .optional(),
    }
}
