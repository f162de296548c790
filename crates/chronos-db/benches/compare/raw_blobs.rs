//! Payload calls both raw baselines make the same way: a put-if-absent of one version's JSON,
//! and the bounded concurrent puts of a batch.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{ObjectStore, PutMode};
use serde_json::Value;

use crate::subject::BenchResult;

/// Payload puts in flight in a batch (as chronos-db's `MAX_CONCURRENT_PUTS`).
const BATCH_PUTS: usize = 32;

/// Puts version `ov` of record `id` if absent; returns its key.
pub async fn put_version(
    store: &dyn ObjectStore,
    id: &str,
    ov: u64,
    data: &Value,
) -> BenchResult<String> {
    let key = format!("raw/{id}/v{ov}.json");
    store
        .put_opts(
            &Key::from(key.clone()),
            Bytes::from(serde_json::to_vec(data)?).into(),
            PutMode::Create.into(),
        )
        .await?;
    Ok(key)
}

/// Puts version 0 of a new record per item, `BATCH_PUTS` at a time; returns (id, key, item)
/// in input order.
pub async fn put_new_records<'a>(
    store: &dyn ObjectStore,
    items: &'a [Value],
) -> BenchResult<Vec<(String, String, &'a Value)>> {
    let puts = items.iter().map(|data| async move {
        let id = uuid::Uuid::now_v7().to_string();
        let key = put_version(store, &id, 0, data).await?;
        BenchResult::Ok((id, key, data))
    });
    futures::stream::iter(puts.collect::<Vec<_>>())
        .buffered(BATCH_PUTS)
        .try_collect()
        .await
}
