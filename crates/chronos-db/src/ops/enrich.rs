//! enrich: a new version holding the latest data deep-merged with one or more patches, with
//! the enrichment function recorded as provenance.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::limits::{nesting_depth, MAX_NESTING_DEPTH};
use super::merge::deep_merge;
use super::new_version::{AppendMode, NewVersion, Prev};
use super::{check_id, Collection};
use crate::error::{Error, Result};
use crate::model::{VersionKind, WriteMeta, WriteResult};
use crate::names;

/// Attempts of an enrich without an expected ov, each on the latest version.
const ENRICH_ATTEMPTS: usize = 8;

/// Who enriches, with which function, and on which version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrichMeta {
    /// The enrichment function (recorded on the version as provenance), e.g. `enricher@v1`.
    pub function_id: Option<String>,
    /// Who enriches.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// The ov the patch was computed against. When set, a stale ov is a `Conflict`; when not,
    /// the patch is merged into whatever version is latest (retrying if another write lands
    /// in between).
    pub expected_ov: Option<u64>,
}

impl EnrichMeta {
    /// Enrichment by `function_id`.
    pub fn new(
        function_id: impl Into<String>,
        actor: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        EnrichMeta {
            function_id: Some(function_id.into()),
            actor: actor.into(),
            reason: reason.into(),
            expected_ov: None,
        }
    }

    /// Conflict-checks against `ov`.
    pub fn expecting(mut self, ov: u64) -> Self {
        self.expected_ov = Some(ov);
        self
    }
}

fn patches(patch: Value) -> Result<Vec<Value>> {
    let list = match patch {
        Value::Array(items) => items,
        other => vec![other],
    };
    if list.is_empty() {
        return Err(Error::Validation("enrich needs at least one patch".into()));
    }
    if let Some(bad) = list.iter().find(|p| !p.is_object()) {
        return Err(Error::Validation(format!(
            "an enrich patch must be a JSON object, got {}",
            crate::query::filter::kind(bad)
        )));
    }
    // A patch deeper than a record may be could never merge into one (and is not walked).
    if list.iter().any(|p| nesting_depth(p) > MAX_NESTING_DEPTH) {
        return Err(Error::Validation(format!(
            "an enrich patch may nest at most {MAX_NESTING_DEPTH} levels of objects and arrays"
        )));
    }
    Ok(list)
}

impl Collection {
    /// Deep-merges `patch` (an object, or an array of objects applied in order) into the latest
    /// version: objects merge key by key, arrays are unioned (objects matched by `id`/`_id`),
    /// scalars are replaced. Writes a new version carrying `meta.function_id` as provenance.
    pub async fn enrich(&self, id: &str, patch: Value, meta: EnrichMeta) -> Result<WriteResult> {
        check_id(id)?;
        let patches = patches(patch)?;
        if let Some(f) = &meta.function_id {
            names::check_function_id(f).map_err(Error::Validation)?;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let head = match meta.expected_ov {
                Some(ov) => self.live_head(id, ov).await?,
                None => self.live_head_any(id).await?,
            };
            let mut data = self.load(&head.latest).await?.data;
            for p in patches.iter().cloned() {
                deep_merge(&mut data, p);
            }
            self.check_record(&data)?;
            let outcome = self
                .append(NewVersion {
                    id,
                    prev: Prev::Head(&head.latest),
                    data,
                    deleted: false,
                    meta: WriteMeta::new(meta.actor.clone(), meta.reason.clone()),
                    kind: VersionKind::Enrich,
                    function_ids: meta.function_id.iter().cloned().collect(),
                    mode: AppendMode::Queueable,
                })
                .await;
            match outcome {
                Err(Error::Conflict { .. })
                    if meta.expected_ov.is_none() && attempt < ENRICH_ATTEMPTS => {}
                other => return other,
            }
        }
    }
}
