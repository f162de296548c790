//! Rules for every name that reaches storage: collections, tenants, domains, record ids,
//! database names, bucket names and indexed property paths.
//!
//! Each rule keeps a name from escaping its bucket, directory or database: no path separators,
//! no `..`, no characters that MongoDB, SQLite or S3 treat specially.

/// Longest record id accepted.
pub const MAX_ID_LEN: usize = 128;
/// Longest collection name accepted.
pub const MAX_COLLECTION_LEN: usize = 64;
/// Prefix reserved for chronos-db's own collections and tables.
pub const RESERVED_PREFIX: &str = "chronos_";

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Checks a collection name: 1 to 64 of `[A-Za-z0-9_-]`, starting with a letter, digit or `_`,
/// not starting with the reserved `chronos_` prefix.
pub fn check_collection(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_COLLECTION_LEN {
        return Err(format!(
            "collection name {name:?} must be 1 to {MAX_COLLECTION_LEN} characters"
        ));
    }
    if !name.chars().all(is_word_char) || name.starts_with('-') {
        return Err(format!(
            "collection name {name:?} may only contain letters, digits, '_' and '-', and may not start with '-'"
        ));
    }
    if name.starts_with(RESERVED_PREFIX) {
        return Err(format!(
            "collection name {name:?} uses the reserved prefix {RESERVED_PREFIX:?}"
        ));
    }
    Ok(())
}

/// Checks a record id: 1 to 128 of `[A-Za-z0-9_-]`.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!("id {id:?} must be 1 to {MAX_ID_LEN} characters"));
    }
    if !id.chars().all(is_word_char) {
        return Err(format!(
            "id {id:?} may only contain letters, digits, '_' and '-'"
        ));
    }
    Ok(())
}

/// Checks a tenant id or domain name: 1 to 128 of `[A-Za-z0-9_.-]`, no `..`.
pub fn check_tenant_or_domain(kind: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 128 {
        return Err(format!("{kind} {name:?} must be 1 to 128 characters"));
    }
    if !name.chars().all(|c| is_word_char(c) || c == '.') || name.contains("..") {
        return Err(format!(
            "{kind} {name:?} may only contain letters, digits, '_', '-' and single dots"
        ));
    }
    Ok(())
}

/// Checks a database name (MongoDB rules, which also make a safe SQLite file name):
/// 1 to 63 of `[A-Za-z0-9_-]`.
pub fn check_db_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err(format!("database name {name:?} must be 1 to 63 characters"));
    }
    if !name.chars().all(is_word_char) {
        return Err(format!(
            "database name {name:?} may only contain letters, digits, '_' and '-'"
        ));
    }
    Ok(())
}

/// Checks a bucket name (S3 rules): 3 to 63 of `[a-z0-9.-]`, starting and ending with a letter
/// or digit, no `..`.
pub fn check_bucket(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = name
        .chars()
        .next()
        .zip(name.chars().last())
        .is_some_and(|(a, b)| a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric());
    if name.len() < 3 || name.len() > 63 || !ok_chars || !ends_ok || name.contains("..") {
        return Err(format!(
            "bucket name {name:?} must be 3 to 63 lowercase letters, digits, '-' or '.', start and end with a letter or digit, and not contain '..'"
        ));
    }
    Ok(())
}

/// Checks an indexed property path: dot-separated segments of `[A-Za-z0-9_-]`, not starting
/// with `$`, at most 8 segments.
pub fn check_prop_path(path: &str) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    let valid = !path.is_empty()
        && segments.len() <= 8
        && segments
            .iter()
            .all(|s| !s.is_empty() && s.len() <= 64 && s.chars().all(is_word_char));
    if !valid {
        return Err(format!(
            "property path {path:?} must be up to 8 dot-separated names of letters, digits, '_' and '-'"
        ));
    }
    Ok(())
}

/// Checks an enrichment function id: 1 to 128 printable ASCII characters without spaces
/// (e.g. `enricher@v1`, `nlp/tagger:2.1`).
pub fn check_function_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "function id {id:?} must be 1 to 128 printable ASCII characters without spaces"
        ));
    }
    Ok(())
}

/// The placeholders a `routing.chooseKey` template may use.
const PLACEHOLDERS: [&str; 6] = [
    "dbType",
    "tier",
    "tenantId",
    "domain",
    "dbName",
    "collection",
];

/// Checks that every `{placeholder}` of a template is known and braces balance.
pub fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in {template:?}"))?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; use {}",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("unmatched '}}' in {template:?}"));
    }
    Ok(())
}

/// The queue table of the fallback queue in every index database.
pub const FALLBACK_QUEUE_TABLE: &str = "chronos_fallback_ops";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_templates() {
        assert!(check_template("{tenantId}:{collection}").is_ok());
        assert!(check_template("{nope}").is_err());
        assert!(check_template("{tenantId").is_err());
        assert!(check_template("x}").is_err());
    }

    #[test]
    fn collection_names() {
        assert!(check_collection("users").is_ok());
        assert!(check_collection("sensor-data").is_ok());
        for bad in ["", "../x", "a/b", "a.b", "-x", "chronos_ops", "a b", "é"] {
            assert!(check_collection(bad).is_err(), "{bad} accepted");
        }
        assert!(check_collection(&"x".repeat(65)).is_err());
    }

    #[test]
    fn ids() {
        assert!(check_id("0192f1a0-aaaa").is_ok());
        for bad in ["", "..", "a/b", "a\\b", "a.json", "a\0b", " "] {
            assert!(check_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn buckets() {
        assert!(check_bucket("chronos-runtime-tenant-a").is_ok());
        for bad in ["ab", "Upper", "-a-", "a..b", "a/b", "a_b"] {
            assert!(check_bucket(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn tenants_and_props() {
        assert!(check_tenant_or_domain("tenant", "tenant.a-1").is_ok());
        assert!(check_tenant_or_domain("tenant", "a..b").is_err());
        assert!(check_tenant_or_domain("tenant", "a/b").is_err());
        assert!(check_prop_path("address.city").is_ok());
        assert!(check_prop_path("$where").is_err());
        assert!(check_prop_path("a..b").is_err());
    }
}
