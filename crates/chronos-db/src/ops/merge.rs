//! Deep merge of enrichment patches: objects merge key by key, arrays are unioned (objects
//! matched by `id` or `_id` and merged, other elements by equality), scalars are replaced.

use serde_json::Value;

/// The identity of an array element for union purposes: its `id` or `_id`, if an object has one.
fn identity(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(m) => m.get("id").or_else(|| m.get("_id")),
        _ => None,
    }
}

/// Merges `patch` into `base`.
pub fn deep_merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(p)) => {
            for item in p {
                let matched = match identity(&item) {
                    Some(id) => b.iter().position(|e| identity(e) == Some(id)),
                    None => b.iter().position(|e| *e == item),
                };
                match matched {
                    Some(i) => {
                        if let Some(existing) = b.get_mut(i) {
                            deep_merge(existing, item);
                        }
                    }
                    None => b.push(item),
                }
            }
        }
        (slot, patch) => *slot = patch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(base: Value, patch: Value) -> Value {
        let mut b = base;
        deep_merge(&mut b, patch);
        b
    }

    #[test]
    fn objects_merge_deeply_and_scalars_are_replaced() {
        assert_eq!(
            merged(
                json!({"a": 1, "m": {"x": 1, "y": {"z": 1}}}),
                json!({"a": 2, "m": {"y": {"w": 2}}, "n": null})
            ),
            json!({"a": 2, "m": {"x": 1, "y": {"z": 1, "w": 2}}, "n": null})
        );
    }

    #[test]
    fn arrays_are_unioned() {
        assert_eq!(
            merged(
                json!({"tags": ["a", "b"]}),
                json!({"tags": ["b", "c", "a"]})
            ),
            json!({"tags": ["a", "b", "c"]})
        );
        assert_eq!(
            merged(
                json!({"items": [{"id": 1, "q": 1}, {"_id": "x", "v": 1}, {"n": 1}]}),
                json!({"items": [{"id": 1, "q": 2, "r": 1}, {"_id": "x", "w": 2}, {"n": 1}, {"n": 2}]})
            ),
            json!({"items": [{"id": 1, "q": 2, "r": 1}, {"_id": "x", "v": 1, "w": 2}, {"n": 1}, {"n": 2}]})
        );
    }

    #[test]
    fn type_changes_replace() {
        assert_eq!(
            merged(json!({"a": [1]}), json!({"a": {"b": 1}})),
            json!({"a": {"b": 1}})
        );
        assert_eq!(
            merged(json!({"a": {"b": 1}}), json!({"a": 3})),
            json!({"a": 3})
        );
    }
}
