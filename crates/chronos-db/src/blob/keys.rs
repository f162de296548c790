//! Payload keys. Every key starts with the index database name, so routes that share a bucket
//! never share keys: `<dbName>/<collection>/<id>/v<ov>/item.json`, with the side blobs of
//! base64 properties next to it.

/// The key of version `ov` of a record.
pub fn version_key(db_name: &str, collection: &str, id: &str, ov: u64) -> String {
    format!("{db_name}/{collection}/{id}/v{ov}/item.json")
}

/// The key used when the normal key is taken by an uncommitted blob (a writer that crashed or
/// lost the race): `<...>/v<ov>/item-<nonce>.json`. The version row records which key won.
pub fn alternate_version_key(
    db_name: &str,
    collection: &str,
    id: &str,
    ov: u64,
    nonce: &str,
) -> String {
    format!("{db_name}/{collection}/{id}/v{ov}/item-{nonce}.json")
}

/// The prefix of every payload of a record: `<dbName>/<collection>/<id>/`.
pub fn record_prefix(db_name: &str, collection: &str, id: &str) -> String {
    format!("{db_name}/{collection}/{id}/")
}

/// The key of a side blob (`file` is `blob.bin` or `text.txt`) of the version stored at
/// `item_key`: `<dir>/<path>/<file>` next to `item.json`, or `<dir>/<nonce>/<path>/<file>`
/// next to an alternate `item-<nonce>.json`.
pub fn side_key(item_key: &str, path: &str, file: &str) -> String {
    let (dir, name) = item_key.rsplit_once('/').unwrap_or(("", item_key));
    match name
        .strip_prefix("item-")
        .and_then(|n| n.strip_suffix(".json"))
    {
        Some(nonce) => format!("{dir}/{nonce}/{path}/{file}"),
        None => format!("{dir}/{path}/{file}"),
    }
}

/// What a payload key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadKey {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Object version.
    pub ov: u64,
    /// The item key of the version this blob belongs to (itself, for an item key; the
    /// `item.json` or `item-<nonce>.json` beside it, for a side blob).
    pub item_key: String,
}

/// Whether a path segment is an alternate-key nonce (a simple UUID: 32 hex digits).
fn is_nonce(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads a key of database `db_name`'s payload layout; `None` for a key that is not one.
pub fn parse_payload_key(db_name: &str, key: &str) -> Option<PayloadKey> {
    let rest = key.strip_prefix(db_name)?.strip_prefix('/')?;
    let mut parts = rest.splitn(4, '/');
    let (collection, id, version, tail) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let ov = version.strip_prefix('v')?.parse().ok()?;
    let dir = format!("{db_name}/{collection}/{id}/{version}");
    let item_key = if tail == "item.json" || tail.starts_with("item-") && tail.ends_with(".json") {
        key.to_string()
    } else {
        match tail.split_once('/') {
            Some((nonce, _)) if is_nonce(nonce) => format!("{dir}/item-{nonce}.json"),
            _ => format!("{dir}/item.json"),
        }
    };
    Some(PayloadKey {
        collection: collection.to_string(),
        id: id.to_string(),
        ov,
        item_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_keys_follow_the_item_key() {
        assert_eq!(
            side_key("db/c/id/v3/item.json", "doc.pdf", "blob.bin"),
            "db/c/id/v3/doc.pdf/blob.bin"
        );
        assert_eq!(
            side_key("db/c/id/v3/item-abc.json", "img", "text.txt"),
            "db/c/id/v3/abc/img/text.txt"
        );
    }

    #[test]
    fn every_key_maps_back_to_its_version() {
        let nonce = "0123456789abcdef0123456789abcdef";
        let item = version_key("db", "c", "r1", 7);
        let alt = alternate_version_key("db", "c", "r1", 7, nonce);
        for (key, owner) in [
            (item.clone(), item.clone()),
            (side_key(&item, "note.body", "text.txt"), item.clone()),
            (alt.clone(), alt.clone()),
            (side_key(&alt, "file", "blob.bin"), alt.clone()),
        ] {
            let parsed = parse_payload_key("db", &key).unwrap();
            assert_eq!(
                (parsed.collection.as_str(), parsed.id.as_str(), parsed.ov),
                ("c", "r1", 7)
            );
            assert_eq!(parsed.item_key, owner, "{key}");
        }
        assert_eq!(parse_payload_key("other", &item), None);
        assert_eq!(parse_payload_key("db", "db/c/r1/x/item.json"), None);
        assert_eq!(parse_payload_key("db", "db/c/r1"), None);
    }
}
