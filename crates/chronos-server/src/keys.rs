//! API keys: `chr_<id>_<secret>`. The configuration holds only the argon2 hash of each key;
//! a presented key is checked against it once, and afterwards against a SHA-256 digest kept
//! in memory, compared in constant time, so a request does not pay argon2's cost each time.
//! Keys never appear in logs, errors or `Debug` output.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{valid_key_id, KeyConfig, Scope};

/// What every key starts with.
const PREFIX: &str = "chr_";

/// A configured key, as requests are checked against it.
struct KeyEntry {
    hash: String,
    scopes: Arc<[Scope]>,
    /// The SHA-256 of the key, once a request proved it against `hash`.
    verified: RwLock<Option<[u8; 32]>>,
}

/// The keys of a running service.
pub struct KeyRing {
    keys: HashMap<String, KeyEntry>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Who is calling: what their key may reach.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What the key may reach (`None`: a service without keys, where every request has
    /// every right).
    pub scopes: Option<Arc<[Scope]>>,
}

impl KeyRing {
    /// The ring of the configured keys.
    pub fn new(keys: &[KeyConfig]) -> Self {
        KeyRing {
            keys: keys
                .iter()
                .map(|k| {
                    let entry = KeyEntry {
                        hash: k.hash.clone(),
                        scopes: k.scopes.clone().into(),
                        verified: RwLock::new(None),
                    };
                    (k.id.clone(), entry)
                })
                .collect(),
        }
    }

    /// Whether the service has keys (without, every request has every right).
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// The caller a presented key belongs to; `None` when it is not a configured key. Runs
    /// argon2 on a key's first use (on a blocking thread), then compares digests.
    pub async fn authenticate(&self, presented: &str) -> Option<Caller> {
        let (id, _) = split_key(presented)?;
        let entry = self.keys.get(id)?;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let known = entry.verified.read().ok().and_then(|v| *v);
        let proven = match known {
            Some(known) => bool::from(known.ct_eq(&digest)),
            None => {
                let (hash, key) = (entry.hash.clone(), presented.to_string());
                let ok = tokio::task::spawn_blocking(move || verify(&hash, &key))
                    .await
                    .unwrap_or(false);
                if ok {
                    if let Ok(mut v) = entry.verified.write() {
                        *v = Some(digest);
                    }
                }
                ok
            }
        };
        proven.then(|| Caller {
            scopes: Some(entry.scopes.clone()),
        })
    }
}

/// The key a request presents as `Authorization: Bearer <key>`.
pub fn presented(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The id part of a presented key (ids are not secret: logs name them).
pub fn key_id(presented: &str) -> Option<&str> {
    split_key(presented).map(|(id, _)| id)
}

/// Splits `chr_<id>_<secret>` into its id and secret.
fn split_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (valid_key_id(id) && !secret.is_empty()).then_some((id, secret))
}

/// Whether `key` matches the argon2 PHC string `hash`.
fn verify(hash: &str, key: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(key.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks that `hash` is an argon2 PHC string.
pub fn parse_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash).map_err(|e| {
        format!("not a PHC hash string ({e}); `chronos-db hash-key <id>` prints one")
    })?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "hashed with {}, not argon2; `chronos-db hash-key <id>` prints an argon2id hash",
            parsed.algorithm
        ));
    }
    Ok(())
}

/// A new key and the hash to put in the configuration.
pub struct NewKey {
    /// The key, shown once to whoever will use it.
    pub key: String,
    /// Its argon2id hash, for `serve.keys[].hash`.
    pub hash: String,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("key", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

/// Generates a key with id `id` (256 random bits from the operating system) and its
/// argon2id hash.
pub fn generate_key(id: &str) -> Result<NewKey, String> {
    if !valid_key_id(id) {
        return Err(format!("key id {id:?} must be 1 to 64 of A-Z a-z 0-9 -"));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no randomness from the system: {e}"))?;
    let key = format!("{PREFIX}{id}_{}", hex::encode(secret));
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness from the system: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    let hash = Argon2::default()
        .hash_password(key.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string();
    Ok(NewKey { key, hash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Access;

    fn ring(key: &NewKey) -> KeyRing {
        KeyRing::new(&[KeyConfig {
            id: "app".into(),
            hash: key.hash.clone(),
            scopes: vec![Scope {
                db_types: None,
                tiers: None,
                tenants: None,
                domains: None,
                access: Access::Read,
            }],
        }])
    }

    #[tokio::test]
    async fn a_key_passes_and_a_changed_key_does_not() {
        let key = generate_key("app").unwrap();
        let ring = ring(&key);
        assert!(ring.authenticate(&key.key).await.is_some());
        // The second time takes the digest path: it still tells keys apart.
        assert!(ring.authenticate(&key.key).await.is_some());
        let mut wrong = key.key.clone();
        wrong.pop();
        wrong.push('x');
        assert!(ring.authenticate(&wrong).await.is_none());
        assert!(ring.authenticate("chr_other_abc").await.is_none());
        assert!(ring.authenticate("Bearer nonsense").await.is_none());
    }

    #[test]
    fn debug_output_never_shows_a_key() {
        let key = generate_key("app").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.key));
    }
}
