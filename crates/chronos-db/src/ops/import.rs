//! Import: records' histories from another deployment (what `export` wrote), keeping their
//! ids, ovs, times, kinds and provenance; the collection versions are this deployment's.
//!
//! Every version of a call is checked before anything is stored. A record that already
//! exists is refused unless its stored versions are the start of the imported ones (an
//! import that stopped half-way): then the rest is appended, so running a stopped import
//! again finishes it. Records are written as new records in batches (their first versions in
//! one commit per batch), then each record's later versions one commit at a time.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::batch::{BatchTime, Prepared};
use super::envelope::Envelope;
use super::export::ExportedVersion;
use super::payload::SideBlob;
use super::write::micros;
use super::{check_id, Collection};
use crate::error::{Error, Result};
use crate::index::{PayloadRef, VersionRef, VersionRow};
use crate::model::VersionKind;
use crate::names;

/// How [`Collection::import`] treats records that exist with another history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImportOptions {
    /// Skip them (counted in [`ImportReport::skipped`]) instead of refusing the import.
    pub skip_existing: bool,
}

impl ImportOptions {
    /// Skips records that exist with another history.
    pub fn skipping_existing() -> Self {
        ImportOptions {
            skip_existing: true,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// Records created with their history.
    pub imported: u64,
    /// Records an earlier, stopped import had begun, now completed.
    pub completed: u64,
    /// Records that were already here with exactly this history.
    pub present: u64,
    /// Records that exist with another history, skipped (`skip_existing`).
    pub skipped: Vec<String>,
    /// Versions written.
    pub versions_written: u64,
}

/// One record's versions, checked.
struct Incoming {
    id: String,
    versions: Vec<ExportedVersion>,
}

/// What to do with one record.
enum Plan {
    /// Create it from its first version on.
    Create(Incoming),
    /// Append its versions from this index on (the rest is stored).
    Complete(Incoming, usize),
    Present,
    Skip(String),
}

impl Collection {
    /// Imports records' histories (versions as [`Collection::export`] gives them; their
    /// `collection` field is not looked at: this collection receives them). A record's
    /// versions must be consecutive ovs in ascending order, strictly later in time each (times
    /// are kept to the microsecond: a finer one is refused, as it would not read back), of
    /// kinds that agree with them (ov 0 and only ov 0 a create, a delete a logical delete);
    /// anything else is a `Validation` error naming the record and version, before anything
    /// is stored. Imported versions are not counted by the counter rules.
    pub async fn import(
        &self,
        versions: Vec<ExportedVersion>,
        opts: ImportOptions,
    ) -> Result<ImportReport> {
        let records = self.check_import(versions)?;
        let mut plans = Vec::with_capacity(records.len());
        for record in records {
            plans.push(self.plan_import(record, opts).await?);
        }
        let mut report = ImportReport::default();
        let mut fresh = Vec::new();
        let mut rest = Vec::new();
        for plan in plans {
            match plan {
                Plan::Create(record) => {
                    let first = record.versions.first().cloned();
                    if let Some(first) = first {
                        fresh.push(self.prepare_imported(first)?);
                        rest.push((record, 1));
                        report.imported += 1;
                    }
                }
                Plan::Complete(record, from) => {
                    rest.push((record, from));
                    report.completed += 1;
                }
                Plan::Present => report.present += 1,
                Plan::Skip(id) => report.skipped.push(id),
            }
        }
        let size = self.inner.batch_size.max(1);
        while !fresh.is_empty() {
            let later = fresh.split_off(fresh.len().min(size));
            let made = self.create_batch(fresh, BatchTime::Kept).await?;
            report.versions_written += made.len() as u64;
            fresh = later;
        }
        for (record, from) in rest {
            for v in record.versions.into_iter().skip(from) {
                self.import_next(v).await?;
                report.versions_written += 1;
            }
        }
        Ok(report)
    }

    /// Groups `versions` by record (in order of first appearance) and checks every one.
    fn check_import(&self, versions: Vec<ExportedVersion>) -> Result<Vec<Incoming>> {
        let mut order: HashMap<String, usize> = HashMap::new();
        let mut records: Vec<Incoming> = Vec::new();
        for v in versions {
            let slot = *order.entry(v.id.clone()).or_insert_with(|| {
                records.push(Incoming {
                    id: v.id.clone(),
                    versions: Vec::new(),
                });
                records.len() - 1
            });
            records[slot].versions.push(v);
        }
        for record in &records {
            check_id(&record.id)?;
            let mut last: Option<(u64, i64)> = None;
            for v in &record.versions {
                let bad = |why: String| {
                    Error::Validation(format!("import of {}@v{}: {why}", record.id, v.ov))
                };
                if v.at.timestamp_subsec_nanos() % 1_000 != 0 {
                    return Err(bad(format!(
                        "its time {} is finer than the microseconds versions keep",
                        v.at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                    )));
                }
                let at = micros(v.at);
                if let Some((ov, prev_at)) = last {
                    if ov.checked_add(1) != Some(v.ov) {
                        return Err(bad(format!(
                            "follows v{ov}: ovs must be consecutive, ascending"
                        )));
                    }
                    if at <= prev_at {
                        return Err(bad("its time is not after the previous version's".into()));
                    }
                }
                last = Some((v.ov, at));
                if (v.ov == 0) != (v.kind == VersionKind::Create) {
                    return Err(bad(format!("a {} at this ov", v.kind)));
                }
                if v.kind == VersionKind::Delete && !v.deleted {
                    return Err(bad("a delete that is not a logical delete".into()));
                }
                if v.deleted && !matches!(v.kind, VersionKind::Delete | VersionKind::Restore) {
                    return Err(bad(format!("a logical delete of kind {}", v.kind)));
                }
                for f in &v.function_ids {
                    names::check_function_id(f).map_err(bad)?;
                }
                self.check_record(&v.data).map_err(|e| match e {
                    Error::Validation(m) => bad(m),
                    other => other,
                })?;
            }
        }
        Ok(records)
    }

    /// What to do with `record`, given what is stored of it.
    async fn plan_import(&self, record: Incoming, opts: ImportOptions) -> Result<Plan> {
        let queued = self.queued_tail(&record.id).await?.is_some();
        let head = self.head(&record.id).await?;
        if head.is_none() && !queued {
            return Ok(Plan::Create(record));
        }
        let stored = self
            .index()
            .version_page(&self.inner.ns, &record.id, None, usize::MAX)
            .await?;
        let same = |s: &VersionRow, v: &ExportedVersion| {
            (
                s.ov,
                s.at,
                s.deleted,
                s.kind,
                s.actor.as_str(),
                s.reason.as_str(),
            ) == (
                v.ov,
                micros(v.at),
                v.deleted,
                v.kind,
                v.actor.as_str(),
                v.reason.as_str(),
            )
        };
        let prefix = !queued
            && !stored.is_empty()
            && stored.len() <= record.versions.len()
            && stored.iter().zip(&record.versions).all(|(s, v)| same(s, v));
        match (prefix, stored.len() == record.versions.len()) {
            (true, true) => Ok(Plan::Present),
            (true, false) => {
                let from = stored.len();
                Ok(Plan::Complete(record, from))
            }
            (false, _) if opts.skip_existing => Ok(Plan::Skip(record.id)),
            (false, _) => Err(self.id_taken(&record.id, head.map_or(0, |h| h.latest.ov))),
        }
    }

    /// The envelope, row and base64 side blobs of an imported version.
    fn imported_parts(&self, v: ExportedVersion) -> Result<(Envelope, VersionRow, Vec<SideBlob>)> {
        let props = self.inner.policy.extract(&v.data);
        let mut data = v.data;
        let side = self.inner.codec.extract(&mut data)?;
        let row = VersionRow {
            version: VersionRef {
                id: v.id.clone(),
                ov: v.ov,
                cv: 0,
                at: micros(v.at),
                deleted: v.deleted,
                payload: PayloadRef::Inline(bytes::Bytes::new()),
            },
            meta: props,
            actor: v.actor.clone(),
            reason: v.reason.clone(),
            kind: v.kind,
            function_ids: v.function_ids.clone(),
            digest: None,
            hash: None,
        };
        let envelope = Envelope {
            id: v.id,
            ov: v.ov,
            deleted: v.deleted,
            actor: v.actor,
            reason: v.reason,
            function_ids: v.function_ids,
            data,
        };
        Ok((envelope, row, side))
    }

    /// The first imported version of a new record, for a batch.
    fn prepare_imported(&self, v: ExportedVersion) -> Result<Prepared> {
        let (envelope, row, side) = self.imported_parts(v)?;
        Ok(Prepared {
            envelope,
            row,
            side,
            counters: Vec::new(),
            shadow: None,
        })
    }

    /// Appends a later imported version after the record's stored one.
    async fn import_next(&self, v: ExportedVersion) -> Result<()> {
        let (envelope, mut row, side) = self.imported_parts(v)?;
        let mut cv_known = false;
        let stored = self
            .store_version(&envelope, &mut row, &mut cv_known, &side, false, None)
            .await;
        // A cv reserved for a version that failed is given up, as for any write.
        if stored.is_err() && cv_known {
            self.give_up_cv(row.cv).await;
        }
        stored
    }
}
