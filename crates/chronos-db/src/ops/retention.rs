//! Retention: old versions (rows and blobs) removed by `retention.ver.days` and
//! `retention.ver.maxPerItem`, never the latest.

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::Collection;
use crate::config::VersionRetention;
use crate::error::Result;
use crate::index::VersionRow;

/// Records examined per batch.
const PRUNE_BATCH: usize = 500;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// What a prune removed from one collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CollectionPrune {
    /// Index database.
    pub db_name: String,
    /// Collection.
    pub collection: String,
    /// Records examined.
    pub records: u64,
    /// Version rows removed.
    pub versions_removed: u64,
    /// Payload blobs removed.
    pub blobs_removed: u64,
}

/// The ovs of `versions` (oldest first; the last is the latest) that retention removes:
/// beyond the newest `max_per_item`, or superseded by a version written before `cutoff`
/// (microseconds). The latest version is always kept, and so is the version that was current
/// at the cutoff, so time travel inside the retention window keeps working.
pub fn removable(
    versions: &[VersionRow],
    max_per_item: Option<u64>,
    cutoff: Option<i64>,
) -> Vec<u64> {
    let Some(latest) = versions.last() else {
        return Vec::new();
    };
    versions
        .windows(2)
        .filter(|pair| {
            let (v, next) = (&pair[0], &pair[1]);
            let too_many = max_per_item.is_some_and(|m| latest.ov - v.ov >= m);
            let too_old = cutoff.is_some_and(|c| next.at < c);
            too_many || too_old
        })
        .map(|pair| pair[0].ov)
        .collect()
}

impl Collection {
    /// Applies a retention policy to every record of this collection.
    pub async fn prune(
        &self,
        policy: &VersionRetention,
        now_micros: i64,
    ) -> Result<CollectionPrune> {
        self.prune_reporting(policy, now_micros, &|_| {}).await
    }

    /// [`Collection::prune`], telling `tell` what it has done after every batch of records.
    pub(crate) async fn prune_reporting(
        &self,
        policy: &VersionRetention,
        now_micros: i64,
        tell: &(dyn Fn(&CollectionPrune) + Send + Sync),
    ) -> Result<CollectionPrune> {
        let cutoff = policy
            .days
            .map(|d| now_micros - i64::from(d) * MICROS_PER_DAY);
        let max = policy.max_per_item.map(u64::from);
        let mut out = CollectionPrune {
            db_name: self.db_name().to_string(),
            collection: self.name().to_string(),
            ..CollectionPrune::default()
        };
        if cutoff.is_none() && max.is_none() {
            return Ok(out);
        }
        let mut after = None;
        loop {
            let heads = self.record_page(after.clone(), PRUNE_BATCH, None).await?;
            let mut doomed = Vec::new();
            for head in &heads {
                out.records += 1;
                let id = &head.version.id;
                if max.is_some_and(|m| head.version.ov < m) && cutoff.is_none() {
                    continue;
                }
                let versions = self.index().versions(&self.inner.ns, id).await?;
                let ovs = removable(&versions, max, cutoff);
                if !ovs.is_empty() {
                    doomed.push((id.clone(), ovs));
                }
            }
            // The batch's versions go in one step; their payloads after it (a payload whose
            // row is gone is an orphan at worst, never a row without its payload).
            let removed = match doomed.is_empty() {
                true => Vec::new(),
                false => {
                    self.index()
                        .delete_versions(&self.inner.ns, &doomed)
                        .await?
                }
            };
            out.versions_removed += removed.len() as u64;
            for key in removed.iter().filter_map(|row| row.payload.object_key()) {
                match self.inner.target.blobs.delete(key).await {
                    Ok(()) => out.blobs_removed += 1,
                    Err(e) => warn!(key, error = %e, "pruned version left its blob"),
                }
            }
            tell(&out);
            match heads.last() {
                Some(last) if heads.len() == PRUNE_BATCH => after = Some(last.version.id.clone()),
                _ => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ov: u64, at: i64) -> VersionRow {
        VersionRow::bare(crate::index::VersionRef {
            id: "r".into(),
            ov,
            cv: ov,
            at,
            deleted: false,
            payload: crate::index::PayloadRef::Object(String::new()),
        })
    }

    #[test]
    fn keeps_the_newest_max_per_item() {
        let vs: Vec<_> = (0..5).map(|i| v(i, i as i64)).collect();
        assert_eq!(removable(&vs, Some(2), None), vec![0, 1, 2]);
        assert_eq!(removable(&vs, Some(5), None), Vec::<u64>::new());
        assert_eq!(removable(&vs, Some(1), None), vec![0, 1, 2, 3]);
        assert_eq!(removable(&vs[..1], Some(1), None), Vec::<u64>::new());
    }

    #[test]
    fn keeps_what_was_current_at_the_cutoff() {
        let vs = vec![v(0, 10), v(1, 20), v(2, 30), v(3, 40)];
        // Cutoff 25: v1 (written 20) was current then and stays; v0 was superseded at 20.
        assert_eq!(removable(&vs, None, Some(25)), vec![0]);
        assert_eq!(removable(&vs, None, Some(30)), vec![0]);
        assert_eq!(removable(&vs, None, Some(31)), vec![0, 1]);
        // Everything old: only the latest stays.
        assert_eq!(removable(&vs, None, Some(1000)), vec![0, 1, 2]);
        assert_eq!(removable(&vs, Some(3), Some(15)), vec![0]);
    }
}
