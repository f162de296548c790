//! The payload blob of a version: the record's JSON wrapped with its identity (id, ov) and
//! provenance, so object storage alone can tell what each blob is. The collection version and
//! the time live in the index, which assigns them at commit.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// What `item.json` holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// Record id.
    pub id: String,
    /// Object version.
    pub ov: u64,
    /// Logical delete marker.
    pub deleted: bool,
    /// Who wrote it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// Enrichment functions that produced this version.
    #[serde(default, rename = "functionIds", skip_serializing_if = "Vec::is_empty")]
    pub function_ids: Vec<String>,
    /// The record.
    pub data: Value,
}

impl Envelope {
    /// Parses a stored envelope and checks it belongs to `(id, ov)`.
    pub fn from_bytes(bytes: &[u8], key: &str, id: &str, ov: u64) -> Result<Self> {
        let env: Envelope = serde_json::from_slice(bytes)
            .map_err(|e| Error::Corrupt(format!("payload {key} is not a chronos envelope: {e}")))?;
        if env.id != id || env.ov != ov {
            return Err(Error::Corrupt(format!(
                "payload {key} holds {}@v{} but the index says {id}@v{ov}",
                env.id, env.ov
            )));
        }
        Ok(env)
    }
}
