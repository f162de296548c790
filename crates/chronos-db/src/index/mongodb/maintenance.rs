//! [`RecordMaintenance`] on MongoDB.

use std::collections::HashMap;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};

use super::errors::err;
use super::{changes, docs, reads, MongoIndex};
use crate::error::{Error, Result};
use crate::index::rules;
use crate::index::{Namespace, RecordIndex, RecordMaintenance, VersionRow, CLAIM_SENTINEL};

#[async_trait]
impl RecordMaintenance for MongoIndex {
    async fn delete_versions(
        &self,
        ns: &Namespace,
        doomed: &[(String, Vec<u64>)],
    ) -> Result<Vec<VersionRow>> {
        let c = self.colls(ns).await?;
        let ids: Vec<&str> = doomed.iter().map(|(id, _)| id.as_str()).collect();
        let heads: Vec<Document> = c
            .head
            .find(doc! {"_id": {"$in": &ids}})
            .projection(doc! {"_id": 1, "ov": 1})
            .await
            .map_err(err("read heads"))?
            .try_collect()
            .await
            .map_err(err("read heads"))?;
        let head_ovs: HashMap<&str, u64> = heads
            .iter()
            .filter_map(|h| Some((h.get_str("_id").ok()?, docs::read_u64(h, "ov").ok()?)))
            .collect();
        let mut wanted = Vec::new();
        for (id, ovs) in doomed {
            let Some(&head) = head_ovs.get(id.as_str()) else {
                continue;
            };
            let below: Vec<i64> = ovs
                .iter()
                .filter(|ov| **ov < head)
                .filter_map(|ov| i64::try_from(*ov).ok())
                .collect();
            if !below.is_empty() {
                wanted.push(doc! {"id": id, "ov": {"$in": below}});
            }
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let filter = doc! {"$or": wanted};
        let found: Vec<Document> = c
            .ver
            .find(filter.clone())
            .await
            .map_err(err("read versions to delete"))?
            .try_collect()
            .await
            .map_err(err("read versions to delete"))?;
        let removed: Vec<VersionRow> = found
            .iter()
            .map(|d| docs::read_version(d, "id"))
            .collect::<Result<_>>()?;
        // Each record's chain starts after the newest version removed; the anchor goes first,
        // and is only taken as the start where that version is gone.
        let mut newest: HashMap<&str, &VersionRow> = HashMap::new();
        for row in &removed {
            let slot = newest.entry(row.id.as_str()).or_insert(row);
            if row.ov > slot.ov {
                *slot = row;
            }
        }
        for (id, row) in newest {
            let ov = docs::int(row.ov)?;
            c.head
                .update_one(
                    doc! {"_id": id, "anchorOv": {"$not": {"$gte": ov}}},
                    doc! {"$set": docs::anchor_fields(row)?},
                )
                .await
                .map_err(err("anchor a pruned chain"))?;
        }
        c.ver
            .delete_many(filter)
            .await
            .map_err(err("delete versions"))?;
        changes::seal_removed(&c, removed.iter().map(|r| r.cv)).await?;
        Ok(removed)
    }

    async fn roll_head_forward(&self, ns: &Namespace, id: &str) -> Result<bool> {
        let c = self.colls(ns).await?;
        let before = reads::head(&c, id).await?.map(|h| h.latest.ov);
        Ok(match self.roll_forward(&c, id).await? {
            Some(latest) => rules::head_lags(before, latest),
            None => false,
        })
    }

    async fn lagging_heads(&self, ns: &Namespace) -> Result<Vec<String>> {
        // Two cursors in id order, merged: each record's latest committed version (the first
        // of its run, newest first) against its head.
        let c = self.colls(ns).await?;
        let mut versions = c
            .ver
            .find(doc! {"at": {"$lt": CLAIM_SENTINEL}})
            .sort(doc! {"id": 1, "ov": -1})
            .projection(doc! {"_id": 0, "id": 1, "ov": 1})
            .await
            .map_err(err("read versions"))?;
        let mut heads = c
            .head
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .projection(doc! {"_id": 1, "ov": 1})
            .await
            .map_err(err("read heads"))?;
        let mut head: Option<(String, u64)> = None;
        let mut last_id = String::new();
        let mut lagging = Vec::new();
        while let Some(v) = versions.try_next().await.map_err(err("read versions"))? {
            let id = v
                .get_str("id")
                .map_err(|e| Error::Corrupt(format!("version document without an id: {e}")))?;
            if id == last_id {
                continue;
            }
            last_id = id.to_string();
            let latest = docs::read_u64(&v, "ov")?;
            while head.as_ref().is_none_or(|(h, _)| h.as_str() < id) {
                match heads.try_next().await.map_err(err("read heads"))? {
                    Some(h) => {
                        let hid = h.get_str("_id").map_err(|e| {
                            Error::Corrupt(format!("head document without an id: {e}"))
                        })?;
                        head = Some((hid.to_string(), docs::read_u64(&h, "ov")?));
                    }
                    None => break,
                }
            }
            let head_ov = head.as_ref().filter(|(h, _)| h == id).map(|(_, ov)| *ov);
            if rules::head_lags(head_ov, latest) {
                lagging.push(last_id.clone());
            }
        }
        Ok(lagging)
    }

    async fn erase(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>> {
        let removed = self.versions(ns, id).await?;
        let c = self.colls(ns).await?;
        // The head goes first, so listings and reads stop seeing the record at once.
        c.head
            .delete_one(doc! {"_id": id})
            .await
            .map_err(err("erase head"))?;
        c.ver
            .delete_many(doc! {"id": id})
            .await
            .map_err(err("erase versions"))?;
        changes::seal_removed(&c, removed.iter().map(|r| r.cv)).await?;
        Ok(removed)
    }

    async fn collections(&self, db_name: &str) -> Result<Vec<String>> {
        self.ready(db_name).await?;
        let names = self
            .client
            .database(db_name)
            .list_collection_names()
            .await
            .map_err(err("list collections"))?;
        let mut out: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_suffix("_head").map(str::to_string))
            .collect();
        out.sort();
        Ok(out)
    }
}
