//! [`LockStore`] on MongoDB: one document per lock in `<coll>_locks`, taken by an upsert that
//! only matches the same owner or an expired lock (a TTL index removes abandoned ones).

use async_trait::async_trait;
use mongodb::bson::doc;

use super::errors::{err, fail, is_duplicate_key};
use super::MongoIndex;
use crate::error::Result;
use crate::index::{LockStore, Namespace};

#[async_trait]
impl LockStore for MongoIndex {
    async fn try_lock(
        &self,
        ns: &Namespace,
        name: &str,
        owner: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool> {
        let c = self.colls(ns).await?;
        // expiresAt is a BSON date so the TTL index removes abandoned locks; the owner check
        // below does not wait for the TTL monitor, which runs only once a minute.
        let expires = mongodb::bson::DateTime::from_millis(expires_at / 1000);
        let now = mongodb::bson::DateTime::from_millis(now / 1000);
        let filter = doc! {"_id": name, "$or": [{"owner": owner}, {"expiresAt": {"$lte": now}}]};
        let update = doc! {"$set": {"owner": owner, "expiresAt": expires}};
        match c.locks.update_one(filter, update).upsert(true).await {
            Ok(_) => Ok(true),
            // Held by someone else: the upsert's insert collided with their document.
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(fail("take lock", e)),
        }
    }

    async fn unlock(&self, ns: &Namespace, name: &str, owner: &str) -> Result<()> {
        let c = self.colls(ns).await?;
        c.locks
            .delete_one(doc! {"_id": name, "owner": owner})
            .await
            .map(|_| ())
            .map_err(err("release lock"))
    }
}
