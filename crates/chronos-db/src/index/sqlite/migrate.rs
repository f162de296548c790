//! The stored format of SQLite index files (`PRAGMA user_version`) and every migration from an
//! older one, in one place (see [`crate::index::format`]).
//!
//! A migration runs when a file is first opened, one collection per transaction: every step
//! can be interrupted (a crash, a kill) and run again, and the format is recorded only once
//! every step is done. Concurrent openers serialise on SQLite's write lock and find the work
//! done.

use std::collections::HashSet;

use rusqlite::{Connection, TransactionBehavior};

use super::schema::{self, Tables};
use crate::failpoint;
use crate::index::format::{self, Opening, INDEX_FORMAT};

/// The format a file records, and whether it holds any table (a file SQLite has just
/// created holds none). Reads only: a newer format must be refused before anything is
/// written, pragmas included.
pub fn check(conn: &Connection, what: &str) -> crate::error::Result<Opening> {
    let read = || -> rusqlite::Result<(u32, bool)> {
        let recorded: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        Ok((recorded, tables > 0))
    };
    let (recorded, has_data) = read().map_err(super::backend_err("read the stored format"))?;
    format::plan(what, Some(recorded), has_data)
}

/// Brings the file to the current format as `opening` says, and makes sure the tables every
/// database has exist.
pub fn apply(conn: &mut Connection, what: &str, opening: Opening) -> rusqlite::Result<()> {
    if let Opening::Migrate { from } = opening {
        let collections = collections(conn)?;
        let total = collections.len();
        for (done, collection) in collections.iter().enumerate() {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if from < 1 {
                to_format_1(&tx, &Tables::with_indexed(collection, Default::default()))?;
            }
            tx.commit()?;
            format::progress(what, from, collection, done + 1, total);
            failpoint::hit_blocking(failpoint::AFTER_MIGRATION_STEP);
        }
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    schema::ensure_db_tables(&tx)?;
    if opening != Opening::Current {
        tx.pragma_update(None, "user_version", INDEX_FORMAT)?;
    }
    tx.commit()
}

/// The collections whose tables the file holds (a `<coll>_ver` beside a `<coll>_head`).
fn collections(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let names: HashSet<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut found: Vec<String> = names
        .iter()
        .filter_map(|n| n.strip_suffix("_ver"))
        .filter(|c| names.contains(&format!("{c}_head")))
        .map(str::to_string)
        .collect();
    found.sort();
    Ok(found)
}

/// Columns that files of format 0 may lack, depending on their age, with their type and
/// whether the version table has them too (or the head only). NULL in each means what an old
/// row meant: the payload is an object, no hash, no function ids in the index, never pruned.
const ADDED_COLUMNS: [(&str, &str, bool); 6] = [
    ("payload", "BLOB", true),
    ("kind", "INTEGER", true),
    ("hash", "BLOB", true),
    ("function_ids", "TEXT", true),
    ("anchor_ov", "INTEGER", false),
    ("anchor", "BLOB", false),
];

/// The kind a version row of format 0 without one has, as its row tells: version 0 a create
/// (1), a logical delete a delete (3), any other an update (2).
const INFERRED_KIND: &str = "CASE WHEN ov = 0 THEN 1 WHEN deleted THEN 3 ELSE 2 END";

/// Format 0 to 1 for one collection: the columns later code added, a kind in every row, and
/// no `(cv)` version index of the old shape (it served no query; the change feed makes its
/// own).
fn to_format_1(conn: &Connection, t: &Tables) -> rusqlite::Result<()> {
    let mut sql = String::new();
    for (table, suffix) in [(&t.ver, "ver"), (&t.head, "head")] {
        let columns = t.columns_of(conn, suffix)?;
        for (column, ty, in_both) in ADDED_COLUMNS {
            if (in_both || suffix == "head") && !columns.contains(column) {
                sql.push_str(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty};\n"));
            }
        }
        sql.push_str(&format!(
            "UPDATE {table} SET kind = {INFERRED_KIND} WHERE kind IS NULL;\n"
        ));
    }
    sql.push_str(&format!("DROP INDEX IF EXISTS {};", t.index_name("ver_cv")));
    conn.execute_batch(&sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A collection's tables as the oldest files had them: no inline payloads, kinds,
    /// hashes, function ids or anchors, and a `(cv)` index.
    fn oldest_file(conn: &Connection) {
        conn.execute_batch(
            "CREATE TABLE chronos_counters (collection TEXT PRIMARY KEY, next_cv INTEGER NOT NULL);
             CREATE TABLE \"c_ver\" (id TEXT NOT NULL, ov INTEGER NOT NULL, cv INTEGER NOT NULL,
                 at INTEGER NOT NULL, deleted INTEGER NOT NULL, blob_key TEXT NOT NULL,
                 meta TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL,
                 PRIMARY KEY (id, ov)) WITHOUT ROWID;
             CREATE INDEX \"c_ver_cv\" ON \"c_ver\"(cv);
             CREATE TABLE \"c_head\" (id TEXT PRIMARY KEY, ov INTEGER NOT NULL,
                 cv INTEGER NOT NULL, at INTEGER NOT NULL, created_at INTEGER NOT NULL,
                 deleted INTEGER NOT NULL, blob_key TEXT NOT NULL, meta TEXT NOT NULL,
                 actor TEXT NOT NULL, reason TEXT NOT NULL, shadow TEXT) WITHOUT ROWID;
             INSERT INTO \"c_ver\" VALUES
                 ('r', 0, 0, 1, 0, 'k0', '{}', 'a', 'x'),
                 ('r', 1, 1, 2, 0, 'k1', '{}', 'a', 'x'),
                 ('r', 2, 2, 3, 1, 'k2', '{}', 'a', 'x');
             INSERT INTO \"c_head\" VALUES ('r', 2, 2, 3, 1, 1, 'k2', '{}', 'a', 'x', NULL);",
        )
        .unwrap();
    }

    fn kinds(conn: &Connection, table: &str) -> Vec<i64> {
        conn.prepare(&format!("SELECT kind FROM \"{table}\" ORDER BY ov"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn the_oldest_files_get_every_column_and_kind_and_record_the_format() {
        let mut conn = Connection::open_in_memory().unwrap();
        oldest_file(&conn);
        let opening = check(&conn, "old").unwrap();
        assert_eq!(opening, Opening::Migrate { from: 0 });
        apply(&mut conn, "old", opening).unwrap();
        assert_eq!(kinds(&conn, "c_ver"), [1, 2, 3]);
        assert_eq!(kinds(&conn, "c_head"), [3]);
        let t = Tables::new("c");
        let head = t.columns_of(&conn, "head").unwrap();
        for (column, _, _) in ADDED_COLUMNS {
            assert!(head.contains(column), "{column}");
        }
        let cv_index: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'c_ver_cv'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(cv_index, 0);
        assert_eq!(check(&conn, "old").unwrap(), Opening::Current);
        // Running a step again changes nothing.
        to_format_1(&conn, &t).unwrap();
        assert_eq!(kinds(&conn, "c_ver"), [1, 2, 3]);
    }

    #[test]
    fn a_fresh_file_records_the_format_and_a_newer_one_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        let opening = check(&conn, "new").unwrap();
        assert_eq!(opening, Opening::Fresh);
        apply(&mut conn, "new", opening).unwrap();
        assert_eq!(check(&conn, "new").unwrap(), Opening::Current);
        conn.pragma_update(None, "user_version", INDEX_FORMAT + 1)
            .unwrap();
        let err = check(&conn, "new").unwrap_err();
        assert!(matches!(err, crate::Error::Precondition(_)), "{err}");
    }
}
