//! Named collection locks with an owner and an expiry.

use async_trait::async_trait;

use super::records::IndexBackend;
use super::rows::Namespace;
use crate::error::Result;

/// Collection locks (`CollectionLock`).
#[async_trait]
pub trait LockStore: IndexBackend {
    /// Takes the lock `name` of the collection for `owner` until `expires_at` (microseconds)
    /// unless another owner holds it unexpired. Returns whether it was taken. The same owner
    /// may take it again to extend it.
    async fn try_lock(
        &self,
        ns: &Namespace,
        name: &str,
        owner: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool>;

    /// Releases the lock `name` if `owner` holds it.
    async fn unlock(&self, ns: &Namespace, name: &str, owner: &str) -> Result<()>;
}
