//! Version numbers as JavaScript can hold them: `ov`, `cv` and the cvs of pages are JSON
//! numbers while they are at most 2^53 - 1 (`Number.MAX_SAFE_INTEGER`), and decimal strings
//! beyond, which the package turns into `BigInt`s. Nothing else is changed (a record's
//! `data` least of all).

use serde_json::Value;

/// Keys whose values are object or collection versions.
const VERSION_KEYS: [&str; 6] = ["ov", "cv", "afterCv", "nextAfterOv", "fromOv", "toOv"];

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE: u64 = (1 << 53) - 1;

/// Rewrites every version number above [`MAX_SAFE`] in `value` as a decimal string.
pub(crate) fn make_safe(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::Number(n) if VERSION_KEYS.contains(&key.as_str()) => {
                        if let Some(big) = n.as_u64().filter(|n| *n > MAX_SAFE) {
                            *v = Value::String(big.to_string());
                        }
                    }
                    // A record's own data is the user's: left as it is.
                    _ if key == "data" => {}
                    other => make_safe(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(make_safe),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_unsafe_version_numbers_become_strings() {
        let mut v = json!({"ov": 3, "cv": MAX_SAFE + 1, "data": {"cv": 9007199254740993u64},
                           "changes": [{"cv": MAX_SAFE}], "count": MAX_SAFE + 5});
        make_safe(&mut v);
        assert_eq!(v["ov"], 3);
        assert_eq!(v["cv"], "9007199254740992");
        assert_eq!(v["changes"][0]["cv"], MAX_SAFE);
        assert_eq!(v["data"]["cv"], 9007199254740993u64);
        // Only version keys: a user's large number stays a number.
        assert_eq!(v["count"], MAX_SAFE + 5);
    }
}
