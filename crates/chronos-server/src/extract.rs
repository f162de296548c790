//! Extractors: the caller's key, the route in the path, JSON bodies, `If-Match`, and who
//! writes and why. Each refuses a bad request with a problem+json answer.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::IF_MATCH;
use axum::http::request::Parts;
use bytes::Bytes;
use chronos_db::{DbType, Route, WriteMeta};
use serde::de::DeserializeOwned;

use crate::keys::{self, Caller};
use crate::problem::Problem;
use crate::state::Shared;

/// The header naming who writes (stored with the version as its actor).
pub const ACTOR_HEADER: &str = "chronos-actor";
/// The header saying why (stored with the version as its reason).
pub const REASON_HEADER: &str = "chronos-reason";

impl FromRequestParts<Shared> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Problem> {
        if state.keys.is_open() {
            return Ok(Caller { scopes: None });
        }
        let presented = keys::presented(&parts.headers).ok_or_else(Problem::unauthorized)?;
        let caller = state
            .keys
            .authenticate(presented)
            .await
            .ok_or_else(Problem::unauthorized)?;
        Ok(caller)
    }
}

/// The route named by the path: `/v1/{dbType}/generic/{collection}/...` or
/// `/v1/{dbType}/{tier}/{tenantOrDomain}/{collection}/...`. A path that names no route is
/// answered 404, as a route outside the caller's scope is.
#[derive(Debug, Clone)]
pub struct RoutePath {
    /// The route.
    pub route: Route,
    /// The record id, for record resources.
    pub id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for RoutePath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(mut p) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| Problem::bad_request(format!("bad path: {e}")))?;
        let unknown = || Problem::not_found("no such record or collection");
        let db_type: DbType = p
            .remove("db_type")
            .and_then(|t| t.parse().ok())
            .ok_or_else(unknown)?;
        let collection = p.remove("collection").ok_or_else(unknown)?;
        let route = match (p.remove("tier").as_deref(), p.remove("owner")) {
            (None, None) => Route::generic(db_type, collection),
            (Some("tenant"), Some(owner)) => Route::tenant(db_type, owner, collection),
            (Some("domain"), Some(owner)) => Route::domain(db_type, owner, collection),
            _ => return Err(unknown()),
        };
        Ok(RoutePath {
            route,
            id: p.remove("id"),
        })
    }
}

/// A JSON body, refused with a problem+json 400 when it does not parse (413 over the body
/// limit is answered by the limit layer).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            Problem::new(status, "VALIDATION", e.body_text())
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| Problem::bad_request(format!("the body is not the JSON expected: {e}")))
    }
}

/// The ov of `If-Match: "<ov>"` (the ETag of a read), when sent.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<u64>);

impl IfMatch {
    /// The ov, or 428 when the request did not send one.
    pub fn required(self) -> Result<u64, Problem> {
        self.0.ok_or_else(Problem::precondition_required)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let Some(v) = parts.headers.get(IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = v.to_str().unwrap_or_default().trim();
        let text = text.strip_prefix("W/").unwrap_or(text);
        text.trim_matches('"')
            .parse()
            .map(|ov| IfMatch(Some(ov)))
            .map_err(|_| {
                Problem::bad_request(format!(
                    "If-Match must be the ETag of a read, as \"3\"; got {text:?}"
                ))
            })
    }
}

/// Who writes and why, from the `Chronos-Actor` and `Chronos-Reason` headers (both
/// optional).
#[derive(Debug, Clone)]
pub struct Meta(pub WriteMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let header = |name: &str| -> Result<String, Problem> {
            match parts.headers.get(name) {
                None => Ok(String::new()),
                Some(v) => v
                    .to_str()
                    .map(str::to_string)
                    .map_err(|_| Problem::bad_request(format!("{name} must be visible ASCII"))),
            }
        };
        Ok(Meta(WriteMeta::new(
            header(ACTOR_HEADER)?,
            header(REASON_HEADER)?,
        )))
    }
}

/// Query parameters, refused with a problem+json 400 when they do not parse.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e| Problem::bad_request(format!("bad query parameters: {}", e.body_text())))
    }
}
