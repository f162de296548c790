//! A collection handle: every operation of `chronos_db::Collection`, one JSON request in
//! (its `op` names the operation) and one JSON answer out.

use chronos_db::maintenance::RestoreOptions;
use chronos_db::transfer::{ExportedVersion, ImportOptions};
use chronos_db::{ChangesQuery, Collection, EnrichMeta, HistoryQuery};
use futures::TryStreamExt;
use napi_derive::napi;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::errors::to_napi;
use crate::instance::answer;
use crate::requests::{parse, time, ListRequest, Meta, ReadOpts, Target};

/// One request of a collection handle.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
enum Call {
    Create {
        data: Value,
        #[serde(flatten)]
        meta: Meta,
    },
    CreateMany {
        items: Vec<Value>,
        #[serde(flatten)]
        meta: Meta,
    },
    Update {
        id: String,
        data: Value,
        expected_ov: u64,
        #[serde(flatten)]
        meta: Meta,
    },
    Delete {
        id: String,
        expected_ov: u64,
        #[serde(flatten)]
        meta: Meta,
    },
    Enrich {
        id: String,
        patch: Value,
        #[serde(default)]
        function_id: Option<String>,
        #[serde(default)]
        expected_ov: Option<u64>,
        #[serde(flatten)]
        meta: Meta,
    },
    GetLatest {
        id: String,
        #[serde(default)]
        options: ReadOpts,
    },
    GetVersion {
        id: String,
        ov: u64,
        #[serde(default)]
        options: ReadOpts,
    },
    GetAsOf {
        id: String,
        at: String,
        #[serde(default)]
        options: ReadOpts,
    },
    ListByMeta {
        #[serde(default)]
        query: ListRequest,
        #[serde(default)]
        options: ReadOpts,
    },
    RestoreObject {
        id: String,
        target: Target,
        #[serde(flatten)]
        meta: Meta,
    },
    RestoreCollection {
        target: Target,
        #[serde(default)]
        dry_run: bool,
        #[serde(flatten)]
        meta: Meta,
    },
    Erase {
        id: String,
        expected_ov: u64,
        #[serde(flatten)]
        meta: Meta,
    },
    History {
        id: String,
        #[serde(default)]
        after_ov: Option<u64>,
        #[serde(default)]
        limit: Option<usize>,
        #[serde(default)]
        include_data: bool,
    },
    Diff {
        id: String,
        from_ov: u64,
        to_ov: u64,
    },
    Changes {
        #[serde(default)]
        after_cv: Option<u64>,
        #[serde(default)]
        limit: Option<usize>,
        #[serde(default)]
        include_data: bool,
    },
    Verify {
        id: String,
    },
    Export {},
    Import {
        versions: Vec<ExportedVersion>,
        #[serde(default)]
        skip_existing: bool,
    },
}

/// A handle on one collection of one route.
#[napi]
pub struct NativeCollection {
    coll: Collection,
}

impl NativeCollection {
    pub(crate) fn new(coll: Collection) -> Self {
        NativeCollection { coll }
    }
}

#[napi]
impl NativeCollection {
    /// Runs one request (`{"op": "create", ...}`) and answers its result as JSON.
    #[napi]
    pub async fn call(&self, request: String) -> napi::Result<String> {
        let call: Call = parse("request", &request)?;
        self.run(call).await
    }
}

impl NativeCollection {
    async fn run(&self, call: Call) -> napi::Result<String> {
        let c = &self.coll;
        match call {
            Call::Create { data, meta } => answer(
                &c.create(data, meta.into_write_meta())
                    .await
                    .map_err(to_napi)?,
            ),
            Call::CreateMany { items, meta } => answer(
                &c.create_many(items, meta.into_write_meta())
                    .await
                    .map_err(to_napi)?,
            ),
            Call::Update {
                id,
                data,
                expected_ov,
                meta,
            } => answer(
                &c.update(&id, data, expected_ov, meta.into_write_meta())
                    .await
                    .map_err(to_napi)?,
            ),
            Call::Delete {
                id,
                expected_ov,
                meta,
            } => answer(
                &c.delete(&id, expected_ov, meta.into_write_meta())
                    .await
                    .map_err(to_napi)?,
            ),
            Call::Enrich {
                id,
                patch,
                function_id,
                expected_ov,
                meta,
            } => {
                let w = meta.into_write_meta();
                let em = EnrichMeta {
                    function_id,
                    actor: w.actor,
                    reason: w.reason,
                    expected_ov,
                };
                answer(&c.enrich(&id, patch, em).await.map_err(to_napi)?)
            }
            Call::GetLatest { id, options } => answer(
                &c.get_latest(&id, options.into_options())
                    .await
                    .map_err(to_napi)?,
            ),
            Call::GetVersion { id, ov, options } => answer(
                &c.get_version(&id, ov, options.into_options())
                    .await
                    .map_err(to_napi)?,
            ),
            Call::GetAsOf { id, at, options } => answer(
                &c.get_as_of(&id, time(&at)?, options.into_options())
                    .await
                    .map_err(to_napi)?,
            ),
            Call::ListByMeta { query, options } => {
                let page = c
                    .list_by_meta(query.into_query()?, options.into_options())
                    .await
                    .map_err(to_napi)?;
                answer(&json!({"items": page.items, "nextAfterId": page.next_after_id}))
            }
            Call::RestoreObject { id, target, meta } => answer(
                &c.restore_object(&id, target.into_target()?, meta.into_write_meta())
                    .await
                    .map_err(to_napi)?,
            ),
            Call::RestoreCollection {
                target,
                dry_run,
                meta,
            } => {
                let opts = RestoreOptions {
                    dry_run,
                    ..RestoreOptions::default()
                };
                answer(
                    &c.restore_collection_with(target.into_target()?, meta.into_write_meta(), opts)
                        .await
                        .map_err(to_napi)?,
                )
            }
            Call::Erase {
                id,
                expected_ov,
                meta,
            } => answer(
                &c.erase(&id, expected_ov, meta.into_write_meta())
                    .await
                    .map_err(to_napi)?,
            ),
            Call::History {
                id,
                after_ov,
                limit,
                include_data,
            } => {
                let mut q = HistoryQuery::default();
                if let Some(ov) = after_ov {
                    q = q.after(ov);
                }
                if let Some(limit) = limit {
                    q = q.limit(limit);
                }
                if include_data {
                    q = q.with_data();
                }
                answer(&c.history(&id, q).await.map_err(to_napi)?)
            }
            Call::Diff { id, from_ov, to_ov } => {
                answer(&c.diff(&id, from_ov, to_ov).await.map_err(to_napi)?)
            }
            Call::Changes {
                after_cv,
                limit,
                include_data,
            } => {
                let mut q = ChangesQuery::default();
                if let Some(cv) = after_cv {
                    q = q.after(cv);
                }
                if let Some(limit) = limit {
                    q = q.limit(limit);
                }
                if include_data {
                    q = q.with_data();
                }
                answer(&c.changes(q).await.map_err(to_napi)?)
            }
            Call::Verify { id } => answer(&c.verify(&id).await.map_err(to_napi)?),
            Call::Export {} => {
                let all: Vec<ExportedVersion> = c.export().try_collect().await.map_err(to_napi)?;
                answer(&all)
            }
            Call::Import {
                versions,
                skip_existing,
            } => {
                let opts = match skip_existing {
                    true => ImportOptions::skipping_existing(),
                    false => ImportOptions::default(),
                };
                answer(&c.import(versions, opts).await.map_err(to_napi)?)
            }
        }
    }
}
