//! The stored format of MongoDB index databases (the `chronos_format` document) and every
//! migration from an older one, in one place (see [`crate::index::format`]).
//!
//! A migration runs when a process first uses a database. Each step is one idempotent
//! update of one collection, so a migration interrupted anywhere runs again from the start
//! and finds the finished steps with nothing left to change; the format is recorded once
//! every step is done.

use mongodb::bson::{doc, Bson, Document};
use mongodb::{Client, Database};

use super::docs::read_u64;
use super::errors::err;
use crate::error::Result;
use crate::failpoint;
use crate::index::format::{self, Opening, INDEX_FORMAT};

/// The collection holding the database's format document.
const FORMAT_COLLECTION: &str = "chronos_format";
/// The `_id` of the format document of the index.
const FORMAT_ID: &str = "index";

/// Brings database `db_name` to the current format, or refuses a newer one before writing.
pub async fn open(client: &Client, db_name: &str) -> Result<()> {
    let db = client.database(db_name);
    let meta = db.collection::<Document>(FORMAT_COLLECTION);
    let recorded = match meta
        .find_one(doc! {"_id": FORMAT_ID})
        .await
        .map_err(err("read the stored format"))?
    {
        Some(d) => Some(u32::try_from(read_u64(&d, "format")?).unwrap_or(u32::MAX)),
        None => None,
    };
    let names = match recorded {
        Some(_) => Vec::new(),
        None => db
            .list_collection_names()
            .await
            .map_err(err("list the database's collections"))?,
    };
    let has_data = recorded.is_some() || names.iter().any(|n| n != FORMAT_COLLECTION);
    match format::plan(db_name, recorded, has_data)? {
        Opening::Current => return Ok(()),
        Opening::Fresh => {}
        Opening::Migrate { from } => migrate(&db, db_name, from, &names).await?,
    }
    meta.update_one(
        doc! {"_id": FORMAT_ID},
        doc! {"$set": {"format": i64::from(INDEX_FORMAT)}},
    )
    .upsert(true)
    .await
    .map_err(err("record the stored format"))?;
    Ok(())
}

/// Runs every step from format `from` over the database's collections `names`.
async fn migrate(db: &Database, db_name: &str, from: u32, names: &[String]) -> Result<()> {
    let mut rows: Vec<&String> = names
        .iter()
        .filter(|n| n.ends_with("_ver") || n.ends_with("_head"))
        .collect();
    rows.sort();
    let total = rows.len();
    for (done, name) in rows.into_iter().enumerate() {
        if from < 1 {
            to_format_1(db, name).await?;
        }
        format::progress(db_name, from, name, done + 1, total);
        failpoint::hit(failpoint::AFTER_MIGRATION_STEP).await;
    }
    Ok(())
}

/// Format 0 to 1 for one version or head collection: every document gets the kind its ov
/// and delete marker tell (version 0 a create, a logical delete a delete, any other an
/// update), in that order, so that each update leaves the next only the rows it names.
async fn to_format_1(db: &Database, name: &str) -> Result<()> {
    let coll = db.collection::<Document>(name);
    let steps = [
        (doc! {"kind": Bson::Null, "ov": 0_i64}, "create"),
        (doc! {"kind": Bson::Null, "deleted": true}, "delete"),
        (doc! {"kind": Bson::Null}, "update"),
    ];
    for (filter, kind) in steps {
        coll.update_many(filter, doc! {"$set": {"kind": kind}})
            .await
            .map_err(err("give format-0 versions their kind"))?;
    }
    Ok(())
}
