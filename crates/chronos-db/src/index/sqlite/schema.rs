//! Table names and DDL of the SQLite index store.

use std::collections::HashSet;
use std::sync::Arc;

use rusqlite::Connection;

use super::meta_sql::{rank_expr, value_expr};

/// The names of the generated key columns of a declared property (paths are validated to
/// `[A-Za-z0-9_.-]`, so they are safe inside `"`).
fn key_columns(prop: &str) -> (String, String) {
    (format!("\"r:{prop}\""), format!("\"v:{prop}\""))
}

/// Quoted table names of one collection, and its declared indexed properties. Collection
/// names are validated (`names.rs`) to `[A-Za-z0-9_-]`, so quoting with `"` is safe.
#[derive(Debug)]
pub struct Tables {
    /// `"<coll>_head"`
    pub head: String,
    /// `"<coll>_ver"`
    pub ver: String,
    /// `"<coll>_locks"`
    pub locks: String,
    /// `"<coll>_cvs"`: collection versions sealed by the change log or held by queued writes.
    pub cvs: String,
    prefix: String,
    /// Properties with a pair of key columns and an index in the head table.
    indexed: Arc<Vec<String>>,
    /// Whether the change feed's `(cv)` index of the versions is known to exist.
    pub cv_index: std::sync::atomic::AtomicBool,
}

impl Tables {
    /// Table names for `collection`, without declared properties.
    #[cfg(test)]
    pub fn new(collection: &str) -> Self {
        Self::with_indexed(collection, Arc::new(Vec::new()))
    }

    /// Table names for `collection`, whose head table keys the properties `indexed`.
    pub fn with_indexed(collection: &str, indexed: Arc<Vec<String>>) -> Self {
        Tables {
            head: format!("\"{collection}_head\""),
            ver: format!("\"{collection}_ver\""),
            locks: format!("\"{collection}_locks\""),
            cvs: format!("\"{collection}_cvs\""),
            prefix: collection.to_string(),
            indexed,
            cv_index: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The key columns (type bracket, value) of `prop` in the head table, when it is
    /// declared.
    pub fn key_columns(&self, prop: &str) -> Option<(String, String)> {
        self.indexed
            .iter()
            .any(|p| p == prop)
            .then(|| key_columns(prop))
    }

    /// The names of the columns table `<coll>_<suffix>` has.
    pub fn columns_of(&self, conn: &Connection, suffix: &str) -> rusqlite::Result<HashSet<String>> {
        conn.prepare(&format!(
            "SELECT name FROM pragma_table_xinfo('{}_{suffix}')",
            self.prefix
        ))?
        .query_map([], |r| r.get(0))?
        .collect()
    }

    /// The quoted name of the collection's index `<coll>_<suffix>`.
    pub fn index_name(&self, suffix: &str) -> String {
        format!("\"{}_{suffix}\"", self.prefix)
    }
}

/// Creates the tables shared by a database's collections: collection-version counters, the
/// audit log and the wrapped data keys (the route's key in the row `('', '')`).
pub fn ensure_db_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS chronos_counters (
            collection TEXT PRIMARY KEY,
            next_cv INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS chronos_audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            collection TEXT NOT NULL,
            id TEXT NOT NULL,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS chronos_audit_collection ON chronos_audit(collection, seq);
        CREATE TABLE IF NOT EXISTS chronos_settled (
            collection TEXT PRIMARY KEY,
            cv INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS chronos_keys (
            collection TEXT NOT NULL,
            record_id TEXT NOT NULL,
            key_id TEXT NOT NULL,
            wrapped BLOB,
            wrapped_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            shredded_at INTEGER,
            PRIMARY KEY (collection, record_id)
        ) WITHOUT ROWID;",
    )?;
    super::counts::ensure_table(conn)
}

/// Creates a collection's tables and indexes (idempotent), including one expression index per
/// declared indexed property.
pub fn ensure_collection(
    conn: &Connection,
    t: &Tables,
    indexed_props: &[String],
) -> rusqlite::Result<()> {
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {ver} (
            id TEXT NOT NULL,
            ov INTEGER NOT NULL,
            cv INTEGER NOT NULL,
            at INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            blob_key TEXT NOT NULL,
            payload BLOB,
            meta TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            kind INTEGER,
            hash BLOB,
            function_ids TEXT,
            PRIMARY KEY (id, ov)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS {ver_at} ON {ver}(id, at, ov);
        CREATE TABLE IF NOT EXISTS {cvs} (
            cv INTEGER PRIMARY KEY,
            id TEXT,
            ov INTEGER,
            op TEXT
        );
        CREATE TABLE IF NOT EXISTS {head} (
            id TEXT PRIMARY KEY,
            ov INTEGER NOT NULL,
            cv INTEGER NOT NULL,
            at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            blob_key TEXT NOT NULL,
            payload BLOB,
            meta TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            shadow TEXT,
            kind INTEGER,
            hash BLOB,
            function_ids TEXT,
            anchor_ov INTEGER,
            anchor BLOB
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS {locks} (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS {head_at} ON {head}(at, id);
        CREATE INDEX IF NOT EXISTS {head_created} ON {head}(created_at, id);
        ",
        ver = t.ver,
        head = t.head,
        ver_at = t.index_name("ver_at"),
        cvs = t.cvs,
        head_at = t.index_name("head_at"),
        head_created = t.index_name("head_created"),
        locks = t.locks,
    );
    conn.execute_batch(&ddl)?;
    let mut keys = String::new();
    let existing = t.columns_of(conn, "head")?;
    for prop in indexed_props {
        // Two virtual columns per declared property, its type bracket and its value, and one
        // index on them (then id): filters, sorts and keyset pages on the property seek it
        // and read it in order. They replace the value-only expression index.
        let (rank, value) = key_columns(prop);
        for (column, expr) in [(&rank, rank_expr("", prop)), (&value, value_expr("", prop))] {
            if !existing.contains(column.trim_matches('"')) {
                keys.push_str(&format!(
                    "ALTER TABLE {} ADD COLUMN {column} AS ({expr}) VIRTUAL;\n",
                    t.head
                ));
            }
        }
        let name = format!("p_{}", prop.replace('.', "__"));
        keys.push_str(&format!(
            "DROP INDEX IF EXISTS {};\nCREATE INDEX IF NOT EXISTS {} ON {}({rank}, {value}, id);\n",
            t.index_name(&name),
            t.index_name(&format!("{name}_keys")),
            t.head,
        ));
    }
    conn.execute_batch(&keys)
}
