//! How a version's payload is stored: the envelope JSON (gzip-compressed when
//! `writeOptimization.compressionEnabled` and large enough), base64 properties
//! (`collectionMaps.<coll>.base64Props`) moved out into their own blobs, and the devShadow copy.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};

use super::envelope::Envelope;
use crate::config::{Base64Prop, ChronosConfig};
use crate::error::{Error, Result};
use crate::query::filter::{insert_at, kind, lookup};

/// Payloads smaller than this are stored uncompressed (gzip would not pay off).
pub const COMPRESS_MIN_BYTES: usize = 1024;
/// Default `devShadow.maxBytesPerDoc`.
pub const DEFAULT_SHADOW_MAX_BYTES: u64 = 1024 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The key marking a base64 property moved out to its own blob.
const BLOB_REF: &str = "$blob";

/// A base64 property decoded out of a record, waiting to be stored.
#[derive(Debug)]
pub struct SideBlob {
    /// Property path.
    pub path: String,
    /// Decoded bytes (`blob.bin`).
    pub bytes: Bytes,
    /// Text rendition (`text.txt`), when `preferredText`.
    pub text: Option<String>,
}

/// The payload settings of one collection.
#[derive(Debug, Clone, Default)]
pub struct PayloadCodec {
    compress: bool,
    base64: BTreeMap<String, Base64Prop>,
    /// `Some((ttl micros, max bytes))` when devShadow is on.
    shadow: Option<(i64, u64)>,
    /// Largest stored payload kept in the version row (0: the `objects` layout).
    inline_max: usize,
}

/// A version's payload as it will be stored.
#[derive(Debug)]
pub struct Encoded {
    /// The stored bytes (the envelope JSON, gzip-compressed when that is on and pays).
    pub bytes: Bytes,
    /// Kept in the version row rather than as an object.
    pub inline: bool,
    /// The envelope JSON to keep in the head as a devShadow (never for an inline payload,
    /// which the head holds already).
    pub shadow: Option<String>,
}

fn gzip(bytes: &[u8]) -> Result<Bytes> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes)
        .and_then(|()| enc.finish())
        .map(Bytes::from)
        .map_err(|e| Error::internal("compress payload", e))
}

/// The JSON text of stored bytes: gunzipped when they are compressed (they start with the
/// gzip magic, which JSON text never does), as they are otherwise.
fn uncompressed<'a>(bytes: &'a [u8], key: &str) -> Result<Cow<'a, [u8]>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| Error::Corrupt(format!("payload {key} is not valid gzip: {e}")))?;
    Ok(Cow::Owned(out))
}

impl PayloadCodec {
    /// The settings of `collection` in `config`.
    pub fn from_config(config: &ChronosConfig, collection: &str) -> Self {
        PayloadCodec {
            compress: config.write_optimization.compression_enabled == Some(true),
            base64: config
                .collection_maps
                .get(collection)
                .map(|m| m.base64_props.clone())
                .unwrap_or_default(),
            shadow: config.dev_shadow.as_ref().filter(|d| d.enabled).map(|d| {
                (
                    i64::from(d.ttl_hours) * 3_600_000_000,
                    d.max_bytes_per_doc.unwrap_or(DEFAULT_SHADOW_MAX_BYTES),
                )
            }),
            inline_max: config.write_optimization.inline_limit(),
        }
    }

    /// How an envelope is stored: in the version row when no base64 property was moved out
    /// and its inline form's stored bytes fit the inline limit; else as an object (the whole
    /// envelope), with a devShadow when that is on and the JSON small enough.
    pub fn encode(&self, env: &Envelope, has_side_blobs: bool) -> Result<Encoded> {
        if self.inline_max > 0 && !has_side_blobs {
            let bytes = self.compressed(env.to_inline_json()?)?;
            if bytes.len() <= self.inline_max {
                return Ok(Encoded {
                    bytes,
                    inline: true,
                    shadow: None,
                });
            }
        }
        let json = env.to_json()?;
        let shadow = match self.shadow {
            Some((_, max)) if !has_side_blobs && json.len() as u64 <= max => Some(json.clone()),
            _ => None,
        };
        Ok(Encoded {
            bytes: self.compressed(json)?,
            inline: false,
            shadow,
        })
    }

    /// The stored bytes of a JSON text: gzip-compressed when compression is on and the text
    /// is large enough for it to pay.
    fn compressed(&self, json: String) -> Result<Bytes> {
        match self.compress && json.len() >= COMPRESS_MIN_BYTES {
            true => gzip(json.as_bytes()),
            false => Ok(Bytes::from(json)),
        }
    }

    /// Parses stored bytes (compressed or not) back into an envelope of `(id, ov)`.
    pub fn decode(bytes: &[u8], key: &str, id: &str, ov: u64) -> Result<Envelope> {
        Envelope::from_bytes(&uncompressed(bytes, key)?, key, id, ov)
    }

    /// Parses an inline payload (compressed or not) of `(id, ov)`, whose row says `deleted`.
    pub fn decode_inline(bytes: &[u8], id: &str, ov: u64, deleted: bool) -> Result<Envelope> {
        Envelope::from_inline(&uncompressed(bytes, "(inline)")?, id, ov, deleted)
    }

    /// Whether a head's shadow written at `at` (microseconds) may still be served at `now`.
    pub fn shadow_fresh(&self, at: i64, now: i64) -> bool {
        self.shadow.is_some_and(|(ttl, _)| now - at < ttl)
    }

    /// Whether [`PayloadCodec::extract`] may change a record (base64 properties are
    /// configured).
    pub fn moves_properties(&self) -> bool {
        !self.base64.is_empty()
    }

    /// Moves every configured base64 property out of `data`, leaving a `{"$blob": {...}}`
    /// reference. Fails, before anything is stored, on a value that is not valid base64 (or
    /// not valid UTF-8 text when `preferredText`).
    pub fn extract(&self, data: &mut Value) -> Result<Vec<SideBlob>> {
        let mut out = Vec::new();
        for (path, prop) in &self.base64 {
            let encoded = match lookup(data, path) {
                Some(Value::String(encoded)) => encoded,
                None | Some(Value::Null) => continue,
                // Kept as is, it would read back as (or be taken for) a blob reference.
                Some(other) => {
                    return Err(Error::Validation(format!(
                        "{path}: a base64 property must be a string (or null), not {}",
                        kind(other)
                    )))
                }
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .map_err(|e| Error::Validation(format!("{path}: not valid base64: {e}")))?;
            let text = match prop.preferred_text {
                Some(true) => Some(String::from_utf8(bytes.clone()).map_err(|_| {
                    Error::Validation(format!("{path}: decoded bytes are not UTF-8 text"))
                })?),
                _ => None,
            };
            let reference = json!({BLOB_REF: {
                "contentType": prop.content_type,
                "size": bytes.len(),
                "text": text.is_some(),
            }});
            insert_at(data, path, reference);
            out.push(SideBlob {
                path: path.clone(),
                bytes: Bytes::from(bytes),
                text,
            });
        }
        Ok(out)
    }

    /// The configured base64 property paths present in `data` (after they were put back).
    pub fn paths_in(&self, data: &Value) -> Vec<String> {
        self.base64
            .keys()
            .filter(|p| lookup(data, p).is_some())
            .cloned()
            .collect()
    }

    /// The property paths of `data` holding blob references.
    pub fn references(&self, data: &Value) -> Vec<String> {
        self.base64
            .keys()
            .filter(|p| lookup(data, p).and_then(|v| v.get(BLOB_REF)).is_some())
            .cloned()
            .collect()
    }
}

/// Puts the base64 text of a side blob back at `path`.
pub fn restore_base64(data: &mut Value, path: &str, bytes: &[u8]) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    insert_at(data, path, Value::String(encoded));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_round_trips_and_is_detected() {
        let codec = PayloadCodec {
            compress: true,
            ..PayloadCodec::default()
        };
        let env = Envelope {
            id: "a".into(),
            ov: 0,
            deleted: false,
            actor: "x".into(),
            reason: "y".into(),
            function_ids: vec![],
            data: json!({"text": "z".repeat(5000)}),
        };
        let bytes = codec.encode(&env, false).unwrap().bytes;
        assert!(bytes.starts_with(&GZIP_MAGIC));
        assert!(bytes.len() < 1000);
        let back = PayloadCodec::decode(&bytes, "k", "a", 0).unwrap();
        assert_eq!(back.data, env.data);
    }

    /// A small payload is kept inline without what its row says (id, ov, deleted) and reads
    /// back whole; one over the limit is a whole envelope for an object.
    #[test]
    fn inline_payloads_leave_out_what_the_row_says() {
        let codec = PayloadCodec {
            inline_max: 200,
            ..PayloadCodec::default()
        };
        let env = |data: Value| Envelope {
            id: "record-1".into(),
            ov: 3,
            deleted: true,
            actor: "x".into(),
            reason: "y".into(),
            function_ids: vec!["f@1".into()],
            data,
        };
        let small = codec.encode(&env(json!({"n": 1})), false).unwrap();
        assert!(small.inline);
        let text = std::str::from_utf8(&small.bytes).unwrap();
        assert!(
            !text.contains("record-1") && !text.contains("\"ov\""),
            "{text}"
        );
        let back = PayloadCodec::decode_inline(&small.bytes, "record-1", 3, true).unwrap();
        assert_eq!(
            (
                back.id,
                back.ov,
                back.deleted,
                back.actor,
                back.function_ids,
                back.data
            ),
            (
                "record-1".into(),
                3,
                true,
                "x".into(),
                vec!["f@1".to_string()],
                json!({"n": 1})
            )
        );
        let big = codec
            .encode(&env(json!({"pad": "p".repeat(300)})), false)
            .unwrap();
        assert!(!big.inline);
        assert_eq!(
            PayloadCodec::decode(&big.bytes, "k", "record-1", 3)
                .unwrap()
                .ov,
            3
        );
        let with_blobs = codec.encode(&env(json!({"n": 1})), true).unwrap();
        assert!(!with_blobs.inline, "versions with base64 blobs are objects");
    }
}
