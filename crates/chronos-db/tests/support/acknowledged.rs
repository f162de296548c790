//! What the fault tests check of every write chronos-db acknowledged.

#![allow(dead_code)]

use std::collections::HashSet;

use chronos_db::{Collection, ReadOptions, WriteResult};
use serde_json::Value;

/// Every acknowledged write (with the data it carried) was acknowledged once per
/// `(record, ov)` and reads back exactly as acknowledged (data, cv, time); each record's
/// latest version is at least its last acknowledged one.
pub async fn check_acknowledged(c: &Collection, acked: &[(WriteResult, Value)]) {
    let mut seen = HashSet::new();
    for (w, data) in acked {
        assert!(
            seen.insert((w.id.clone(), w.ov)),
            "acknowledged twice: {w:?}"
        );
        let item = c
            .get_version(&w.id, w.ov, ReadOptions::default())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged write {w:?} is missing"));
        assert_eq!((item.cv, item.at, &item.data), (w.cv, w.at, data), "{w:?}");
    }
    let ids: HashSet<&str> = acked.iter().map(|(w, _)| w.id.as_str()).collect();
    for id in ids {
        let last = acked
            .iter()
            .filter(|(w, _)| w.id == id)
            .map(|(w, _)| w.ov)
            .max()
            .unwrap_or(0);
        let latest = c
            .get_latest(id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert!(
            latest.ov >= last,
            "{id}: latest {} < acknowledged {last}",
            latest.ov
        );
    }
}
