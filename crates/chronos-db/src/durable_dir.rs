//! Directories that a power loss cannot take away: a directory entry is only on disk once the
//! directory holding it is synced, so every directory chronos-db creates is synced, and so is
//! the directory holding it, before anything is written inside.

use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents. With `sync`, then syncs `dir`, every directory
/// this call created, and the directory holding the topmost of them (`dir`'s parent when
/// `dir` was there already: a run that stopped before syncing leaves nothing unsynced).
pub(crate) fn create(dir: &Path, sync: bool) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut next = Some(dir);
    while let Some(p) = next.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        missing.push(p);
        next = p.parent();
    }
    std::fs::create_dir_all(dir)?;
    if !sync {
        return Ok(());
    }
    let top = missing.last().copied().unwrap_or(dir);
    let holder = match top.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(dir)?;
    for created in missing.iter().skip(1) {
        sync_dir(created)?;
    }
    sync_dir(holder)
}

/// Syncs a directory's entries to disk.
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Directories cannot be opened for syncing here; their entries are the file system's to keep.
#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_every_missing_directory_and_syncs_without_error() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        create(&deep, true).unwrap();
        assert!(deep.is_dir());
        // Again, on a directory that is there: it is synced, nothing fails.
        create(&deep, true).unwrap();
        create(&tmp.path().join("d"), false).unwrap();
        assert!(tmp.path().join("d").is_dir());
    }
}
