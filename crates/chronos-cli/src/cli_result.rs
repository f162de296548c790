//! What every command shares: its result type and the `--route` argument.

use chronos_db::{DbType, Route};

/// Any failure of the command line: bad arguments, configuration, storage.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The route `spec` names (`<dbType>/generic`, `<dbType>/domain/<domain>` or
/// `<dbType>/tenant/<tenantId>`), for `collection`.
pub fn parse_route(spec: &str, collection: &str) -> CliResult<Route> {
    let parts: Vec<&str> = spec.split('/').collect();
    let db_type = |name: &str| -> CliResult<DbType> {
        name.parse()
            .map_err(|e| format!("--route {spec:?}: {e}").into())
    };
    match parts.as_slice() {
        [t, "generic"] => Ok(Route::generic(db_type(t)?, collection)),
        [t, "domain", d] => Ok(Route::domain(db_type(t)?, *d, collection)),
        [t, "tenant", id] => Ok(Route::tenant(db_type(t)?, *id, collection)),
        _ => Err(format!(
            "--route {spec:?} is not <dbType>/generic, <dbType>/domain/<domain> or <dbType>/tenant/<tenantId>"
        )
        .into()),
    }
}
