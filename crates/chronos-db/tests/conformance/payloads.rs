//! Payload features: base64 properties as their own blobs, devShadow, compression.

use base64::Engine;
use chronos_db::{DbType, Error, ListQuery, ReadOptions, Route, WriteMeta};
use serde_json::{json, Value};

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "payloads")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn presigned() -> ReadOptions {
    ReadOptions::presigned(std::time::Duration::from_secs(300))
}

pub async fn base64_props_live_in_their_own_blobs(env: &Env) {
    let c = env.coll("attachments");
    let pdf: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let data = json!({"title": "report", "file": b64(&pdf), "note": {"body": b64("héllo wörld".as_bytes()), "by": "me"}});
    let w = c.create(data.clone(), meta()).await.unwrap();
    let item = c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.data, data, "base64 properties come back transparently");
    let v2 = json!({"title": "report v2", "file": b64(b"second"), "note": {"body": b64(b"two"), "by": "me"}});
    c.update(&w.id, v2.clone(), 0, meta()).await.unwrap();
    let old = c
        .get_version(&w.id, 0, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.data, data);
    assert_eq!(
        c.get_latest(&w.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap()
            .data,
        v2
    );
    let page = c
        .list_by_meta(
            ListQuery::filter(json!({"title": "report v2"})),
            ReadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.items[0].data, v2);

    if env.payloads != "memory" {
        let item = c.get_version(&w.id, 0, presigned()).await.unwrap().unwrap();
        let stored: Value =
            serde_json::from_slice(&env.fetch_url(item.url.as_deref().unwrap()).unwrap()).unwrap();
        assert_eq!(
            stored["data"]["file"]["$blob"]["contentType"],
            json!("application/pdf")
        );
        assert_eq!(stored["data"]["file"]["$blob"]["size"], json!(3000));
        assert!(
            !stored.to_string().contains(&b64(&pdf)[..40]),
            "base64 left in item.json"
        );
        assert_eq!(env.fetch_url(&item.blob_urls["file"]).unwrap(), pdf);
        assert_eq!(
            env.fetch_url(&item.blob_urls["note.body"]).unwrap(),
            "héllo wörld".as_bytes()
        );
    }

    // Bad base64, or bytes that are not text where text is preferred, change nothing.
    let cv = c
        .get_latest(&w.id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap()
        .cv;
    for bad in [
        json!({"title": "x", "file": "not base64 !!"}),
        json!({"title": "x", "note": {"body": b64(&[0xff, 0xfe, 0x00])}}),
        // Not a string: it would be stored as is and read back as a blob reference.
        json!({"title": "x", "file": {"$blob": {"size": 3}}}),
        json!({"title": "x", "file": 42}),
    ] {
        let r = c.create(bad.clone(), meta()).await;
        assert!(matches!(r, Err(Error::Validation(_))), "{bad}: {r:?}");
    }
    let next = c.create(json!({"title": "plain"}), meta()).await.unwrap();
    assert_eq!(next.cv, cv + 1, "rejected writes took a collection version");
}

pub async fn dev_shadow_serves_the_latest_without_a_payload_read(env: &Env) {
    // A devShadow copies payload objects into the head (inline payloads are there already).
    let shadowed = env
        .variant(json!({
            "devShadow": {"enabled": true, "ttlHours": 1, "maxBytesPerDoc": 400},
            "writeOptimization": {"payloadLayout": "objects"}
        }))
        .await;
    let c = shadowed
        .with(Route::tenant(DbType::Runtime, "tenant-a", "shadowed"))
        .unwrap();
    let small = c.create(json!({"n": 1}), meta()).await.unwrap();
    let big = c
        .create(json!({"n": 2, "pad": "x".repeat(1000)}), meta())
        .await
        .unwrap();
    for (id, n) in [(&small.id, 1), (&big.id, 2)] {
        let item = c
            .get_latest(id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(item.data["n"], json!(n));
    }
    if env.payloads == "local" {
        // Remove the payload files behind the index's back: the small record is still served
        // from its shadow; the big one (over maxBytesPerDoc) has none.
        for id in [&small.id, &big.id] {
            let url = c
                .get_latest(id, presigned())
                .await
                .unwrap()
                .unwrap()
                .url
                .unwrap();
            std::fs::remove_file(url).unwrap();
        }
        let item = c
            .get_latest(&small.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (item.ov, item.data.clone(), item.actor.as_str()),
            (0, json!({"n": 1}), "tester")
        );
        let listed = c
            .list_by_meta(ListQuery::filter(json!({"n": 1})), ReadOptions::default())
            .await
            .unwrap();
        assert_eq!(listed.items[0].data, json!({"n": 1}));
        let r = c.get_latest(&big.id, ReadOptions::default()).await;
        assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
        let r = c.get_version(&small.id, 0, ReadOptions::default()).await;
        assert!(
            matches!(r, Err(Error::Corrupt(_))),
            "versions are always read from payloads: {r:?}"
        );
        // Without devShadow the same head is read from its (missing) payload.
        let r = env
            .coll("shadowed")
            .get_latest(&small.id, ReadOptions::default())
            .await;
        assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
    }
}

pub async fn compression_is_transparent(env: &Env) {
    let packed = env
        .variant(json!({"writeOptimization": {"compressionEnabled": true}}))
        .await;
    let c = packed
        .with(Route::tenant(DbType::Runtime, "tenant-a", "packed"))
        .unwrap();
    let big = json!({"text": "lorem ipsum ".repeat(2000), "n": 1});
    let small = json!({"n": 2});
    let wb = c.create(big.clone(), meta()).await.unwrap();
    let ws = c.create(small.clone(), meta()).await.unwrap();
    assert_eq!(
        c.get_latest(&wb.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap()
            .data,
        big
    );
    assert_eq!(
        c.get_latest(&ws.id, ReadOptions::default())
            .await
            .unwrap()
            .unwrap()
            .data,
        small
    );
    // In-memory payloads live inside one instance; every other store is shared.
    if env.payloads != "memory" {
        // Compressed payloads stay readable by an instance without compression.
        let plain = env.coll("packed");
        assert_eq!(
            plain
                .get_latest(&wb.id, ReadOptions::default())
                .await
                .unwrap()
                .unwrap()
                .data,
            big
        );
        let raw = raw_payload(env, &c, &wb.id).await;
        assert_eq!(&raw[..2], &[0x1f, 0x8b], "large payload not gzip");
        assert!(raw.len() < 2000, "{} bytes", raw.len());
        let raw = raw_payload(env, &c, &ws.id).await;
        assert_eq!(raw[0], b'{', "small payload compressed");
    }
}

/// The stored bytes of a record's latest payload: from its version row when inline, else
/// fetched through its presigned URL.
async fn raw_payload(env: &Env, c: &chronos_db::Collection, id: &str) -> Vec<u8> {
    let ns = chronos_db::index::Namespace {
        db_name: env.tenant_a_db(),
        collection: c.name().to_string(),
        indexed_props: std::sync::Arc::new(Vec::new()),
    };
    let found = env
        .raw_index()
        .await
        .locate(&ns, id, chronos_db::index::VersionPick::Latest)
        .await
        .unwrap()
        .unwrap();
    match found.version.payload {
        chronos_db::index::PayloadRef::Inline(bytes) => bytes.to_vec(),
        _ => {
            let item = c.get_latest(id, presigned()).await.unwrap().unwrap();
            env.fetch_url(&item.url.unwrap()).unwrap()
        }
    }
}
