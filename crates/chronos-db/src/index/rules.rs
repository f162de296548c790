//! The commit rules, in one backend-neutral place. Each backend reads what a rule needs
//! inside its own atomic step (a transaction, or the single-document write that is the
//! commit point without one) and calls the rule there; no backend restates a rule.

use super::chain::{self, Hash};
use super::changes::ChangeEntry;
use super::rows::{CommitOptions, CommitOutcome, CvChoice, VersionRow};
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

/// What a commit asks for, as [`decide`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Refuse with `Deleted` after a logical delete.
    pub require_live: bool,
    /// The commit replays a queued write and takes that write's claim.
    pub replays_claim: bool,
    /// The collection version it carries.
    pub cv: CvChoice,
}

impl Request {
    /// What a commit with `opts` asks for.
    pub fn of(opts: &CommitOptions) -> Self {
        Request {
            require_live: opts.require_live,
            replays_claim: opts.claim.is_some(),
            cv: opts.cv,
        }
    }
}

/// Where a committed version's collection version comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvStep {
    /// The given one, held for the replayed queued write by its claim: released from the
    /// hold in the same step.
    Held(u64),
    /// The given one, unless the change log sealed it since: then the next one.
    Given(u64),
    /// The next one from the collection's counter.
    Next,
}

/// What a commit does, decided from what its atomic step read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write the version (its time and hash are final) and move the head to it; the head
    /// keeps `created_at`.
    Write {
        /// The record's creation time, for the head.
        created_at: i64,
        /// The version's collection version.
        cv: CvStep,
    },
    /// Write nothing; answer this.
    Refuse(CommitOutcome),
}

/// The commit decision every backend applies in its atomic step, given the record's head
/// as read there and whether the replayed write's claim is gone (`claim_gone`, when the
/// backend knows before its commit point; a backend whose commit point is the claim's own
/// replacement passes `false` and answers `Missing` when the replacement finds nothing).
/// `row` gets its final time and hash when the decision is to write.
///
/// In order: the sequence and live rules ([`admit`]), then the claim, then where the cv
/// comes from. A backend without transactions checks a refusing conflict with
/// [`head_may_lag`].
pub fn decide(
    head: Option<Last>,
    claim_gone: bool,
    row: &mut VersionRow,
    req: &Request,
) -> Decision {
    match admit(head, row, req.require_live) {
        Err(refused) => Decision::Refuse(refused),
        Ok(_) if req.replays_claim && claim_gone => Decision::Refuse(CommitOutcome::Missing),
        Ok(created_at) => Decision::Write {
            created_at,
            cv: match req.cv {
                CvChoice::Given(cv) if req.replays_claim => CvStep::Held(cv),
                CvChoice::Given(cv) => CvStep::Given(cv),
                CvChoice::AtCommit => CvStep::Next,
            },
        },
    }
}

/// Whether a refusing `Conflict` at `current_ov` may come from a head that lags behind a
/// committed version (a backend without transactions, whose writer may stop between the
/// version insert and the head move): then the head is rolled forward to the record's
/// latest committed version, and the conflict that shows is answered.
pub fn head_may_lag(refused: CommitOutcome, ov: u64) -> bool {
    matches!(refused, CommitOutcome::Conflict { current_ov } if current_ov < ov)
}

/// Whether a direct write that the store refused after the decision to write commits again
/// with a fresh collection version: its given cv was sealed by the change log meanwhile. A
/// queued write's cv is its own (held by its claim), and a cv taken at commit is never
/// sealed.
pub fn fresh_cv_after_refusal(req: &Request, cv_sealed: bool) -> bool {
    cv_sealed && !req.replays_claim && matches!(req.cv, CvChoice::Given(_))
}

/// What a write of `ov` answers when the store refused it after the decision to write (the
/// unique `(id, ov)`, or a transaction that could not go through), given the record's last
/// ov, committed or claimed, read afterwards: a `Conflict` naming it, but only when it is
/// not the ov the write expected. When it is, nothing moved on: the record is held by an
/// unfinished step of another writer, answered as [`CommitOutcome::Held`] (which callers
/// treat as transient), never as a conflict with equal ovs. A new record (`ov` 0) that has
/// a version conflicts.
pub fn conflict_or_held(ov: u64, last_ov: Option<u64>) -> CommitOutcome {
    match last_ov {
        Some(current_ov) if Some(current_ov) != ov.checked_sub(1) => {
            CommitOutcome::Conflict { current_ov }
        }
        _ => CommitOutcome::Held {
            limit_seconds: None,
        },
    }
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
    fn commit_decisions() {
        let head = |ov, deleted| {
            Some(Last {
                ov,
                deleted,
                at: 5,
                created_at: 1,
                hash: None,
            })
        };
        let req = |replays_claim, cv| Request {
            require_live: true,
            replays_claim,
            cv,
        };
        let write = |cv| Decision::Write { created_at: 1, cv };
        let refuse = Decision::Refuse;
        let conflict = |current_ov| refuse(CommitOutcome::Conflict { current_ov });
        let (given, at_commit) = (CvChoice::Given(9), CvChoice::AtCommit);
        // (head, claim gone, ov written, request, decision)
        let cases: [(Option<Last>, bool, u64, Request, Decision); 9] = [
            (
                head(2, false),
                false,
                3,
                req(false, given),
                write(CvStep::Given(9)),
            ),
            (
                head(2, false),
                false,
                3,
                req(false, at_commit),
                write(CvStep::Next),
            ),
            (
                head(2, false),
                false,
                3,
                req(true, given),
                write(CvStep::Held(9)),
            ),
            (
                head(2, false),
                true,
                3,
                req(true, given),
                refuse(CommitOutcome::Missing),
            ),
            // A gone claim only matters to a replay.
            (
                head(2, false),
                true,
                3,
                req(false, given),
                write(CvStep::Given(9)),
            ),
            (head(3, false), false, 3, req(false, given), conflict(3)),
            (head(1, false), false, 3, req(false, given), conflict(1)),
            (
                head(2, true),
                false,
                3,
                req(true, given),
                refuse(CommitOutcome::Deleted { current_ov: 2 }),
            ),
            (
                None,
                false,
                3,
                req(false, given),
                refuse(CommitOutcome::Missing),
            ),
        ];
        for (i, (head, claim_gone, ov, request, want)) in cases.into_iter().enumerate() {
            let mut r = row(ov, 5);
            assert_eq!(decide(head, claim_gone, &mut r, &request), want, "case {i}");
        }
        let mut first = row(0, 7);
        assert_eq!(
            decide(None, false, &mut first, &req(false, at_commit)),
            Decision::Write {
                created_at: 7,
                cv: CvStep::Next
            }
        );
        // Only a conflict below the row's ov may come from a lagging head.
        for (current_ov, lags) in [(1, true), (2, true), (3, false), (4, false)] {
            let refused = CommitOutcome::Conflict { current_ov };
            assert_eq!(head_may_lag(refused, 3), lags, "current ov {current_ov}");
        }
        assert!(!head_may_lag(CommitOutcome::Missing, 3));
    }

    #[test]
    fn refused_writes_are_conflicts_only_when_the_record_moved_on() {
        let req = |replays_claim, cv| Request {
            require_live: false,
            replays_claim,
            cv,
        };
        let (given, at_commit) = (CvChoice::Given(9), CvChoice::AtCommit);
        // (request, cv sealed, commits again with a fresh cv)
        let cases = [
            (req(false, given), true, true),
            (req(false, given), false, false),
            (req(true, given), true, false),
            (req(false, at_commit), true, false),
        ];
        for (request, sealed, fresh) in cases {
            assert_eq!(
                fresh_cv_after_refusal(&request, sealed),
                fresh,
                "{request:?}"
            );
        }
        let conflict = |current_ov| CommitOutcome::Conflict { current_ov };
        // (ov, last ov, answer)
        let cases = [
            (3, Some(3), conflict(3)),
            (3, Some(7), conflict(7)),
            (3, Some(1), conflict(1)),
            (
                3,
                Some(2),
                CommitOutcome::Held {
                    limit_seconds: None,
                },
            ),
            (
                3,
                None,
                CommitOutcome::Held {
                    limit_seconds: None,
                },
            ),
            (0, Some(0), conflict(0)),
            (
                0,
                None,
                CommitOutcome::Held {
                    limit_seconds: None,
                },
            ),
        ];
        for (ov, last, want) in cases {
            assert_eq!(conflict_or_held(ov, last), want, "ov {ov} after {last:?}");
        }
    }

    proptest::proptest! {
        /// Every conflict, decided or answered after a refusal, names an ov other than the
        /// one the write expected.
        #[test]
        fn no_conflict_carries_the_expected_ov(
            ov in 0u64..6,
            last in proptest::option::of(0u64..6),
            deleted: bool,
            claim: bool,
            live: bool,
        ) {
            let expected = ov.checked_sub(1);
            if let CommitOutcome::Conflict { current_ov } = conflict_or_held(ov, last) {
                proptest::prop_assert_ne!(Some(current_ov), expected);
            }
            let request = Request {
                require_live: live,
                replays_claim: claim,
                cv: CvChoice::Given(1),
            };
            let head = last.map(|ov| Last { ov, deleted, at: 0, created_at: 0, hash: None });
            let mut r = row(ov, 0);
            if let Decision::Refuse(CommitOutcome::Conflict { current_ov }) =
                decide(head, false, &mut r, &request)
            {
                proptest::prop_assert_ne!(Some(current_ov), expected);
            }
        }
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
