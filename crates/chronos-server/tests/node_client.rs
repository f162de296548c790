//! A Node.js program, using only the built-in `fetch`, runs the quick start's tour through
//! the service on every backend pair (`tests/node/tour.mjs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use chronos_server::generate_key;
use serde_json::json;

#[tokio::test]
async fn the_tour_runs_from_node_with_fetch() {
    let key = generate_key("tour").unwrap();
    for pair in support::pairs() {
        let keys = json!([{"id": "tour", "hash": key.hash, "scopes": [
            {"dbTypes": ["runtime"], "tiers": ["tenant"], "tenants": ["acme"], "access": "write"}
        ]}]);
        let s = support::start(pair, support::with_keys(keys)).await;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/tour.mjs");
        let base = s.base.clone();
        let secret = key.key.clone();
        let out = tokio::process::Command::new("node")
            .args([script, &base, &secret])
            .output()
            .await
            .expect("node (Node.js 20 or later) runs");
        assert!(
            out.status.success(),
            "{pair}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("tour ok"));
        s.stop().await;
    }
}
