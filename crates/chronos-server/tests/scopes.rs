//! Keys and scopes over real HTTP: every right against every kind of route. No key is 401;
//! a key for tenant A asking for tenant B gets the same 404 as a missing record; a read key
//! writing gets 403; keys never appear in answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use chronos_server::generate_key;
use serde_json::{json, Value};
use support::{pairs, start, with_keys};

/// What a request needs: 0 read, 1 write, 2 admin on its route, 3 admin on every route.
struct Call {
    method: &'static str,
    path: &'static str,
    need: u8,
    body: Option<Value>,
}

fn calls() -> Vec<Call> {
    let c = |method, path, need, body| Call {
        method,
        path,
        need,
        body,
    };
    vec![
        c("GET", "/records", 0, None),
        c("GET", "/records/{id}", 0, None),
        c("GET", "/records/{id}/history", 0, None),
        c("GET", "/records/{id}/diff?from=0&to=0", 0, None),
        c("GET", "/records/{id}/verify", 0, None),
        c("GET", "/changes", 0, None),
        c("GET", "/counters", 0, None),
        c("GET", "/export", 0, None),
        c("POST", "/records", 1, Some(json!({"k": 1}))),
        c("POST", "/batch", 1, Some(json!({"items": [{"k": 2}]}))),
        c("PATCH", "/records/{id}", 1, Some(json!({"k": 3}))),
        c("POST", "/records/{id}/restore", 1, Some(json!({"ov": 0}))),
        c("POST", "/import", 1, None),
        c(
            "POST",
            "/restore",
            2,
            Some(json!({"cv": 0, "dryRun": true})),
        ),
        c("GET", "/v1/fallback", 3, None),
        c("GET", "/v1/health", 3, None),
    ]
}

#[tokio::test]
async fn every_right_against_every_route() {
    let keys = [("reader", "read"), ("writer", "write"), ("admin", "admin")]
        .map(|(id, access)| (generate_key(id).unwrap(), id, access));
    let root = generate_key("root").unwrap();
    let mut config: Vec<Value> = keys
        .iter()
        .map(|(k, id, access)| {
            json!({"id": id, "hash": k.hash, "scopes": [
                {"dbTypes": ["runtime"], "tiers": ["tenant"], "tenants": ["acme"], "access": access}
            ]})
        })
        .collect();
    config.push(json!({"id": "root", "hash": root.hash, "scopes": [{"access": "admin"}]}));
    for pair in pairs() {
        let s = start(pair, with_keys(json!(config))).await;
        let acme = "/v1/runtime/tenant/acme/users";
        let globex = "/v1/runtime/tenant/globex/users";
        // The root key seeds one record in each tenant.
        let mut ids = Vec::new();
        for base in [acme, globex] {
            let r = s
                .client
                .post(s.url(&format!("{base}/records")))
                .bearer_auth(&root.key)
                .json(&json!({"seed": true}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{pair}");
            ids.push(
                r.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        for call in calls() {
            let global = call.need == 3;
            for (level, (key, key_id, _)) in keys.iter().enumerate() {
                for (base, id, mine) in [(acme, &ids[0], true), (globex, &ids[1], false)] {
                    if global && !mine {
                        continue;
                    }
                    let path = match global {
                        true => call.path.to_string(),
                        false => format!("{base}{}", call.path.replace("{id}", id)),
                    };
                    let mut req = s
                        .client
                        .request(call.method.parse().unwrap(), s.url(&path))
                        .bearer_auth(&key.key);
                    if let Some(b) = &call.body {
                        req = req.json(b);
                    }
                    let r = req.send().await.unwrap();
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap();
                    assert!(!text.contains(&key.key), "the key came back");
                    let expected = if global {
                        403
                    } else if !mine {
                        404
                    } else if (level as u8) < call.need {
                        403
                    } else {
                        0
                    };
                    match expected {
                        0 => assert!(
                            status < 400,
                            "{pair} {key_id} {} {path}: {status} {text}",
                            call.method
                        ),
                        e => {
                            assert_eq!(status, e, "{pair} {key_id} {} {path}: {text}", call.method)
                        }
                    }
                }
            }
            // The unrestricted admin reaches everything.
            if global {
                let r = s
                    .client
                    .get(s.url(call.path))
                    .bearer_auth(&root.key)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "root {}", call.path);
            }
        }
        // Another tenant's record answers exactly as a missing one.
        let hidden = s
            .client
            .get(s.url(&format!("{globex}/records/{}", ids[1])))
            .bearer_auth(&keys[0].0.key)
            .send()
            .await
            .unwrap();
        let missing = s
            .client
            .get(s.url(&format!("{acme}/records/no-such-id")))
            .bearer_auth(&keys[0].0.key)
            .send()
            .await
            .unwrap();
        assert_eq!(hidden.status(), missing.status());
        let (a, b): (Value, Value) = (hidden.json().await.unwrap(), missing.json().await.unwrap());
        assert_eq!(a["type"], b["type"]);
        // No key, a wrong key, a key of another shape: 401.
        for auth in [
            None,
            Some("Bearer chr_reader_00"),
            Some("Basic abc"),
            Some("Bearer chr_ghost_abc"),
        ] {
            let mut req = s.client.get(s.url(&format!("{acme}/records")));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{auth:?}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        }
        // Liveness and metrics answer without a key.
        assert_eq!(
            s.client
                .get(s.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        s.stop().await;
    }
}

#[test]
fn a_service_without_keys_must_listen_on_loopback() {
    let section = json!({"listen": "0.0.0.0:8080"});
    let e = chronos_server::ServeConfig::from_section(Some(&section)).unwrap_err();
    assert!(e.to_string().contains("serve.keys"), "{e}");
    let bad = json!({"keys": [{"id": "a_b", "hash": "plain", "scopes": []}], "bodyLimitBytes": 0});
    let e = chronos_server::ServeConfig::from_section(Some(&bad))
        .unwrap_err()
        .to_string();
    for path in [
        "serve.keys[0].id",
        "serve.keys[0].hash",
        "serve.keys[0].scopes",
        "serve.bodyLimitBytes",
    ] {
        assert!(e.contains(path), "{path} in {e}");
    }
    let unknown = json!({"listne": "x"});
    let e = chronos_server::ServeConfig::from_section(Some(&unknown))
        .unwrap_err()
        .to_string();
    assert!(e.contains("listne"), "{e}");
}
