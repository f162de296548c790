//! Starting encryption with an instance: the master key is read and checked against the
//! route key of every configured database, before anything is written.

use std::sync::Arc;

use super::{provider, Keyring};
use crate::config::ChronosConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::route::Router;

/// The keyring of `config` (`None` when encryption is off). A master key that is missing,
/// malformed, or not the one that wrapped the route keys found is an [`Error::Config`]; a
/// connection that cannot be asked now is checked on first use instead.
pub(crate) async fn open_keyring(
    config: &ChronosConfig,
    router: &Router,
) -> Result<Option<Arc<Keyring>>> {
    let Some(enc) = config.encryption.as_ref().filter(|e| e.enabled) else {
        return Ok(None);
    };
    let source = enc
        .master_key
        .as_ref()
        .ok_or_else(|| Error::config("encryption.masterKey", "required when enabled"))?;
    let master = provider(source).master_key().await?;
    let ring = Keyring::new(master, enc.per_record);
    for db in router.databases() {
        for store in &db.stores {
            let Some(keys) = store.clone().keys() else {
                continue;
            };
            match ring.check(keys.as_ref(), &db.db_name).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Backend => {
                    tracing::warn!(db = %db.db_name, error = %e, "route key not checked at start; it is checked on first use");
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(Some(ring))
}
