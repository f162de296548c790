//! Limits every write is checked against before anything is stored: how deep a record may
//! nest, how large its JSON may be, and how large an indexed value may be. Whatever a write
//! is allowed to carry, every read can return.

use std::io::Write;

use serde_json::{Map, Value};

use crate::config::WriteOptimization;
use crate::error::{Error, Result};

/// How deep a record may nest: objects and arrays inside the record, the record itself being
/// level 1. Stored copies wrap the record once more (the payload envelope, a queued write),
/// and `serde_json` reads back at most 128 levels, so this leaves room to spare.
pub(crate) const MAX_NESTING_DEPTH: usize = 100;
/// Default `writeOptimization.maxPayloadBytes`: the largest record JSON a write accepts. It
/// stays below MongoDB's 16 MiB document limit, so a write the fallback queue has to hold
/// fits in one queue document.
pub(crate) const DEFAULT_MAX_PAYLOAD_BYTES: u64 = 8 * 1024 * 1024;
/// Default `writeOptimization.maxIndexedValueBytes`: the largest string an indexed property
/// may hold (indexed values are copied into the index store's head and version rows).
pub(crate) const DEFAULT_MAX_INDEXED_VALUE_BYTES: u64 = 64 * 1024;

/// The limits in force for one collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WriteLimits {
    max_payload: u64,
    max_indexed_value: u64,
}

/// Counts bytes written, keeping none; stops the writer once past `limit`.
struct Counter {
    n: u64,
    limit: u64,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.n += buf.len() as u64;
        if self.n > self.limit {
            return Err(std::io::Error::other("over the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl WriteLimits {
    /// The limits `writeOptimization` sets (defaults where it is silent).
    pub fn from_config(w: &WriteOptimization) -> Self {
        WriteLimits {
            max_payload: w.max_payload_bytes.unwrap_or(DEFAULT_MAX_PAYLOAD_BYTES),
            max_indexed_value: w
                .max_indexed_value_bytes
                .unwrap_or(DEFAULT_MAX_INDEXED_VALUE_BYTES),
        }
    }

    /// Checks a record's nesting depth and the size of its JSON text.
    pub fn check_record(&self, data: &Value) -> Result<()> {
        let depth = nesting_depth(data);
        if depth > MAX_NESTING_DEPTH {
            return Err(Error::Validation(format!(
                "a record may nest at most {MAX_NESTING_DEPTH} levels of objects and arrays; this one nests {depth}"
            )));
        }
        let mut counter = Counter {
            n: 0,
            limit: self.max_payload,
        };
        if serde_json::to_writer(&mut counter, data).is_err() {
            return Err(Error::Validation(format!(
                "a record's JSON may be at most {} bytes (writeOptimization.maxPayloadBytes); this one is larger",
                self.max_payload
            )));
        }
        Ok(())
    }

    /// Checks the size of each indexed value.
    pub fn check_indexed(&self, meta: &Map<String, Value>) -> Result<()> {
        for (path, value) in meta {
            if let Value::String(s) = value {
                if s.len() as u64 > self.max_indexed_value {
                    return Err(Error::Validation(format!(
                        "indexed property {path:?} holds {} bytes; indexed values may be at most {} bytes \
                         (writeOptimization.maxIndexedValueBytes). Declare collectionMaps.<collection>.indexedProps \
                         to index only the properties you list by",
                        s.len(),
                        self.max_indexed_value
                    )));
                }
            }
        }
        Ok(())
    }
}

/// How deep `v` nests (a scalar is 0, `{}` and `[]` are 1), walked without recursion so that
/// no input can exhaust the stack.
pub(crate) fn nesting_depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Object(m) => Box::new(m.values()),
            Value::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..levels {
            v = json!({ "a": v });
        }
        v
    }

    #[test]
    fn depth_counts_objects_and_arrays() {
        assert_eq!(nesting_depth(&json!(1)), 0);
        assert_eq!(nesting_depth(&json!({})), 1);
        assert_eq!(nesting_depth(&json!({"a": [1, {"b": []}]})), 4);
        assert_eq!(nesting_depth(&nested(300)), 300);
    }

    #[test]
    fn limits_refuse_what_reads_could_not_return() {
        let limits = WriteLimits::from_config(&WriteOptimization {
            max_payload_bytes: Some(20),
            max_indexed_value_bytes: Some(3),
            ..Default::default()
        });
        assert!(limits.check_record(&nested(MAX_NESTING_DEPTH - 1)).is_err()); // too large
        let unlimited = WriteLimits::from_config(&WriteOptimization::default());
        assert!(unlimited.check_record(&nested(MAX_NESTING_DEPTH)).is_ok());
        assert!(matches!(
            unlimited.check_record(&nested(MAX_NESTING_DEPTH + 1)),
            Err(Error::Validation(_))
        ));
        assert!(limits.check_record(&json!({"a": "0123456789"})).is_ok());
        assert!(limits.check_record(&json!({"a": "0123456789abc"})).is_err());
        let meta = |s: &str| json!({ "p": s }).as_object().cloned().unwrap_or_default();
        assert!(limits.check_indexed(&meta("abc")).is_ok());
        assert!(limits.check_indexed(&meta("abcd")).is_err());
    }
}
