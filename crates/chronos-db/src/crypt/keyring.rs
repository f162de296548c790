//! The keys of one instance: the master key, and per route database the unwrapped route key
//! (cached, and checked against the store again after [`RECHECK`], so a route shredded by
//! another process stops being readable here too) and its records' keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::data_key::DataKey;
use super::master::MasterKey;
use super::sealed::{self, key_id_hex, Header, Owner, Place, Scope, KEY_ID_BYTES};
use crate::error::{Error, Result};
use crate::index::{IndexStore, KeySlot, KeyStore, StoredKey};

/// How long an unwrapped route key is used before the store is asked again whether it still
/// stands (shredding elsewhere takes effect here within this time).
pub(crate) const RECHECK: Duration = Duration::from_secs(10);

/// An unwrapped data key and its id.
#[derive(Debug)]
pub(crate) struct OpenKey {
    pub id: [u8; KEY_ID_BYTES],
    pub key: DataKey,
}

/// The master key and the route keys of an instance.
#[derive(Debug)]
pub(crate) struct Keyring {
    master: RwLock<MasterKey>,
    per_record: bool,
    routes: Mutex<HashMap<(usize, String), Arc<RouteKeys>>>,
}

/// The keys of one route database on one index connection.
#[derive(Debug)]
pub(crate) struct RouteKeys {
    ring: Arc<Keyring>,
    store: Arc<dyn KeyStore>,
    db: String,
    cached: RwLock<Option<(Instant, Arc<OpenKey>)>>,
}

fn poisoned() -> Error {
    Error::internal("use the keyring", "a previous operation panicked")
}

fn new_key_id() -> [u8; KEY_ID_BYTES] {
    *uuid::Uuid::now_v7().as_bytes()
}

fn parse_key_id(hex: &str) -> Result<[u8; KEY_ID_BYTES]> {
    uuid::Uuid::try_parse(hex)
        .map(|u| *u.as_bytes())
        .map_err(|_| Error::Corrupt(format!("data key id {hex:?} is not a key id")))
}

/// Associated data of a wrapped route key.
fn route_aad(db: &str, key_id: &str) -> Vec<u8> {
    [
        b"chronos-db route key v1\0",
        db.as_bytes(),
        b"\0",
        key_id.as_bytes(),
    ]
    .concat()
}

/// Associated data of a wrapped record key.
fn record_aad(db: &str, collection: &str, id: &str, key_id: &str) -> Vec<u8> {
    [
        b"chronos-db record key v1\0".as_slice(),
        db.as_bytes(),
        b"\0",
        collection.as_bytes(),
        b"\0",
        id.as_bytes(),
        b"\0",
        key_id.as_bytes(),
    ]
    .concat()
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

impl Keyring {
    /// A keyring over `master`, with a key per record when `per_record`.
    pub(crate) fn new(master: MasterKey, per_record: bool) -> Arc<Self> {
        Arc::new(Keyring {
            master: RwLock::new(master),
            per_record,
            routes: Mutex::new(HashMap::new()),
        })
    }

    fn master(&self) -> Result<MasterKey> {
        self.master
            .read()
            .map(|m| m.clone())
            .map_err(|_| poisoned())
    }

    /// The keys of database `db` of `store` (`Unsupported` when the backend keeps no keys).
    pub(crate) fn route(
        self: &Arc<Self>,
        store: &Arc<dyn IndexStore>,
        db: &str,
    ) -> Result<Arc<RouteKeys>> {
        let at = Arc::as_ptr(store) as *const () as usize;
        let mut routes = self.routes.lock().map_err(|_| poisoned())?;
        if let Some(found) = routes.get(&(at, db.to_string())) {
            return Ok(found.clone());
        }
        let keys = crate::index::require(
            store.clone().keys(),
            store.as_ref(),
            "key store",
            "encrypt payloads",
        )?;
        let route = Arc::new(RouteKeys {
            ring: self.clone(),
            store: keys,
            db: db.to_string(),
            cached: RwLock::new(None),
        });
        routes.insert((at, db.to_string()), route.clone());
        Ok(route)
    }

    /// Checks that the master key unwraps the route key of database `db` of `store`, when
    /// it has one: a wrong master key is an `Error::Config` before anything is written.
    pub(crate) async fn check(&self, store: &dyn KeyStore, db: &str) -> Result<()> {
        let master = self.master()?;
        if let Some(stored) = store.key(db, KeySlot::Route).await? {
            if stored.wrapped.is_some() {
                unwrap_route(&master, db, &stored)?;
            }
        }
        Ok(())
    }

    /// Rewraps the route key of database `db` of `store` under `new`; a key already wrapped
    /// by `new` (a rotation that was interrupted) is left as it is. Returns (rewrapped,
    /// already done, shredded), each 0 or 1.
    pub(crate) async fn rewrap(
        &self,
        store: &dyn KeyStore,
        db: &str,
        new: &MasterKey,
    ) -> Result<(u64, u64, u64)> {
        let master = self.master()?;
        let (mut rewrapped, mut done, mut shredded) = (0, 0, 0);
        {
            let db = db.to_string();
            let Some(stored) = store.key(&db, KeySlot::Route).await? else {
                return Ok((0, 0, 0));
            };
            if stored.wrapped.is_none() {
                shredded += 1;
            } else if stored.wrapped_by == new.fingerprint() {
                done += 1;
            } else {
                let key = unwrap_route(&master, &db, &stored)?;
                let wrapped = key.key.wrap(new.bytes(), &route_aad(&db, &stored.key_id))?;
                if store
                    .rewrap_key(
                        &db,
                        KeySlot::Route,
                        &stored.key_id,
                        &wrapped,
                        new.fingerprint(),
                    )
                    .await?
                {
                    rewrapped += 1;
                    tracing::info!(database = %db, "route key rewrapped under the new master key");
                }
            }
        }
        Ok((rewrapped, done, shredded))
    }

    /// From now on, `new` is the master key (after a rotation).
    pub(crate) fn replace_master(&self, new: MasterKey) -> Result<()> {
        *self.master.write().map_err(|_| poisoned())? = new;
        Ok(())
    }
}

/// The route key `stored` of `db`, unwrapped by `master`.
fn unwrap_route(master: &MasterKey, db: &str, stored: &StoredKey) -> Result<OpenKey> {
    let Some(wrapped) = &stored.wrapped else {
        return Err(Error::Shredded {
            what: format!("database {db}"),
            key_id: stored.key_id.clone(),
        });
    };
    if stored.wrapped_by != master.fingerprint() {
        return Err(Error::config(
            "encryption.masterKey",
            format!(
                "the key of database {db} is wrapped by master key {}, but the configured master \
                 key is {}: configure the key it was made with (or finish the rotation with \
                 rotate_master_key)",
                stored.wrapped_by,
                master.fingerprint()
            ),
        ));
    }
    let key = DataKey::unwrap(master.bytes(), &route_aad(db, &stored.key_id), wrapped).ok_or_else(
        || {
            Error::Corrupt(format!(
                "the route key of database {db} does not unwrap under master key {}",
                master.fingerprint()
            ))
        },
    )?;
    Ok(OpenKey {
        id: parse_key_id(&stored.key_id)?,
        key,
    })
}

impl RouteKeys {
    /// The route key when it is in memory and recent enough to use without asking the store.
    pub(crate) fn ready(&self) -> Option<Arc<OpenKey>> {
        let cached = self.cached.read().ok()?;
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < RECHECK)
            .map(|(_, k)| k.clone())
    }

    /// The route key, made now when the database has none and `create` (a write); `None`
    /// when it has none and nothing is to be written. A shredded route is
    /// [`Error::Shredded`].
    pub(crate) async fn route_key(&self, create: bool) -> Result<Option<Arc<OpenKey>>> {
        if let Some(key) = self.ready() {
            return Ok(Some(key));
        }
        let master = self.ring.master()?;
        let stored = match self.store.key(&self.db, KeySlot::Route).await? {
            Some(stored) => stored,
            None if !create => return Ok(None),
            None => {
                let key = DataKey::generate();
                let id = uuid::Uuid::now_v7().simple().to_string();
                let wrapped = key.wrap(master.bytes(), &route_aad(&self.db, &id))?;
                let new = StoredKey {
                    key_id: id,
                    wrapped: Some(wrapped),
                    wrapped_by: master.fingerprint().to_string(),
                    created_at: now_micros(),
                    shredded_at: None,
                };
                self.store.add_key(&self.db, KeySlot::Route, &new).await?
            }
        };
        let key = Arc::new(unwrap_route(&master, &self.db, &stored)?);
        *self.cached.write().map_err(|_| poisoned())? = Some((Instant::now(), key.clone()));
        Ok(Some(key))
    }

    /// The own key of record `id` of `collection`, made now when it has none and `create`.
    async fn record_key(
        &self,
        collection: &str,
        id: &str,
        create: bool,
    ) -> Result<Option<OpenKey>> {
        let Some(route) = self.route_key(create).await? else {
            return Ok(None);
        };
        let slot = KeySlot::Record { collection, id };
        let route_id = key_id_hex(&route.id);
        let stored = match self.store.key(&self.db, slot).await? {
            Some(stored) => stored,
            None if !create => return Ok(None),
            None => {
                let key = DataKey::generate();
                let key_id = uuid::Uuid::from_bytes(new_key_id()).simple().to_string();
                let aad = record_aad(&self.db, collection, id, &key_id);
                let new = StoredKey {
                    wrapped: Some(key.wrap(route.key.bytes(), &aad)?),
                    key_id,
                    wrapped_by: route_id.clone(),
                    created_at: now_micros(),
                    shredded_at: None,
                };
                self.store.add_key(&self.db, slot, &new).await?
            }
        };
        let Some(wrapped) = &stored.wrapped else {
            return Ok(None);
        };
        let aad = record_aad(&self.db, collection, id, &stored.key_id);
        let key = DataKey::unwrap(route.key.bytes(), &aad, wrapped).ok_or_else(|| {
            Error::Corrupt(format!(
                "the key of {collection}/{id} in database {} does not unwrap under its route key",
                self.db
            ))
        })?;
        Ok(Some(OpenKey {
            id: parse_key_id(&stored.key_id)?,
            key,
        }))
    }

    /// `plain` sealed for `place` of `owner`, under the record's key (per-record keys) or
    /// the route's.
    pub(crate) async fn seal(
        &self,
        owner: &Owner<'_>,
        place: &Place<'_>,
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        let (scope, key) = match self.ring.per_record {
            true => (
                Scope::Record,
                self.record_key(owner.collection, owner.id, true).await?,
            ),
            false => (Scope::Route, None),
        };
        match key {
            Some(key) => sealed::seal(
                &key.key,
                Header {
                    scope,
                    key_id: key.id,
                },
                owner,
                place,
                plain,
            ),
            None => {
                let route = self.route_key(true).await?.ok_or_else(|| {
                    Error::internal("encrypt a payload", "the route key went missing")
                })?;
                let header = Header {
                    scope: Scope::Route,
                    key_id: route.id,
                };
                sealed::seal(&route.key, header, owner, place, plain)
            }
        }
    }

    /// The stored bytes inside sealed `bytes` of `place` of `owner` (`what` names them).
    pub(crate) async fn open(
        &self,
        owner: &Owner<'_>,
        place: &Place<'_>,
        bytes: &[u8],
        what: &str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let header = sealed::header(bytes, what)?;
        match header.scope {
            Scope::Route => {
                let route = self
                    .route_key(false)
                    .await?
                    .ok_or_else(|| self.foreign(&header, what))?;
                if route.id != header.key_id {
                    return Err(self.foreign(&header, what));
                }
                sealed::open(&route.key, owner, place, bytes, what)
            }
            Scope::Record => {
                let key = self.record_key(owner.collection, owner.id, false).await?;
                match key {
                    Some(key) if key.id == header.key_id => {
                        sealed::open(&key.key, owner, place, bytes, what)
                    }
                    Some(_) => Err(Error::Corrupt(format!(
                        "{what} is encrypted under key {}, not the key of {}/{} (copied from \
                         another record?)",
                        key_id_hex(&header.key_id),
                        owner.collection,
                        owner.id
                    ))),
                    None => Err(Error::Shredded {
                        what: format!("{what} of {}/{}", owner.collection, owner.id),
                        key_id: key_id_hex(&header.key_id),
                    }),
                }
            }
        }
    }

    /// [`RouteKeys::open`] without I/O: `None` unless the payload is under the route key and
    /// that key is in memory.
    pub(crate) fn open_ready(
        &self,
        owner: &Owner<'_>,
        place: &Place<'_>,
        bytes: &[u8],
        what: &str,
    ) -> Option<Result<Zeroizing<Vec<u8>>>> {
        let header = match sealed::header(bytes, what) {
            Ok(h) => h,
            Err(e) => return Some(Err(e)),
        };
        let route = self.ready()?;
        (header.scope == Scope::Route && route.id == header.key_id)
            .then(|| sealed::open(&route.key, owner, place, bytes, what))
    }

    fn foreign(&self, header: &Header, what: &str) -> Error {
        Error::Corrupt(format!(
            "{what} is encrypted under key {}, which is not the key of database {} (copied from \
             another database?)",
            key_id_hex(&header.key_id),
            self.db
        ))
    }

    /// Destroys the own key of record `id` of `collection`; returns its id.
    pub(crate) async fn destroy_record_key(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Option<String>> {
        self.store
            .destroy_key(&self.db, KeySlot::Record { collection, id }, now_micros())
            .await
    }

    /// Destroys the route key: every payload of the database becomes unreadable, and writes
    /// to it are refused. Returns the destroyed key's id (`None`: it had none, or was
    /// shredded before).
    pub(crate) async fn shred(&self) -> Result<Option<String>> {
        let destroyed = self
            .store
            .destroy_key(&self.db, KeySlot::Route, now_micros())
            .await?;
        *self.cached.write().map_err(|_| poisoned())? = None;
        Ok(destroyed)
    }
}
