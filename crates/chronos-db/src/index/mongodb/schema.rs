//! Indexes of a collection's head and version collections.

use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;
use std::time::Duration;

use super::docs::meta_field;
use super::errors::err;
use super::Colls;
use crate::error::Result;

fn model(keys: Document, unique: bool) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(IndexOptions::builder().unique(unique).build())
        .build()
}

/// Creates (idempotently) the commit-point unique index, the time-travel and collection-version
/// indexes, the listing indexes and one index per declared indexed property.
pub async fn ensure_indexes(colls: &Colls, indexed_props: &[String]) -> Result<()> {
    let (head, ver) = (&colls.head, &colls.ver);
    let ver_indexes = vec![
        model(doc! {"id": 1, "ov": 1}, true),
        model(doc! {"id": 1, "at": -1, "ov": -1}, false),
        model(doc! {"cv": 1}, false),
    ];
    ver.create_indexes(ver_indexes)
        .await
        .map_err(err("create version indexes"))?;
    let mut head_indexes = vec![
        model(doc! {"at": 1, "_id": 1}, false),
        model(doc! {"createdAt": 1, "_id": 1}, false),
    ];
    for prop in indexed_props {
        head_indexes.push(model(doc! {meta_field(prop): 1, "_id": 1}, false));
    }
    head.create_indexes(head_indexes)
        .await
        .map_err(err("create head indexes"))?;
    let ttl = IndexModel::builder()
        .keys(doc! {"expiresAt": 1})
        .options(
            IndexOptions::builder()
                .expire_after(Duration::from_secs(0))
                .build(),
        )
        .build();
    colls
        .locks
        .create_index(ttl)
        .await
        .map_err(err("create lock TTL index"))?;
    Ok(())
}
