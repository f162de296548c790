//! Errors as RFC 9457 problem details (`application/problem+json`): a stable `type` per
//! error kind, the HTTP status, a human `detail`, and the fields a client acts on
//! (`currentOv` of a conflict, `transient` of a backend failure).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chronos_db::{Error, ErrorKind};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One problem: what every error response carries.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A stable URI naming the kind of problem (`urn:chronos-db:problem:conflict`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// A short summary of the kind.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened, for a person.
    pub detail: String,
    /// The stable code of the kind (`CONFLICT`, `NOT_FOUND`, ...).
    pub code: &'static str,
    /// The record's current ov, on a conflict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_ov: Option<u64>,
    /// Whether the same request may pass later (backend failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transient: Option<bool>,
    /// The ids a batch found taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
}

impl Problem {
    /// A problem of `code` with `status` and `detail`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind: type_uri(code),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            current_ov: None,
            transient: None,
            ids: None,
        }
    }

    /// 400: the request itself is malformed (bad JSON, a bad query parameter).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "VALIDATION", detail)
    }

    /// 404 for a record or route that does not exist, or that the key may not see: the two
    /// answer alike, so a key learns nothing about what lies outside its scope.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "NOT_FOUND", detail)
    }

    /// 401: no key, or a key that is not configured.
    pub fn unauthorized() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "send an API key as `Authorization: Bearer <key>`",
        )
    }

    /// 403: the key sees the route but may not do this there.
    pub fn forbidden(need: &str) -> Self {
        Problem::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!("this key may not {need} here"),
        )
    }

    /// 428: a write of an existing record without `If-Match`.
    pub fn precondition_required() -> Self {
        Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "PRECONDITION_REQUIRED",
            "send the version you read as `If-Match: \"<ov>\"` (the ETag of your read)",
        )
    }

    /// The problem of a library error. A stale expected ov is 412 when the client sent
    /// `If-Match` (`stale_if_match`), else 409.
    pub fn from_error(e: &Error, stale_if_match: bool) -> Self {
        let (status, code) = match e.kind() {
            ErrorKind::Conflict if stale_if_match && matches!(e, Error::Conflict { .. }) => {
                (StatusCode::PRECONDITION_FAILED, "CONFLICT")
            }
            ErrorKind::Conflict => (StatusCode::CONFLICT, "CONFLICT"),
            ErrorKind::NotFound | ErrorKind::Route => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            ErrorKind::Deleted => (StatusCode::CONFLICT, "DELETED"),
            ErrorKind::Validation => (StatusCode::BAD_REQUEST, "VALIDATION"),
            ErrorKind::Precondition => (StatusCode::CONFLICT, "PRECONDITION"),
            ErrorKind::Backend if e.is_transient() => (StatusCode::SERVICE_UNAVAILABLE, "BACKEND"),
            ErrorKind::Backend => (StatusCode::BAD_GATEWAY, "BACKEND"),
            ErrorKind::Unsupported => (StatusCode::NOT_IMPLEMENTED, "UNSUPPORTED"),
            ErrorKind::Config => (StatusCode::INTERNAL_SERVER_ERROR, "CONFIG"),
            ErrorKind::Corrupt => (StatusCode::INTERNAL_SERVER_ERROR, "CORRUPT"),
            ErrorKind::Shredded => (StatusCode::GONE, "SHREDDED"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        };
        let mut p = Problem::new(status, code, e.to_string());
        match e {
            Error::Conflict { current, .. } => p.current_ov = Some(*current),
            Error::Deleted { ov, .. } => p.current_ov = Some(*ov),
            Error::BatchConflict { ids, .. } => p.ids = Some(ids.clone()),
            Error::Backend { .. } => p.transient = Some(e.is_transient()),
            _ => {}
        }
        p
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem::from_error(&e, false)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let transient = self.transient == Some(true);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if transient {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The `type` URI of a problem code.
fn type_uri(code: &str) -> &'static str {
    match code {
        "CONFLICT" => "urn:chronos-db:problem:conflict",
        "NOT_FOUND" => "urn:chronos-db:problem:not-found",
        "DELETED" => "urn:chronos-db:problem:deleted",
        "VALIDATION" => "urn:chronos-db:problem:validation",
        "PRECONDITION" => "urn:chronos-db:problem:precondition",
        "PRECONDITION_REQUIRED" => "urn:chronos-db:problem:precondition-required",
        "UNAUTHORIZED" => "urn:chronos-db:problem:unauthorized",
        "FORBIDDEN" => "urn:chronos-db:problem:forbidden",
        "METHOD_NOT_ALLOWED" => "urn:chronos-db:problem:method-not-allowed",
        "TIMEOUT" => "urn:chronos-db:problem:timeout",
        "BACKEND" => "urn:chronos-db:problem:backend",
        "UNSUPPORTED" => "urn:chronos-db:problem:unsupported",
        "CONFIG" => "urn:chronos-db:problem:config",
        "CORRUPT" => "urn:chronos-db:problem:corrupt",
        "SHREDDED" => "urn:chronos-db:problem:shredded",
        _ => "urn:chronos-db:problem:internal",
    }
}

/// What a handler returns on failure.
pub type ApiResult<T> = Result<T, Problem>;
