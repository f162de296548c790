//! Mapping between MongoDB documents and [`VersionRow`] / [`HeadRow`] and their lean forms.
//!
//! Indexed properties live in a `meta` sub-document with flat keys: a dotted path such as
//! `customer.id` is stored as `customer~id` (`~` never occurs in a path), so MongoDB does not
//! read the dots as nesting.

use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, Bson, Document};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};
use crate::index::chain::Hash;
use crate::index::{Anchor, HeadRow, Located, PayloadRef, VersionRef, VersionRow};
use crate::model::VersionKind;

/// The `meta` field name of an indexed path.
pub fn meta_field(path: &str) -> String {
    format!("meta.{}", path.replace('.', "~"))
}

/// A scalar JSON value as BSON (integers as Int64, other numbers as Double).
pub fn to_bson(v: &Value) -> Bson {
    match v {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Bson::Int64(i),
            None => Bson::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Bson::String(s.clone()),
        other => Bson::String(other.to_string()),
    }
}

fn to_json(b: &Bson) -> Option<Value> {
    Some(match b {
        Bson::Null => Value::Null,
        Bson::Boolean(v) => Value::Bool(*v),
        Bson::Int32(i) => Value::from(*i),
        Bson::Int64(i) => Value::from(*i),
        Bson::Double(f) => Value::Number(Number::from_f64(*f)?),
        Bson::String(s) => Value::String(s.clone()),
        _ => return None,
    })
}

fn meta_doc(meta: &Map<String, Value>) -> Document {
    meta.iter()
        .map(|(k, v)| (k.replace('.', "~"), to_bson(v)))
        .collect()
}

/// An ov or cv as the `i64` MongoDB stores.
pub fn int(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Validation(format!("version {v} is out of range")))
}

/// The `blobKey` and `payload` fields of a version: an object's key, or the inline bytes
/// (BinData) with an empty key.
fn payload_fields(payload: &PayloadRef) -> (&str, Bson) {
    match payload {
        PayloadRef::Object(key) => (key, Bson::Null),
        PayloadRef::Inline(bytes) => (
            "",
            Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: bytes.to_vec(),
            }),
        ),
    }
}

/// A hash as BinData (`null` when there is none).
fn hash_field(hash: Option<&Hash>) -> Bson {
    hash.map_or(Bson::Null, |h| {
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: h.to_vec(),
        })
    })
}

/// The document of a version row, keyed by its collection version (a claim's sentinel cv
/// leaves the key to the caller).
pub fn version_doc(row: &VersionRow) -> Result<Document> {
    let (key, inline) = payload_fields(&row.payload);
    let mut d = Document::new();
    if row.cv < crate::index::CLAIM_SENTINEL as u64 {
        d.insert("_id", super::changes::cv_key(row.cv));
    }
    d.extend(doc! {
        "id": &row.id,
        "ov": int(row.ov)?,
        "cv": int(row.cv)?,
        "at": row.at,
        "deleted": row.deleted,
        "blobKey": key,
        "payload": inline,
        "meta": meta_doc(&row.meta),
        "actor": &row.actor,
        "reason": &row.reason,
        "kind": row.kind.as_str(),
        "hash": hash_field(row.hash.as_ref()),
        "functionIds": function_ids_field(&row.function_ids),
    });
    Ok(d)
}

/// Enrichment function ids as an array (`null` when there are none, as for most versions).
fn function_ids_field(ids: &[String]) -> Bson {
    match ids.is_empty() {
        true => Bson::Null,
        false => Bson::Array(ids.iter().map(|f| Bson::String(f.clone())).collect()),
    }
}

/// The `$set` part of a head update pointing at `row` (with its inline payload, if any), with
/// the devShadow envelope.
pub fn head_fields(row: &VersionRow, shadow: Option<&str>) -> Result<Document> {
    let (key, inline) = payload_fields(&row.payload);
    Ok(doc! {
        "shadow": shadow.map_or(Bson::Null, |s| Bson::String(s.to_string())),
        "ov": int(row.ov)?,
        "cv": int(row.cv)?,
        "at": row.at,
        "deleted": row.deleted,
        "blobKey": key,
        "payload": inline,
        "meta": meta_doc(&row.meta),
        "actor": &row.actor,
        "reason": &row.reason,
        "kind": row.kind.as_str(),
        "hash": hash_field(row.hash.as_ref()),
        "functionIds": function_ids_field(&row.function_ids),
    })
}

/// The `$set` part of a head update anchoring its chain after `removed`, the newest version
/// retention removed.
pub fn anchor_fields(removed: &VersionRow) -> Result<Document> {
    Ok(doc! {"anchorOv": int(removed.ov)?, "anchor": hash_field(removed.hash.as_ref())})
}

/// The whole head document of a new record (version 0), for inserting.
/// A first version after ov 0 (an imported history whose older versions were pruned at
/// the source) anchors the record's chain after the version before it.
pub fn new_head_doc(row: &VersionRow, shadow: Option<&str>) -> Result<Document> {
    let mut d = doc! {"_id": &row.id, "createdAt": row.at};
    d.extend(head_fields(row, shadow)?);
    if let Some(before) = row.ov.checked_sub(1) {
        d.insert("anchorOv", int(before)?);
        d.insert("anchor", Bson::Null);
    }
    Ok(d)
}

fn corrupt(field: &str) -> impl FnOnce(mongodb::bson::document::ValueAccessError) -> Error + '_ {
    move |e| Error::Corrupt(format!("index document field {field}: {e}"))
}

/// An ov or cv field, stored as Int64 (or Int32 by some servers), never negative.
pub(crate) fn read_u64(d: &Document, field: &str) -> Result<u64> {
    let v = match d.get(field) {
        Some(Bson::Int32(i)) => i64::from(*i),
        _ => d.get_i64(field).map_err(corrupt(field))?,
    };
    u64::try_from(v)
        .map_err(|_| Error::Corrupt(format!("index document field {field} is negative")))
}

fn read_i64(d: &Document, field: &str) -> Result<i64> {
    match d.get(field) {
        Some(Bson::Int32(i)) => Ok(i64::from(*i)),
        _ => d.get_i64(field).map_err(corrupt(field)),
    }
}

/// The fields a lean read needs ([`read_ref`], [`read_located`]), for projections.
pub fn lean_projection() -> Document {
    doc! {"id": 1, "ov": 1, "cv": 1, "at": 1, "deleted": 1, "blobKey": 1, "payload": 1, "kind": 1, "shadow": 1}
}

/// Reads the lean part of a version or head document (`id_field` is `id` or `_id`).
pub fn read_ref(d: &Document, id_field: &str) -> Result<VersionRef> {
    Ok(VersionRef {
        id: d.get_str(id_field).map_err(corrupt(id_field))?.to_string(),
        ov: read_u64(d, "ov")?,
        cv: read_u64(d, "cv")?,
        at: read_i64(d, "at")?,
        deleted: d.get_bool("deleted").map_err(corrupt("deleted"))?,
        payload: match d.get("payload") {
            Some(Bson::Binary(b)) => PayloadRef::Inline(b.bytes.clone().into()),
            // A payload kept as an object.
            None | Some(Bson::Null) => PayloadRef::Object(
                d.get_str("blobKey")
                    .map_err(corrupt("blobKey"))?
                    .to_string(),
            ),
            Some(other) => {
                return Err(Error::Corrupt(format!(
                    "index document field payload is a {:?}, not binary data",
                    other.element_type()
                )))
            }
        },
    })
}

/// Reads a version or head document (`id_field` is `id` or `_id`) as a lean read answers
/// it; only a head has a shadow.
pub fn read_located(d: &Document, id_field: &str) -> Result<Located> {
    Ok(Located {
        version: read_ref(d, id_field)?,
        kind: read_kind(d)?,
        shadow: d.get_str("shadow").ok().map(str::to_string),
    })
}

/// Reads the kind field.
fn read_kind(d: &Document) -> Result<VersionKind> {
    match d.get("kind") {
        None | Some(Bson::Null) => Err(Error::Corrupt(
            "index document has no kind (a store of format 0 that was not migrated)".into(),
        )),
        Some(Bson::String(name)) => VersionKind::parse(name)
            .ok_or_else(|| Error::Corrupt(format!("index document field kind is {name:?}"))),
        Some(other) => Err(Error::Corrupt(format!(
            "index document field kind is a {:?}, not a string",
            other.element_type()
        ))),
    }
}

/// Reads a hash field (absent or `null`: none).
fn read_hash(d: &Document, field: &str) -> Result<Option<Hash>> {
    match d.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Binary(b)) => Hash::try_from(b.bytes.as_slice()).map(Some).map_err(|_| {
            Error::Corrupt(format!(
                "index document field {field} has {} bytes",
                b.bytes.len()
            ))
        }),
        Some(other) => Err(Error::Corrupt(format!(
            "index document field {field} is a {:?}, not binary data",
            other.element_type()
        ))),
    }
}

/// Reads a version row from a version or head document (`id_field` is `id` or `_id`).
pub fn read_version(d: &Document, id_field: &str) -> Result<VersionRow> {
    let r = read_ref(d, id_field)?;
    let mut meta = Map::new();
    if let Ok(m) = d.get_document("meta") {
        for (k, v) in m {
            if let Some(v) = to_json(v) {
                meta.insert(k.replace('~', "."), v);
            }
        }
    }
    let kind = read_kind(d)?;
    let hash = read_hash(d, "hash")?;
    let function_ids = match d.get("functionIds") {
        None | Some(Bson::Null) => Vec::new(),
        Some(Bson::Array(ids)) => ids
            .iter()
            .map(|f| match f {
                Bson::String(f) => Ok(f.clone()),
                other => Err(Error::Corrupt(format!(
                    "index document field functionIds holds a {:?}",
                    other.element_type()
                ))),
            })
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(Error::Corrupt(format!(
                "index document field functionIds is a {:?}, not an array",
                other.element_type()
            )))
        }
    };
    Ok(VersionRow {
        version: r,
        meta,
        actor: d.get_str("actor").map_err(corrupt("actor"))?.to_string(),
        reason: d.get_str("reason").map_err(corrupt("reason"))?.to_string(),
        kind,
        function_ids,
        digest: None,
        hash,
    })
}

/// Reads a head row.
pub fn read_head(d: &Document) -> Result<HeadRow> {
    Ok(HeadRow {
        latest: read_version(d, "_id")?,
        created_at: read_i64(d, "createdAt")?,
        shadow: d.get_str("shadow").ok().map(str::to_string),
        anchor: match d.get("anchorOv") {
            None | Some(Bson::Null) => None,
            Some(_) => Some(Anchor {
                ov: read_u64(d, "anchorOv")?,
                hash: read_hash(d, "anchor")?,
            }),
        },
    })
}
