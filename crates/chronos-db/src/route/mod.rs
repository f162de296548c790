//! Routes: database type × tier × tenant/domain × collection, resolved to one index database and
//! one bucket.

mod backends;
pub mod hashing;
mod router;

pub use router::{ConfiguredDb, Router, Target};

use serde::{Deserialize, Serialize};

use crate::config::DbType;

/// The tier of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Tier {
    /// Shared by every tenant.
    Generic,
    /// Shared within a domain.
    Domain,
    /// One tenant.
    Tenant,
}

/// Where a collection lives. Build with [`Route::generic`], [`Route::domain`] or
/// [`Route::tenant`], or deserialise the seed's JSON shape
/// (`{"databaseType", "tier", "tenantId", "domain", "collection"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Route {
    /// Database type.
    #[serde(rename = "databaseType")]
    pub db_type: DbType,
    /// Tier.
    pub tier: Tier,
    /// Tenant (tenant tier only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Domain (domain tier only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Collection name.
    pub collection: String,
}

impl Route {
    /// A collection in the generic database of `db_type`.
    pub fn generic(db_type: DbType, collection: impl Into<String>) -> Self {
        Route {
            db_type,
            tier: Tier::Generic,
            tenant_id: None,
            domain: None,
            collection: collection.into(),
        }
    }

    /// A collection in the database of `domain`.
    pub fn domain(
        db_type: DbType,
        domain: impl Into<String>,
        collection: impl Into<String>,
    ) -> Self {
        Route {
            db_type,
            tier: Tier::Domain,
            tenant_id: None,
            domain: Some(domain.into()),
            collection: collection.into(),
        }
    }

    /// A collection in the database of `tenant_id`.
    pub fn tenant(
        db_type: DbType,
        tenant_id: impl Into<String>,
        collection: impl Into<String>,
    ) -> Self {
        Route {
            db_type,
            tier: Tier::Tenant,
            tenant_id: Some(tenant_id.into()),
            domain: None,
            collection: collection.into(),
        }
    }
}
