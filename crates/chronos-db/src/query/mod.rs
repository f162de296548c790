//! List queries: the filter language (a subset of MongoDB's), sorting and pagination.

pub(crate) mod filter;
pub(crate) mod list_query;

pub use filter::{CmpOp, Filter};
pub use list_query::{ListQuery, Page, Sort, SortBy};
