//! Translation of a [`Filter`], a [`Sort`] and keyset pagination into SQL over the head table.
//!
//! Indexed properties are kept as one flat JSON object per head (`meta`, dotted path -> value);
//! `json_type` guards every comparison so the type-bracketed semantics of the filter language
//! hold (a boolean never equals a number, `$gt` on a number only matches numbers).

use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use super::rows;
use super::schema::Tables;
use crate::index::HeadQuery;
use crate::query::{CmpOp, Filter, Sort, SortBy};

/// SQLite JSON path of a flat meta key: `$."a.b"`. Callers validate paths to
/// `[A-Za-z0-9_.-]`; any other character is dropped here as well, so a path can never close
/// the SQL string it is written into.
pub fn json_path(prop: &str) -> String {
    let safe: String = prop
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect();
    format!("$.\"{safe}\"")
}

fn jtype(alias: &str, prop: &str) -> String {
    format!("json_type({alias}.meta, '{}')", json_path(prop))
}

fn jvalue(alias: &str, prop: &str) -> String {
    format!("json_extract({alias}.meta, '{}')", json_path(prop))
}

fn bind(value: &Value, params: &mut Vec<SqlValue>) {
    params.push(match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        _ => SqlValue::Null,
    });
}

fn type_guard(value: &Value, ty: &str) -> String {
    match value {
        Value::Number(_) => format!("{ty} IN ('integer','real')"),
        _ => format!("{ty} = 'text'"),
    }
}

/// A typed comparison `json_extract(meta, prop) <sym> ?`. Under a NOT (`closed`) it is wrapped
/// so that a missing property gives false instead of NULL; elsewhere NULL already acts as
/// false (only AND and OR combine it), and the bare comparison lets SQLite use the
/// property's expression index.
fn compare_sql(
    prop: &str,
    sym: &str,
    value: &Value,
    params: &mut Vec<SqlValue>,
    closed: bool,
) -> String {
    bind(value, params);
    // Indexed values are scalars, which json_extract gives as NULL, INTEGER (also for
    // booleans), REAL or TEXT, and SQLite never finds a number equal to a text. So string
    // equality and `>`/`>=` on strings (numbers sort before texts) need no type check, which
    // spares parsing each candidate row's metadata; `<`/`<=` on strings and every number
    // comparison (booleans are integers) keep it.
    let guard_needed = !(value.is_string() && matches!(sym, "=" | ">" | ">="));
    let test = if guard_needed {
        format!(
            "{} {sym} ? AND {}",
            jvalue("h", prop),
            type_guard(value, &jtype("h", prop))
        )
    } else {
        format!("{} {sym} ?", jvalue("h", prop))
    };
    if closed {
        format!("COALESCE(({test}), 0)")
    } else {
        format!("({test})")
    }
}

fn equals_sql(prop: &str, value: &Value, params: &mut Vec<SqlValue>, closed: bool) -> String {
    let ty = jtype("h", prop);
    match value {
        Value::Null => format!("({ty} IS NULL OR {ty} = 'null')"),
        Value::Bool(b) => format!("COALESCE({ty} = '{b}', 0)"),
        other => compare_sql(prop, "=", other, params, closed),
    }
}

fn filter_sql(filter: &Filter, params: &mut Vec<SqlValue>) -> String {
    match filter {
        Filter::And(fs) if fs.is_empty() => "1".to_string(),
        Filter::Or(fs) if fs.is_empty() => "0".to_string(),
        Filter::And(fs) => join(fs, " AND ", params),
        Filter::Or(fs) => join(fs, " OR ", params),
        Filter::Cmp { path, op, value } => match op {
            CmpOp::Eq => equals_sql(path, value, params, false),
            CmpOp::Ne => format!("NOT {}", equals_sql(path, value, params, true)),
            ordered => {
                let sym = match ordered {
                    CmpOp::Gt => ">",
                    CmpOp::Gte => ">=",
                    CmpOp::Lt => "<",
                    _ => "<=",
                };
                compare_sql(path, sym, value, params, false)
            }
        },
        Filter::In {
            path,
            values,
            negated,
        } => {
            let any = in_sql(path, values, params, *negated);
            if *negated {
                format!("NOT {any}")
            } else {
                any
            }
        }
        Filter::Exists { path, exists } => {
            let not = if *exists { " NOT" } else { "" };
            format!("({} IS{not} NULL)", jtype("h", path))
        }
    }
}

/// `$in`: the values grouped by type, each group one SQL `IN` list (at most four terms
/// however many values, so a long list never deepens the expression tree).
fn in_sql(path: &str, values: &[Value], params: &mut Vec<SqlValue>, closed: bool) -> String {
    let (numbers, texts): (Vec<&Value>, Vec<&Value>) = values
        .iter()
        .filter(|v| v.is_number() || v.is_string())
        .partition(|v| v.is_number());
    let mut terms = Vec::new();
    for (group, guard) in [(numbers, true), (texts, false)] {
        if group.is_empty() {
            continue;
        }
        let marks = vec!["?"; group.len()].join(", ");
        group.iter().for_each(|v| bind(v, params));
        let test = format!("{} IN ({marks})", jvalue("h", path));
        let test = match group.first() {
            // Booleans are integers in SQLite: numbers need their type checked.
            Some(first) if guard => format!("{test} AND {}", type_guard(first, &jtype("h", path))),
            _ => test,
        };
        terms.push(if closed {
            format!("COALESCE(({test}), 0)")
        } else {
            format!("({test})")
        });
    }
    for v in values.iter().filter(|v| v.is_boolean() || v.is_null()) {
        terms.push(equals_sql(path, v, params, closed));
    }
    if terms.is_empty() {
        "0".to_string()
    } else {
        format!("({})", terms.join(" OR "))
    }
}

fn join(filters: &[Filter], sep: &str, params: &mut Vec<SqlValue>) -> String {
    let parts: Vec<String> = filters.iter().map(|f| filter_sql(f, params)).collect();
    format!("({})", parts.join(sep))
}

/// The sort key expressions of `sort` for the table aliased `alias`, id last.
fn sort_keys(sort: &Sort, alias: &str) -> Vec<String> {
    let mut keys = match &sort.by {
        SortBy::Id => vec![],
        SortBy::UpdatedAt => vec![format!("{alias}.at")],
        SortBy::CreatedAt => vec![format!("{alias}.created_at")],
        SortBy::Prop(p) => {
            let ty = format!("json_type({alias}.meta, '{}')", json_path(p));
            vec![
                format!(
                    "(CASE {ty} WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 \
                     WHEN 'true' THEN 3 WHEN 'false' THEN 3 ELSE 0 END)"
                ),
                format!("IFNULL({}, 0)", jvalue(alias, p)),
            ]
        }
    };
    keys.push(format!("{alias}.id"));
    keys
}

/// The full listing statement and its parameters.
pub fn list_sql(t: &Tables, q: &HeadQuery) -> (String, Vec<SqlValue>) {
    let mut params = Vec::new();
    let mut conditions = Vec::new();
    if let Some(f) = &q.filter {
        conditions.push(filter_sql(f, &mut params));
    }
    if !q.include_deleted {
        conditions.push("h.deleted = 0".to_string());
    }
    let keys = sort_keys(&q.sort, "h");
    if let Some(after) = &q.after_id {
        let cmp = if q.sort.descending { "<" } else { ">" };
        conditions.push(format!(
            "({}) {cmp} (SELECT {} FROM {} AS a WHERE a.id = ?)",
            keys.join(", "),
            sort_keys(&q.sort, "a").join(", "),
            t.head
        ));
        params.push(SqlValue::Text(after.clone()));
    }
    let dir = if q.sort.descending { " DESC" } else { "" };
    let order: Vec<String> = keys.iter().map(|k| format!("{k}{dir}")).collect();
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    // The limit is written into the SQL, not bound: SQLite (3.48 on) treats a bound LIMIT as
    // a plan input, and re-prepares the statement every time the parameter is bound again,
    // which is on every call. A statement per distinct limit stays in the statement cache.
    let sql = format!(
        "SELECT {} FROM {} AS h{where_clause} ORDER BY {} LIMIT {}",
        // Unqualified: the outer query reads one table (the after-id subquery has its own).
        rows::LEAN_HEAD_COLUMNS,
        t.head,
        order.join(", "),
        i64::try_from(q.limit).unwrap_or(i64::MAX)
    );
    (sql, params)
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, StatementStatus};
    use serde_json::json;

    use super::*;
    use crate::index::sqlite::schema;

    /// A listing run again with other filter values reuses its prepared statement: nothing in
    /// it (a bound LIMIT, say) makes SQLite re-prepare it on each call.
    #[test]
    fn a_listing_statement_is_not_re_prepared_between_calls() {
        let conn = Connection::open_in_memory().unwrap();
        let t = Tables::new("items");
        schema::ensure_collection(&conn, &t, &["status".to_string()]).unwrap();
        let mut sql_seen = None;
        for status in ["a", "b", "c", "a"] {
            let q = HeadQuery {
                filter: Some(Filter::parse(&json!({ "status": status })).unwrap()),
                sort: Sort::default(),
                limit: 51,
                after_id: None,
                include_deleted: false,
            };
            let (sql, params) = list_sql(&t, &q);
            let mut stmt = conn.prepare_cached(&sql).unwrap();
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params), rows::read_located_head)
                .unwrap()
                .count();
            assert_eq!(rows, 0);
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
            assert_eq!(sql_seen.get_or_insert(sql.clone()), &sql);
        }
    }
}
