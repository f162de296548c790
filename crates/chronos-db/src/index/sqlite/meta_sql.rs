//! SQL expressions over the indexed properties of a head (its `meta` column, one flat JSON
//! object, dotted path -> value): the expressions that the schema's indexes are built on and
//! that filters and sorts must repeat character for character to read those indexes. They
//! depend on nothing else, so the schema and the filter translation both build on them.

/// SQLite JSON path of a flat meta key: `$."a.b"`. Callers validate paths to
/// `[A-Za-z0-9_.-]`; any other character is dropped here as well, so a path can never close
/// the SQL string it is written into.
fn json_path(prop: &str) -> String {
    let safe: String = prop
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect();
    format!("$.\"{safe}\"")
}

/// The `meta` column as `alias` names it (`""`: unqualified, as index definitions need).
fn meta_col(alias: &str) -> String {
    match alias {
        "" => "meta".to_string(),
        a => format!("{a}.meta"),
    }
}

/// The JSON type of `prop` for the table aliased `alias`.
pub fn jtype(alias: &str, prop: &str) -> String {
    format!("json_type({}, '{}')", meta_col(alias), json_path(prop))
}

/// The type bracket of a property's value, in the order listings sort them: 0 for null or
/// missing, 1 for numbers, 2 for text, 3 for booleans. With [`value_expr`] it is the key of
/// each indexed property's index, so filters and sorts written with these two expressions
/// (character for character as the index has them) read the index.
pub fn rank_expr(alias: &str, prop: &str) -> String {
    format!(
        "(CASE {} WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 \
         WHEN 'true' THEN 3 WHEN 'false' THEN 3 ELSE 0 END)",
        jtype(alias, prop)
    )
}

/// A property's value (booleans as 1 and 0; 0 when null or missing), the second key of its
/// index.
pub fn value_expr(alias: &str, prop: &str) -> String {
    format!(
        "IFNULL(json_extract({}, '{}'), 0)",
        meta_col(alias),
        json_path(prop)
    )
}
