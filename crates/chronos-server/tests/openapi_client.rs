//! An independent client written from the OpenAPI document alone: Schemathesis generates
//! requests for every operation from `/openapi.json` (valid and invalid ones, with and
//! without the key) and checks every answer against the document: no server error, only
//! documented statuses and content types, answers matching their schemas, invalid requests
//! and missing keys refused.
//!
//! `scripts/test-servers.sh` installs Schemathesis (pinned) into `.venv/` and names it in
//! `CHRONOS_TEST_SCHEMATHESIS`; without it the test is skipped with a notice, unless
//! `CHRONOS_REQUIRE_SERVERS` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use chronos_server::generate_key;
use serde_json::json;

#[tokio::test]
async fn schemathesis_finds_nothing_against_the_document() {
    let Some(st) = std::env::var("CHRONOS_TEST_SCHEMATHESIS")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        assert!(
            std::env::var("CHRONOS_REQUIRE_SERVERS").is_err(),
            "CHRONOS_REQUIRE_SERVERS is set but CHRONOS_TEST_SCHEMATHESIS is not"
        );
        eprintln!("skipped: no Schemathesis (run ./scripts/test.sh to install it)");
        return;
    };
    let key = generate_key("root").unwrap();
    let keys = json!([{"id": "root", "hash": key.hash, "scopes": [{"access": "admin"}]}]);
    let s = support::start("embedded", support::with_keys(keys)).await;
    let out = tokio::process::Command::new(&st)
        .args([
            "run",
            &s.url("/openapi.json"),
            "--header",
            &format!("Authorization: Bearer {}", key.key),
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--no-color",
        ])
        .output()
        .await
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.stop().await;
}
