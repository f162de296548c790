//! [`RecordMaintenance`] on SQLite.

use async_trait::async_trait;

use super::{history, SqliteIndex};
use crate::error::Result;
use crate::index::{Namespace, RecordMaintenance, VersionRow};

#[async_trait]
impl RecordMaintenance for SqliteIndex {
    async fn delete_versions(
        &self,
        ns: &Namespace,
        doomed: &[(String, Vec<u64>)],
    ) -> Result<Vec<VersionRow>> {
        let doomed = doomed.to_vec();
        self.run(ns, "delete versions", move |conn, t| {
            history::delete_versions(conn, t, &doomed)
        })
        .await
    }

    async fn roll_head_forward(&self, ns: &Namespace, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.run(ns, "roll head forward", move |conn, t| {
            history::roll_head_forward(conn, t, &id)
        })
        .await
    }

    async fn lagging_heads(&self, ns: &Namespace) -> Result<Vec<String>> {
        self.run(ns, "find lagging heads", |conn, t| {
            history::lagging_heads(conn, t)
        })
        .await
    }

    async fn erase(&self, ns: &Namespace, id: &str) -> Result<Vec<VersionRow>> {
        let id = id.to_string();
        self.run(ns, "erase record", move |conn, t| {
            history::erase(conn, t, &id)
        })
        .await
    }

    async fn collections(&self, db_name: &str) -> Result<Vec<String>> {
        self.run_db(db_name, "list collections", history::collections)
            .await
    }
}
