//! The payload of a version: the record's JSON wrapped with its identity (id, ov) and
//! provenance, so object storage alone can tell what each blob is. The collection version and
//! the time live in the index, which assigns them at commit. A payload kept inline in its
//! version row leaves out what the row says already (id, ov, deleted).

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

/// An inline payload as written: the envelope without id, ov and deleted.
#[derive(Serialize)]
struct InlineOut<'a> {
    actor: &'a str,
    reason: &'a str,
    #[serde(rename = "functionIds", skip_serializing_if = "<[String]>::is_empty")]
    function_ids: &'a [String],
    data: &'a Value,
}

/// An inline payload as read back.
#[derive(Deserialize)]
struct InlineIn {
    actor: String,
    reason: String,
    #[serde(default, rename = "functionIds")]
    function_ids: Vec<String>,
    data: Value,
}

/// Parses stored JSON. The bytes are checked as UTF-8 once, in bulk, and then parsed as text,
/// which spares the parser checking every string it meets (a listing page parses fifty
/// payloads); bytes that are not UTF-8 go to the byte parser, whose error says where.
fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

fn unserialisable(e: serde_json::Error) -> Error {
    Error::Validation(format!("payload cannot be serialised: {e}"))
}

impl Envelope {
    /// The JSON of the whole envelope (`item.json`, devShadow).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(unserialisable)
    }

    /// The JSON kept in a version row: the envelope without id, ov and deleted.
    pub fn to_inline_json(&self) -> Result<String> {
        serde_json::to_string(&InlineOut {
            actor: &self.actor,
            reason: &self.reason,
            function_ids: &self.function_ids,
            data: &self.data,
        })
        .map_err(unserialisable)
    }

    /// Parses an inline payload (uncompressed) of the version `(id, ov)` whose row says
    /// `deleted`.
    pub fn from_inline(bytes: &[u8], id: &str, ov: u64, deleted: bool) -> Result<Self> {
        let inline: InlineIn = parse(bytes).map_err(|e| {
            Error::Corrupt(format!(
                "inline payload of {id}@v{ov} is not a chronos payload: {e}"
            ))
        })?;
        Ok(Envelope {
            id: id.to_string(),
            ov,
            deleted,
            actor: inline.actor,
            reason: inline.reason,
            function_ids: inline.function_ids,
            data: inline.data,
        })
    }

    /// Parses a stored envelope and checks it belongs to `(id, ov)`.
    pub fn from_bytes(bytes: &[u8], key: &str, id: &str, ov: u64) -> Result<Self> {
        let env: Envelope = parse(bytes)
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
