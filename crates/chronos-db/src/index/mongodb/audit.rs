//! The audit log on MongoDB (`chronos_audit` in each database).

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};

use super::errors::err;
use super::MongoIndex;
use crate::error::{Error, Result};
use crate::index::{AuditEntry, AuditLog};

#[async_trait]
impl AuditLog for MongoIndex {
    async fn append_audit(&self, db_name: &str, entry: &AuditEntry) -> Result<()> {
        self.ready(db_name).await?;
        let d = mongodb::bson::to_document(entry)
            .map_err(|e| Error::internal("encode audit entry", e))?;
        self.client
            .database(db_name)
            .collection::<Document>("chronos_audit")
            .insert_one(d)
            .await
            .map(|_| ())
            .map_err(err("append audit entry"))
    }

    async fn audit_log(&self, db_name: &str, collection: &str) -> Result<Vec<AuditEntry>> {
        self.ready(db_name).await?;
        let found: Vec<Document> = self
            .client
            .database(db_name)
            .collection::<Document>("chronos_audit")
            .find(doc! {"collection": collection})
            .sort(doc! {"_id": 1})
            .await
            .map_err(err("read audit log"))?
            .try_collect()
            .await
            .map_err(err("read audit log"))?;
        found
            .into_iter()
            .map(|d| {
                mongodb::bson::from_document(d)
                    .map_err(|e| Error::Corrupt(format!("audit entry: {e}")))
            })
            .collect()
    }
}
