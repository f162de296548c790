//! Property tests: arbitrary filters, sorts, configurations and names never panic, and bad
//! ones are refused with the error kind a caller can act on (never a backend error).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/seed.rs"]
mod seed;
#[path = "support/servers.rs"]
mod servers;

use std::sync::OnceLock;

use chronos_db::config::DbConnection;
use chronos_db::query::Filter;
use chronos_db::{
    Chronos, ChronosConfig, Collection, DbType, Error, ListQuery, ReadOptions, Route, Sort, SortBy,
    WriteMeta,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Keys and strings that filters, configurations and names are made of, valid or not.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$eq"),
        Just("$ne"),
        Just("$gt"),
        Just("$gte"),
        Just("$lt"),
        Just("$lte"),
        Just("$in"),
        Just("$nin"),
        Just("$exists"),
        Just("$and"),
        Just("$or"),
        Just("$regex"),
        Just("$"),
        Just(""),
        Just("a"),
        Just("b"),
        Just("a.b"),
        Just("n"),
        Just("s"),
        Just(".."),
        Just("a..b"),
        Just("../x"),
        Just("x'; DROP TABLE t;--"),
        Just("é"),
        Just("enabled"),
        Just("dbName"),
        Just("bucket"),
        Just("tenantId"),
        Just("rules"),
    ]
    .prop_map(str::to_string)
    .boxed()
    .prop_union(any::<String>().boxed())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        word().prop_map(Value::from),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((word(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Filters of the right shape with arbitrary fields, operators and operands: most parse, so
/// they reach the backends' query translation.
fn shaped_filter() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        Just("a"),
        Just("b"),
        Just("n"),
        Just("s"),
        Just("a.b"),
        Just("zz")
    ];
    let eq = prop_oneof![Just("$eq"), Just("$ne")];
    let order = prop_oneof![Just("$gt"), Just("$gte"), Just("$lt"), Just("$lte")];
    let orderable = prop_oneof![
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        word().prop_map(Value::from),
    ];
    let set = prop_oneof![Just("$in"), Just("$nin")];
    let leaf = prop_oneof![
        (field.clone(), scalar()).prop_map(|(f, v)| json!({ f: v })),
        (field.clone(), eq, scalar()).prop_map(|(f, o, v)| json!({ f: { o: v } })),
        (field.clone(), order, orderable).prop_map(|(f, o, v)| json!({ f: { o: v } })),
        (field.clone(), set, prop::collection::vec(scalar(), 0..4))
            .prop_map(|(f, o, v)| json!({ f: { o: v } })),
        (field, any::<bool>()).prop_map(|(f, b)| json!({ f: { "$exists": b } })),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        (
            prop_oneof![Just("$and"), Just("$or")],
            prop::collection::vec(inner, 1..4),
        )
            .prop_map(|(o, fs)| json!({ o: fs }))
    })
}

/// The records of the fuzzed collection (ids `r0`..).
fn records() -> Vec<Value> {
    vec![
        json!({"a": 1, "b": "x", "n": null}),
        json!({"a": 2.5, "b": true, "s": "é"}),
        json!({"a": "1", "b": [1, 2], "n": {"deep": 1}}),
        json!({"a": -3, "s": "x'; DROP TABLE t;--"}),
        json!({}),
    ]
}

/// A runtime and a populated collection per backend pair, shared by every case.
struct Fixture {
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    _chronos: Vec<Chronos>,
    collections: Vec<Collection>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut configs = vec![ChronosConfig::embedded(dir.path()).with_tenant("t")];
        if let Some(servers) = servers::servers() {
            let db = DbConnection::mongodb(servers.mongo_uri);
            configs.push(
                ChronosConfig::from_json_value(json!({
                    "dbConnections": {"m": db},
                    "spacesConnections": {"s": servers.s3},
                    "databases": {"runtime": {"tenantDatabases": [{
                        "tenantId": "t", "dbConnRef": "m", "spaceConnRef": "s",
                        "bucket": "chronos-test-a", "dbName": format!("fuzz{}", std::process::id())
                    }]}}
                }))
                .unwrap(),
            );
        }
        let (chronos, collections) = rt.block_on(async {
            let mut chronos = Vec::new();
            let mut collections = Vec::new();
            for config in configs {
                let ch = Chronos::init(config).await.unwrap();
                let c = ch
                    .with(Route::tenant(DbType::Runtime, "t", "fuzzed"))
                    .unwrap();
                for (i, data) in records().into_iter().enumerate() {
                    c.create_with_id(&format!("r{i}"), data, WriteMeta::new("fuzz", "seed"))
                        .await
                        .unwrap();
                }
                chronos.push(ch);
                collections.push(c);
            }
            (chronos, collections)
        });
        Fixture {
            rt,
            _dir: dir,
            _chronos: chronos,
            collections,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn filter_parsing_never_panics(filter in any_json(), props in any_json()) {
        if let Ok(f) = Filter::parse(&filter) {
            let _ = f.paths();
            if let Value::Object(p) = props {
                let _ = f.matches(&p);
            }
        }
    }

    #[test]
    fn listing_refuses_bad_queries_with_validation_errors(
        filter in prop_oneof![any_json(), shaped_filter()],
        sort_prop in prop_oneof![Just("a".to_string()), Just("b".to_string()), word()],
        limit in prop_oneof![4 => prop::option::of(0usize..=1000), 1 => (1001usize..5000).prop_map(Some)],
        after in prop_oneof![
            4 => Just(None),
            1 => Just(Some("r1".to_string())),
            1 => word().prop_map(Some),
        ],
    ) {
        let f = fixture();
        let parses = Filter::parse(&filter).is_ok();
        for c in &f.collections {
            let query = ListQuery {
                filter: Some(filter.clone()),
                sort: Sort::asc(SortBy::Prop(sort_prop.clone())),
                limit,
                after_id: after.clone(),
                include_deleted: false,
            };
            match f.rt.block_on(c.list_by_meta(query, ReadOptions::default())) {
                Ok(page) => prop_assert!(parses && page.items.len() <= 1000),
                Err(Error::Validation(_)) | Err(Error::NotFound(_)) => {}
                Err(e) => prop_assert!(false, "{filter} sorted by {sort_prop:?}: {e:?}"),
            }
        }
    }

    #[test]
    fn reads_and_writes_refuse_bad_ids(id in word(), collection in word(), tenant in word()) {
        let f = fixture();
        for c in &f.collections {
            match f.rt.block_on(c.get_latest(&id, ReadOptions::default())) {
                Ok(_) | Err(Error::Validation(_)) => {}
                Err(e) => prop_assert!(false, "get_latest({id:?}): {e:?}"),
            }
        }
        let route = Route::tenant(DbType::Runtime, tenant, collection);
        if let Err(e) = f._chronos[0].with(route) {
            prop_assert!(matches!(e, Error::Route(_)), "{e:?}");
        }
    }

    #[test]
    fn any_json_configuration_is_parsed_or_refused(config in any_json()) {
        match ChronosConfig::from_json_value(config) {
            Ok(c) => prop_assert!(c.validate().is_ok()),
            Err(e) => prop_assert!(matches!(e, Error::Config(_)), "{e:?}"),
        }
    }

    #[test]
    fn mutated_seed_configurations_are_parsed_or_refused(
        path in prop::collection::vec(0usize..64, 1..5),
        replacement in any_json(),
    ) {
        let mut config = seed::seed_config();
        // Walk down by the chosen child indexes to a JSON pointer, then replace that node.
        let mut pointer = String::new();
        let mut node = &config;
        for step in path {
            let next = match node {
                Value::Object(map) if !map.is_empty() => {
                    map.iter().nth(step % map.len()).map(|(k, v)| (k.clone(), v))
                }
                Value::Array(items) if !items.is_empty() => {
                    let i = step % items.len();
                    Some((i.to_string(), &items[i]))
                }
                _ => None,
            };
            let Some((key, child)) = next else { break };
            pointer.push('/');
            pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            node = child;
        }
        *config.pointer_mut(&pointer).unwrap() = replacement;
        match ChronosConfig::from_json_value(config) {
            Ok(c) => prop_assert!(c.validate().is_ok()),
            Err(e) => prop_assert!(matches!(e, Error::Config(_)), "{e:?}"),
        }
    }

    #[test]
    fn any_text_configuration_is_parsed_or_refused(text in ".{0,200}") {
        if let Err(e) = ChronosConfig::from_json_str(&text) {
            prop_assert!(matches!(e, Error::Config(_)), "{e:?}");
        }
    }
}

/// Shaped filters mostly parse and then must run on every backend: a run in which (almost)
/// nothing reached the backends would test nothing.
#[test]
fn shaped_filters_reach_the_backends_and_agree_with_the_reference() {
    let f = fixture();
    let runner_config = ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(runner_config);
    let reached = std::sync::atomic::AtomicUsize::new(0);
    // What the index sees of each record: its top-level scalars.
    let indexed: Vec<(String, Map<String, Value>)> = records()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let mut m = r.as_object().cloned().unwrap_or_default();
            m.retain(|_, v| !v.is_array() && !v.is_object());
            (format!("r{i}"), m)
        })
        .collect();
    runner
        .run(&shaped_filter(), |filter| {
            let Ok(parsed) = Filter::parse(&filter) else {
                return Ok(());
            };
            let expected: Vec<&str> = indexed
                .iter()
                .filter(|(_, m)| parsed.matches(m))
                .map(|(id, _)| id.as_str())
                .collect();
            for c in &f.collections {
                let q = ListQuery::filter(filter.clone());
                match f.rt.block_on(c.list_by_meta(q, ReadOptions::default())) {
                    Ok(page) => {
                        let got: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
                        prop_assert_eq!(&got, &expected, "{}", filter);
                        reached.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(Error::Validation(_)) => {}
                    Err(e) => prop_assert!(false, "{filter}: {e:?}"),
                }
            }
            Ok(())
        })
        .unwrap();
    let reached = reached.into_inner();
    assert!(
        reached >= 16 * f.collections.len(),
        "only {reached} listings reached a backend"
    );
}
