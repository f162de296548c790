//! The filter language of `list_by_meta` and counter rules.
//!
//! A filter is a JSON object in MongoDB style: `{"status": "active", "age": {"$gte": 18},
//! "$or": [{"tier": "gold"}, {"tier": {"$exists": false}}]}`. Operators: `$eq $ne $gt $gte $lt
//! $lte $in $nin $exists $and $or`. Comparisons are type-bracketed like MongoDB: `$gt` on a
//! number only matches numbers, on a string only strings. `{"p": null}` matches a missing or
//! null property. Indexed values are scalars (strings, numbers, booleans, null), so operands are
//! scalars too.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::names;

/// Deepest nesting of `$and`/`$or` accepted.
const MAX_DEPTH: usize = 16;
/// Most conditions accepted in one filter.
const MAX_CONDITIONS: usize = 256;
/// Most values accepted in one `$in`/`$nin`.
const MAX_IN_VALUES: usize = 1000;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `$eq`
    Eq,
    /// `$ne`
    Ne,
    /// `$gt`
    Gt,
    /// `$gte`
    Gte,
    /// `$lt`
    Lt,
    /// `$lte`
    Lte,
}

/// A parsed, validated filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every sub-filter matches (an empty `And` matches everything).
    And(Vec<Filter>),
    /// At least one sub-filter matches.
    Or(Vec<Filter>),
    /// A comparison of one property with a value.
    Cmp {
        /// Property path.
        path: String,
        /// Operator.
        op: CmpOp,
        /// Operand (for `Gt`..`Lte` a number or string).
        value: Value,
    },
    /// `$in` (or `$nin` when `negated`).
    In {
        /// Property path.
        path: String,
        /// Candidate values.
        values: Vec<Value>,
        /// `$nin` instead of `$in`.
        negated: bool,
    },
    /// `$exists`.
    Exists {
        /// Property path.
        path: String,
        /// Whether the property must be present.
        exists: bool,
    },
}

impl Filter {
    /// Parses and validates a JSON filter. Errors say which part is wrong.
    pub fn parse(json: &Value) -> Result<Filter> {
        let mut count = 0;
        parse_object(json, 0, &mut count)
    }

    /// Every property path the filter mentions.
    pub fn paths(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Filter::And(fs) | Filter::Or(fs) => fs.iter().for_each(|f| f.collect_paths(out)),
            Filter::Cmp { path, .. } | Filter::In { path, .. } | Filter::Exists { path, .. } => {
                out.push(path)
            }
        }
    }

    /// Whether a flat map of property path -> value matches the filter.
    pub fn matches(&self, props: &Map<String, Value>) -> bool {
        match self {
            Filter::And(fs) => fs.iter().all(|f| f.matches(props)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(props)),
            Filter::Cmp { path, op, value } => {
                let field = props.get(path);
                match op {
                    CmpOp::Eq => equals(field, value),
                    CmpOp::Ne => !equals(field, value),
                    _ => match field.and_then(|f| compare(f, value)) {
                        Some(ord) => match op {
                            CmpOp::Gt => ord == Ordering::Greater,
                            CmpOp::Gte => ord != Ordering::Less,
                            CmpOp::Lt => ord == Ordering::Less,
                            _ => ord != Ordering::Greater,
                        },
                        None => false,
                    },
                }
            }
            Filter::In {
                path,
                values,
                negated,
            } => {
                let field = props.get(path);
                values.iter().any(|v| equals(field, v)) != *negated
            }
            Filter::Exists { path, exists } => props.contains_key(path) == *exists,
        }
    }
}

/// Looks a dotted path up in a JSON object.
pub fn lookup<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(data, |v, seg| v.get(seg))
}

/// Sets a dotted path in a JSON object, creating the objects on the way; a path through a
/// non-object value is left alone.
pub(crate) fn insert_at(data: &mut Value, path: &str, value: Value) {
    let mut cursor = data;
    let mut segments = path.split('.').peekable();
    while let Some(seg) = segments.next() {
        let Value::Object(map) = cursor else { return };
        if segments.peek().is_none() {
            map.insert(seg.to_string(), value);
            return;
        }
        cursor = map
            .entry(seg.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Equality as the filter language defines it: `null` matches missing or null; numbers compare
/// by value; other values compare as JSON.
fn equals(field: Option<&Value>, operand: &Value) -> bool {
    match (field, operand) {
        (None, Value::Null) | (Some(Value::Null), Value::Null) => true,
        (None, _) => false,
        (Some(Value::Number(a)), Value::Number(b)) => {
            compare_numbers(a, b) == Some(Ordering::Equal)
        }
        (Some(a), b) => a == b,
    }
}

/// Type-bracketed ordering: numbers with numbers, strings with strings, else `None`.
fn compare(field: &Value, operand: &Value) -> Option<Ordering> {
    match (field, operand) {
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
        (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
        _ => None,
    }
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn parse_object(json: &Value, depth: usize, count: &mut usize) -> Result<Filter> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "filter nests deeper than {MAX_DEPTH} levels"
        )));
    }
    let Value::Object(map) = json else {
        return Err(invalid(format!(
            "a filter must be a JSON object, got {}",
            kind(json)
        )));
    };
    let mut parts = Vec::with_capacity(map.len());
    for (key, value) in map {
        match key.as_str() {
            "$and" | "$or" => {
                let Value::Array(items) = value else {
                    return Err(invalid(format!("{key} takes an array of filters")));
                };
                if items.is_empty() {
                    return Err(invalid(format!("{key} needs at least one filter")));
                }
                let subs = items
                    .iter()
                    .map(|item| parse_object(item, depth + 1, count))
                    .collect::<Result<Vec<_>>>()?;
                parts.push(if key == "$and" {
                    Filter::And(subs)
                } else {
                    Filter::Or(subs)
                });
            }
            k if k.starts_with('$') => {
                return Err(invalid(format!(
                    "unknown top-level operator {k}; use $and or $or, or a property name"
                )))
            }
            path => {
                names::check_prop_path(path).map_err(invalid)?;
                parse_conditions(path, value, count, &mut parts)?;
            }
        }
    }
    Ok(if parts.len() == 1 {
        parts.pop().unwrap_or(Filter::And(Vec::new()))
    } else {
        Filter::And(parts)
    })
}

fn parse_conditions(
    path: &str,
    value: &Value,
    count: &mut usize,
    parts: &mut Vec<Filter>,
) -> Result<()> {
    let ops = match value {
        Value::Object(m) if m.keys().any(|k| k.starts_with('$')) => m,
        other => {
            bump(count)?;
            parts.push(cmp(path.to_string(), CmpOp::Eq, other)?);
            return Ok(());
        }
    };
    if ops.keys().any(|k| !k.starts_with('$')) {
        return Err(invalid(format!(
            "{path}: do not mix operators and plain keys in one object"
        )));
    }
    for (op, operand) in ops {
        bump(count)?;
        let path = path.to_string();
        let filter = match op.as_str() {
            "$eq" => cmp(path, CmpOp::Eq, operand)?,
            "$ne" => cmp(path, CmpOp::Ne, operand)?,
            "$gt" => cmp(path, CmpOp::Gt, operand)?,
            "$gte" => cmp(path, CmpOp::Gte, operand)?,
            "$lt" => cmp(path, CmpOp::Lt, operand)?,
            "$lte" => cmp(path, CmpOp::Lte, operand)?,
            "$in" | "$nin" => {
                let Value::Array(values) = operand else {
                    return Err(invalid(format!("{path}: {op} takes an array")));
                };
                if values.len() > MAX_IN_VALUES {
                    return Err(invalid(format!(
                        "{path}: {op} takes at most {MAX_IN_VALUES} values"
                    )));
                }
                // Each value beyond the first counts as a condition toward the filter's
                // total, in steps of MAX_IN_VALUES / 16: a filter stays within what every
                // backend answers in one query.
                for _ in 0..values.len() / (MAX_IN_VALUES / 16) {
                    bump(count)?;
                }
                for v in values {
                    check_scalar(&path, v)?;
                }
                Filter::In {
                    path,
                    values: values.clone(),
                    negated: op == "$nin",
                }
            }
            "$exists" => {
                let Value::Bool(exists) = operand else {
                    return Err(invalid(format!("{path}: $exists takes true or false")));
                };
                Filter::Exists {
                    path,
                    exists: *exists,
                }
            }
            other => {
                return Err(invalid(format!(
                    "{path}: unknown operator {other}; supported: $eq $ne $gt $gte $lt $lte $in $nin $exists"
                )))
            }
        };
        parts.push(filter);
    }
    Ok(())
}

fn check_scalar(path: &str, operand: &Value) -> Result<()> {
    if matches!(operand, Value::Array(_) | Value::Object(_)) {
        return Err(invalid(format!(
            "{path}: indexed values are scalars; compare with a string, number, boolean or null, not {}",
            kind(operand)
        )));
    }
    if let Value::Number(n) = operand {
        if n.as_i64().is_none() && n.as_f64().is_none_or(|f| !f.is_finite()) {
            return Err(invalid(format!("{path}: number {n} is out of range")));
        }
    }
    Ok(())
}

fn cmp(path: String, op: CmpOp, operand: &Value) -> Result<Filter> {
    check_scalar(&path, operand)?;
    let ordered = !matches!(op, CmpOp::Eq | CmpOp::Ne);
    match operand {
        Value::Bool(_) | Value::Null if ordered => Ok(bracketed_range(path, op, operand)),
        _ => Ok(Filter::Cmp {
            path,
            op,
            value: operand.clone(),
        }),
    }
}

/// An ordering operator on a boolean or null, as MongoDB's type bracketing answers it, spelt
/// as equality so every backend answers alike: booleans order `false < true` among
/// themselves; null is only "equal" to null and to a missing property, so `$gte`/`$lte: null`
/// match those and `$gt`/`$lt: null` match nothing.
fn bracketed_range(path: String, op: CmpOp, operand: &Value) -> Filter {
    let holds = |ord: Ordering| match op {
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Gte => ord != Ordering::Less,
        CmpOp::Lt => ord == Ordering::Less,
        _ => ord != Ordering::Greater,
    };
    let values: Vec<Value> = match operand {
        Value::Bool(b) => [false, true]
            .into_iter()
            .filter(|v| holds(v.cmp(b)))
            .map(Value::Bool)
            .collect(),
        _ if holds(Ordering::Equal) => vec![Value::Null],
        _ => Vec::new(),
    };
    match values.as_slice() {
        [one] => Filter::Cmp {
            path,
            op: CmpOp::Eq,
            value: one.clone(),
        },
        _ => Filter::In {
            path,
            values,
            negated: false,
        },
    }
}

fn bump(count: &mut usize) -> Result<()> {
    *count += 1;
    if *count > MAX_CONDITIONS {
        return Err(invalid(format!(
            "filter has more than {MAX_CONDITIONS} conditions"
        )));
    }
    Ok(())
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Validation(format!("filter: {}", message.into()))
}

/// The JSON type of a value, for error messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn parses_and_matches() {
        let f = Filter::parse(&json!({"status": "active", "age": {"$gte": 18, "$lt": 65}}))
            .unwrap_or(Filter::Or(vec![]));
        assert!(f.matches(&props(json!({"status": "active", "age": 30}))));
        assert!(!f.matches(&props(json!({"status": "active", "age": 70}))));
        assert!(!f.matches(&props(json!({"status": "active", "age": "30"}))));
        assert!(!f.matches(&props(json!({"age": 30}))));
    }

    #[test]
    fn null_and_exists() {
        let f = Filter::parse(&json!({"x": null})).unwrap_or(Filter::Or(vec![]));
        assert!(f.matches(&props(json!({}))));
        assert!(f.matches(&props(json!({"x": null}))));
        assert!(!f.matches(&props(json!({"x": 0}))));
        let e = Filter::parse(&json!({"x": {"$exists": true}})).unwrap_or(Filter::Or(vec![]));
        assert!(e.matches(&props(json!({"x": null}))));
        assert!(!e.matches(&props(json!({}))));
    }

    #[test]
    fn numbers_compare_by_value() {
        let f = Filter::parse(&json!({"n": {"$in": [1, 2.5]}})).unwrap_or(Filter::Or(vec![]));
        assert!(f.matches(&props(json!({"n": 1.0}))));
        assert!(f.matches(&props(json!({"n": 2.5}))));
        assert!(!f.matches(&props(json!({"n": 2}))));
    }

    #[test]
    fn rejects_bad_filters() {
        for bad in [
            json!([]),
            json!({"$where": "1"}),
            json!({"a": {"$regex": "x"}}),
            json!({"a": {"$gt": [1]}}),
            json!({"a": {"$in": 3}}),
            json!({"a": {"$exists": 1}}),
            json!({"$or": []}),
            json!({"a": {"$gt": 1, "b": 2}}),
            json!({"a/b": 1}),
            json!({"a": [1]}),
            json!({"a": {"b": 1}}),
            json!({"a": {"$in": [[1]]}}),
        ] {
            assert!(
                matches!(Filter::parse(&bad), Err(Error::Validation(_))),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn rejects_deep_nesting() {
        let mut f = json!({"a": 1});
        for _ in 0..40 {
            f = json!({"$and": [f]});
        }
        assert!(Filter::parse(&f).is_err());
    }
}
