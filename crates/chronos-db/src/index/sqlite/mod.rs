//! The embedded index store: one SQLite file per index database, under one directory.
//!
//! Each collection has a `<coll>_head` and a `<coll>_ver` table (primary key `(id, ov)`: the
//! commit point); collection versions live in `chronos_counters`. Files run in WAL mode with a
//! busy timeout, so several processes may share them.

mod checkpoint;
mod claims;
mod counts;
mod filter_sql;
mod history;
mod queue;
mod reads;
mod rows;
mod schema;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    sequence_outcome, AuditEntry, BatchOutcome, CommitOptions, CommitOutcome, CountKey, CountScope,
    CountsWritten, HeadQuery, HeadRow, IndexStore, Namespace, QueueClaim, QueueQuery, QueueRow,
    VersionPick, VersionRow,
};
use crate::config::Durability;
use crate::error::{Error, Result};
use reads::Detail;

const BACKEND: &str = "sqlite";

/// One open database file and the collections whose tables are known to exist.
#[derive(Debug)]
struct Db {
    conn: Mutex<Connection>,
    ensured: Mutex<HashSet<String>>,
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

/// Prepared statements kept per database connection.
const STATEMENT_CACHE: usize = 256;

/// SQLite index store over a directory of database files.
#[derive(Debug)]
pub struct SqliteIndex {
    dir: PathBuf,
    /// `synchronous=FULL` (each commit synced) or `NORMAL` (WAL: safe from process crashes).
    synchronous: &'static str,
    dbs: Mutex<HashMap<String, Arc<Db>>>,
    checkpointer: checkpoint::Checkpointer,
}

/// A SQLite failure during `operation`: transient when the database was busy, locked or
/// could not be read or written (disk, I/O), not when SQLite refused the statement.
fn backend_err(operation: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    use rusqlite::ErrorCode as C;
    move |e| {
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
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, Durability::PowerLoss)
    }

    /// Opens the directory of database files with commits as durable as `durability` asks.
    pub fn open_with(dir: &Path, durability: Durability) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(dir_err(dir))?;
        Ok(SqliteIndex {
            dir: dir.to_path_buf(),
            synchronous: if durability.syncs() { "FULL" } else { "NORMAL" },
            dbs: Mutex::new(HashMap::new()),
            checkpointer: checkpoint::Checkpointer::start(),
        })
    }

    fn db(&self, name: &str) -> Result<Arc<Db>> {
        let mut dbs = self.dbs.lock().map_err(|_| poisoned())?;
        if let Some(db) = dbs.get(name) {
            return Ok(db.clone());
        }
        let path = self.dir.join(format!("{name}.sqlite3"));
        let conn = Connection::open(&path).map_err(backend_err("open database"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(backend_err("set busy timeout"))?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={}; PRAGMA wal_autocheckpoint={};",
            self.synchronous,
            checkpoint::BACKSTOP_PAGES
        ))
        .map_err(backend_err("set pragmas"))?;
        schema::ensure_db_tables(&conn).map_err(backend_err("create database tables"))?;
        // Hot statements are prepared once per collection: room for several collections.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let db = Arc::new(Db {
            conn: Mutex::new(conn),
            ensured: Mutex::new(HashSet::new()),
            ops: Arc::new(AtomicU64::new(0)),
        });
        dbs.insert(name.to_string(), db.clone());
        self.checkpointer.watch(path, db.ops.clone());
        Ok(db)
    }

    /// Runs `f` on the namespace's connection in a blocking thread, after making sure the
    /// collection's tables exist.
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
                queue::ensure_table(&conn, &table).map_err(backend_err("create queue table"))?;
                db.ensured.lock().map_err(|_| poisoned())?.insert(marker);
            }
            f(&conn, &table).map_err(backend_err(operation))
        })
        .await
        .map_err(join_err(operation))?
    }

    async fn read_head(&self, ns: &Namespace, id: &str, detail: Detail) -> Result<Option<HeadRow>> {
        let id = id.to_string();
        self.run(ns, "read head", move |conn, t| {
            reads::head(conn, t, &id, detail)
        })
        .await
    }

    async fn read_version(
        &self,
        ns: &Namespace,
        id: &str,
        pick: VersionPick,
        detail: Detail,
    ) -> Result<Option<VersionRow>> {
        let id = id.to_string();
        self.run(ns, "read version", move |conn, t| {
            reads::version(conn, t, &id, pick, detail)
        })
        .await
    }

    async fn run<T, F>(&self, ns: &Namespace, operation: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &schema::Tables) -> rusqlite::Result<T> + Send + 'static,
    {
        let db = self.db(&ns.db_name)?;
        let ns = ns.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.lock()?;
            let tables = schema::Tables::new(&ns.collection);
            let known = db
                .ensured
                .lock()
                .map_err(|_| poisoned())?
                .contains(&ns.collection);
            if !known {
                schema::ensure_collection(&conn, &tables, &ns.indexed_props)
                    .map_err(backend_err("create collection tables"))?;
                db.ensured
                    .lock()
                    .map_err(|_| poisoned())?
                    .insert(ns.collection.clone());
            }
            f(&mut conn, &tables).map_err(backend_err(operation))
        })
        .await
        .map_err(join_err(operation))?
    }
}

#[async_trait]
impl IndexStore for SqliteIndex {
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

    async fn reserve_cvs(&self, ns: &Namespace, n: u64) -> Result<u64> {
        let coll = ns.collection.clone();
        let n = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        let next: i64 = self
            .run(ns, "increment collection version", move |conn, _| {
                conn.prepare_cached(
                    "INSERT INTO chronos_counters(collection, next_cv) VALUES (?1, ?2)
                     ON CONFLICT(collection) DO UPDATE SET next_cv = next_cv + ?2
                     RETURNING next_cv",
                )?
                .query_row(params![coll, n], |r| r.get(0))
            })
            .await?;
        Ok(u64::try_from(next - n).unwrap_or(0))
    }

    async fn commit_new(
        &self,
        ns: &Namespace,
        rows: &[(VersionRow, Option<String>)],
    ) -> Result<BatchOutcome> {
        let rows = rows.to_vec();
        self.run(ns, "commit new records", move |conn, t| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let find_head = format!("SELECT 1 FROM {} WHERE id = ?1", t.head);
            let mut taken = Vec::new();
            for (row, shadow) in &rows {
                let exists = tx
                    .prepare_cached(&find_head)?
                    .query_row([&row.id], |_| Ok(()))
                    .optional()?
                    .is_some();
                if exists {
                    taken.push(row.id.clone());
                } else if taken.is_empty() {
                    rows::insert_version(&tx, t, row)?;
                    rows::upsert_head(&tx, t, row, row.at, shadow.as_deref())?;
                }
            }
            if !taken.is_empty() {
                // Dropping the transaction rolls every row of the batch back.
                return Ok(BatchOutcome::Taken {
                    ids: taken,
                    others_committed: false,
                });
            }
            tx.commit()?;
            Ok(BatchOutcome::Committed)
        })
        .await
    }

    fn assigns_cv_in_commit(&self) -> bool {
        true
    }

    async fn commit(
        &self,
        ns: &Namespace,
        row: &mut VersionRow,
        shadow: Option<&str>,
        opts: CommitOptions,
    ) -> Result<CommitOutcome> {
        let mut r = row.clone();
        let shadow = shadow.map(str::to_string);
        let coll = ns.collection.clone();
        let (outcome, r) = self
            .run(ns, "commit version", move |conn, t| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let current: Option<(i64, i64, i64, bool)> = tx
                    .prepare_cached(&format!(
                        "SELECT ov, created_at, at, deleted FROM {} WHERE id = ?1",
                        t.head
                    ))?
                    .query_row([&r.id], |x| {
                        Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?))
                    })
                    .optional()?;
                let last =
                    current.map(|(ov, _, _, deleted)| (u64::try_from(ov).unwrap_or(0), deleted));
                if let Some(refused) = sequence_outcome(last, r.ov, opts.require_live) {
                    return Ok((refused, r));
                }
                if let Some(op_id) = &opts.claim {
                    if !claims::release(&tx, t, &r.id, r.ov, op_id)? {
                        return Ok((CommitOutcome::Missing, r));
                    }
                }
                if let Some((_, _, at, _)) = current {
                    r.at = r.at.max(at);
                }
                if opts.assign_cv {
                    let next: i64 = tx
                        .prepare_cached(
                            "INSERT INTO chronos_counters(collection, next_cv) VALUES (?1, 1)
                             ON CONFLICT(collection) DO UPDATE SET next_cv = next_cv + 1
                             RETURNING next_cv",
                        )?
                        .query_row([&coll], |x| x.get(0))?;
                    r.cv = u64::try_from(next - 1).unwrap_or(0);
                }
                let created_at = current.map_or(r.at, |(_, c, ..)| c);
                match rows::insert_version(&tx, t, &r) {
                    Ok(()) => {}
                    // A queued write claimed this ov: report the record's last claimed ov.
                    Err(e) if claims::is_taken(&e) => {
                        let current_ov = claims::tail(&tx, t, &r.id)?.map_or(r.ov, |(ov, _)| ov);
                        return Ok((CommitOutcome::Conflict { current_ov }, r));
                    }
                    Err(e) => return Err(e),
                }
                rows::upsert_head(&tx, t, &r, created_at, shadow.as_deref())?;
                tx.commit()?;
                Ok((CommitOutcome::Committed, r))
            })
            .await?;
        *row = r;
        Ok(outcome)
    }

    async fn head(&self, ns: &Namespace, id: &str) -> Result<Option<HeadRow>> {
        self.read_head(ns, id, Detail::Full).await
    }

    async fn pick_version(
        &self,
        ns: &Namespace,
        id: &str,
        pick: VersionPick,
    ) -> Result<Option<VersionRow>> {
        self.read_version(ns, id, pick, Detail::Full).await
    }

    async fn head_for_read(&self, ns: &Namespace, id: &str) -> Result<Option<HeadRow>> {
        self.read_head(ns, id, Detail::Lean).await
    }

    async fn version_for_read(
        &self,
        ns: &Namespace,
        id: &str,
        pick: VersionPick,
    ) -> Result<Option<VersionRow>> {
        self.read_version(ns, id, pick, Detail::Lean).await
    }

    async fn head_and_version(
        &self,
        ns: &Namespace,
        id: &str,
        pick: VersionPick,
    ) -> Result<(Option<HeadRow>, Option<VersionRow>)> {
        let id = id.to_string();
        self.run(ns, "read head and version", move |conn, t| {
            Ok((
                reads::head(conn, t, &id, Detail::Full)?,
                reads::version(conn, t, &id, pick, Detail::Full)?,
            ))
        })
        .await
    }

    async fn list_heads(&self, ns: &Namespace, query: &HeadQuery) -> Result<Vec<HeadRow>> {
        let query = query.clone();
        self.run(ns, "list heads", move |conn, t| {
            let (sql, params) = filter_sql::list_sql(t, &query);
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(params), rows::read_lean_head)?;
            rows.collect()
        })
        .await
    }

    async fn try_lock(
        &self,
        ns: &Namespace,
        name: &str,
        owner: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.run(ns, "take lock", move |conn, t| {
            let changed = conn.execute(
                &format!(
                    "INSERT INTO {} (name, owner, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET owner = excluded.owner,
                         expires_at = excluded.expires_at
                     WHERE owner = excluded.owner OR expires_at <= ?4",
                    t.locks
                ),
                rusqlite::params![name, owner, expires_at, now],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    async fn unlock(&self, ns: &Namespace, name: &str, owner: &str) -> Result<()> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.run(ns, "release lock", move |conn, t| {
            conn.execute(
                &format!("DELETE FROM {} WHERE name = ?1 AND owner = ?2", t.locks),
                rusqlite::params![name, owner],
            )?;
            Ok(())
        })
        .await
    }

    async fn versions(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>> {
        let id = id.to_string();
        self.run(ns, "read versions", move |conn, t| {
            history::versions(conn, t, &id)
        })
        .await
    }

    async fn first_cv_after(&self, ns: &Namespace, at: i64) -> Result<Option<u64>> {
        self.run(
            ns,
            "find where the timeline passes a time",
            move |conn, t| history::first_cv_after(conn, t, at),
        )
        .await
    }

    async fn delete_versions(
        &self,
        ns: &Namespace,
        id: &str,
        ovs: &[u64],
    ) -> Result<Vec<VersionRow>> {
        let (id, ovs) = (id.to_string(), ovs.to_vec());
        self.run(ns, "delete versions", move |conn, t| {
            history::delete_versions(conn, t, &id, &ovs)
        })
        .await
    }

    async fn roll_head_forward(&self, ns: &Namespace, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.run(ns, "roll head forward", move |conn, t| {
            history::roll_head_forward(conn, t, &id)
        })
        .await
    }

    async fn erase(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>> {
        let id = id.to_string();
        self.run(ns, "erase record", move |conn, t| {
            history::erase(conn, t, &id)
        })
        .await
    }

    async fn collections(&self, db_name: &str) -> Result<Vec<String>> {
        self.run_db(db_name, "list collections", history::collections)
            .await
    }

    async fn append_audit(&self, db_name: &str, entry: &AuditEntry) -> Result<()> {
        let entry = entry.clone();
        self.run_db(db_name, "append audit entry", move |conn| {
            history::append_audit(conn, &entry)
        })
        .await
    }

    async fn audit_log(&self, db_name: &str, collection: &str) -> Result<Vec<AuditEntry>> {
        let collection = collection.to_string();
        self.run_db(db_name, "read audit log", move |conn| {
            history::audit_log(conn, &collection)
        })
        .await
    }

    async fn add_counts(&self, db_name: &str, counts: &[(CountKey, u64)]) -> CountsWritten {
        let n = counts.len();
        let counts = counts.to_vec();
        // One transaction: all or nothing.
        let done = self
            .run_db(db_name, "add counters", move |conn| {
                counts::add(conn, &counts)
            })
            .await;
        match done {
            Ok(()) => CountsWritten::all(n),
            Err(e) => CountsWritten {
                applied: 0,
                error: Some(e),
            },
        }
    }

    async fn read_counts(
        &self,
        db_name: &str,
        scope: &CountScope,
        period: &str,
        bucket: &str,
    ) -> Result<Vec<(String, u64)>> {
        let (scope, period, bucket) = (scope.clone(), period.to_string(), bucket.to_string());
        self.run_db(db_name, "read counters", move |conn| {
            counts::read(conn, &scope, &period, &bucket)
        })
        .await
    }

    async fn prune_counts(&self, db_name: &str, period: &str, before: &str) -> Result<u64> {
        let (period, before) = (period.to_string(), before.to_string());
        self.run_db(db_name, "prune counters", move |conn| {
            counts::prune(conn, &period, &before)
        })
        .await
    }

    async fn queue_put(&self, db_name: &str, table: &str, row: &QueueRow) -> Result<()> {
        let row = row.clone();
        self.run_queue(db_name, table, "queue a write", move |conn, t| {
            queue::put(conn, t, &row)
        })
        .await
    }

    async fn queue_list(
        &self,
        db_name: &str,
        table: &str,
        query: &QueueQuery,
    ) -> Result<Vec<QueueRow>> {
        let query = query.clone();
        self.run_queue(db_name, table, "list queued writes", move |conn, t| {
            queue::list(conn, t, &query)
        })
        .await
    }

    async fn queue_remove(&self, db_name: &str, table: &str, op_id: &str) -> Result<bool> {
        let op_id = op_id.to_string();
        self.run_queue(db_name, table, "remove a queued write", move |conn, t| {
            queue::remove(conn, t, &op_id)
        })
        .await
    }

    async fn claim_queued(&self, ns: &Namespace, claim: &QueueClaim) -> Result<CommitOutcome> {
        let claim = claim.clone();
        self.run(ns, "queue a write", move |conn, t| {
            claims::claim(conn, t, &claim)
        })
        .await
    }

    async fn release_claim(&self, ns: &Namespace, id: &str, ov: u64, op_id: &str) -> Result<bool> {
        let (id, op_id) = (id.to_string(), op_id.to_string());
        self.run(ns, "release a queued write's claim", move |conn, t| {
            claims::release(conn, t, &id, ov, &op_id)
        })
        .await
    }
}
