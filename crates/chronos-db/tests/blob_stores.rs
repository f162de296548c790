//! Every payload store keeps the guarantees the version protocol relies on: put-if-absent
//! never overwrites, reads return what was written, deletes are idempotent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/servers.rs"]
mod servers;

use std::time::Duration;

use bytes::Bytes;
use chronos_db::blob::{BlobStore, PutOutcome};

async fn stores(dir: &std::path::Path) -> Vec<BlobStore> {
    let out = vec![
        BlobStore::local(dir, "bucket-a").unwrap(),
        BlobStore::memory("bucket-m"),
    ];
    #[cfg(feature = "s3")]
    let out = {
        use chronos_db::blob::s3::{build, SharedHttp};
        let mut out = out;
        if let Some(servers) = servers::servers() {
            let http = std::sync::Arc::new(SharedHttp::default());
            let s3 = build(servers.s3_parts(), "chronos-bench", http, "s3").unwrap();
            out.push(BlobStore::s3(s3, "chronos-bench"));
        }
        out
    };
    out
}

#[tokio::test]
async fn put_if_absent_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let run = uuid::Uuid::now_v7().simple().to_string();
    for store in stores(dir.path()).await {
        let key = format!("tests/{run}/v0/item.json");
        let first = store
            .put_if_absent(&key, Bytes::from_static(b"first"))
            .await
            .unwrap();
        assert_eq!(first, PutOutcome::Created, "{}", store.kind());
        let second = store
            .put_if_absent(&key, Bytes::from_static(b"second"))
            .await
            .unwrap();
        assert_eq!(
            second,
            PutOutcome::AlreadyExists,
            "{} overwrote",
            store.kind()
        );
        let got = store.get(&key).await.unwrap().unwrap();
        assert_eq!(got.as_ref(), b"first", "{}", store.kind());
        store.ping().await.unwrap();
        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(store.get(&key).await.unwrap().is_none(), "{}", store.kind());
    }
}

#[tokio::test]
async fn racing_puts_have_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let run = uuid::Uuid::now_v7().simple().to_string();
    for store in stores(dir.path()).await {
        let key = format!("race/{run}/v1/item.json");
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                let key = key.clone();
                tokio::spawn(async move {
                    let body = Bytes::from(format!("writer-{i}"));
                    (i, store.put_if_absent(&key, body).await.unwrap())
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            let (i, outcome) = t.await.unwrap();
            if outcome == PutOutcome::Created {
                winners.push(i);
            }
        }
        assert_eq!(winners.len(), 1, "{}: winners {winners:?}", store.kind());
        let got = store.get(&key).await.unwrap().unwrap();
        assert_eq!(got.as_ref(), format!("writer-{}", winners[0]).as_bytes());
    }
}

#[tokio::test]
async fn urls_point_at_the_payload() {
    let dir = tempfile::tempdir().unwrap();
    let run = uuid::Uuid::now_v7().simple().to_string();
    for store in stores(dir.path()).await {
        let key = format!("urls/{run}/item.json");
        store
            .put_if_absent(&key, Bytes::from_static(b"{\"a\":1}"))
            .await
            .unwrap();
        let url = store.url(&key, Duration::from_secs(60)).await;
        match store.kind() {
            "memory" => assert!(url.is_err()),
            "local" => {
                let path = url.unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}");
            }
            _ => {
                let url = url.unwrap();
                let out = std::process::Command::new("curl")
                    .args(["-sf", &url])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "curl {url}: {out:?}");
                assert_eq!(out.stdout, b"{\"a\":1}");
            }
        }
    }
}
