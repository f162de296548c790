//! What the local-files bucket needs beyond `object_store`: finding and removing the
//! temporary files (`<key>#<n>`) of puts a killed process never finished.

use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};

/// Whether a file name is a put's temporary: `<name>#<digits>`.
fn is_unfinished_put(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(base, n)| {
        !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The directory a key prefix names under `root`; `None` for a prefix that would leave it.
fn under(root: &Path, key: &str) -> Option<PathBuf> {
    let rel = Path::new(key.trim_end_matches('/'));
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(rel))
}

/// Every temporary file under `prefix` of the bucket at `root`, as a key with its write time.
pub fn unfinished_puts(root: &Path, prefix: &str) -> std::io::Result<Vec<(String, DateTime<Utc>)>> {
    let mut found = Vec::new();
    let Some(start) = under(root, prefix) else {
        return Ok(found);
    };
    let mut dirs = vec![start];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
                continue;
            }
            let name = entry.file_name();
            if !kind.is_file() || !name.to_str().is_some_and(is_unfinished_put) {
                continue;
            }
            let path = entry.path();
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let Some(key) = rel.to_str() else { continue };
            let written: DateTime<Utc> = entry.metadata()?.modified()?.into();
            found.push((key.to_string(), written));
        }
    }
    found.sort();
    Ok(found)
}

/// Removes one temporary file and the directories it leaves empty, up to `root`.
pub fn remove_unfinished_put(root: &Path, key: &str) -> std::io::Result<()> {
    let name_ok = Path::new(key)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_unfinished_put);
    let Some(path) = under(root, key).filter(|_| name_ok) else {
        return Ok(());
    };
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut dir = path.parent();
    while let Some(d) = dir.filter(|d| *d != root) {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_are_recognised() {
        assert!(is_unfinished_put("item.json#1"));
        assert!(is_unfinished_put("blob.bin#12"));
        assert!(!is_unfinished_put("item.json"));
        assert!(!is_unfinished_put("item.json#"));
        assert!(!is_unfinished_put("#3"));
        assert!(!is_unfinished_put("item.json#x1"));
    }

    #[test]
    fn found_and_removed_with_their_empty_directories() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("db/coll/rec/v0");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("item.json#1"), b"half").unwrap();
        std::fs::write(root.path().join("db/coll/keep.json"), b"x").unwrap();
        let found = unfinished_puts(root.path(), "db/").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "db/coll/rec/v0/item.json#1");
        remove_unfinished_put(root.path(), &found[0].0).unwrap();
        assert!(!root.path().join("db/coll/rec").exists());
        assert!(root.path().join("db/coll/keep.json").exists());
        assert!(unfinished_puts(root.path(), "../").unwrap().is_empty());
    }
}
