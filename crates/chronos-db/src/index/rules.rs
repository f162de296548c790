//! The commit rules, in one backend-neutral place. Each backend reads what a rule needs
//! inside its own atomic step (a transaction, or the single-document write that is the
//! commit point without one) and calls the rule there; no backend restates a rule.

use super::chain::{self, Hash};
use super::changes::ChangeEntry;
use super::rows::{CommitOutcome, VersionRow};
use crate::error::{Error, Result};

/// A record's last version as a commit sees it inside its atomic step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Last {
    /// Its ov.
    pub ov: u64,
    /// Whether it is a logical delete.
    pub deleted: bool,
    /// Its time (microseconds).
    pub at: i64,
    /// When the record was created (microseconds).
    pub created_at: i64,
    /// Its hash, when it has one.
    pub hash: Option<Hash>,
}

/// Whether version `ov` may follow a record whose last version (committed or claimed) is
/// `last`: its ov and whether it is a logical delete (`None`: the record has no version).
/// `None` means it may; otherwise the outcome that refuses it.
///
/// The rules: ov 0 only for a record without versions; ov n only right after ov n-1; and,
/// when `require_live`, not after a logical delete.
pub fn sequence_outcome(
    last: Option<(u64, bool)>,
    ov: u64,
    require_live: bool,
) -> Option<CommitOutcome> {
    match (last, ov.checked_sub(1)) {
        (Some((cur, _)), prev) if Some(cur) != prev => {
            Some(CommitOutcome::Conflict { current_ov: cur })
        }
        (None, Some(_)) => Some(CommitOutcome::Missing),
        (Some((cur, true)), _) if require_live => Some(CommitOutcome::Deleted { current_ov: cur }),
        _ => None,
    }
}

/// Admits `row` after `last` (the record's head, read in the commit's atomic step): the
/// sequence rule, then time never goes back within a record (`row.at` is raised to the last
/// version's), then the row is linked to the last version's hash ([`link`]). Returns the
/// record's creation time for the head, or the outcome that refuses the row.
pub fn admit(
    last: Option<Last>,
    row: &mut VersionRow,
    require_live: bool,
) -> Result<i64, CommitOutcome> {
    if let Some(refused) = sequence_outcome(last.map(|l| (l.ov, l.deleted)), row.ov, require_live) {
        return Err(refused);
    }
    let created_at = match last {
        Some(l) => {
            row.at = row.at.max(l.at);
            l.created_at
        }
        None => row.at,
    };
    link(row, last.and_then(|l| l.hash).as_ref());
    Ok(created_at)
}

/// Sets `row.hash` to its link after the version whose hash is `prev` (`None` for a new
/// record), once its time is final; a row given no payload digest stays without a hash.
/// Backends call it in the atomic step of every commit: [`admit`] does for rows that follow
/// a head, and commits of new records call it directly.
pub fn link(row: &mut VersionRow, prev: Option<&Hash>) {
    row.hash = row.digest.map(|d| chain::link(prev, row, &d));
}

/// The first of `n` collection versions reserved by a counter that reads `next` after adding
/// `n`. A counter below zero was not written by chronos-db.
pub fn first_reserved(next: i64, n: i64) -> Result<u64> {
    next.checked_sub(n)
        .and_then(|first| u64::try_from(first).ok())
        .ok_or_else(|| {
            Error::Corrupt(format!(
                "collection version counter at {next} after reserving {n}"
            ))
        })
}

/// Whether a head at `head_ov` lags behind the record's latest committed version
/// `latest_ov` (a writer without transactions died between its version insert and its head
/// move): then the head is rolled forward to it.
pub fn head_lags(head_ov: Option<u64>, latest_ov: u64) -> bool {
    head_ov.is_none_or(|ov| ov < latest_ov)
}

/// Versions and sealed cvs (each in cv order) merged in cv order, at most `limit`; a
/// version wins over a seal of the same cv (a seal written beside a version stored before
/// versions were keyed by their cv).
pub fn merge_changes(
    versions: Vec<VersionRow>,
    sealed: impl IntoIterator<Item = u64>,
    limit: usize,
) -> Vec<ChangeEntry> {
    let mut sealed = sealed.into_iter().peekable();
    let mut out = Vec::with_capacity(limit.min(versions.len() + 16));
    for row in versions {
        while let Some(cv) = sealed.next_if(|cv| *cv <= row.cv) {
            if cv < row.cv {
                out.push(ChangeEntry::Sealed(cv));
            }
        }
        out.push(ChangeEntry::Version(row));
    }
    out.extend(sealed.map(ChangeEntry::Sealed));
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record's last version, the ov written, whether it must be live, and the outcome.
    type Case = (Option<(u64, bool)>, u64, bool, Option<CommitOutcome>);

    #[test]
    fn sequence_rules() {
        let conflict = |current_ov| Some(CommitOutcome::Conflict { current_ov });
        let cases: [Case; 8] = [
            (None, 0, false, None),
            (None, 0, true, None),
            (None, 3, false, Some(CommitOutcome::Missing)),
            (Some((0, false)), 0, false, conflict(0)),
            (Some((2, false)), 3, true, None),
            (Some((2, false)), 2, false, conflict(2)),
            (
                Some((2, true)),
                3,
                true,
                Some(CommitOutcome::Deleted { current_ov: 2 }),
            ),
            (Some((2, true)), 3, false, None),
        ];
        for (last, ov, live, want) in cases {
            assert_eq!(
                sequence_outcome(last, ov, live),
                want,
                "{last:?} then {ov}, live {live}"
            );
        }
    }

    fn row(ov: u64, at: i64) -> VersionRow {
        VersionRow::bare(crate::index::VersionRef {
            id: "r".into(),
            ov,
            cv: 0,
            at,
            deleted: false,
            payload: crate::index::PayloadRef::Object(String::new()),
        })
    }

    #[test]
    fn admitted_rows_never_go_back_in_time() {
        let last = |at| Last {
            ov: 0,
            deleted: false,
            at,
            created_at: 5,
            hash: None,
        };
        // (last version's time, the row's time, the time stored)
        for (last_at, at, stored) in [(10, 20, 20), (20, 10, 20), (20, 20, 20)] {
            let mut r = row(1, at);
            assert_eq!(admit(Some(last(last_at)), &mut r, true), Ok(5));
            assert_eq!(r.at, stored, "last at {last_at}, row at {at}");
        }
        let mut first = row(0, 7);
        assert_eq!(admit(None, &mut first, false), Ok(7));
        let mut stale = row(0, 7);
        assert_eq!(
            admit(Some(last(1)), &mut stale, false),
            Err(CommitOutcome::Conflict { current_ov: 0 })
        );
        assert_eq!(stale.at, 7, "a refused row is left as it was");
    }

    #[test]
    fn admitted_rows_are_linked_after_their_time_is_final() {
        let prev = chain::digest(b"previous version's hash");
        let last = Last {
            ov: 0,
            deleted: false,
            at: 50,
            created_at: 5,
            hash: Some(prev),
        };
        let mut r = row(1, 10);
        r.digest = Some(chain::digest(b"payload"));
        assert_eq!(admit(Some(last), &mut r, true), Ok(5));
        let mut want = r.clone();
        want.at = 50;
        assert_eq!(
            r.hash,
            Some(chain::link(Some(&prev), &want, &chain::digest(b"payload")))
        );
        let mut unhashed = row(1, 10);
        assert_eq!(admit(Some(last), &mut unhashed, true), Ok(5));
        assert_eq!(unhashed.hash, None, "no digest, no hash");
        let mut first = row(0, 7);
        first.digest = Some(chain::digest(b"payload"));
        admit(None, &mut first, false).unwrap();
        assert_eq!(
            first.hash,
            Some(chain::link(None, &first, &chain::digest(b"payload")))
        );
    }

    #[test]
    fn counters_reserve_from_zero_and_refuse_foreign_values() {
        assert_eq!(first_reserved(1, 1).ok(), Some(0));
        assert_eq!(first_reserved(80, 5).ok(), Some(75));
        assert!(matches!(first_reserved(2, 5), Err(Error::Corrupt(_))));
        assert!(matches!(
            first_reserved(i64::MIN, 1),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn heads_roll_forward_only_when_behind() {
        for (head, latest, lags) in [(None, 0, true), (Some(1), 2, true), (Some(2), 2, false)] {
            assert_eq!(head_lags(head, latest), lags, "{head:?} vs {latest}");
        }
    }

    #[test]
    fn changes_merge_in_cv_order_and_a_version_beats_a_seal() {
        let v = |cv| {
            let mut r = VersionRow::bare(crate::index::VersionRef {
                id: "x".into(),
                ov: cv,
                cv,
                at: 0,
                deleted: false,
                payload: crate::index::PayloadRef::Inline(bytes::Bytes::new()),
            });
            r.cv = cv;
            r
        };
        let merged = merge_changes(vec![v(2), v(5)], [1, 2, 3, 7], 10);
        let cvs: Vec<(u64, bool)> = merged
            .iter()
            .map(|e| (e.cv(), matches!(e, ChangeEntry::Version(_))))
            .collect();
        assert_eq!(
            cvs,
            [(1, false), (2, true), (3, false), (5, true), (7, false)]
        );
        assert_eq!(merge_changes(vec![v(2), v(5)], [1, 3], 2).len(), 2);
    }
}
