//! The master key and where it comes from: a small provider trait (an environment variable
//! and a key file here; a KMS can be another implementation).

use std::fmt;
use std::path::PathBuf;

use async_trait::async_trait;
use base64::Engine;
use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

use crate::config::MasterKeySource;
use crate::error::{Error, Result};

/// Bytes of a master key (and of every data key).
pub const KEY_BYTES: usize = 32;

/// Where configuration problems with the master key are reported.
const CONFIG_PATH: &str = "encryption.masterKey";

/// A 256-bit master key. It wraps the data keys of every route; it never encrypts a payload
/// itself and is never stored by chronos-db. Its memory is zeroed when dropped, and neither
/// `Debug` nor any error shows it: only its [fingerprint](MasterKey::fingerprint).
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_BYTES]>,
    fingerprint: String,
}

impl MasterKey {
    /// The key of these bytes.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        let bytes = Zeroizing::new(bytes);
        let fingerprint = fingerprint(&bytes);
        MasterKey { bytes, fingerprint }
    }

    /// A new random key (from the operating system's generator).
    pub fn generate() -> Self {
        let key = super::data_key::DataKey::generate();
        MasterKey::from_bytes(*key.bytes())
    }

    /// Parses a key written as base64 (44 characters, standard alphabet) or hex (64
    /// characters); surrounding whitespace is ignored. The message of the error never
    /// contains the text.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let text = Zeroizing::new(text.trim().to_string());
        let decoded: Zeroizing<Vec<u8>> =
            if text.len() == KEY_BYTES * 2 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                Zeroizing::new(
                    (0..KEY_BYTES)
                        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
                        .collect(),
                )
            } else {
                Zeroizing::new(
                    base64::engine::general_purpose::STANDARD
                        .decode(text.as_bytes())
                        .map_err(|_| {
                            "is neither 64 hex digits nor base64 of 32 bytes (make one with \
                         `chronos-db gen-master-key`)"
                                .to_string()
                        })?,
                )
            };
        let bytes: [u8; KEY_BYTES] = decoded.as_slice().try_into().map_err(|_| {
            format!(
                "decodes to {} bytes; a master key has {KEY_BYTES}",
                decoded.len()
            )
        })?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// The key as base64, for storing it somewhere safe (it is zeroed when dropped).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(*self.bytes))
    }

    /// A short public name of the key (hex of a keyed hash): stored beside every data key it
    /// wraps, so a wrong master key is named as such instead of failing to decrypt.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.bytes
    }
}

fn fingerprint(bytes: &[u8; KEY_BYTES]) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(bytes) else {
        return String::new();
    };
    mac.update(b"chronos-db master key fingerprint v1");
    mac.finalize().into_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Where a master key comes from. chronos-db asks once, when the instance starts (and
/// [`Chronos::rotate_master_key`](crate::Chronos::rotate_master_key) asks the new one). A
/// key management service can implement it.
#[async_trait]
pub trait MasterKeyProvider: Send + Sync + fmt::Debug {
    /// The key. A missing or malformed key is an [`Error::Config`] at `encryption.masterKey`
    /// whose message never contains key material.
    async fn master_key(&self) -> Result<MasterKey>;
}

/// The master key in an environment variable.
#[derive(Debug, Clone)]
pub struct EnvMasterKey {
    var: String,
}

impl EnvMasterKey {
    /// The key in environment variable `var`.
    pub fn new(var: impl Into<String>) -> Self {
        EnvMasterKey { var: var.into() }
    }
}

#[async_trait]
impl MasterKeyProvider for EnvMasterKey {
    async fn master_key(&self) -> Result<MasterKey> {
        let path = format!("{CONFIG_PATH}.env");
        let text = Zeroizing::new(std::env::var(&self.var).map_err(|_| {
            Error::config(
                &path,
                format!("environment variable {} is not set", self.var),
            )
        })?);
        MasterKey::parse(&text)
            .map_err(|m| Error::config(path, format!("environment variable {} {m}", self.var)))
    }
}

/// The master key in a file.
#[derive(Debug, Clone)]
pub struct FileMasterKey {
    path: PathBuf,
}

impl FileMasterKey {
    /// The key in the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileMasterKey { path: path.into() }
    }
}

#[async_trait]
impl MasterKeyProvider for FileMasterKey {
    async fn master_key(&self) -> Result<MasterKey> {
        let path = format!("{CONFIG_PATH}.file");
        let shown = self.path.display();
        let text = Zeroizing::new(
            tokio::fs::read_to_string(&self.path)
                .await
                .map_err(|e| Error::config(&path, format!("cannot read {shown}: {e}")))?,
        );
        MasterKey::parse(&text).map_err(|m| Error::config(path, format!("{shown} {m}")))
    }
}

/// The provider a configured source names.
pub(crate) fn provider(source: &MasterKeySource) -> Box<dyn MasterKeyProvider> {
    match source {
        MasterKeySource::Env(var) => Box::new(EnvMasterKey::new(var)),
        MasterKeySource::File(path) => Box::new(FileMasterKey::new(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_base64_and_hex_and_never_show() {
        let key = MasterKey::generate();
        let b64 = key.to_base64();
        let back = MasterKey::parse(&format!(" {}\n", b64.as_str())).unwrap();
        assert_eq!(back.bytes(), key.bytes());
        let hex: String = key.bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            MasterKey::parse(&hex).unwrap().fingerprint(),
            key.fingerprint()
        );
        let shown = format!("{key:?}");
        assert!(
            !shown.contains(b64.as_str()) && !shown.contains(&hex),
            "{shown}"
        );
        assert_eq!(key.fingerprint().len(), 16);
        for bad in ["", "zz", &hex[..62], "AAAA"] {
            let m = MasterKey::parse(bad).err().unwrap();
            assert!(bad.is_empty() || !m.contains(bad), "{m}");
        }
    }
}
