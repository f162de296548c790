//! What JavaScript sends, as the library's types: write metadata, read options, listing
//! queries, restore targets and times.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chronos_db::maintenance::RestoreTarget;
use chronos_db::{ListQuery, ReadOptions, Sort, SortBy, WriteMeta};
use serde::Deserialize;
use serde_json::Value;

use crate::errors::bad_request;

/// `actor` and `reason` of a write (both optional in the seed's calls).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Meta {
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

impl Meta {
    /// The library's write metadata; a missing actor or reason is empty.
    pub(crate) fn into_write_meta(self) -> WriteMeta {
        WriteMeta::new(
            self.actor.unwrap_or_default(),
            self.reason.unwrap_or_default(),
        )
    }
}

/// The seed's read options: `{ presign, ttlSeconds, projection }`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ReadOpts {
    #[serde(default)]
    presign: bool,
    #[serde(default)]
    ttl_seconds: Option<u64>,
    #[serde(default)]
    projection: Option<Vec<String>>,
}

impl ReadOpts {
    /// The library's read options.
    pub(crate) fn into_options(self) -> ReadOptions {
        ReadOptions {
            presign: self.presign,
            ttl: self.ttl_seconds.map(Duration::from_secs),
            projection: self.projection,
        }
    }
}

/// The seed's listing: `{ filter, limit, afterId, sort: { <key>: 1 | -1 }, includeDeleted }`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListRequest {
    #[serde(default)]
    filter: Option<Value>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    after_id: Option<String>,
    #[serde(default)]
    sort: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    include_deleted: bool,
}

impl ListRequest {
    /// The library's listing query; a sort names one key with 1 (ascending) or -1.
    pub(crate) fn into_query(self) -> napi::Result<ListQuery> {
        let mut q = ListQuery {
            filter: self.filter,
            limit: self.limit,
            after_id: self.after_id,
            include_deleted: self.include_deleted,
            ..ListQuery::default()
        };
        if let Some(sort) = self.sort {
            let mut keys = sort.into_iter();
            let (key, dir) = match (keys.next(), keys.next()) {
                (Some(one), None) => one,
                _ => {
                    return Err(bad_request(
                        "sort",
                        "name exactly one key, as { updatedAt: -1 }",
                    ))
                }
            };
            let descending = match dir.as_i64() {
                Some(1) => false,
                Some(-1) => true,
                _ => return Err(bad_request("sort", format!("{key} must be 1 or -1"))),
            };
            let by = match key.as_str() {
                "id" | "_id" => SortBy::Id,
                "updatedAt" => SortBy::UpdatedAt,
                "createdAt" => SortBy::CreatedAt,
                other => SortBy::Prop(other.to_string()),
            };
            q.sort = Sort { by, descending };
        }
        Ok(q)
    }
}

/// A restore target: `{ ov }`, `{ cv }` or `{ at }` (an ISO time).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Target {
    #[serde(default)]
    ov: Option<u64>,
    #[serde(default)]
    cv: Option<u64>,
    #[serde(default)]
    at: Option<String>,
}

impl Target {
    /// The library's restore target; exactly one of `ov`, `cv` and `at`.
    pub(crate) fn into_target(self) -> napi::Result<RestoreTarget> {
        match (self.ov, self.cv, self.at) {
            (Some(ov), None, None) => Ok(RestoreTarget::Ov(ov)),
            (None, Some(cv), None) => Ok(RestoreTarget::Cv(cv)),
            (None, None, Some(at)) => Ok(RestoreTarget::At(time(&at)?)),
            _ => Err(bad_request(
                "restore target",
                "give exactly one of ov, cv and at",
            )),
        }
    }
}

/// An ISO 8601 time (RFC 3339), as the seed writes them.
pub(crate) fn time(text: &str) -> napi::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad_request(&format!("time {text:?}"), e))
}

/// Parses a request's JSON.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> napi::Result<T> {
    serde_json::from_str(json).map_err(|e| bad_request(what, e))
}
