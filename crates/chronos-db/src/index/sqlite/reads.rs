//! Point reads on SQLite: a record's head and single versions, full or lean, as plain
//! functions so one blocking call can make several of them.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::rows::{self, HEAD_COLUMNS, LEAN_HEAD_COLUMNS, LEAN_VERSION_COLUMNS, VERSION_COLUMNS};
use super::schema::Tables;
use crate::index::{HeadRow, Located, VersionPick, VersionRow, CLAIM_SENTINEL};

/// The head of `id` (full).
pub fn head(conn: &Connection, t: &Tables, id: &str) -> rusqlite::Result<Option<HeadRow>> {
    conn.prepare_cached(&format!(
        "SELECT {HEAD_COLUMNS} FROM {} WHERE id = ?1",
        t.head
    ))?
    .query_row([id], rows::read_head)
    .optional()
}

/// The version of `id` that `pick` designates (full).
pub fn version(
    conn: &Connection,
    t: &Tables,
    id: &str,
    pick: VersionPick,
) -> rusqlite::Result<Option<VersionRow>> {
    if pick == VersionPick::Latest {
        return Ok(head(conn, t, id)?.map(|h| h.latest));
    }
    pick_row(conn, t, id, pick, VERSION_COLUMNS, rows::read_version)
}

/// Where the version of `id` that `pick` designates is (lean), with the head's shadow for
/// the latest.
pub fn locate(
    conn: &Connection,
    t: &Tables,
    id: &str,
    pick: VersionPick,
) -> rusqlite::Result<Option<Located>> {
    if pick == VersionPick::Latest {
        return conn
            .prepare_cached(&format!(
                "SELECT {LEAN_HEAD_COLUMNS} FROM {} WHERE id = ?1",
                t.head
            ))?
            .query_row([id], rows::read_located_head)
            .optional();
    }
    pick_row(
        conn,
        t,
        id,
        pick,
        LEAN_VERSION_COLUMNS,
        rows::read_located_version,
    )
}

/// The row of `id` that a historical `pick` designates, read by `read` from `columns`
/// (which start with the lean ones). Claims are never answered.
fn pick_row<T>(
    conn: &Connection,
    t: &Tables,
    id: &str,
    pick: VersionPick,
    columns: &str,
    read: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    match pick {
        // The callers read the latest from the head.
        VersionPick::Latest => Ok(None),
        VersionPick::Ov(ov) => {
            let Ok(ov) = i64::try_from(ov) else {
                return Ok(None);
            };
            // A claim's blob key marks it; its at is the sentinel.
            conn.prepare_cached(&format!(
                "SELECT {columns} FROM {} WHERE id = ?1 AND ov = ?2 AND at < ?3",
                t.ver
            ))?
            .query_row(params![id, ov, CLAIM_SENTINEL], read)
            .optional()
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
