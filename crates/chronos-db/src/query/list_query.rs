//! `ListQuery` (what `list_by_meta` takes) and `Page` (what it returns).

use serde_json::Value;

use crate::model::Version;

/// Default page size.
pub(crate) const DEFAULT_LIMIT: usize = 50;
/// Largest page size accepted.
pub(crate) const MAX_LIMIT: usize = 1000;

/// What a listing is ordered by. Ties are always broken by id, in the same direction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Record id.
    #[default]
    Id,
    /// Time of the latest version.
    UpdatedAt,
    /// Time of the first version.
    CreatedAt,
    /// An indexed property. Values of different types order as MongoDB orders them:
    /// missing/null, numbers, strings, booleans.
    Prop(String),
}

/// Sort order of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sort {
    /// Sort key.
    pub by: SortBy,
    /// Descending instead of ascending.
    pub descending: bool,
}

impl Sort {
    /// Ascending by `by`.
    pub fn asc(by: SortBy) -> Self {
        Sort {
            by,
            descending: false,
        }
    }

    /// Descending by `by`.
    pub fn desc(by: SortBy) -> Self {
        Sort {
            by,
            descending: true,
        }
    }
}

/// A listing of the latest versions of records, filtered on indexed properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// Filter in the language described in [the module docs](crate::query) (`None` = every
    /// record).
    pub filter: Option<Value>,
    /// Order of the results.
    pub sort: Sort,
    /// Page size (default 50, at most 1000).
    pub limit: Option<usize>,
    /// Continue after this record (the `next_after_id` of the previous page).
    pub after_id: Option<String>,
    /// Also list logically deleted records.
    pub include_deleted: bool,
}

impl ListQuery {
    /// A query with this filter and the defaults otherwise.
    pub fn filter(filter: Value) -> Self {
        ListQuery {
            filter: Some(filter),
            ..ListQuery::default()
        }
    }

    /// Sets the sort order.
    pub fn sorted(mut self, sort: Sort) -> Self {
        self.sort = sort;
        self
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues after a record id.
    pub fn after(mut self, id: impl Into<String>) -> Self {
        self.after_id = Some(id.into());
        self
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page {
    /// The records of this page, in order.
    pub items: Vec<Version>,
    /// Pass as `after_id` to get the next page; `None` on the last page.
    pub next_after_id: Option<String>,
}
