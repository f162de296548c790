//! The service over real HTTP on every backend pair: the tour of every resource, HTTP
//! semantics (ETag / If-Match, 201 + Location, 404, 412, 428), problem+json errors for bad
//! requests, racing writers, the live feed, export / import, OpenAPI and metrics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::time::Duration;

use chronos_server::ServeConfig;
use futures::StreamExt;
use serde_json::{json, Value};
use support::{pairs, start, Service};

const USERS: &str = "/v1/runtime/tenant/acme/users";

async fn body(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

/// Checks `r` is a problem+json answer with `status` and `code`; returns it.
async fn problem(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "status");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p = body(r).await;
    assert_eq!(p["status"], status, "{p}");
    assert_eq!(p["code"], code, "{p}");
    assert!(p["type"]
        .as_str()
        .unwrap()
        .starts_with("urn:chronos-db:problem:"));
    assert!(!p["detail"].as_str().unwrap().is_empty());
    p
}

async fn create(s: &Service, path: &str, data: Value) -> Value {
    let r = s
        .client
        .post(s.url(&format!("{path}/records")))
        .header("chronos-actor", "tester")
        .header("chronos-reason", "signup")
        .json(&data)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    body(r).await
}

#[tokio::test]
async fn the_tour_of_every_resource_on_every_pair() {
    for pair in pairs() {
        let s = start(pair, ServeConfig::default()).await;
        let c = &s.client;
        // Create: 201, Location, ETag.
        let r = c
            .post(s.url(&format!("{USERS}/records")))
            .header("chronos-actor", "tester")
            .json(&json!({"email": "a@example.com", "plan": "free"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{pair}");
        assert_eq!(r.headers()["etag"], "\"0\"");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let v0 = body(r).await;
        let id = v0["id"].as_str().unwrap().to_string();
        assert_eq!(location, format!("{USERS}/records/{id}"));
        // Read it back through its Location.
        let r = c.get(s.url(&location)).send().await.unwrap();
        assert_eq!(r.headers()["etag"], "\"0\"");
        let read = body(r).await;
        assert_eq!(
            read["data"],
            json!({"email": "a@example.com", "plan": "free"})
        );
        assert_eq!(read["actor"], "tester");
        // Update needs If-Match: 428 without, 412 with a stale one, 200 with the current.
        let rec = s.url(&format!("{USERS}/records/{id}"));
        let r = c
            .put(&rec)
            .json(&json!({"plan": "pro"}))
            .send()
            .await
            .unwrap();
        problem(r, 428, "PRECONDITION_REQUIRED").await;
        let r = c
            .put(&rec)
            .header("if-match", "\"7\"")
            .json(&json!({"plan": "pro"}))
            .send()
            .await
            .unwrap();
        let p = problem(r, 412, "CONFLICT").await;
        assert_eq!(p["currentOv"], 0);
        let r = c
            .put(&rec)
            .header("if-match", "\"0\"")
            .json(&json!({"email": "a@example.com", "plan": "pro"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["etag"], "\"1\"");
        // Enrich without If-Match merges into the latest.
        let r = c
            .patch(format!("{rec}?functionId=scorer@v1"))
            .json(&json!({"score": 7}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(body(r).await["ov"], 2);
        // A version, and the state at a time.
        let r = c.get(format!("{rec}?ov=1")).send().await.unwrap();
        assert_eq!(body(r).await["data"]["plan"], "pro");
        let at = v0["at"].as_str().unwrap();
        let r = c.get(&rec).query(&[("at", at)]).send().await.unwrap();
        assert_eq!(body(r).await["data"]["plan"], "free");
        // History and diff.
        let r = c
            .get(format!("{rec}/history?includeData=true"))
            .send()
            .await
            .unwrap();
        let h = body(r).await;
        assert_eq!(h["versions"].as_array().unwrap().len(), 3);
        assert_eq!(h["versions"][2]["functionIds"], json!(["scorer@v1"]));
        let r = c
            .get(format!("{rec}/diff?from=0&to=2"))
            .send()
            .await
            .unwrap();
        let d = body(r).await;
        assert!(
            d["changedPaths"]
                .as_array()
                .unwrap()
                .contains(&json!("/plan")),
            "{d}"
        );
        // Verify the chain.
        let r = c.get(format!("{rec}/verify")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        // Listing with a filter and a sort, as JSON.
        create(&s, USERS, json!({"email": "b@example.com", "plan": "pro"})).await;
        create(&s, USERS, json!({"email": "c@example.com", "plan": "free"})).await;
        let r = c
            .get(s.url(&format!("{USERS}/records")))
            .query(&[
                ("filter", r#"{"plan":"pro"}"#),
                ("sort", r#"{"updatedAt":-1}"#),
                ("limit", "10"),
            ])
            .send()
            .await
            .unwrap();
        let page = body(r).await;
        let emails: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["data"]["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails, ["b@example.com", "a@example.com"]);
        // Restore version 0 (append-only): a new version with the old data.
        let r = c
            .post(format!("{rec}/restore"))
            .json(&json!({"ov": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["etag"], "\"3\"");
        let r = c.get(&rec).send().await.unwrap();
        assert_eq!(body(r).await["data"]["plan"], "free");
        // Delete with If-Match; the latest is then a delete marker.
        let r = c
            .delete(&rec)
            .header("if-match", "\"3\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // Batch.
        let r = c
            .post(s.url(&format!("{USERS}/batch")))
            .json(&json!({"items": [{"email": "d@example.com"}, {"email": "e@example.com"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(body(r).await.as_array().unwrap().len(), 2);
        // Counters and the change feed page.
        let r = c
            .get(s.url(&format!("{USERS}/counters")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = c
            .get(s.url(&format!("{USERS}/changes?limit=100")))
            .send()
            .await
            .unwrap();
        let feed = body(r).await;
        let kinds: Vec<&str> = feed["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["id"] == json!(id))
            .map(|v| v["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["create", "update", "enrich", "restore", "delete"]);
        // Collection restore, dry run: nothing written.
        let cv = feed["changes"][0]["cv"].as_u64().unwrap();
        let r = c
            .post(s.url(&format!("{USERS}/restore")))
            .json(&json!({"cv": cv, "dryRun": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(body(r).await["dryRun"], true);
        // Erase: every version gone, then 404.
        let r = c
            .post(format!("{rec}/erase"))
            .header("if-match", "\"4\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{pair}");
        let r = c.get(&rec).send().await.unwrap();
        problem(r, 404, "NOT_FOUND").await;
        // The generic tier has its own form of path.
        let g = create(&s, "/v1/runtime/generic/settings", json!({"theme": "dark"})).await;
        let r = c
            .get(s.url(&format!(
                "/v1/runtime/generic/settings/records/{}",
                g["id"].as_str().unwrap()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(body(r).await["data"]["theme"], "dark");
        s.stop().await;
    }
}

#[tokio::test]
async fn bad_requests_get_a_clear_problem_and_change_nothing() {
    let serve = ServeConfig {
        body_limit_bytes: 64 * 1024,
        ..ServeConfig::default()
    };
    let s = start("embedded", serve).await;
    let c = &s.client;
    let records = s.url(&format!("{USERS}/records"));
    let send = |b: reqwest::RequestBuilder| async move { b.send().await.unwrap() };
    // Malformed JSON, a record that is not an object, a body over the limit, deep nesting.
    problem(
        send(c.post(&records).body("{\"a\": ")).await,
        400,
        "VALIDATION",
    )
    .await;
    problem(
        send(c.post(&records).json(&json!([1, 2]))).await,
        400,
        "VALIDATION",
    )
    .await;
    let huge = json!({"blob": "x".repeat(100 * 1024)});
    problem(send(c.post(&records).json(&huge)).await, 413, "VALIDATION").await;
    let deep = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
    problem(send(c.post(&records).body(deep)).await, 400, "VALIDATION").await;
    // A filter that is not JSON, and one the language refuses.
    let r = send(c.get(&records).query(&[("filter", "{nope")])).await;
    problem(r, 400, "VALIDATION").await;
    let r = send(
        c.get(&records)
            .query(&[("filter", r#"{"plan":{"$regex":"x"}}"#)]),
    )
    .await;
    problem(r, 400, "VALIDATION").await;
    // Names that are no route: unknown type, tier, tenant, a traversal.
    for path in [
        "/v1/nosuch/generic/users/records",
        "/v1/runtime/planet/acme/users/records",
        "/v1/runtime/tenant/nobody/users/records",
        "/v1/runtime/tenant/acme/..%2F..%2Fetc/records",
        "/v1/runtime/generic/..%2Fusers/records",
    ] {
        let r = send(c.get(s.url(path))).await;
        assert!(
            [400, 404].contains(&r.status().as_u16()),
            "{path}: {}",
            r.status()
        );
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
    // A bad If-Match, an unknown method, an unknown resource.
    let r = send(
        c.put(s.url(&format!("{USERS}/records/x")))
            .header("if-match", "yesterday")
            .json(&json!({})),
    )
    .await;
    problem(r, 400, "VALIDATION").await;
    problem(send(c.patch(&records)).await, 405, "METHOD_NOT_ALLOWED").await;
    problem(send(c.get(s.url("/v2/anything"))).await, 404, "NOT_FOUND").await;
    // Nothing was written by any of them.
    let r = send(c.get(s.url(&format!("{USERS}/changes")))).await;
    assert_eq!(body(r).await["changes"], json!([]));
    s.stop().await;
}

/// 8 writers, each through `urls[w % urls.len()]`, each `rounds` times reading the record
/// and updating it with the ETag read; returns the ovs they won, checked to be distinct.
async fn race(urls: &[String], rounds: usize) -> Vec<u64> {
    let mut tasks = Vec::new();
    for w in 0..8 {
        let url = urls[w % urls.len()].clone();
        let c = reqwest::Client::new();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for _ in 0..rounds {
                let r = c.get(&url).send().await.unwrap();
                let ov: u64 = r.headers()["etag"]
                    .to_str()
                    .unwrap()
                    .trim_matches('"')
                    .parse()
                    .unwrap();
                let r = c
                    .put(&url)
                    .header("if-match", format!("\"{ov}\""))
                    .json(&json!({"writer": w, "ov": ov + 1}))
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    200 => won.push(ov + 1),
                    412 | 503 => {}
                    other => panic!("unexpected {other}"),
                }
            }
            won
        }));
    }
    let mut ovs = Vec::new();
    for t in tasks {
        ovs.extend(t.await.unwrap());
    }
    let n = ovs.len();
    ovs.sort_unstable();
    ovs.dedup();
    assert_eq!(ovs.len(), n, "two winners for one ov");
    ovs
}

#[tokio::test]
async fn racing_writers_through_http_leave_one_winner_per_ov() {
    for pair in pairs() {
        let s = start(pair, ServeConfig::default()).await;
        let v = create(&s, USERS, json!({"n": 0})).await;
        let rec = s.url(&format!("{USERS}/records/{}", v["id"].as_str().unwrap()));
        let ovs = race(std::slice::from_ref(&rec), 20).await;
        let n = ovs.len();
        let r = s.client.get(&rec).send().await.unwrap();
        assert_eq!(body(r).await["ov"].as_u64().unwrap() as usize, n, "{pair}");
        s.stop().await;
    }
}

#[tokio::test]
async fn two_services_on_one_store_leave_one_winner_per_ov() {
    for pair in pairs() {
        let dir = tempfile::tempdir().unwrap();
        let config = support::library_config(pair, dir.path());
        let a = support::start_on(
            pair,
            config.clone(),
            ServeConfig::default(),
            tempfile::tempdir().unwrap(),
        )
        .await;
        let b = support::start_on(
            pair,
            config,
            ServeConfig::default(),
            tempfile::tempdir().unwrap(),
        )
        .await;
        let v = create(&a, USERS, json!({"n": 0})).await;
        let path = format!("{USERS}/records/{}", v["id"].as_str().unwrap());
        let ovs = race(&[a.url(&path), b.url(&path)], 15).await;
        let n = ovs.len();
        // Both services read the same history, each version as its winner wrote it.
        let r = b
            .client
            .get(b.url(&format!("{path}/history?includeData=true&limit=1000")))
            .send()
            .await
            .unwrap();
        let h = body(r).await;
        let versions = h["versions"].as_array().unwrap();
        assert_eq!(versions.len(), n + 1, "{pair}");
        for v in &versions[1..] {
            assert_eq!(v["data"]["ov"], v["ov"], "{pair}");
        }
        a.stop().await;
        b.stop().await;
        drop(dir);
    }
}

/// Reads server-sent events from `r` until `n` `change` events came; returns their ids.
async fn read_events(r: reqwest::Response, n: usize) -> Vec<(String, String)> {
    let mut stream = r.bytes_stream();
    let mut text = String::new();
    let mut events = Vec::new();
    while events.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("an event within 20 s")
            .expect("the stream goes on")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}:")))
                    .map(|v| v.trim().to_string())
            };
            if let (Some(kind), Some(id)) = (field("event"), field("id")) {
                events.push((kind, id));
            }
        }
    }
    events
}

#[tokio::test]
async fn the_live_feed_streams_changes_and_resumes_after_the_last_event_id() {
    for pair in pairs() {
        let s = start(pair, ServeConfig::default()).await;
        let stream_url = s.url(&format!("{USERS}/changes/stream"));
        let r = s.client.get(&stream_url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let mut cvs = Vec::new();
        for i in 0..3 {
            cvs.push(
                create(&s, USERS, json!({"i": i})).await["cv"]
                    .as_u64()
                    .unwrap(),
            );
        }
        let events = read_events(r, 3).await;
        let ids: Vec<u64> = events.iter().map(|(_, id)| id.parse().unwrap()).collect();
        assert_eq!(ids, cvs, "{pair}");
        assert!(events.iter().all(|(kind, _)| kind == "change"));
        // Resume after the first: the other two come again, then a new one.
        let r = s
            .client
            .get(&stream_url)
            .header("last-event-id", cvs[0].to_string())
            .send()
            .await
            .unwrap();
        let next = create(&s, USERS, json!({"i": 3})).await["cv"]
            .as_u64()
            .unwrap();
        let events = read_events(r, 3).await;
        let ids: Vec<u64> = events.iter().map(|(_, id)| id.parse().unwrap()).collect();
        assert_eq!(ids, [cvs[1], cvs[2], next], "{pair}");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_slow_stream_client_is_cut_off_with_a_lagged_event() {
    let serve = ServeConfig {
        feed: chronos_server::FeedConfig {
            buffer_events: 2,
            keep_alive_seconds: 15,
        },
        ..ServeConfig::default()
    };
    let s = start("embedded", serve).await;
    for i in 0..40 {
        create(&s, USERS, json!({"i": i, "pad": "x".repeat(2000)})).await;
    }
    // Ask for the stream and read nothing for a while: the feed fills the buffer.
    let r = s
        .client
        .get(s.url(&format!("{USERS}/changes/stream")))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let text = tokio::time::timeout(Duration::from_secs(20), r.text())
        .await
        .expect("the stream ends")
        .unwrap();
    assert!(text.contains("event: lagged"), "{text}");
    let changes = text.matches("event: change").count();
    assert!(changes < 40, "all {changes} came: nothing was cut");
    s.stop().await;
}

#[tokio::test]
async fn export_and_import_carry_a_collection_with_its_history() {
    for pair in pairs() {
        let s = start(pair, ServeConfig::default()).await;
        let v = create(&s, USERS, json!({"plan": "free"})).await;
        let id = v["id"].as_str().unwrap();
        let r = s
            .client
            .put(s.url(&format!("{USERS}/records/{id}")))
            .header("if-match", "\"0\"")
            .json(&json!({"plan": "pro"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = s
            .client
            .get(s.url(&format!("{USERS}/export")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "application/jsonl");
        let lines = r.text().await.unwrap();
        assert_eq!(lines.lines().count(), 2, "{lines}");
        let other = "/v1/runtime/tenant/globex/users";
        let r = s
            .client
            .post(s.url(&format!("{other}/import")))
            .body(lines.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{pair}");
        assert_eq!(body(r).await["imported"], 1);
        let r = s
            .client
            .get(s.url(&format!("{other}/records/{id}?ov=0")))
            .send()
            .await
            .unwrap();
        assert_eq!(body(r).await["data"]["plan"], "free");
        // A broken line refuses the whole import.
        let broken = format!("{lines}not json\n");
        let r = s
            .client
            .post(s.url("/v1/runtime/generic/users/import"))
            .body(broken)
            .send()
            .await
            .unwrap();
        problem(r, 400, "VALIDATION").await;
        let r = s
            .client
            .get(s.url(&format!("/v1/runtime/generic/users/records/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        s.stop().await;
    }
}

#[tokio::test]
async fn the_openapi_document_names_every_resource_in_both_route_forms() {
    let s = start("embedded", ServeConfig::default()).await;
    let r = s.client.get(s.url("/openapi.json")).send().await.unwrap();
    let doc = body(r).await;
    let paths = doc["paths"].as_object().unwrap();
    for suffix in [
        "records",
        "records/{id}",
        "records/{id}/history",
        "records/{id}/diff",
        "records/{id}/verify",
        "records/{id}/restore",
        "records/{id}/erase",
        "batch",
        "restore",
        "counters",
        "changes",
        "changes/stream",
        "export",
        "import",
    ] {
        for prefix in [
            "/v1/{db_type}/{tier}/{owner}/{collection}",
            "/v1/{db_type}/generic/{collection}",
        ] {
            let path = format!("{prefix}/{suffix}");
            let item = paths.get(&path).unwrap_or_else(|| panic!("{path} missing"));
            // Every path parameter is declared on every operation.
            for (_, op) in item.as_object().unwrap() {
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                for seg in path.split('/').filter(|s| s.starts_with('{')) {
                    assert!(
                        declared.contains(&seg.trim_matches(|c| c == '{' || c == '}')),
                        "{path}: {seg}"
                    );
                }
            }
        }
    }
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/health",
        "/v1/fallback",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
    for schema in [
        "Problem",
        "Version",
        "WriteResult",
        "Page",
        "HistoryPage",
        "ChangePage",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "{schema}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let s = start("embedded", ServeConfig::default()).await;
    assert_eq!(
        s.client
            .get(s.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        s.client
            .get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    create(&s, USERS, json!({"a": 1})).await;
    let r = s.client.get(s.url("/v1/health")).send().await.unwrap();
    assert!(!body(r).await["backends"].as_array().unwrap().is_empty());
    let text = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("chronos_writes_total{kind=\"create\"} 1"),
        "{text}"
    );
    assert!(text.contains("chronos_http_requests_total{method=\"POST\",route=\"/v1/{db_type}/{tier}/{owner}/{collection}/records\",status=\"201\"} 1"), "{text}");
    assert!(
        text.contains("chronos_http_request_duration_seconds_bucket"),
        "{text}"
    );
    s.stop().await;
}
