//! The hash chain of a record's versions: every version's hash covers its payload bytes, the
//! facts of its row (id, ov, time, kind, delete marker, actor, reason) and the hash of the
//! version before it, so changing any stored byte of a version, or of its row, breaks the
//! chain at exactly that version. SHA-256 (RustCrypto's `sha2`).

use sha2::{Digest, Sha256};

pub use super::rows::Hash;
use super::rows::VersionRow;

/// Names what the hash of [`link`] covers and how (a change of either changes every hash).
const DOMAIN: &[u8] = b"chronos-db version link v1";

/// The digest of a version's stored payload bytes (as stored: compressed when they are).
pub fn digest(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// The hash of `row` with payload digest `digest`, following a version whose hash is `prev`
/// (`None`: the record's first version, or one written before versions had hashes). Its time
/// is the one stored, so callers link a row once its commit has fixed the time.
pub fn link(prev: Option<&Hash>, row: &VersionRow, digest: &Hash) -> Hash {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(DOMAIN);
    field(row.id.as_bytes());
    field(&row.ov.to_le_bytes());
    field(&row.at.to_le_bytes());
    field(row.kind.as_str().as_bytes());
    field(&[u8::from(row.deleted)]);
    field(row.actor.as_bytes());
    field(row.reason.as_bytes());
    field(digest);
    match prev {
        Some(prev) => field(prev),
        None => field(&[]),
    }
    h.finalize().into()
}

/// Lowercase hex of a hash, for reports.
pub fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{PayloadRef, VersionRef};
    use crate::model::VersionKind;

    fn row() -> VersionRow {
        let mut r = VersionRow::bare(VersionRef {
            id: "r1".into(),
            ov: 3,
            cv: 9,
            at: 1_700_000_000_000_000,
            deleted: false,
            payload: PayloadRef::Object("k".into()),
        });
        r.actor = "ann".into();
        r.reason = "fix".into();
        r.kind = VersionKind::Update;
        r
    }

    #[test]
    fn every_covered_fact_changes_the_hash() {
        let d = digest(b"{\"a\":1}");
        let prev = digest(b"prev");
        let base = link(Some(&prev), &row(), &d);
        assert_eq!(base, link(Some(&prev), &row(), &d), "deterministic");
        let changes: [fn(&mut VersionRow); 7] = [
            |r| r.id = "r2".into(),
            |r| r.ov = 4,
            |r| r.at += 1,
            |r| r.kind = VersionKind::Restore,
            |r| r.deleted = true,
            |r| r.actor = "bob".into(),
            |r| r.reason = "fi".into(),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut r = row();
            change(&mut r);
            assert_ne!(link(Some(&prev), &r, &d), base, "change {i}");
        }
        assert_ne!(link(None, &row(), &d), base, "the previous hash");
        assert_ne!(link(Some(&prev), &row(), &digest(b"{\"a\":2}")), base);
        // The cv is the deployment's, not the version's: an import keeps the hash.
        let mut r = row();
        r.cv = 1;
        assert_eq!(link(Some(&prev), &r, &d), base);
        // Field boundaries are unambiguous.
        let (mut a, mut b) = (row(), row());
        (a.actor, a.reason) = ("ab".into(), "c".into());
        (b.actor, b.reason) = ("a".into(), "bc".into());
        assert_ne!(link(None, &a, &d), link(None, &b, &d));
    }

    #[test]
    fn hex_is_lowercase_and_full_length() {
        let h = digest(b"");
        assert_eq!(
            hex(&h),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
