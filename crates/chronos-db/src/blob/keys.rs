//! Payload keys. Every key starts with the index database name, so routes that share a bucket
//! never share keys: `<dbName>/<collection>/<id>/v<ov>/item.json`.

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
