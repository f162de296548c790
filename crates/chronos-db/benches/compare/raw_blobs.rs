//! Payload calls both raw baselines make the same way: a put-if-absent of one version's JSON,
//! and the bounded concurrent puts of a batch.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode};
use serde_json::Value;

use crate::subject::BenchResult;

/// Payload puts in flight in a batch (as chronos-db's `MAX_CONCURRENT_PUTS`).
const BATCH_PUTS: usize = 32;

/// The key of version `ov` of record `id`: DESIGN.md's payload layout
/// (`<db>/<collection>/<id>/v<ov>/item.json`), which the version protocol fixes for any
/// implementation, so the baseline stores at the same depth as chronos-db.
pub fn version_key(id: &str, ov: u64) -> String {
    format!("raw/bench/{id}/v{ov}/item.json")
}

/// A flat key for the same payload (`raw-flat/<id>-v<ov>.json`): no directory per record or
/// version. Only used to measure what DESIGN.md's layout costs by itself.
pub fn flat_key(id: &str, ov: u64) -> String {
    format!("raw-flat/{id}-v{ov}.json")
}

/// Puts `data` at `key` if absent.
pub async fn put_at(store: &dyn ObjectStore, key: &str, data: &Value) -> BenchResult<()> {
    store
        .put_opts(
            &Key::from(key),
            Bytes::from(serde_json::to_vec(data)?).into(),
            PutMode::Create.into(),
        )
        .await?;
    Ok(())
}

/// Puts version `ov` of record `id` if absent; returns its key.
pub async fn put_version(
    store: &dyn ObjectStore,
    id: &str,
    ov: u64,
    data: &Value,
) -> BenchResult<String> {
    let key = version_key(id, ov);
    put_at(store, &key, data).await?;
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

/// Payloads read at once by the history baselines (as chronos-db's history page).
const LOADS: usize = 16;

/// The bytes at `keys`, in order, `LOADS` at a time.
async fn load_all(store: &dyn ObjectStore, keys: Vec<String>) -> BenchResult<Vec<Bytes>> {
    let loads = keys.into_iter().map(|key| async move {
        BenchResult::Ok(store.get(&Key::from(key)).await?.bytes().await?)
    });
    futures::stream::iter(loads.collect::<Vec<_>>())
        .buffered(LOADS)
        .try_collect()
        .await
}

/// A history page's data: the JSON at every key.
pub async fn parse_all(store: &dyn ObjectStore, keys: Vec<String>) -> BenchResult<usize> {
    let mut n = 0;
    for bytes in load_all(store, keys).await? {
        let _: Value = serde_json::from_slice(&bytes)?;
        n += 1;
    }
    Ok(n)
}

/// A verification's reading: the SHA-256 of the bytes at every key (without a chain to
/// check them against); returns how many.
pub async fn digest_all(store: &dyn ObjectStore, keys: Vec<String>) -> BenchResult<u64> {
    use sha2::Digest;
    let mut n = 0;
    for bytes in load_all(store, keys).await? {
        std::hint::black_box(sha2::Sha256::digest(&bytes));
        n += 1;
    }
    Ok(n)
}

/// The JSON Patch between the versions at `from` and `to`; returns its length.
pub async fn diff_versions(
    store: &dyn ObjectStore,
    from: String,
    to: String,
) -> BenchResult<usize> {
    let both = load_all(store, vec![from, to]).await?;
    let a: Value = serde_json::from_slice(&both[0])?;
    let b: Value = serde_json::from_slice(&both[1])?;
    Ok(json_patch::diff(&a, &b).len())
}
