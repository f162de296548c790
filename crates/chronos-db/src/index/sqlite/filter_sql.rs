//! Translation of a [`Filter`], a [`Sort`] and keyset pagination into SQL over the head table.
//!
//! Indexed properties are kept as one flat JSON object per head (`meta`, dotted path -> value);
//! `json_type` guards every comparison so the type-bracketed semantics of the filter language
//! hold (a boolean never equals a number, `$gt` on a number only matches numbers).

use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use super::meta_sql::{jtype, rank_expr, value_expr};
use super::rows;
use super::schema::Tables;
use crate::index::HeadQuery;
use crate::query::{CmpOp, Filter, Sort, SortBy};

/// The type bracket of `prop` for the table aliased `alias`: its key column when declared,
/// else [`rank_expr`].
fn rank_of(t: &Tables, alias: &str, prop: &str) -> String {
    match t.key_columns(prop) {
        Some((rank, _)) => format!("{alias}.{rank}"),
        None => rank_expr(alias, prop),
    }
}

/// The value of `prop` for the table aliased `alias`: its key column when declared, else
/// [`value_expr`].
fn value_of(t: &Tables, alias: &str, prop: &str) -> String {
    match t.key_columns(prop) {
        Some((_, value)) => format!("{alias}.{value}"),
        None => value_expr(alias, prop),
    }
}

/// The rank [`rank_expr`] gives a (scalar) JSON value.
fn rank_of_value(value: &Value) -> u8 {
    match value {
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Bool(_) => 3,
        _ => 0,
    }
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

/// `prop <sym> value` within the value's type bracket: an equality on the rank and a
/// comparison of the value, both keys of the property's index, so SQLite seeks the index for
/// one-sided and two-sided ranges alike. Neither side is ever NULL, so the test is plainly
/// true or false (also under NOT).
fn compare_sql(
    t: &Tables,
    prop: &str,
    sym: &str,
    value: &Value,
    params: &mut Vec<SqlValue>,
) -> String {
    let rank = rank_of_value(value);
    if rank == 0 {
        // Null: its bracket holds missing properties too (ranges on null are equalities,
        // rewritten before they get here).
        return format!("({} = 0)", rank_of(t, "h", prop));
    }
    bind(value, params);
    format!(
        "({} = {rank} AND {} {sym} ?)",
        rank_of(t, "h", prop),
        value_of(t, "h", prop)
    )
}

fn filter_sql(t: &Tables, filter: &Filter, params: &mut Vec<SqlValue>) -> String {
    match filter {
        Filter::And(fs) if fs.is_empty() => "1".to_string(),
        Filter::Or(fs) if fs.is_empty() => "0".to_string(),
        Filter::And(fs) => join(t, fs, " AND ", params),
        Filter::Or(fs) => join(t, fs, " OR ", params),
        Filter::Cmp { path, op, value } => match op {
            CmpOp::Eq => compare_sql(t, path, "=", value, params),
            CmpOp::Ne => format!("NOT {}", compare_sql(t, path, "=", value, params)),
            ordered => {
                let sym = match ordered {
                    CmpOp::Gt => ">",
                    CmpOp::Gte => ">=",
                    CmpOp::Lt => "<",
                    _ => "<=",
                };
                compare_sql(t, path, sym, value, params)
            }
        },
        Filter::In {
            path,
            values,
            negated,
        } => {
            let any = in_sql(t, path, values, params);
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

/// `$in`: the values grouped by type bracket, each group one SQL `IN` list (at most four
/// terms however many values, so a long list never deepens the expression tree).
fn in_sql(t: &Tables, path: &str, values: &[Value], params: &mut Vec<SqlValue>) -> String {
    let mut terms = Vec::new();
    for rank in 1..=3 {
        let group: Vec<&Value> = values.iter().filter(|v| rank_of_value(v) == rank).collect();
        if group.is_empty() {
            continue;
        }
        let marks = vec!["?"; group.len()].join(", ");
        group.iter().for_each(|v| bind(v, params));
        terms.push(format!(
            "({} = {rank} AND {} IN ({marks}))",
            rank_of(t, "h", path),
            value_of(t, "h", path)
        ));
    }
    if values.iter().any(Value::is_null) {
        terms.push(compare_sql(t, path, "=", &Value::Null, params));
    }
    if terms.is_empty() {
        "0".to_string()
    } else {
        format!("({})", terms.join(" OR "))
    }
}

fn join(t: &Tables, filters: &[Filter], sep: &str, params: &mut Vec<SqlValue>) -> String {
    let parts: Vec<String> = filters.iter().map(|f| filter_sql(t, f, params)).collect();
    format!("({})", parts.join(sep))
}

/// The sort key expressions of `sort` for the table aliased `alias`, id last.
fn sort_keys(t: &Tables, sort: &Sort, alias: &str) -> Vec<String> {
    let mut keys = match &sort.by {
        SortBy::Id => vec![],
        SortBy::UpdatedAt => vec![format!("{alias}.at")],
        SortBy::CreatedAt => vec![format!("{alias}.created_at")],
        SortBy::Prop(p) => vec![rank_of(t, alias, p), value_of(t, alias, p)],
    };
    keys.push(format!("{alias}.id"));
    keys
}

/// The statement that reads the sort keys of the record a page continues after.
pub fn after_keys_sql(t: &Tables, sort: &Sort) -> String {
    format!(
        "SELECT {} FROM {} AS a WHERE a.id = ?1",
        sort_keys(t, sort, "a").join(", "),
        t.head
    )
}

/// The full listing statement and its parameters; `after`: the sort keys of the record the
/// page continues after (read with [`after_keys_sql`]).
pub fn list_sql(t: &Tables, q: &HeadQuery, after: Option<&[SqlValue]>) -> (String, Vec<SqlValue>) {
    let mut params = Vec::new();
    let mut conditions = Vec::new();
    if let Some(f) = &q.filter {
        conditions.push(filter_sql(t, f, &mut params));
    }
    if !q.include_deleted {
        conditions.push("h.deleted = 0".to_string());
    }
    if let Some(cv) = q.written_after_cv {
        conditions.push("h.cv > ?".to_string());
        params.push(SqlValue::Integer(i64::try_from(cv).unwrap_or(i64::MAX)));
    }
    let keys = sort_keys(t, &q.sort, "h");
    if let Some(after) = after {
        // A row value over plain (or generated) columns: SQLite seeks the index to it.
        let cmp = if q.sort.descending { "<" } else { ">" };
        let marks = vec!["?"; after.len()].join(", ");
        conditions.push(format!("({}) {cmp} ({marks})", keys.join(", ")));
        params.extend(after.iter().cloned());
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
                written_after_cv: None,
            };
            let (sql, params) = list_sql(&t, &q, None);
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

    /// The plan of a listing: SQLite's EXPLAIN QUERY PLAN lines.
    fn plan(conn: &Connection, t: &Tables, q: &HeadQuery, after: Option<&[SqlValue]>) -> String {
        let (sql, params) = list_sql(t, q, after);
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let lines: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(params), |r| r.get(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        lines.join("; ")
    }

    /// Sorting by a declared property, continuing after a record, and ranges on it read the
    /// property's index: in order for sorts (no sorting step), by seeking for ranges and pages.
    /// Their cost then does not grow with the collection.
    #[test]
    fn listings_on_a_declared_property_read_its_index() {
        let conn = Connection::open_in_memory().unwrap();
        let t = Tables::with_indexed("items", std::sync::Arc::new(vec!["score".to_string()]));
        schema::ensure_collection(&conn, &t, &["score".to_string()]).unwrap();
        // Opening it again (another process, a restart) changes nothing.
        schema::ensure_collection(&conn, &t, &["score".to_string()]).unwrap();
        let query = |filter: Option<serde_json::Value>, sort: Sort| HeadQuery {
            filter: filter.map(|f| Filter::parse(&f).unwrap()),
            sort,
            limit: 51,
            after_id: None,
            include_deleted: false,
            written_after_cv: None,
        };
        let by_score = |descending| Sort {
            by: SortBy::Prop("score".into()),
            descending,
        };
        let after = [
            SqlValue::Integer(1),
            SqlValue::Integer(5),
            SqlValue::Text("x".into()),
        ];
        for descending in [false, true] {
            let q = query(None, by_score(descending));
            for (page, keys) in [("first", None), ("later", Some(&after[..]))] {
                let p = plan(&conn, &t, &q, keys);
                assert!(p.contains("INDEX items_p_score_keys"), "{page}: {p}");
                assert!(!p.contains("TEMP B-TREE"), "{page}, desc {descending}: {p}");
            }
            let later = plan(&conn, &t, &q, Some(&after));
            assert!(later.starts_with("SEARCH"), "{later}");
        }
        for range in [
            json!({"score": {"$lt": 10}}),
            json!({"score": {"$gte": 3}}),
            json!({"score": {"$gt": 3, "$lt": 10}}),
            json!({"score": {"$in": [1, 2, 3]}}),
        ] {
            let p = plan(
                &conn,
                &t,
                &query(Some(range.clone()), Sort::default()),
                None,
            );
            assert!(
                p.starts_with("SEARCH h USING INDEX items_p_score_keys"),
                "{range}: {p}"
            );
        }
    }
}
