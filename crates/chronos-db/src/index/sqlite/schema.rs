//! Table names and DDL of the SQLite index store.

use rusqlite::Connection;

use super::filter_sql::json_path;

/// Quoted table names of one collection. Collection names are validated (`names.rs`) to
/// `[A-Za-z0-9_-]`, so quoting with `"` is safe.
pub struct Tables {
    /// `"<coll>_head"`
    pub head: String,
    /// `"<coll>_ver"`
    pub ver: String,
    /// `"<coll>_locks"`
    pub locks: String,
    prefix: String,
}

impl Tables {
    /// Table names for `collection`.
    pub fn new(collection: &str) -> Self {
        Tables {
            head: format!("\"{collection}_head\""),
            ver: format!("\"{collection}_ver\""),
            locks: format!("\"{collection}_locks\""),
            prefix: collection.to_string(),
        }
    }

    fn index_name(&self, suffix: &str) -> String {
        format!("\"{}_{suffix}\"", self.prefix)
    }
}

/// Creates the tables shared by a database's collections: collection-version counters and the
/// audit log.
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
        CREATE INDEX IF NOT EXISTS chronos_audit_collection ON chronos_audit(collection, seq);",
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
    let mut ddl = format!(
        "CREATE TABLE IF NOT EXISTS {ver} (
            id TEXT NOT NULL,
            ov INTEGER NOT NULL,
            cv INTEGER NOT NULL,
            at INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            blob_key TEXT NOT NULL,
            meta TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (id, ov)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS {ver_at} ON {ver}(id, at, ov);
        DROP INDEX IF EXISTS {ver_cv}; -- served no query (reads by cv go through (id, ov))
        CREATE TABLE IF NOT EXISTS {head} (
            id TEXT PRIMARY KEY,
            ov INTEGER NOT NULL,
            cv INTEGER NOT NULL,
            at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            blob_key TEXT NOT NULL,
            meta TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            shadow TEXT
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
        ver_cv = t.index_name("ver_cv"),
        head_at = t.index_name("head_at"),
        head_created = t.index_name("head_created"),
        locks = t.locks,
    );
    for prop in indexed_props {
        ddl.push_str(&format!(
            "CREATE INDEX IF NOT EXISTS {} ON {}(json_extract(meta, '{}'));\n",
            t.index_name(&format!("p_{}", prop.replace('.', "__"))),
            t.head,
            json_path(prop),
        ));
    }
    conn.execute_batch(&ddl)
}
