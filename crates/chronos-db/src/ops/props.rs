//! Indexed properties of a collection (`collectionMaps.<coll>.indexedProps`), required
//! properties (`validation.requiredIndexed`) and read projections.

use serde_json::{Map, Value};

use crate::config::CollectionMap;
use crate::error::{Error, Result};
use crate::names;
use crate::query::filter::{insert_at, lookup};

/// Which properties of a collection are indexed and which a write must carry.
#[derive(Debug, Clone, Default)]
pub struct IndexPolicy {
    /// Declared paths; empty = every top-level property.
    declared: Vec<String>,
    required: Vec<String>,
}

impl IndexPolicy {
    /// The policy of a collection map (or of an unmapped collection: every top-level property).
    pub fn from_config(map: Option<&CollectionMap>) -> Self {
        IndexPolicy {
            declared: map.map(|m| m.indexed_props.clone()).unwrap_or_default(),
            required: map
                .and_then(|m| m.validation.as_ref())
                .map(|v| v.required_indexed.clone())
                .unwrap_or_default(),
        }
    }

    /// Declared indexed paths (empty = every top-level property).
    pub fn declared(&self) -> &[String] {
        &self.declared
    }

    /// The indexed properties of a record: a flat map of path -> value. Only scalar values
    /// (string, number, boolean, null) are indexed; arrays and objects are left out, so every
    /// backend compares and orders indexed values the same way.
    pub fn extract(&self, data: &Value) -> Map<String, Value> {
        let mut meta = Map::new();
        if self.declared.is_empty() {
            if let Value::Object(obj) = data {
                for (k, v) in obj {
                    if is_scalar(v) && !k.contains('.') && names::check_prop_path(k).is_ok() {
                        meta.insert(k.clone(), v.clone());
                    }
                }
            }
        } else {
            for path in &self.declared {
                if let Some(v) = lookup(data, path).filter(|v| is_scalar(v)) {
                    meta.insert(path.clone(), v.clone());
                }
            }
        }
        meta
    }

    /// Checks that the record carries every required property (non-null).
    pub fn check_required(&self, meta: &Map<String, Value>) -> Result<()> {
        let missing: Vec<&str> = self
            .required
            .iter()
            .filter(|p| meta.get(p.as_str()).is_none_or(Value::is_null))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(format!(
                "required indexed properties missing or null: {}",
                missing.join(", ")
            )))
        }
    }

    /// Checks that a filter or sort may use `path`.
    pub fn check_queryable(&self, path: &str) -> Result<()> {
        names::check_prop_path(path).map_err(Error::Validation)?;
        let ok = if self.declared.is_empty() {
            !path.contains('.')
        } else {
            self.declared.iter().any(|p| p == path)
        };
        if ok {
            Ok(())
        } else if self.declared.is_empty() {
            Err(Error::Validation(format!(
                "{path:?} is not indexed: this collection indexes its top-level properties only"
            )))
        } else {
            Err(Error::Validation(format!(
                "{path:?} is not indexed; indexed properties: {}",
                self.declared.join(", ")
            )))
        }
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Checks a write payload: it must be a JSON object.
pub fn check_payload(data: &Value) -> Result<()> {
    if data.is_object() {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "a record must be a JSON object, got {}",
            crate::query::filter::kind(data)
        )))
    }
}

/// Keeps only the projected paths of `data` (nested paths keep their nesting).
pub fn project(data: Value, paths: &[String]) -> Result<Value> {
    for p in paths {
        names::check_prop_path(p).map_err(|e| Error::Validation(format!("projection: {e}")))?;
    }
    let mut out = Value::Object(Map::new());
    for path in paths {
        if let Some(v) = lookup(&data, path) {
            insert_at(&mut out, path, v.clone());
        }
    }
    Ok(out)
}
