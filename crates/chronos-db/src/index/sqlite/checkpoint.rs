//! WAL checkpoints off the write path.
//!
//! SQLite's automatic checkpoint runs inside whichever commit pushes the write-ahead log past
//! its threshold: that commit copies every logged page into the database file and syncs it,
//! a stall of several milliseconds every hundred or so writes. Here a background thread,
//! with its own connection per database file, runs passive checkpoints (which never block
//! readers or writers) a few times a second, so commits only append to the log. The writers'
//! own automatic checkpoint stays on with a higher threshold, as a backstop should this
//! thread fall behind.
//!
//! A file is only checkpointed after [`OPS_PER_PASS`] operations on it (or, with fewer,
//! after [`IDLE_PASS`]): a slow trickle of writes is not synced one write at a time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tracing::{debug, warn};

/// Time between looks at the watched files.
const INTERVAL: Duration = Duration::from_millis(100);
/// How long this thread's connections wait for a lock before giving up a pass.
const BUSY_WAIT: Duration = Duration::from_millis(100);
/// Operations on a file that make its log worth checkpointing now.
const OPS_PER_PASS: u64 = 64;
/// Longest a file with any operations waits for its checkpoint.
const IDLE_PASS: Duration = Duration::from_secs(2);

/// Log size (pages) at which a writer checkpoints by itself: well above what the background
/// thread lets the log reach, so it only happens when that thread cannot keep up.
pub const BACKSTOP_PAGES: u32 = 8000;

/// Bytes of log file kept once its pages are copied (SQLite's default checkpoint size): a
/// log a burst of writes grew beyond this is cut back to it, by a writer when it starts the
/// log over (`journal_size_limit`) and by this thread when writes pause.
pub const WAL_KEEP_BYTES: u64 = 4 << 20;

/// A background thread checkpointing the write-ahead logs of the database files it watches.
/// Stopped (and its connections closed) when dropped.
#[derive(Debug)]
pub struct Checkpointer {
    files: Arc<Mutex<Vec<Watched>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A database file and the count of operations its owner ran on it.
#[derive(Debug, Clone)]
struct Watched {
    path: PathBuf,
    ops: Arc<AtomicU64>,
}

/// What the checkpoint thread keeps per file.
struct FileState {
    conn: Option<Connection>,
    ops_seen: u64,
    last_pass: Instant,
}

impl Checkpointer {
    /// Starts the thread. If the system refuses a thread, writers keep checkpointing by
    /// themselves (at [`BACKSTOP_PAGES`]), which is correct, only with stalls.
    pub fn start() -> Self {
        let files = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (files, stop) = (files.clone(), stop.clone());
            std::thread::Builder::new()
                .name("chronos-sqlite-checkpoint".into())
                .spawn(move || run(&files, &stop))
                .map_err(|e| warn!(error = %e, "no checkpoint thread; writers checkpoint"))
                .ok()
        };
        Checkpointer {
            files,
            stop,
            thread,
        }
    }

    /// Adds a database file to checkpoint; its owner counts the operations it runs on it in
    /// `ops`.
    pub fn watch(&self, path: PathBuf, ops: Arc<AtomicU64>) {
        if let Ok(mut files) = self.files.lock() {
            files.push(Watched { path, ops });
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // The thread only ends with its last pass; a panic there has nothing to report.
            let _ = thread.join();
        }
    }
}

fn run(files: &Mutex<Vec<Watched>>, stop: &AtomicBool) {
    let mut states: HashMap<PathBuf, FileState> = HashMap::new();
    while !stop.load(Ordering::Acquire) {
        std::thread::park_timeout(INTERVAL);
        let watched = match files.lock() {
            Ok(files) => files.clone(),
            Err(_) => return,
        };
        for file in watched {
            if stop.load(Ordering::Acquire) {
                return;
            }
            let state = states.entry(file.path.clone()).or_insert(FileState {
                conn: None,
                ops_seen: 0,
                last_pass: Instant::now(),
            });
            let ops = file.ops.load(Ordering::Relaxed);
            let pending = ops.wrapping_sub(state.ops_seen);
            let due =
                pending >= OPS_PER_PASS || (pending > 0 && state.last_pass.elapsed() >= IDLE_PASS);
            if !due {
                continue;
            }
            state.ops_seen = ops;
            state.last_pass = Instant::now();
            if let Err(e) = checkpoint(&mut state.conn, &file.path) {
                // A fresh connection is tried next pass; writers checkpoint meanwhile.
                state.conn = None;
                warn!(file = %file.path.display(), error = %e, "background checkpoint failed");
            }
        }
    }
}

fn checkpoint(conn: &mut Option<Connection>, path: &Path) -> rusqlite::Result<()> {
    let conn = match conn {
        Some(conn) => conn,
        None => {
            // Never creates the file: a database removed meanwhile is simply skipped.
            let opened = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            opened.busy_timeout(BUSY_WAIT)?;
            conn.insert(opened)
        }
    };
    // (busy, pages in the log, pages copied): busy only means a writer held the lock.
    let (_, logged, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if logged > 0 {
        debug!(file = %path.display(), logged, copied, "checkpointed");
    }
    if logged == copied && log_len(path) > WAL_KEEP_BYTES {
        give_back(conn, path)?;
    }
    Ok(())
}

/// The length of the write-ahead log of the database file at `path` (0 when it has none).
fn log_len(path: &Path) -> u64 {
    let mut log = path.as_os_str().to_owned();
    log.push("-wal");
    std::fs::metadata(log).map_or(0, |m| m.len())
}

/// Cuts a fully copied log file back to nothing. The checkpoint that does it holds the write
/// lock only for the cut: without a busy wait it gives up at once while a writer or a reader
/// of the log is busy, and the next pass tries again.
fn give_back(conn: &Connection, path: &Path) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::ZERO)?;
    let done: rusqlite::Result<i64> =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0));
    conn.busy_timeout(BUSY_WAIT)?;
    if done? == 0 {
        debug!(file = %path.display(), "log given back");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_file_len(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// A database file `t.sqlite3` in `dir` whose log holds `rows` inserts of `row_bytes`
    /// bytes each, none of them checkpointed yet; its path and the writer's connection.
    fn logged_file(dir: &Path, rows: i64, row_bytes: usize) -> (std::path::PathBuf, Connection) {
        let path = dir.join("t.sqlite3");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
             CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);",
        )
        .unwrap();
        for k in 0..rows {
            conn.execute("INSERT INTO t VALUES (?1, ?2)", (k, "x".repeat(row_bytes)))
                .unwrap();
        }
        (path, conn)
    }

    #[test]
    fn copies_the_log_into_the_database_file_once_enough_operations_ran() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = logged_file(dir.path(), 500, 500);
        let before = main_file_len(&path);
        let ops = Arc::new(AtomicU64::new(0));
        let checkpointer = Checkpointer::start();
        checkpointer.watch(path.clone(), ops.clone());
        // Too few operations: nothing is copied yet.
        ops.store(OPS_PER_PASS - 1, Ordering::Relaxed);
        std::thread::sleep(INTERVAL * 4);
        assert_eq!(main_file_len(&path), before);
        ops.store(OPS_PER_PASS, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(10);
        while main_file_len(&path) < before + 200 * 1024 && Instant::now() < deadline {
            std::thread::sleep(INTERVAL);
        }
        assert!(
            main_file_len(&path) >= before + 200 * 1024,
            "the log was not checkpointed: {} bytes",
            main_file_len(&path)
        );
        drop(checkpointer);
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 500);
    }

    /// A burst of writes grows the log far past what checkpoints need; once it is copied,
    /// the file is given back (it used to keep its largest size for as long as it was open).
    #[test]
    fn a_log_grown_by_a_burst_is_given_back_once_copied() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = logged_file(dir.path(), 3000, 2000);
        let wal = dir.path().join("t.sqlite3-wal");
        let burst = main_file_len(&wal);
        assert!(burst > 2 * WAL_KEEP_BYTES, "the burst logged {burst} bytes");
        let ops = Arc::new(AtomicU64::new(OPS_PER_PASS));
        let checkpointer = Checkpointer::start();
        checkpointer.watch(path.clone(), ops.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        while main_file_len(&wal) > WAL_KEEP_BYTES && Instant::now() < deadline {
            std::thread::sleep(INTERVAL);
        }
        assert!(
            main_file_len(&wal) <= WAL_KEEP_BYTES,
            "the log still takes {} bytes after a burst of {burst}",
            main_file_len(&wal)
        );
        drop(checkpointer);
        // Nothing was lost, and the file takes writes again.
        conn.execute("INSERT INTO t VALUES (?1, ?2)", (3000, "y"))
            .unwrap();
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 3001);
    }
}
