//! List queries: the filter language (a subset of MongoDB's), sorting and pagination.
//!
//! A filter is a JSON object in MongoDB style over a collection's indexed properties:
//! `{"status": "active", "age": {"$gte": 18}, "$or": [{"tier": "gold"}, {"tier": {"$exists":
//! false}}]}`. Operators: `$eq $ne $gt $gte $lt $lte $in $nin $exists $and $or`.
//! Comparisons are type-bracketed like MongoDB's: `$gt` on a number only matches numbers, on
//! a string only strings. `{"p": null}` matches a missing or null property. Indexed values
//! are scalars (strings, numbers, booleans, null), so operands are scalars too. A filter
//! nests `$and`/`$or` at most 16 deep, holds at most 256 conditions and at most 1,000 values
//! per `$in`/`$nin`; anything else is a `Validation` error that names the part at fault.
//!
//! Pages hold 50 records unless [`ListQuery::limit`] says otherwise (at most 1,000); pass
//! [`Page::next_after_id`] as [`ListQuery::after_id`] for the next one.
//!
//! ```
//! use chronos_db::{Chronos, ChronosConfig, DbType, ListQuery, ReadOptions, Route, Sort, SortBy, WriteMeta};
//! use serde_json::json;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let chronos = Chronos::init(ChronosConfig::embedded(dir.path()).with_tenant("t")).await?;
//! let users = chronos.with(Route::tenant(DbType::Runtime, "t", "users"))?;
//! for (name, age) in [("ann", 31), ("bob", 17), ("cy", 45)] {
//!     users.create(json!({"name": name, "age": age}), WriteMeta::new("app", "signup")).await?;
//! }
//! let adults = ListQuery::filter(json!({"age": {"$gte": 18}}))
//!     .sorted(Sort::desc(SortBy::Prop("age".into())))
//!     .limit(10);
//! let page = users.list_by_meta(adults, ReadOptions::default()).await?;
//! let names: Vec<&str> = page.items.iter().map(|v| v.data["name"].as_str().unwrap_or("")).collect();
//! assert_eq!(names, ["cy", "ann"]);
//! # Ok(()) }
//! ```

pub(crate) mod filter;
pub(crate) mod list_query;

// The parsed filter tree is internal; custom index backends (`backend-api`) translate it.
#[cfg(feature = "backend-api")]
pub use filter::{CmpOp, Filter};
#[cfg(not(feature = "backend-api"))]
pub(crate) use filter::{CmpOp, Filter};
pub use list_query::{ListQuery, Page, Sort, SortBy};
