//! Hostile clients: filters over the language's limits, headers trickled a byte at a time
//! (slowloris), a body that never finishes. Each gets a clear problem+json or is cut off,
//! and the service keeps answering everyone else meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::time::Duration;

use chronos_server::ServeConfig;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USERS: &str = "/v1/runtime/tenant/acme/users";

fn addr(s: &support::Service) -> String {
    s.base.trim_start_matches("http://").to_string()
}

#[tokio::test]
async fn filters_over_the_limits_are_refused() {
    let s = support::start("embedded", ServeConfig::default()).await;
    let records = s.url(&format!("{USERS}/records"));
    let mut deep = json!({"x": 1});
    for _ in 0..40 {
        deep = json!({"$and": [deep]});
    }
    let many_in = json!({"plan": {"$in": (0..5000).collect::<Vec<_>>()}});
    let many: serde_json::Map<String, Value> =
        (0..400).map(|i| (format!("p{i}"), json!(i))).collect();
    for filter in [deep, many_in, Value::Object(many)] {
        let r = s
            .client
            .get(&records)
            .query(&[("filter", filter.to_string())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["code"], "VALIDATION", "{p}");
    }
    let r = s
        .client
        .get(&records)
        .query(&[("limit", "100000")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    s.stop().await;
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_while_others_are_served() {
    let serve = ServeConfig {
        header_read_timeout_ms: 400,
        ..ServeConfig::default()
    };
    let s = support::start("embedded", serve).await;
    let mut slow = TcpStream::connect(addr(&s)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        // One header byte every 100 ms, never the blank line.
        for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if slow.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut buf = [0u8; 256];
        // Cut off: the server closed (a read of 0 bytes, or an error).
        match tokio::time::timeout(Duration::from_secs(2), slow.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => true,
            Ok(Ok(_)) => String::from_utf8_lossy(&buf).contains("408"),
            // Still connected, waiting for the rest of the headers.
            Err(_) => false,
        }
    });
    // Meanwhile others are served.
    for _ in 0..5 {
        let r = s.client.get(s.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        trickle.await.unwrap(),
        "the trickling client was not cut off"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_body_that_never_finishes_gets_a_timeout_problem() {
    let serve = ServeConfig {
        request_timeout_ms: 500,
        ..ServeConfig::default()
    };
    let s = support::start("embedded", serve).await;
    let mut conn = TcpStream::connect(addr(&s)).await.unwrap();
    let head = format!(
        "POST {USERS}/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"a\":"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 10 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("TIMEOUT"), "{text}");
    // Nothing was written.
    let r = s
        .client
        .get(s.url(&format!("{USERS}/changes")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["changes"], json!([]));
    s.stop().await;
}
