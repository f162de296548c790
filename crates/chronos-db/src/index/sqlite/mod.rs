//! The embedded index store: one SQLite file per index database, under one directory.
//!
//! Each collection has a `<coll>_head` and a `<coll>_ver` table (primary key `(id, ov)`: the
//! commit point); collection versions live in `chronos_counters`. Files run in WAL mode with a
//! busy timeout, so several processes may share them.

mod audit;
mod changes;
mod checkpoint;
mod claims;
mod counts;
mod filter_sql;
mod history;
mod keys;
mod locks;
mod maintenance;
mod meta_sql;
mod migrate;
mod queue;
mod queue_table;
mod reads;
mod records;
mod rows;
mod schema;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::Connection;

use super::{IndexBackend, Namespace};
use crate::config::Durability;
use crate::error::{Error, Result};

const BACKEND: &str = "sqlite";

/// One open database file and the collections whose tables are known to exist.
#[derive(Debug)]
struct Db {
    conn: Mutex<Connection>,
    /// Queue tables known to exist.
    ensured: Mutex<HashSet<String>>,
    /// The tables of each collection known to exist, ready to use.
    collections: Mutex<HashMap<String, Arc<schema::Tables>>>,
    /// Operations run on `conn`, for the background checkpointer.
    ops: Arc<AtomicU64>,
}

impl Db {
    /// Locks the connection for one operation.
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.ops.fetch_add(1, Ordering::Relaxed);
        self.conn.lock().map_err(|_| poisoned())
    }
}

/// The page cache of each database connection, at most (SQLite's default is 2 MiB). It fills
/// only as pages are read; 16 MiB holds the interior pages of every B-tree of a file of about
/// 1.5 GB (a million small records with their history), so a point read at that size goes to
/// the file only for its leaf pages.
const PAGE_CACHE_KIB: u32 = 16 * 1024;

/// How much of each database file reads go through memory mapping by default: none, as
/// SQLite's own default. Mapped pages count in the process's resident memory (a walk over a
/// large collection would show its file there), and an I/O error while reading through a
/// map ends the process instead of coming back as an error. Deployments that read more than
/// they walk can turn it on (`writeOptimization.sqliteMmapBytes`).
pub const DEFAULT_MMAP_BYTES: u64 = 0;

/// Prepared statements kept per database connection.
const STATEMENT_CACHE: usize = 256;

/// SQLite index store over a directory of database files.
#[derive(Debug)]
pub struct SqliteIndex {
    dir: PathBuf,
    /// How durable commits are: `synchronous=FULL` (each commit synced) for power loss,
    /// `NORMAL` (WAL: safe from process crashes) otherwise.
    durability: Durability,
    dbs: Mutex<HashMap<String, Arc<Db>>>,
    checkpointer: checkpoint::Checkpointer,
    /// `PRAGMA mmap_size` of each file.
    mmap_bytes: u64,
}

/// A SQLite failure during `operation`: transient when the database was busy, locked or
/// could not be read or written (disk, I/O), not when SQLite refused the statement; stored
/// values that do not convert to what chronos-db wrote are [`Error::Corrupt`].
fn backend_err(operation: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    use rusqlite::ErrorCode as C;
    move |e| {
        if matches!(
            e,
            rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
        ) {
            return Error::Corrupt(format!("{operation}: {e}"));
        }
        let transient = matches!(
            e.sqlite_error_code(),
            Some(
                C::DatabaseBusy
                    | C::DatabaseLocked
                    | C::SystemIoFailure
                    | C::DiskFull
                    | C::CannotOpen
                    | C::OutOfMemory
            )
        );
        Error::storage(BACKEND, operation, e, transient)
    }
}

fn poisoned() -> Error {
    Error::internal("lock a SQLite connection", "a previous operation panicked")
}

/// A blocking task that did not finish (it panicked or the runtime is shutting down).
fn join_err(operation: &str) -> impl Fn(tokio::task::JoinError) -> Error + '_ {
    move |e| Error::internal(operation, e)
}

/// A file-system failure of the index directory.
fn dir_err(dir: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| {
        let refused = e.kind() == std::io::ErrorKind::PermissionDenied;
        Error::storage(BACKEND, format!("open {}", dir.display()), e, !refused)
    }
}

impl SqliteIndex {
    /// Opens (creating if needed) the directory of database files, with every commit synced
    /// to disk (the default durability).
    #[cfg(any(test, feature = "backend-api"))]
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, Durability::PowerLoss)
    }

    /// Opens the directory of database files with commits as durable as `durability` asks.
    pub fn open_with(dir: &Path, durability: Durability) -> Result<Self> {
        crate::durable_dir::create(dir, durability.syncs()).map_err(dir_err(dir))?;
        Ok(SqliteIndex {
            dir: dir.to_path_buf(),
            durability,
            dbs: Mutex::new(HashMap::new()),
            checkpointer: checkpoint::Checkpointer::start(),
            mmap_bytes: DEFAULT_MMAP_BYTES,
        })
    }

    /// Reads at most `bytes` of each file through memory mapping (0: none), for files
    /// opened from now on (see `writeOptimization.sqliteMmapBytes`).
    pub fn with_mmap(mut self, bytes: u64) -> Self {
        self.mmap_bytes = bytes;
        self
    }

    fn db(&self, name: &str) -> Result<Arc<Db>> {
        let mut dbs = self.dbs.lock().map_err(|_| poisoned())?;
        if let Some(db) = dbs.get(name) {
            return Ok(db.clone());
        }
        let path = self.dir.join(format!("{name}.sqlite3"));
        let new_file = !path.exists();
        let mut conn = Connection::open(&path).map_err(backend_err("open database"))?;
        if new_file && self.durability.syncs() {
            // The new file's entry is on disk before anything is committed into it.
            crate::durable_dir::sync_dir(&self.dir).map_err(dir_err(&self.dir))?;
        }
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(backend_err("set busy timeout"))?;
        let what = path.display().to_string();
        let opening = migrate::check(&conn, &what)?;
        // Incremental auto-vacuum takes effect in new files only (before their first table):
        // space freed by pruning and erasing is then given back to the file system. Secure
        // delete overwrites what a delete or an update frees, so an erased record's inline
        // payloads leave no bytes behind in the file.
        conn.execute_batch(&format!(
            "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous={}; \
             PRAGMA wal_autocheckpoint={}; PRAGMA secure_delete=ON; PRAGMA cache_size=-{}; \
             PRAGMA mmap_size={}; PRAGMA journal_size_limit={};",
            if self.durability.syncs() {
                "FULL"
            } else {
                "NORMAL"
            },
            checkpoint::BACKSTOP_PAGES,
            PAGE_CACHE_KIB,
            self.mmap_bytes,
            checkpoint::WAL_KEEP_BYTES,
        ))
        .map_err(backend_err("set pragmas"))?;
        migrate::apply(&mut conn, &what, opening)
            .map_err(backend_err("bring the database to the current format"))?;
        // Hot statements are prepared once per collection: room for several collections.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let db = Arc::new(Db {
            conn: Mutex::new(conn),
            ensured: Mutex::new(HashSet::new()),
            collections: Mutex::new(HashMap::new()),
            ops: Arc::new(AtomicU64::new(0)),
        });
        dbs.insert(name.to_string(), db.clone());
        self.checkpointer.watch(path, db.ops.clone());
        Ok(db)
    }

    /// Runs `f` on the connection of database `db_name` in a blocking thread.
    async fn run_db<T, F>(&self, db_name: &str, operation: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let db = self.db(db_name)?;
        tokio::task::spawn_blocking(move || {
            let mut conn = db.lock()?;
            f(&mut conn).map_err(backend_err(operation))
        })
        .await
        .map_err(join_err(operation))?
    }

    /// Runs `f` on the connection of database `db_name` after making sure queue table
    /// `table` exists.
    async fn run_queue<T, F>(
        &self,
        db_name: &str,
        table: &str,
        operation: &'static str,
        f: F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    {
        let db = self.db(db_name)?;
        let table = table.to_string();
        tokio::task::spawn_blocking(move || {
            let conn = db.lock()?;
            let marker = format!("\0queue:{table}");
            let known = db.ensured.lock().map_err(|_| poisoned())?.contains(&marker);
            if !known {
                queue_table::ensure_table(&conn, &table)
                    .map_err(backend_err("create queue table"))?;
                db.ensured.lock().map_err(|_| poisoned())?.insert(marker);
            }
            f(&conn, &table).map_err(backend_err(operation))
        })
        .await
        .map_err(join_err(operation))?
    }

    /// Runs `f` on the namespace's connection in a blocking thread, after making sure the
    /// collection's tables exist.
    async fn run<T, F>(&self, ns: &Namespace, operation: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &schema::Tables) -> rusqlite::Result<T> + Send + 'static,
    {
        let db = self.db(&ns.db_name)?;
        // Known collections skip the copy of the namespace and the table names (a read's
        // whole cost is a few dozen microseconds).
        let known = db
            .collections
            .lock()
            .map_err(|_| poisoned())?
            .get(&ns.collection)
            .cloned();
        let tables = known.ok_or_else(|| ns.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = db.lock()?;
            let tables = match tables {
                Ok(tables) => tables,
                Err(ns) => {
                    let tables = Arc::new(schema::Tables::with_indexed(
                        &ns.collection,
                        ns.indexed_props.clone(),
                    ));
                    schema::ensure_collection(&conn, &tables, &ns.indexed_props)
                        .map_err(backend_err("create collection tables"))?;
                    db.collections
                        .lock()
                        .map_err(|_| poisoned())?
                        .insert(ns.collection.clone(), tables.clone());
                    tables
                }
            };
            f(&mut conn, &tables).map_err(backend_err(operation))
        })
        .await
        .map_err(join_err(operation))?
    }
}

#[async_trait]
impl IndexBackend for SqliteIndex {
    fn kind(&self) -> &'static str {
        BACKEND
    }

    async fn ping(&self) -> Result<()> {
        let dir = self.dir.clone();
        let meta = tokio::fs::metadata(&dir).await.map_err(dir_err(&dir))?;
        if meta.is_dir() && !meta.permissions().readonly() {
            Ok(())
        } else {
            Err(Error::storage(
                BACKEND,
                "ping",
                format!("{} is not a writable directory", dir.display()),
                false,
            ))
        }
    }

    async fn close(&self) {
        // Connections close when the store is dropped; SQLite has no server to tell.
    }
}

super::every_capability!(SqliteIndex);

#[cfg(test)]
mod tests {
    use super::*;

    fn mmap_of(index: &SqliteIndex) -> i64 {
        let db = index.db("mapped").unwrap();
        let conn = db.lock().unwrap();
        conn.query_row("PRAGMA mmap_size", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn files_are_read_through_a_map_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let index = SqliteIndex::open_with(dir.path(), Durability::PowerLoss).unwrap();
        assert_eq!(mmap_of(&index), DEFAULT_MMAP_BYTES as i64);
        let dir = tempfile::tempdir().unwrap();
        let mapped = SqliteIndex::open_with(dir.path(), Durability::PowerLoss)
            .unwrap()
            .with_mmap(64 << 20);
        assert_eq!(mmap_of(&mapped), 64 << 20);
    }

    #[test]
    fn writers_are_told_to_cut_a_grown_log_back_when_they_start_it_over() {
        let dir = tempfile::tempdir().unwrap();
        let index = SqliteIndex::open_with(dir.path(), Durability::PowerLoss).unwrap();
        let db = index.db("logged").unwrap();
        let conn = db.lock().unwrap();
        let limit: i64 = conn
            .query_row("PRAGMA journal_size_limit", [], |r| r.get(0))
            .unwrap();
        assert_eq!(limit, checkpoint::WAL_KEEP_BYTES as i64);
    }
}
