//! Collection locks: named, expiring, held by one owner at a time across every process that
//! shares the index store (`<coll>_locks`; a TTL index clears abandoned ones on MongoDB).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{check_id, Collection};
use crate::error::{Error, Result};

/// Longest lock lifetime accepted.
pub(crate) const MAX_LOCK_TTL: Duration = Duration::from_secs(24 * 3600);

/// A held collection lock. Release it when done; otherwise it expires at `expires_at`.
#[derive(Debug)]
pub struct CollectionLock {
    coll: Collection,
    name: String,
    owner: String,
    expires_at: DateTime<Utc>,
}

fn expiry(ttl: Duration) -> Result<(i64, DateTime<Utc>)> {
    if ttl.is_zero() || ttl > MAX_LOCK_TTL {
        return Err(Error::Validation(format!(
            "lock ttl must be between 1 ms and {} s",
            MAX_LOCK_TTL.as_secs()
        )));
    }
    let now = Utc::now();
    let span =
        chrono::Duration::from_std(ttl).map_err(|e| Error::Validation(format!("lock ttl: {e}")))?;
    Ok((now.timestamp_micros(), now + span))
}

impl Collection {
    /// Takes the lock `name` of this collection for `ttl`, unless another holder has it and it
    /// has not expired. `None` means it is held elsewhere. `ttl` must be more than zero and
    /// at most 24 hours (else `Validation`).
    pub async fn try_lock(&self, name: &str, ttl: Duration) -> Result<Option<CollectionLock>> {
        check_id(name)?;
        let (now, expires_at) = expiry(ttl)?;
        let owner = uuid::Uuid::now_v7().to_string();
        let taken = self
            .lock_store("try_lock")?
            .try_lock(
                &self.inner.ns,
                name,
                &owner,
                now,
                expires_at.timestamp_micros(),
            )
            .await?;
        Ok(taken.then(|| CollectionLock {
            coll: self.clone(),
            name: name.to_string(),
            owner,
            expires_at,
        }))
    }
}

impl CollectionLock {
    /// Lock name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When the lock lapses unless extended.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// Extends the lock to `ttl` from now. `false` when it had lapsed and someone else took it.
    pub async fn extend(&mut self, ttl: Duration) -> Result<bool> {
        let (now, expires_at) = expiry(ttl)?;
        let kept = self
            .coll
            .lock_store("extend a lock")?
            .try_lock(
                &self.coll.inner.ns,
                &self.name,
                &self.owner,
                now,
                expires_at.timestamp_micros(),
            )
            .await?;
        if kept {
            self.expires_at = expires_at;
        }
        Ok(kept)
    }

    /// Releases the lock (a no-op if it lapsed and someone else holds it now).
    pub async fn release(self) -> Result<()> {
        self.coll
            .lock_store("release a lock")?
            .unlock(&self.coll.inner.ns, &self.name, &self.owner)
            .await
    }
}
