//! What a caller may do on a route. A route outside every scope of the key answers 404, as
//! a missing record does, so a key learns nothing of tenants it cannot reach; a route the key
//! sees without the right asked for answers 403.

use chronos_db::{Route, Tier};

use crate::config::{Access, Scope};
use crate::keys::Caller;
use crate::problem::Problem;

/// Whether `scope` reaches `route`.
fn reaches(scope: &Scope, route: &Route) -> bool {
    let listed = |list: &Option<Vec<String>>, value: Option<&String>| match (list, value) {
        (None, _) => true,
        (Some(list), Some(v)) => list.contains(v),
        (Some(_), None) => false,
    };
    scope
        .db_types
        .as_ref()
        .is_none_or(|t| t.contains(&route.db_type))
        && scope.tiers.as_ref().is_none_or(|t| t.contains(&route.tier))
        && match route.tier {
            Tier::Tenant => listed(&scope.tenants, route.tenant_id.as_ref()),
            Tier::Domain => listed(&scope.domains, route.domain.as_ref()),
            Tier::Generic => true,
        }
}

/// Allows `need` on `route` for `caller`, or answers the problem that refuses it.
pub fn check(caller: &Caller, route: &Route, need: Access) -> Result<(), Problem> {
    let Some(scopes) = &caller.scopes else {
        return Ok(());
    };
    let mut seen = false;
    for scope in scopes.iter().filter(|s| reaches(s, route)) {
        if scope.access >= need {
            return Ok(());
        }
        seen = true;
    }
    match seen {
        true => Err(Problem::forbidden(need.verb())),
        false => Err(Problem::not_found("no such record or collection")),
    }
}

/// Allows a call that spans every route (the fallback queue, backend health): only a key
/// with an unrestricted admin scope may make it.
pub fn check_global(caller: &Caller) -> Result<(), Problem> {
    let Some(scopes) = &caller.scopes else {
        return Ok(());
    };
    let unrestricted = scopes.iter().any(|s| {
        s.access == Access::Admin
            && s.db_types.is_none()
            && s.tiers.is_none()
            && s.tenants.is_none()
            && s.domains.is_none()
    });
    match unrestricted {
        true => Ok(()),
        false => Err(Problem::forbidden("administer every route")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chronos_db::DbType;
    use std::sync::Arc;

    fn caller(scopes: Vec<Scope>) -> Caller {
        Caller {
            scopes: Some(Arc::from(scopes)),
        }
    }

    fn tenant_scope(tenant: &str, access: Access) -> Scope {
        Scope {
            db_types: Some(vec![DbType::Runtime]),
            tiers: Some(vec![Tier::Tenant]),
            tenants: Some(vec![tenant.into()]),
            domains: None,
            access,
        }
    }

    #[test]
    fn another_tenant_is_hidden_and_a_missing_right_is_forbidden() {
        let c = caller(vec![tenant_scope("a", Access::Read)]);
        let mine = Route::tenant(DbType::Runtime, "a", "users");
        let theirs = Route::tenant(DbType::Runtime, "b", "users");
        assert!(check(&c, &mine, Access::Read).is_ok());
        assert_eq!(check(&c, &mine, Access::Write).unwrap_err().status, 403);
        assert_eq!(check(&c, &theirs, Access::Read).unwrap_err().status, 404);
        let generic = Route::generic(DbType::Runtime, "users");
        assert_eq!(check(&c, &generic, Access::Read).unwrap_err().status, 404);
        assert_eq!(check_global(&c).unwrap_err().status, 403);
    }
}
