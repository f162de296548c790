//! Hashed properties (`collectionMaps.<coll>.hashedProps`): the index keeps a keyed hash of
//! the value instead of the value, so equality and `$in` filters still find records while
//! the value itself is stored only encrypted.

use hmac::{KeyInit, Mac};
use serde_json::Value;

use super::data_key::DataKey;

/// What a hashed value starts with in the index.
pub(crate) const PREFIX: &str = "hmac:";

/// The indexed form of `value` at property `path` under route key `key` of database `db`:
/// HMAC-SHA-256 over the path and the value's JSON, keyed by a key derived from the route's.
pub(crate) fn hash(key: &DataKey, db: &str, path: &str, value: &Value) -> String {
    let derive = |bytes: &[u8], parts: &[&[u8]]| {
        let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(bytes) {
            Ok(mac) => mac,
            Err(_) => return Vec::new(),
        };
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    };
    let property_key = zeroize::Zeroizing::new(derive(
        key.bytes(),
        &[b"chronos-db hashed property v1", db.as_bytes()],
    ));
    let json = value.to_string();
    let digest = derive(&property_key, &[path.as_bytes(), json.as_bytes()]);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_values_hash_alike_under_one_key_only() {
        let (k1, k2) = (DataKey::generate(), DataKey::generate());
        let a = hash(&k1, "db", "email", &json!("a@x"));
        assert_eq!(a, hash(&k1, "db", "email", &json!("a@x")));
        assert!(a.starts_with(PREFIX) && !a.contains("a@x"));
        assert_ne!(a, hash(&k1, "db", "email", &json!("b@x")));
        assert_ne!(a, hash(&k2, "db", "email", &json!("a@x")));
        assert_ne!(a, hash(&k1, "db2", "email", &json!("a@x")));
        assert_ne!(a, hash(&k1, "db", "mail", &json!("a@x")));
        assert_ne!(hash(&k1, "db", "n", &json!(1)), hash(&k1, "db", "n", &json!("1")));
    }
}
