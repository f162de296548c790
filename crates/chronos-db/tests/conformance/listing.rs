//! list_by_meta: operators, reference agreement, pagination, sorting, deleted records,
//! indexed-property limits and projection.

use chronos_db::query::Filter;
use chronos_db::{Collection, Error, ListQuery, ReadOptions, Sort, SortBy, WriteMeta};
use serde_json::{json, Value};

use crate::Env;

fn meta() -> WriteMeta {
    WriteMeta::new("tester", "listing")
}

async fn ids(c: &Collection, filter: Value) -> Vec<String> {
    let q = ListQuery::filter(filter.clone()).limit(1000);
    let page = c
        .list_by_meta(q, ReadOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
    page.items.into_iter().map(|i| i.id).collect()
}

async fn walk(c: &Collection, base: ListQuery, page_size: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..1000 {
        let mut q = base.clone().limit(page_size);
        q.after_id = after.clone();
        let page = c.list_by_meta(q, ReadOptions::default()).await.unwrap();
        assert!(page.items.len() <= page_size);
        out.extend(page.items.iter().map(|i| i.id.clone()));
        match page.next_after_id {
            Some(next) => {
                assert_eq!(Some(&next), page.items.last().map(|i| &i.id));
                after = Some(next);
            }
            None => return out,
        }
    }
    panic!("pagination did not end");
}

pub async fn filter_operators(env: &Env) {
    let c = env.coll("items");
    for (id, data) in [
        (
            "r1",
            json!({"status": "active", "age": 30, "vip": true, "tags": ["a"], "score": 1.5}),
        ),
        ("r2", json!({"status": "inactive", "age": 17, "vip": false})),
        ("r3", json!({"status": "active", "age": 65, "nick": null})),
        ("r4", json!({"status": "pending", "age": "30"})),
        ("r5", json!({"age": 18})),
    ] {
        c.create_with_id(id, data, meta()).await.unwrap();
    }
    let cases = [
        (json!({}), vec!["r1", "r2", "r3", "r4", "r5"]),
        (json!({"status": "active"}), vec!["r1", "r3"]),
        (json!({"status": {"$eq": "active"}}), vec!["r1", "r3"]),
        (json!({"status": {"$ne": "active"}}), vec!["r2", "r4", "r5"]),
        (json!({"age": {"$gt": 18}}), vec!["r1", "r3"]),
        (json!({"age": {"$gte": 18}}), vec!["r1", "r3", "r5"]),
        (json!({"age": {"$lt": 18}}), vec!["r2"]),
        (json!({"age": {"$lte": 18}}), vec!["r2", "r5"]),
        (json!({"age": {"$gte": 18, "$lt": 65}}), vec!["r1", "r5"]),
        // Type bracketing of booleans and null, as MongoDB answers it.
        (json!({"vip": {"$gt": false}}), vec!["r1"]),
        (json!({"vip": {"$gte": false}}), vec!["r1", "r2"]),
        (json!({"vip": {"$lt": true}}), vec!["r2"]),
        (json!({"vip": {"$lte": true}}), vec!["r1", "r2"]),
        (json!({"vip": {"$gt": true}}), vec![]),
        (json!({"vip": {"$lt": false}}), vec![]),
        (
            json!({"nick": {"$gte": null}}),
            vec!["r1", "r2", "r3", "r4", "r5"],
        ),
        (json!({"vip": {"$lte": null}}), vec!["r3", "r4", "r5"]),
        (json!({"nick": {"$gt": null}}), vec![]),
        (json!({"nick": {"$lt": null}}), vec![]),
        (json!({"age": "30"}), vec!["r4"]),
        (json!({"age": 30}), vec!["r1"]),
        (json!({"age": 30.0}), vec!["r1"]),
        (
            json!({"status": {"$in": ["active", "pending"]}}),
            vec!["r1", "r3", "r4"],
        ),
        (
            json!({"status": {"$nin": ["active", "pending"]}}),
            vec!["r2", "r5"],
        ),
        (json!({"status": {"$in": []}}), vec![]),
        (json!({"nick": null}), vec!["r1", "r2", "r3", "r4", "r5"]),
        (json!({"nick": {"$exists": true}}), vec!["r3"]),
        (
            json!({"nick": {"$exists": false}}),
            vec!["r1", "r2", "r4", "r5"],
        ),
        (json!({"vip": true}), vec!["r1"]),
        (json!({"vip": false}), vec!["r2"]),
        (json!({"vip": 1}), vec![]),
        (
            json!({"$or": [{"status": "pending"}, {"age": {"$lt": 18}}]}),
            vec!["r2", "r4"],
        ),
        (
            json!({"$and": [{"status": "active"}, {"age": {"$gt": 40}}]}),
            vec!["r3"],
        ),
        (
            json!({"tags": {"$exists": false}}),
            vec!["r1", "r2", "r3", "r4", "r5"],
        ),
        (json!({"score": 1.5}), vec!["r1"]),
        (json!({"score": {"$gt": 1}}), vec!["r1"]),
        (json!({"status": {"$gt": "b"}}), vec!["r2", "r4"]),
        (json!({"status": {"$lt": "b"}}), vec!["r1", "r3"]),
    ];
    for (filter, expected) in cases {
        assert_eq!(ids(&c, filter.clone()).await, expected, "filter {filter}");
    }
}

/// A small deterministic generator (no external randomness, so failures reproduce).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn value(&mut self) -> Value {
        match self.next(6) {
            0 => json!(self.next(5)),
            1 => json!(self.next(5) as f64 + 0.5),
            2 => json!(["a", "b", "c", "d"][self.next(4) as usize]),
            3 => json!(self.next(2) == 0),
            4 => Value::Null,
            _ => json!(-(self.next(3) as i64)),
        }
    }

    /// A stored value: a scalar, or now and then an array or object (never indexed).
    fn stored(&mut self) -> Value {
        match self.next(8) {
            0 => json!([self.next(2)]),
            1 => json!({"x": self.next(2)}),
            _ => self.value(),
        }
    }

    fn leaf(&mut self) -> Value {
        let prop = ["p", "q", "r"][self.next(3) as usize];
        let v = self.value();
        match self.next(9) {
            0 => json!({prop: v}),
            1 => json!({prop: {"$ne": v}}),
            2 => json!({prop: {"$gt": self.ordered()}}),
            3 => json!({prop: {"$gte": self.ordered()}}),
            4 => json!({prop: {"$lt": self.ordered()}}),
            5 => json!({prop: {"$lte": self.ordered()}}),
            6 => json!({prop: {"$in": [v, self.value()]}}),
            7 => json!({prop: {"$nin": [v, self.value()]}}),
            _ => json!({prop: {"$exists": self.next(2) == 0}}),
        }
    }

    fn ordered(&mut self) -> Value {
        match self.next(3) {
            0 => json!(self.next(5)),
            1 => json!(self.next(5) as f64 - 0.5),
            _ => json!(["a", "b", "c", "d"][self.next(4) as usize]),
        }
    }

    fn filter(&mut self, depth: u32) -> Value {
        if depth == 0 || self.next(3) == 0 {
            return self.leaf();
        }
        let subs: Vec<Value> = (0..1 + self.next(3))
            .map(|_| self.filter(depth - 1))
            .collect();
        if self.next(2) == 0 {
            json!({"$and": subs})
        } else {
            json!({"$or": subs})
        }
    }
}

/// Stores `obj` as record `id`; returns what the index sees of it (its scalar properties),
/// for the reference evaluator.
async fn store(
    c: &chronos_db::Collection,
    id: String,
    mut obj: serde_json::Map<String, Value>,
) -> (String, serde_json::Map<String, Value>) {
    c.create_with_id(&id, Value::Object(obj.clone()), meta())
        .await
        .unwrap();
    obj.retain(|_, v| !v.is_array() && !v.is_object());
    (id, obj)
}

/// The ids the reference evaluator says `json` matches, in id order.
fn reference(records: &[(String, serde_json::Map<String, Value>)], json: &Value) -> Vec<String> {
    let filter = Filter::parse(json).unwrap();
    records
        .iter()
        .filter(|(_, obj)| filter.matches(obj))
        .map(|(id, _)| id.clone())
        .collect()
}

pub async fn filters_agree_with_the_reference_evaluator(env: &Env) {
    let c = env.coll("random");
    let mut rng = Lcg(42);
    let mut records = Vec::new();
    for i in 0..40 {
        let mut obj = serde_json::Map::new();
        for prop in ["p", "q", "r"] {
            if rng.next(4) != 0 {
                obj.insert(prop.to_string(), rng.stored());
            }
        }
        records.push(store(&c, format!("rec{i:02}"), obj).await);
    }
    for _ in 0..150 {
        let json = rng.filter(3);
        assert_eq!(
            ids(&c, json.clone()).await,
            reference(&records, &json),
            "filter {json}"
        );
    }
}

pub async fn pagination_has_no_gaps_or_repeats(env: &Env) {
    let c = env.coll("pages");
    for i in 0..57 {
        let group = match i % 6 {
            0 => json!(i % 4),
            1 => json!(format!("g{}", i % 3)),
            2 => Value::Null,
            3 => json!(1.5),
            4 => json!(i % 2 == 0),
            _ => json!({"x": i % 2}),
        };
        let mut data = json!({"group": group, "i": i});
        if i % 11 == 0 {
            data.as_object_mut().unwrap().remove("group");
        }
        c.create(data, meta()).await.unwrap();
    }
    let sorts = [
        Sort::asc(SortBy::Id),
        Sort::desc(SortBy::Id),
        Sort::asc(SortBy::UpdatedAt),
        Sort::desc(SortBy::UpdatedAt),
        Sort::asc(SortBy::CreatedAt),
        Sort::desc(SortBy::CreatedAt),
        Sort::asc(SortBy::Prop("group".into())),
        Sort::desc(SortBy::Prop("group".into())),
        Sort::asc(SortBy::Prop("i".into())),
    ];
    for sort in sorts {
        let base = ListQuery::default().sorted(sort.clone());
        let all = c
            .list_by_meta(base.clone().limit(1000), ReadOptions::default())
            .await
            .unwrap();
        let all: Vec<String> = all.items.into_iter().map(|i| i.id).collect();
        assert_eq!(all.len(), 57);
        for size in [1, 7, 10, 56, 57, 58] {
            let walked = walk(&c, base.clone(), size).await;
            assert_eq!(walked, all, "sort {sort:?}, page size {size}");
        }
        let filtered = ListQuery::filter(json!({"i": {"$gte": 20}})).sorted(sort.clone());
        let walked = walk(&c, filtered, 6).await;
        assert_eq!(walked.len(), 37, "sort {sort:?}");
        let mut dedup = walked.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), walked.len(), "repeats with sort {sort:?}");
    }
    // Id order is the order of creation for generated (time-ordered) ids.
    let by_id = walk(&c, ListQuery::default(), 100).await;
    let by_created = walk(
        &c,
        ListQuery::default().sorted(Sort::asc(SortBy::CreatedAt)),
        100,
    )
    .await;
    assert_eq!(by_id, by_created);
}

pub async fn sort_by_prop_orders_types_like_mongodb(env: &Env) {
    let c = env.coll("sorting");
    let values = [
        ("k00", None),
        ("k01", Some(Value::Null)),
        ("k02", Some(json!(2))),
        ("k03", Some(json!(1.5))),
        ("k04", Some(json!("b"))),
        ("k05", Some(json!("a"))),
        ("k06", Some(json!({"x": 1}))),
        ("k07", Some(json!([1]))),
        ("k08", Some(json!(true))),
        ("k09", Some(json!(false))),
        ("k10", Some(json!(-3))),
    ];
    for (id, v) in &values {
        let data = match v {
            Some(v) => json!({"k": v}),
            None => json!({}),
        };
        c.create_with_id(id, data, meta()).await.unwrap();
    }
    // Arrays and objects are not indexed, so they sort with the missing values.
    let expected = [
        "k00", "k01", "k06", "k07", "k10", "k03", "k02", "k05", "k04", "k09", "k08",
    ];
    let page = c
        .list_by_meta(
            ListQuery::default().sorted(Sort::asc(SortBy::Prop("k".into()))),
            ReadOptions::default(),
        )
        .await
        .unwrap();
    let got: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(got, expected);
    let page = c
        .list_by_meta(
            ListQuery::default().sorted(Sort::desc(SortBy::Prop("k".into()))),
            ReadOptions::default(),
        )
        .await
        .unwrap();
    let got: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
    let mut reversed = expected.to_vec();
    reversed.reverse();
    assert_eq!(got, reversed);
}

pub async fn deleted_records_are_listed_only_on_request(env: &Env) {
    let c = env.coll("items");
    let a = c.create(json!({"s": 1}), meta()).await.unwrap();
    let b = c.create(json!({"s": 1}), meta()).await.unwrap();
    c.delete(&a.id, 0, meta()).await.unwrap();
    let live = c
        .list_by_meta(ListQuery::filter(json!({"s": 1})), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(
        live.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        vec![b.id.clone()]
    );
    let mut q = ListQuery::filter(json!({"s": 1}));
    q.include_deleted = true;
    let all = c.list_by_meta(q, ReadOptions::default()).await.unwrap();
    assert_eq!(all.items.len(), 2);
    assert!(all.items.iter().any(|i| i.id == a.id && i.deleted));
}

pub async fn declared_indexed_props_limit_queries(env: &Env) {
    let c = env.coll("orders");
    for (n, customer, total) in [(1, "c1", 10.0), (2, "c2", 99.5), (3, "c1", 50.0)] {
        c.create(
            json!({"orderId": n, "customer": {"id": customer, "name": "x"}, "total": total, "note": "n"}),
            meta(),
        )
        .await
        .unwrap();
    }
    let page = c
        .list_by_meta(
            ListQuery::filter(json!({"customer.id": "c1"}))
                .sorted(Sort::desc(SortBy::Prop("total".into()))),
            ReadOptions::default(),
        )
        .await
        .unwrap();
    let orders: Vec<&Value> = page.items.iter().map(|i| &i.data["orderId"]).collect();
    assert_eq!(orders, vec![&json!(3), &json!(1)]);
    for bad in [
        json!({"note": "n"}),
        json!({"customer": {"id": "c1"}}),
        json!({"customer.name": "x"}),
    ] {
        let r = c
            .list_by_meta(ListQuery::filter(bad.clone()), ReadOptions::default())
            .await;
        assert!(matches!(r, Err(Error::Validation(_))), "{bad}: {r:?}");
    }
    let r = c
        .list_by_meta(
            ListQuery::default().sorted(Sort::asc(SortBy::Prop("note".into()))),
            ReadOptions::default(),
        )
        .await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    // Unmapped collections index top-level properties only.
    let users = env.coll("users");
    users.create(json!({"a": {"b": 1}}), meta()).await.unwrap();
    let r = users
        .list_by_meta(ListQuery::filter(json!({"a.b": 1})), ReadOptions::default())
        .await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
}

pub async fn projection_keeps_only_asked_paths(env: &Env) {
    let c = env.coll("users");
    let w = c
        .create(
            json!({"email": "a@x", "profile": {"age": 3, "city": "Oslo"}, "secret": "s"}),
            meta(),
        )
        .await
        .unwrap();
    let opts = ReadOptions::project(["email", "profile.city", "missing"]);
    let item = c.get_latest(&w.id, opts.clone()).await.unwrap().unwrap();
    assert_eq!(
        item.data,
        json!({"email": "a@x", "profile": {"city": "Oslo"}})
    );
    let page = c.list_by_meta(ListQuery::default(), opts).await.unwrap();
    assert_eq!(
        page.items[0].data,
        json!({"email": "a@x", "profile": {"city": "Oslo"}})
    );
}

/// `$in` / `$nin` with a thousand values (the documented limit), and as many of them as one
/// filter may hold, answer on every backend as the reference evaluator does.
pub async fn long_in_lists_answer_like_the_reference(env: &Env) {
    let c = env.coll("longin");
    let mut records = Vec::new();
    for i in 0..24i64 {
        let p = match i % 6 {
            0 => json!(i * 100),
            1 => json!(format!("s{}", i * 100)),
            2 => json!(i % 4 == 1),
            3 => Value::Null,
            4 => json!(i as f64 + 0.5),
            _ => json!({"nested": i}),
        };
        let mut obj = serde_json::Map::new();
        obj.insert("p".into(), p);
        records.push(store(&c, format!("r{i:02}"), obj).await);
    }
    let mut values: Vec<Value> = (0..497).map(|n| json!(n * 2)).collect();
    values.extend((0..500).map(|n| json!(format!("s{}", n * 4))));
    values.extend([json!(true), Value::Null, json!(4.5)]);
    assert_eq!(values.len(), 1000);
    let one = |op: &str| json!({"p": {op: values.clone()}});
    let many =
        json!({"$or": (0..15).map(|_| json!({"p": {"$in": values.clone()}})).collect::<Vec<_>>()});
    for json in [one("$in"), one("$nin"), many] {
        let expected = reference(&records, &json);
        assert!(!expected.is_empty());
        assert_eq!(ids(&c, json.clone()).await, expected);
    }
}
