//! list_by_meta: filtered, sorted, keyset-paginated listing of the latest versions.

use futures::{StreamExt, TryStreamExt};

use super::read::project_item;
use super::{check_id, Collection};
use crate::error::{Error, Result};
use crate::index::HeadQuery;
use crate::model::{ReadOptions, Version};
use crate::query::list_query::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::query::{Filter, ListQuery, Page, SortBy};

/// Payload reads in flight per listing.
const LOAD_CONCURRENCY: usize = 16;

impl Collection {
    /// Lists the latest versions of records whose indexed properties match `query.filter`,
    /// in `query.sort` order, one page at a time. Deleted records are left out unless
    /// `include_deleted` is set.
    pub async fn list_by_meta(&self, query: ListQuery, opts: ReadOptions) -> Result<Page> {
        let head_query = self.plan(&query)?;
        self.check_read_options(&opts)?;
        let limit = head_query.limit - 1;
        let mut heads = self.index().list_heads(&self.inner.ns, &head_query).await?;
        // An empty page after an id is where a mistyped id shows: only then is it looked up.
        if let (true, Some(after)) = (heads.is_empty(), &head_query.after_id) {
            if self.head(after).await?.is_none() {
                return Err(Error::Validation(format!(
                    "after_id {after:?} is not a record of {}",
                    self.name()
                )));
            }
        }
        let next_after_id = if heads.len() > limit {
            heads.truncate(limit);
            heads.last().map(|h| h.version.id.clone())
        } else {
            None
        };
        // Payloads in the index (inline, or fresh devShadows) are decoded right away; the
        // rest are read from object storage, up to LOAD_CONCURRENCY at a time.
        self.warm_keys().await?;
        let at_hand: Vec<Option<Result<Version>>> = match opts.presign {
            true => heads.iter().map(|_| None).collect(),
            false => heads.iter().map(|h| self.at_hand(h)).collect(),
        };
        // The futures are built first: a stream mapping borrowed heads through a closure would
        // make this future lose `Send` (a higher-ranked lifetime the compiler cannot prove).
        let loads: Vec<_> = heads
            .iter()
            .zip(&at_hand)
            .filter(|(_, ready)| ready.is_none())
            .map(|(h, _)| self.load_head(h, &opts))
            .collect();
        let loaded: Vec<Version> = match loads.is_empty() {
            true => Vec::new(),
            false => {
                futures::stream::iter(loads)
                    .buffered(LOAD_CONCURRENCY)
                    .try_collect()
                    .await?
            }
        };
        let mut loaded = loaded.into_iter();
        let mut items = Vec::with_capacity(heads.len());
        for ready in at_hand {
            let item = match ready {
                Some(item) => project_item(item?, &opts)?,
                None => loaded
                    .next()
                    .ok_or_else(|| Error::internal("list records", "a loaded item went missing"))?,
            };
            items.push(item);
        }
        Ok(Page {
            items,
            next_after_id,
        })
    }

    /// Validates a query and turns it into a head query that fetches one extra row (to know
    /// whether a next page exists).
    fn plan(&self, query: &ListQuery) -> Result<HeadQuery> {
        let filter = match &query.filter {
            Some(json) => {
                let f = Filter::parse(json)?;
                for path in f.paths() {
                    self.inner.policy.check_queryable(path)?;
                }
                Some(f)
            }
            None => None,
        };
        if let SortBy::Prop(p) = &query.sort.by {
            self.inner.policy.check_queryable(p)?;
        }
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::Validation(format!(
                "limit must be 1 to {MAX_LIMIT}, got {limit}"
            )));
        }
        if let Some(after) = &query.after_id {
            check_id(after)?;
        }
        Ok(HeadQuery {
            filter,
            sort: query.sort.clone(),
            limit: limit + 1,
            after_id: query.after_id.clone(),
            include_deleted: query.include_deleted,
            written_after_cv: None,
        })
    }
}
