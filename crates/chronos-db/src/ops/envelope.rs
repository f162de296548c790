//! The payload of a version: the record's JSON wrapped with its identity (id, ov) and
//! provenance, so object storage alone can tell what each blob is. The collection version and
//! the time live in the index, which assigns them at commit. A payload kept inline in its
//! version row leaves out what the row says already (id, ov, deleted).
//!
//! Both forms carry their format (`"format": 1`). Envelopes of format 0 (written before
//! envelopes carried one) hold the same fields; [`upgrade`] is the one place that turns an
//! older envelope into the current one, and refuses one newer than this build.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// The payload envelope format this build writes.
pub const ENVELOPE_FORMAT: u32 = 1;

/// A version's payload as the code knows it (the current envelope format).
#[derive(Debug, Serialize)]
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

/// `item.json` as written: the envelope with its format first.
#[derive(Serialize)]
struct ObjectOut<'a> {
    format: u32,
    #[serde(flatten)]
    envelope: &'a Envelope,
}

/// `item.json` as read back, of any format.
#[derive(Deserialize)]
struct ObjectIn {
    #[serde(default)]
    format: u32,
    id: String,
    ov: u64,
    deleted: bool,
    actor: String,
    reason: String,
    #[serde(default, rename = "functionIds")]
    function_ids: Vec<String>,
    data: Value,
}

/// An inline payload as written: the envelope without id, ov and deleted.
#[derive(Serialize)]
struct InlineOut<'a> {
    format: u32,
    actor: &'a str,
    reason: &'a str,
    #[serde(rename = "functionIds", skip_serializing_if = "<[String]>::is_empty")]
    function_ids: &'a [String],
    data: &'a Value,
}

/// An inline payload as read back, of any format.
#[derive(Deserialize)]
struct InlineIn {
    #[serde(default)]
    format: u32,
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

/// Brings an envelope of format `format` (read from `what`) to the current format: format 0
/// has the fields of format 1 and needs nothing; a format newer than this build's is
/// refused, since its fields may mean what this build does not know.
fn upgrade(format: u32, what: &str) -> Result<()> {
    match format {
        0 | ENVELOPE_FORMAT => Ok(()),
        newer => Err(Error::Precondition(format!(
            "payload {what} has envelope format {newer}, newer than this build of chronos-db \
             reads (format {ENVELOPE_FORMAT}); read it with a newer chronos-db"
        ))),
    }
}

fn unserialisable(e: serde_json::Error) -> Error {
    Error::Validation(format!("payload cannot be serialised: {e}"))
}

impl Envelope {
    /// The JSON of the whole envelope (`item.json`, devShadow).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(&ObjectOut {
            format: ENVELOPE_FORMAT,
            envelope: self,
        })
        .map_err(unserialisable)
    }

    /// The JSON kept in a version row: the envelope without id, ov and deleted.
    pub fn to_inline_json(&self) -> Result<String> {
        serde_json::to_string(&InlineOut {
            format: ENVELOPE_FORMAT,
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
        upgrade(inline.format, &format!("of {id}@v{ov} (inline)"))?;
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
        let env: ObjectIn = parse(bytes)
            .map_err(|e| Error::Corrupt(format!("payload {key} is not a chronos envelope: {e}")))?;
        upgrade(env.format, key)?;
        if env.id != id || env.ov != ov {
            return Err(Error::Corrupt(format!(
                "payload {key} holds {}@v{} but the index says {id}@v{ov}",
                env.id, env.ov
            )));
        }
        Ok(Envelope {
            id: env.id,
            ov: env.ov,
            deleted: env.deleted,
            actor: env.actor,
            reason: env.reason,
            function_ids: env.function_ids,
            data: env.data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope() -> Envelope {
        Envelope {
            id: "r".into(),
            ov: 2,
            deleted: false,
            actor: "a".into(),
            reason: "b".into(),
            function_ids: vec!["f@1".into()],
            data: json!({"x": 1}),
        }
    }

    #[test]
    fn both_forms_carry_their_format_and_read_back() {
        let env = envelope();
        let object = env.to_json().unwrap();
        let inline = env.to_inline_json().unwrap();
        for text in [&object, &inline] {
            assert!(text.starts_with(r#"{"format":1,"#), "{text}");
        }
        let back = Envelope::from_bytes(object.as_bytes(), "k", "r", 2).unwrap();
        assert_eq!(
            (back.data, back.function_ids),
            (env.data.clone(), env.function_ids.clone())
        );
        let back = Envelope::from_inline(inline.as_bytes(), "r", 2, false).unwrap();
        assert_eq!(back.data, env.data);
    }

    #[test]
    fn envelopes_of_format_0_read_as_written() {
        let object = r#"{"id":"r","ov":2,"deleted":false,"actor":"a","reason":"b","data":{"x":1}}"#;
        let back = Envelope::from_bytes(object.as_bytes(), "k", "r", 2).unwrap();
        assert_eq!((back.actor.as_str(), back.data), ("a", json!({"x": 1})));
        let inline = r#"{"actor":"a","reason":"b","functionIds":["f@1"],"data":[1]}"#;
        let back = Envelope::from_inline(inline.as_bytes(), "r", 2, true).unwrap();
        assert_eq!(
            (back.deleted, back.function_ids),
            (true, vec!["f@1".to_string()])
        );
    }

    #[test]
    fn an_envelope_of_a_newer_format_is_refused() {
        let object =
            r#"{"format":2,"id":"r","ov":2,"deleted":false,"actor":"a","reason":"b","data":{}}"#;
        let err = Envelope::from_bytes(object.as_bytes(), "k", "r", 2).unwrap_err();
        assert!(matches!(err, Error::Precondition(_)), "{err}");
        let inline = r#"{"format":2,"actor":"a","reason":"b","data":{}}"#;
        let err = Envelope::from_inline(inline.as_bytes(), "r", 2, false).unwrap_err();
        assert!(matches!(err, Error::Precondition(_)), "{err}");
    }
}
