//! Translation of a [`Filter`], a [`Sort`] and keyset pagination into MongoDB query documents.
//!
//! MongoDB's own semantics already match the filter language on scalars: comparisons are
//! type-bracketed, `{p: null}` matches missing or null, `$ne`/`$nin` match missing values.
//! Indexed values are scalars, ordered null/missing < numbers < strings < booleans, which is
//! also MongoDB's sort order; the keyset condition spells that order out.

use mongodb::bson::{doc, Bson, Document};
use serde_json::Value;

use super::docs::{meta_field, to_bson};
use crate::index::HeadRow;
use crate::query::{CmpOp, Filter, Sort, SortBy};

/// The conjunction of `conditions` as one document: nested `$and`s flattened and fields set
/// side by side, with only repeated fields left under `$and`. Equivalent for MongoDB, which
/// normalises `$and` itself; some wire-compatible servers only use an index for plain fields.
pub fn all_of(conditions: impl IntoIterator<Item = Document>) -> Document {
    fn flatten(d: Document, out: &mut Vec<(String, Bson)>) {
        for (k, v) in d {
            match (k.as_str(), v) {
                ("$and", Bson::Array(items)) => {
                    for item in items {
                        match item {
                            Bson::Document(inner) => flatten(inner, out),
                            other => out.push((k.clone(), Bson::Array(vec![other]))),
                        }
                    }
                }
                (_, v) => out.push((k, v)),
            }
        }
    }
    let mut fields = Vec::new();
    for c in conditions {
        flatten(c, &mut fields);
    }
    let mut merged = Document::new();
    let mut repeated = Vec::new();
    for (k, v) in fields {
        if merged.contains_key(&k) {
            repeated.push(Bson::Document(doc! { k: v }));
        } else {
            merged.insert(k, v);
        }
    }
    if !repeated.is_empty() {
        match merged.get_mut("$and") {
            Some(Bson::Array(existing)) => existing.extend(repeated),
            _ => {
                merged.insert("$and", repeated);
            }
        }
    }
    merged
}

/// The query document of a filter.
pub fn filter_doc(f: &Filter) -> Document {
    match f {
        Filter::And(fs) => all_of(fs.iter().map(filter_doc)),
        Filter::Or(fs) => doc! {"$or": fs.iter().map(filter_doc).collect::<Vec<_>>()},
        Filter::Cmp { path, op, value } => {
            let op = match op {
                CmpOp::Eq => "$eq",
                CmpOp::Ne => "$ne",
                CmpOp::Gt => "$gt",
                CmpOp::Gte => "$gte",
                CmpOp::Lt => "$lt",
                CmpOp::Lte => "$lte",
            };
            doc! {meta_field(path): {op: to_bson(value)}}
        }
        Filter::In {
            path,
            values,
            negated,
        } => {
            let op = if *negated { "$nin" } else { "$in" };
            doc! {meta_field(path): {op: values.iter().map(to_bson).collect::<Vec<_>>()}}
        }
        Filter::Exists { path, exists } => doc! {meta_field(path): {"$exists": *exists}},
    }
}

/// The sort document of a sort order (id last, same direction).
pub fn sort_doc(sort: &Sort) -> Document {
    let dir = if sort.descending { -1 } else { 1 };
    let mut d = Document::new();
    match &sort.by {
        SortBy::Id => {}
        SortBy::UpdatedAt => {
            d.insert("at", dir);
        }
        SortBy::CreatedAt => {
            d.insert("createdAt", dir);
        }
        SortBy::Prop(p) => {
            d.insert(meta_field(p), dir);
        }
    }
    d.insert("_id", dir);
    d
}

/// Type rank of an indexed value in sort order.
fn rank(v: Option<&Value>) -> usize {
    match v {
        None | Some(Value::Null) => 0,
        Some(Value::Number(_)) => 1,
        Some(Value::String(_)) => 2,
        _ => 3,
    }
}

const TYPE_OF_RANK: [&str; 4] = ["null", "number", "string", "bool"];

/// The condition selecting rows strictly after `after` in `sort` order.
pub fn after_doc(sort: &Sort, after: &HeadRow) -> Document {
    // "After" is `$gt` ascending and `$lt` descending.
    let gt = if sort.descending { "$lt" } else { "$gt" };
    let id = Bson::String(after.latest.id.clone());
    let scalar_after = |field: &str, value: Bson| {
        doc! {"$or": [
            {field: {gt: value.clone()}},
            {field: value, "_id": {gt: id.clone()}},
        ]}
    };
    match &sort.by {
        SortBy::Id => doc! {"_id": {gt: id.clone()}},
        SortBy::UpdatedAt => scalar_after("at", Bson::Int64(after.latest.at)),
        SortBy::CreatedAt => scalar_after("createdAt", Bson::Int64(after.created_at)),
        SortBy::Prop(p) => {
            let field = meta_field(p);
            let value = after.latest.meta.get(p);
            let r = rank(value);
            let mut branches: Vec<Document> = Vec::new();
            let others: Vec<usize> = if sort.descending {
                (0..r).collect()
            } else {
                (r + 1..TYPE_OF_RANK.len()).collect()
            };
            for other in others {
                branches.push(if other == 0 {
                    doc! {&field: Bson::Null}
                } else {
                    doc! {&field: {"$type": TYPE_OF_RANK[other]}}
                });
            }
            let tie_value = value.map_or(Bson::Null, to_bson);
            if r != 0 {
                branches.push(doc! {&field: {gt: tie_value.clone()}});
            }
            branches.push(doc! {&field: tie_value, "_id": {gt: id.clone()}});
            doc! {"$or": branches}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_of_sets_distinct_fields_side_by_side_and_keeps_repeats_under_and() {
        let merged = all_of([
            doc! {"$and": [{"meta.a": {"$eq": 1}}, {"$and": [{"meta.b": {"$lt": 2}}]}]},
            doc! {"deleted": false},
            doc! {"meta.a": {"$gt": 0}},
        ]);
        assert_eq!(
            merged,
            doc! {
                "meta.a": {"$eq": 1},
                "meta.b": {"$lt": 2},
                "deleted": false,
                "$and": [{"meta.a": {"$gt": 0}}],
            }
        );
        assert_eq!(all_of([]), Document::new());
        assert_eq!(all_of([doc! {"$and": []}]), Document::new());
    }
}
