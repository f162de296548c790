//! The embedded form: a whole configuration from one data directory (SQLite index files and
//! local payload files), with tenants and domains added by name.

use std::path::Path;

use super::{
    ChronosConfig, ConnRefs, DatabaseEntry, DbConnection, DbType, SpacesConnection, TieredDatabases,
};

/// Connection name used by the embedded form for both the index store and payloads.
pub(crate) const EMBEDDED_CONNECTION: &str = "embedded";

const TIERED: [DbType; 3] = [DbType::Metadata, DbType::Knowledge, DbType::Runtime];

fn entry(db_name: String, bucket: String) -> DatabaseEntry {
    DatabaseEntry {
        db_conn_ref: ConnRefs::one(EMBEDDED_CONNECTION),
        space_conn_ref: Some(ConnRefs::one(EMBEDDED_CONNECTION)),
        bucket,
        db_name,
        ..DatabaseEntry::default()
    }
}

/// Lower-cases and replaces characters that database and bucket names do not allow.
fn slug(name: &str, sep: char) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                sep
            }
        })
        .collect()
}

impl ChronosConfig {
    /// The embedded default: SQLite index files under `<dir>/index` and payload files under
    /// `<dir>/blobs`, with a generic database for every database type. Add tenants and domains
    /// with [`ChronosConfig::with_tenant`] and [`ChronosConfig::with_domain`].
    pub fn embedded(data_dir: impl AsRef<Path>) -> Self {
        let dir = data_dir.as_ref();
        let mut config = ChronosConfig::default();
        config.db_connections.insert(
            EMBEDDED_CONNECTION.to_string(),
            DbConnection::sqlite(dir.join("index")),
        );
        config.spaces_connections.insert(
            EMBEDDED_CONNECTION.to_string(),
            SpacesConnection::local(dir.join("blobs")),
        );
        for db_type in TIERED {
            let name = db_type.as_str();
            *config.tiered_mut(db_type) = Some(TieredDatabases {
                generic_database: Some(entry(format!("{name}_generic"), format!("{name}-generic"))),
                ..TieredDatabases::default()
            });
        }
        config.databases.logs = Some(entry("logs".into(), "logs".into()));
        config
    }

    /// Adds a tenant to the metadata, knowledge and runtime databases of an embedded
    /// configuration (database `<type>_tenant_<tenant>`, bucket `<type>-tenant-<tenant>`).
    pub fn with_tenant(mut self, tenant_id: &str) -> Self {
        for db_type in TIERED {
            let name = db_type.as_str();
            let mut e = entry(
                format!("{name}_tenant_{}", slug(tenant_id, '_')),
                format!("{name}-tenant-{}", slug(tenant_id, '-')),
            );
            e.tenant_id = Some(tenant_id.to_string());
            if db_type == DbType::Runtime {
                e.analytics_db_name = Some(format!("analytics_tenant_{}", slug(tenant_id, '_')));
            }
            self.tiered_mut(db_type)
                .get_or_insert_with(TieredDatabases::default)
                .tenant_databases
                .push(e);
        }
        self
    }

    /// Adds a domain to the metadata, knowledge and runtime databases of an embedded
    /// configuration (database `<type>_domain_<domain>`, bucket `<type>-domain-<domain>`).
    pub fn with_domain(mut self, domain: &str) -> Self {
        for db_type in TIERED {
            let name = db_type.as_str();
            let mut e = entry(
                format!("{name}_domain_{}", slug(domain, '_')),
                format!("{name}-domain-{}", slug(domain, '-')),
            );
            e.domain = Some(domain.to_string());
            self.tiered_mut(db_type)
                .get_or_insert_with(TieredDatabases::default)
                .domains_databases
                .push(e);
        }
        self
    }

    fn tiered_mut(&mut self, db_type: DbType) -> &mut Option<TieredDatabases> {
        match db_type {
            DbType::Metadata => &mut self.databases.metadata,
            DbType::Knowledge => &mut self.databases.knowledge,
            DbType::Runtime | DbType::Logs => &mut self.databases.runtime,
        }
    }
}
