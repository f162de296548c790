//! # chronos-db
//!
//! JSON records with their full version history. An index store (SQLite embedded by default,
//! MongoDB in production) keeps heads, the version index and counters; object storage (local
//! files by default, S3-compatible in production) keeps the immutable JSON of every version.
//! Records are routed by database type × tier (generic / domain / tenant) × collection to
//! separate databases and buckets, so tenants are isolated by construction.
//!
//! ```
//! use chronos_db::{
//!     ChangesQuery, Chronos, ChronosConfig, DbType, ListQuery, ReadOptions, Route, VersionKind,
//!     WriteMeta,
//! };
//! use serde_json::json;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let chronos = Chronos::init(ChronosConfig::embedded(dir.path()).with_tenant("tenant-a")).await?;
//! let users = chronos.with(Route::tenant(DbType::Runtime, "tenant-a", "users"))?;
//!
//! let v0 = users.create(json!({"email": "a@example.com", "plan": "free"}), WriteMeta::new("app", "signup")).await?;
//! let v1 = users.update(&v0.id, json!({"email": "a@example.com", "plan": "pro"}), v0.ov, WriteMeta::new("app", "upgrade")).await?;
//! assert_eq!((v0.ov, v1.ov), (0, 1));
//!
//! // Time travel: the record as it was when it was created.
//! let then = users.get_as_of(&v0.id, v0.at, ReadOptions::default()).await?.expect("existed");
//! assert_eq!(then.data["plan"], "free");
//!
//! // A stale expected ov is a conflict, and nothing is written.
//! let stale = users.update(&v0.id, json!({"plan": "x"}), 0, WriteMeta::new("app", "late")).await;
//! assert!(matches!(stale, Err(chronos_db::Error::Conflict { current: 1, .. })));
//!
//! let page = users.list_by_meta(ListQuery::filter(json!({"plan": "pro"})), ReadOptions::default()).await?;
//! assert_eq!(page.items.len(), 1);
//!
//! // The change feed: every committed write once, in collection-version order.
//! let feed = users.changes(ChangesQuery::default()).await?;
//! let kinds: Vec<VersionKind> = feed.changes.iter().map(|c| c.kind).collect();
//! assert_eq!(kinds, [VersionKind::Create, VersionKind::Update]);
//! assert_eq!(feed.after_cv, Some(v1.cv)); // resume after it
//! # Ok(()) }
//! ```
//!
//! Layers (calls flow top to bottom, never back up): [`Chronos`] (the instance); the
//! [`fallback`] queue's replay worker; the [`Collection`] handle (the version protocol, in
//! `ops/`) with [`counters`]; routing (`route/`); the index store (`index/`: small
//! capability traits, the commit rules, the SQLite and MongoDB backends) and the payload
//! store (`blob/`, over the `object_store` crate); [`config`] and [`query`] at the bottom.
//!
//! Errors: one [`Error`] enum with matchable variants; [`Error::kind`] gives its stable
//! [`ErrorKind`] (with a code such as `CONFLICT`), and [`Error::is_transient`] whether the same
//! call may pass later.
//!
//! Stored formats: every index database records its format and every payload envelope
//! carries its own. A store written by an older release is migrated, in resumable steps, when
//! a process first uses it; a store of a newer format is refused with
//! [`Error::Precondition`] before anything is written (see `docs/operations.md`).
//!
//! Cargo features: `mongodb` and `s3` (on by default) build the MongoDB index store and S3
//! payload storage; without them only the embedded pair (SQLite + local files) is compiled,
//! and a configuration naming a missing kind is refused. `backend-api` makes the index and
//! payload-store traits, their backends and the index contract tests public, for writing a
//! custom backend.

#[cfg(feature = "backend-api")]
pub mod blob;
#[cfg(not(feature = "backend-api"))]
mod blob;
mod chronos;
pub mod config;
pub mod counters;
pub mod crypt;
mod durable_dir;
mod error;
#[doc(hidden)]
pub mod failpoint;
pub mod fallback;
pub mod health;
#[cfg(feature = "backend-api")]
pub mod index;
#[cfg(not(feature = "backend-api"))]
mod index;
pub mod maintenance;
mod model;
mod names;
mod ops;
pub mod query;
mod route;
pub mod transfer;

pub use chronos::Chronos;
pub use config::{ChronosConfig, DbType};
pub use error::{Error, ErrorKind, Result};
/// The RFC 6902 JSON Patch crate whose [`json_patch::Patch`] a [`Diff`] holds.
pub use json_patch;
pub use model::{ReadOptions, Version, VersionKind, WriteMeta, WriteResult};
pub use ops::{
    ChangePage, ChangesQuery, Collection, Diff, EnrichMeta, FeedOptions, HistoryPage, HistoryQuery,
};
pub use query::{ListQuery, Page, Sort, SortBy};
pub use route::{Route, Tier};
