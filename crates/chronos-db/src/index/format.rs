//! The stored format of index databases: which version this build writes, and what opening a
//! database of another version does.
//!
//! Every index database records the format it was written in (SQLite: `PRAGMA user_version`;
//! MongoDB: the `chronos_format` document). Opening one runs the migrations from any older
//! format in steps that are safe to interrupt and run again, and refuses a newer format
//! before anything is written. Read and write paths know the current format only; each
//! backend keeps its migrations in one module (`sqlite/migrate.rs`, `mongodb/migrate.rs`).
//!
//! Formats:
//! - 0: databases written before formats were recorded. Depending on their age, version
//!   rows may lack a kind (inferred at migration from ov and delete marker), a hash (they
//!   stay unhashed: nothing vouches for them), enrichment function ids, inline payloads or
//!   prune anchors.
//! - 1: every version row has its kind; the format is recorded.
//! - 2: each database has a table (collection) of wrapped data keys, `chronos_keys`, and
//!   payloads may be encrypted. Nothing else changes: opening a database of format 1 only
//!   records the new format, so that a build that cannot decrypt refuses it instead of
//!   reading encrypted payloads as corrupt.

use crate::error::{Error, Result};

/// The index format this build writes.
pub const INDEX_FORMAT: u32 = 2;

/// What opening an index database has to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// A new database: create it in the current format and record that.
    Fresh,
    /// Already in the current format.
    Current,
    /// Written in format `from`, older than the current one: migrate, then record the
    /// current format.
    Migrate {
        /// The format found.
        from: u32,
    },
}

/// What to do with database `what` whose recorded format is `recorded` (`None`: none is
/// recorded) and which holds chronos-db data or not. A format newer than this build's is a
/// [`Error::Precondition`]: nothing may be written to it.
pub fn plan(what: &str, recorded: Option<u32>, has_data: bool) -> Result<Opening> {
    match recorded {
        None | Some(0) if !has_data => Ok(Opening::Fresh),
        None => Ok(Opening::Migrate { from: 0 }),
        Some(INDEX_FORMAT) => Ok(Opening::Current),
        Some(from) if from < INDEX_FORMAT => Ok(Opening::Migrate { from }),
        Some(newer) => Err(Error::Precondition(format!(
            "index database {what} has storage format {newer}, newer than this build of \
             chronos-db reads (format {INDEX_FORMAT}); nothing was written to it: open it with \
             a newer chronos-db"
        ))),
    }
}

/// Reports the progress of a migration of database `what` (from `from` to the current
/// format): `done` of `total` steps, the last one named `step`.
pub fn progress(what: &str, from: u32, step: &str, done: usize, total: usize) {
    tracing::info!(
        database = what,
        from,
        to = INDEX_FORMAT,
        step,
        done,
        total,
        "migrating the index database's stored format"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_follows_the_recorded_format() {
        assert_eq!(plan("db", None, false).unwrap(), Opening::Fresh);
        assert_eq!(plan("db", Some(0), false).unwrap(), Opening::Fresh);
        assert_eq!(
            plan("db", None, true).unwrap(),
            Opening::Migrate { from: 0 }
        );
        assert_eq!(
            plan("db", Some(0), true).unwrap(),
            Opening::Migrate { from: 0 }
        );
        assert_eq!(
            plan("db", Some(INDEX_FORMAT), true).unwrap(),
            Opening::Current
        );
        let newer = plan("db", Some(INDEX_FORMAT + 1), true).unwrap_err();
        assert!(matches!(newer, Error::Precondition(_)), "{newer}");
        assert!(
            newer.to_string().contains("newer than this build"),
            "{newer}"
        );
    }
}
