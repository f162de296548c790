//! The service's lifetime: a shutdown lets the request in flight finish before the library
//! stops, and an idle live feed gets keep-alive comments.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::time::Duration;

use chronos_db::{Chronos, ChronosConfig, DbType, ReadOptions, Route};
use chronos_server::{FeedConfig, ServeConfig};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_request_in_flight_finishes_after_the_shutdown_signal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = ChronosConfig::embedded(&data);
    let mut s = support::start_on(
        "embedded",
        config,
        ServeConfig::default(),
        tempfile::tempdir().unwrap(),
    )
    .await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    let body = br#"{"late": true}"#;
    let head = format!(
        "POST /v1/runtime/generic/things/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.signal_stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // No new connection is taken once the signal came.
    let refused = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new request was served after the shutdown signal"
    );
    conn.write_all(&body[5..]).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer))
        .await
        .expect("the answer within 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    s.stopped().await;
    // The write is there once the library has shut down.
    let id = text
        .split("\"id\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let chronos = Chronos::init(ChronosConfig::embedded(&data)).await.unwrap();
    let things = chronos
        .with(Route::generic(DbType::Runtime, "things"))
        .unwrap();
    let v = things
        .get_latest(&id, ReadOptions::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.data["late"], true);
    chronos.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_idle_live_feed_gets_keep_alive_comments() {
    let serve = ServeConfig {
        feed: FeedConfig {
            buffer_events: 16,
            keep_alive_seconds: 1,
        },
        ..ServeConfig::default()
    };
    let s = support::start("embedded", serve).await;
    let r = s
        .client
        .get(s.url("/v1/runtime/tenant/acme/users/changes/stream"))
        .send()
        .await
        .unwrap();
    let mut stream = r.bytes_stream();
    let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a keep-alive within 5 s")
        .unwrap()
        .unwrap();
    assert!(
        chunk.starts_with(b":"),
        "{:?}",
        String::from_utf8_lossy(&chunk)
    );
    drop(stream);
    s.stop().await;
}

#[tokio::test]
async fn a_stream_client_that_goes_away_ends_its_feed_task() {
    let s = support::start("embedded", ServeConfig::default()).await;
    let live = |text: &str| -> usize {
        text.lines()
            .find_map(|l| l.strip_prefix("chronos_feed_streams "))
            .unwrap()
            .parse()
            .unwrap()
    };
    let metrics = || async {
        s.client
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let r = s
        .client
        .get(s.url("/v1/runtime/tenant/acme/users/changes/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(live(&metrics().await), 1);
    // The client goes away while no write comes: its feed task must not poll on forever.
    drop(r);
    let mut now = usize::MAX;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = live(&metrics().await);
        if now == 0 {
            break;
        }
    }
    assert_eq!(now, 0, "the feed task of a gone client still runs");
    s.stop().await;
}
