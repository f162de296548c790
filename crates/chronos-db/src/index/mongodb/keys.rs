//! Wrapped data keys on MongoDB (`chronos_keys` in each database; `_id` is `{c, r}`, the
//! route's key `{c: "", r: ""}`). MongoDB gives no control over where a deleted document's
//! bytes linger in its storage files; the wrapped key is removed from the document, and
//! the operations guide says how storage is compacted.

use async_trait::async_trait;
use mongodb::bson::{doc, spec::BinarySubtype, Binary, Bson, Document};
use mongodb::options::ReturnDocument;

use super::errors::err;
use super::MongoIndex;
use crate::error::{Error, Result};
use crate::index::keys::{KeySlot, KeyStore, StoredKey};

const KEYS: &str = "chronos_keys";

fn slot_id(slot: KeySlot<'_>) -> Document {
    match slot {
        KeySlot::Route => doc! {"c": "", "r": ""},
        KeySlot::Record { collection, id } => doc! {"c": collection, "r": id},
    }
}

fn binary(bytes: &[u8]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    }
}

fn read(d: &Document) -> Result<StoredKey> {
    let bad = |field: &str| Error::Corrupt(format!("data key document: bad field {field}"));
    Ok(StoredKey {
        key_id: d.get_str("keyId").map_err(|_| bad("keyId"))?.to_string(),
        wrapped: match d.get("wrapped") {
            Some(Bson::Binary(b)) => Some(b.bytes.clone()),
            None | Some(Bson::Null) => None,
            Some(_) => return Err(bad("wrapped")),
        },
        wrapped_by: d
            .get_str("wrappedBy")
            .map_err(|_| bad("wrappedBy"))?
            .to_string(),
        created_at: d.get_i64("createdAt").map_err(|_| bad("createdAt"))?,
        shredded_at: d.get_i64("shreddedAt").ok(),
    })
}

impl MongoIndex {
    fn keys_coll(&self, db: &str) -> mongodb::Collection<Document> {
        self.client.database(db).collection(KEYS)
    }
}

#[async_trait]
impl KeyStore for MongoIndex {
    async fn key(&self, db: &str, slot: KeySlot<'_>) -> Result<Option<StoredKey>> {
        self.ready(db).await?;
        let found = self
            .keys_coll(db)
            .find_one(doc! {"_id": slot_id(slot)})
            .await
            .map_err(err("read a data key"))?;
        found.as_ref().map(read).transpose()
    }

    async fn add_key(&self, db: &str, slot: KeySlot<'_>, key: &StoredKey) -> Result<StoredKey> {
        self.ready(db).await?;
        let mut fields = doc! {
            "keyId": &key.key_id,
            "wrappedBy": &key.wrapped_by,
            "createdAt": key.created_at,
        };
        if let Some(w) = &key.wrapped {
            fields.insert("wrapped", binary(w));
        }
        let stored = self
            .keys_coll(db)
            .find_one_and_update(doc! {"_id": slot_id(slot)}, doc! {"$setOnInsert": fields})
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(err("store a data key"))?;
        match stored {
            Some(d) => read(&d),
            None => Err(Error::internal("store a data key", "the key went missing")),
        }
    }

    async fn rewrap_key(
        &self,
        db: &str,
        slot: KeySlot<'_>,
        key_id: &str,
        wrapped: &[u8],
        wrapped_by: &str,
    ) -> Result<bool> {
        self.ready(db).await?;
        let done = self
            .keys_coll(db)
            .update_one(
                doc! {"_id": slot_id(slot), "keyId": key_id, "wrapped": {"$exists": true}},
                doc! {"$set": {"wrapped": binary(wrapped), "wrappedBy": wrapped_by}},
            )
            .await
            .map_err(err("rewrap a data key"))?;
        Ok(done.matched_count == 1)
    }

    async fn destroy_key(&self, db: &str, slot: KeySlot<'_>, at: i64) -> Result<Option<String>> {
        self.ready(db).await?;
        let filter = doc! {"_id": slot_id(slot), "wrapped": {"$exists": true}};
        let coll = self.keys_coll(db);
        let found = match slot {
            KeySlot::Route => coll
                .find_one_and_update(
                    filter,
                    doc! {"$unset": {"wrapped": ""}, "$set": {"shreddedAt": at}},
                )
                .await
                .map_err(err("destroy a data key"))?,
            KeySlot::Record { .. } => coll
                .find_one_and_delete(filter)
                .await
                .map_err(err("destroy a data key"))?,
        };
        found
            .as_ref()
            .map(read)
            .transpose()
            .map(|k| k.map(|k| k.key_id))
    }
}
