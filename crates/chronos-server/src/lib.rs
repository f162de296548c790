//! # chronos-server
//!
//! chronos-db over HTTP. Every operation of the library is a resource under its route,
//! `/v1/{dbType}/{tier}[/{tenantOrDomain}]/{collection}/...`:
//!
//! | resource | methods |
//! |---|---|
//! | `records` | `POST` create (201, `Location`, `ETag`), `GET` list (`filter`, `sort` as JSON) |
//! | `records/{id}` | `GET` latest / `?ov=` / `?at=`, `PUT` update, `DELETE` delete (both with `If-Match`), `PATCH` enrich |
//! | `records/{id}/history`, `/diff`, `/verify` | `GET` |
//! | `records/{id}/restore`, `/erase` | `POST` (erase with `If-Match`) |
//! | `batch`, `restore`, `import` | `POST` |
//! | `changes`, `changes/stream` (Server-Sent Events), `export` (JSON Lines), `counters` | `GET` |
//!
//! and `/v1/fallback`, `/v1/health`, `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
//! Errors are RFC 9457 problems with a stable `type` per kind. API keys
//! (`Authorization: Bearer chr_<id>_<secret>`) are configured as argon2 hashes, each with
//! scopes over database types, tiers, tenants and domains and a right (read, write, admin);
//! a key asking for a route outside its scopes gets the same 404 as a missing record.
//!
//! ```
//! use chronos_db::{Chronos, ChronosConfig};
//! use chronos_server::{router, ServeConfig};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let chronos = Chronos::init(ChronosConfig::embedded(dir.path())).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let app = router(chronos, ServeConfig::default());
//! tokio::spawn(async move { axum::serve(listener, app).await });
//!
//! let client = reqwest::Client::new();
//! let created = client
//!     .post(format!("http://{addr}/v1/runtime/generic/users/records"))
//!     .json(&serde_json::json!({"email": "a@example.com"}))
//!     .send()
//!     .await?;
//! assert_eq!(created.status(), 201);
//! assert_eq!(created.headers()["etag"], "\"0\"");
//! # Ok(()) }
//! ```

mod access;
pub mod config;
mod error;
mod extract;
mod keys;
mod metrics;
mod openapi;
pub mod problem;
mod routes;
mod server;
mod state;

pub use config::{load_file, Access, FeedConfig, KeyConfig, Scope, ServeConfig};
pub use error::ServeError;
pub use extract::{ACTOR_HEADER, REASON_HEADER};
pub use keys::{generate_key, NewKey};
pub use openapi::document as openapi_document;
pub use problem::Problem;
pub use server::{router, serve, serve_on, shutdown_signal};
