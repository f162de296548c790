//! The `encryption` section: whether payloads are encrypted, where the master key comes from,
//! and whether every record gets a key of its own.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Encryption at rest of every stored payload (see [`crate::crypt`]).
///
/// ```json
/// "encryption": { "enabled": true, "masterKey": { "env": "CHRONOS_MASTER_KEY" }, "perRecord": true }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptionConfig {
    /// Encrypt payloads written from now on (those written before stay readable).
    pub enabled: bool,
    /// Where the master key (32 bytes, base64 or hex) is read from; required when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_key: Option<MasterKeySource>,
    /// Give every record a key of its own (wrapped by its route's key), so that erasing the
    /// record destroys its key and every copy of its payloads becomes unreadable. Default
    /// false: one key per route (tenant, domain or generic database).
    #[serde(default)]
    pub per_record: bool,
}

/// Where a master key is read from. Only the place is configured: the key itself never is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum MasterKeySource {
    /// The environment variable of this name holds the key.
    Env(String),
    /// The file at this path holds the key (readable by the process only, ideally).
    File(PathBuf),
}

impl EncryptionConfig {
    /// Encryption on, with the master key in environment variable `var`.
    pub fn from_env(var: impl Into<String>) -> Self {
        EncryptionConfig {
            enabled: true,
            master_key: Some(MasterKeySource::Env(var.into())),
            per_record: false,
        }
    }

    /// Encryption on, with the master key in the file at `path`.
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        EncryptionConfig {
            enabled: true,
            master_key: Some(MasterKeySource::File(path.into())),
            per_record: false,
        }
    }

    /// The same, with a key per record when `per_record`.
    pub fn with_per_record(mut self, per_record: bool) -> Self {
        self.per_record = per_record;
        self
    }
}
