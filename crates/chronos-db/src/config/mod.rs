//! `ChronosConfig`: the JSON configuration of the seed (camelCase keys), plus an embedded form.
//!
//! A configuration is parsed with [`ChronosConfig::from_json_str`] (unknown keys are errors that
//! name their JSON path), built in code, or made by [`ChronosConfig::embedded`] from a data
//! directory. [`ChronosConfig::validate`] lists every problem, each with its JSON path, before
//! anything connects.
//!
//! ```
//! use chronos_db::{ChronosConfig, Error};
//! use serde_json::json;
//!
//! // The embedded default: one data directory, a generic database per database type.
//! let config = ChronosConfig::embedded("./data").with_tenant("tenant-a");
//! config.validate()?;
//!
//! // Parsing validates: every problem is reported at once, each at its JSON path.
//! let mut bad: serde_json::Value = serde_json::from_str(&config.to_json_string()?)?;
//! let tenant = &mut bad["databases"]["runtime"]["tenantDatabases"][0];
//! tenant["dbConnRef"] = json!("nowhere");
//! tenant["spaceConnRef"] = json!("elsewhere");
//! let problems = match ChronosConfig::from_json_value(bad) {
//!     Err(Error::Config(problems)) => problems,
//!     other => panic!("{other:?}"),
//! };
//! let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
//! assert!(paths.contains(&"databases.runtime.tenantDatabases[0].dbConnRef"), "{paths:?}");
//! assert!(paths.contains(&"databases.runtime.tenantDatabases[0].spaceConnRef"), "{paths:?}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod conn_refs;
mod connections;
mod embedded;
mod encryption;
mod load;
mod secrets;
mod validate;

pub use crate::error::ConfigProblem;
pub use conn_refs::ConnRefs;
pub use connections::{DbConnection, S3Connection, SpacesConnection};
pub(crate) use connections::{NO_MONGODB, NO_S3};
pub use encryption::{EncryptionConfig, MasterKeySource};
pub(crate) use secrets::redact;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole configuration of a [`crate::Chronos`] instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChronosConfig {
    /// Named index-store connections, referenced by `dbConnRef`.
    #[serde(default)]
    pub db_connections: BTreeMap<String, DbConnection>,
    /// Named object-storage connections, referenced by `spaceConnRef`.
    #[serde(default)]
    pub spaces_connections: BTreeMap<String, SpacesConnection>,
    /// Where each database type × tier lives.
    #[serde(default)]
    pub databases: Databases,
    /// Local-file payload storage for every route (development), replacing `spaceConnRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_storage: Option<LocalStorage>,
    /// How a route chooses between several backends.
    #[serde(default)]
    pub routing: RoutingConfig,
    /// Version and counter retention.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Per-collection indexed properties, validation and blob properties.
    #[serde(default)]
    pub collection_maps: BTreeMap<String, CollectionMap>,
    /// Analytics counter rules.
    #[serde(default)]
    pub counter_rules: CounterRules,
    /// Keep the latest JSON of small records in the head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_shadow: Option<DevShadow>,
    /// Whether `delete` is logical (a deleted version) or a hard erase.
    #[serde(default)]
    pub logical_delete: Toggle,
    /// Whether every write keeps a version: always on. The seed's switch is accepted only as
    /// `true`; `false` is refused (keep one version with `retention.ver.maxPerItem: 1`).
    #[serde(default)]
    pub versioning: Toggle,
    /// Batching, debouncing and compression.
    #[serde(default)]
    pub write_optimization: WriteOptimization,
    /// Durable retry queue for writes that failed after retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackConfig>,
    /// Multi-document transactions.
    #[serde(default)]
    pub transactions: TransactionsConfig,
    /// Encryption of every stored payload (off unless configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionConfig>,
}

/// Database types: which family of databases a route goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DbType {
    /// System configuration, settings, application metadata.
    Metadata,
    /// Content, documents, knowledge base.
    Knowledge,
    /// User data, transactions, dynamic application data.
    Runtime,
    /// Logs, audit trails, monitoring (generic tier only).
    Logs,
}

impl DbType {
    /// Every database type.
    pub const ALL: [DbType; 4] = [
        DbType::Metadata,
        DbType::Knowledge,
        DbType::Runtime,
        DbType::Logs,
    ];

    /// The name used in JSON and in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            DbType::Metadata => "metadata",
            DbType::Knowledge => "knowledge",
            DbType::Runtime => "runtime",
            DbType::Logs => "logs",
        }
    }
}

impl std::str::FromStr for DbType {
    type Err = crate::error::Error;

    /// The database type named `name` (`metadata`, `knowledge`, `runtime` or `logs`), as
    /// [`DbType::as_str`] writes it; another name is an [`Error::Route`](crate::Error::Route).
    fn from_str(name: &str) -> crate::Result<Self> {
        DbType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| {
                crate::Error::Route(format!(
                    "unknown database type {name:?} (metadata, knowledge, runtime or logs)"
                ))
            })
    }
}

/// Where each database type lives. `logs` has a single database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Databases {
    /// Metadata databases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TieredDatabases>,
    /// Knowledge databases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge: Option<TieredDatabases>,
    /// Runtime databases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<TieredDatabases>,
    /// The logs database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<DatabaseEntry>,
}

impl Databases {
    /// The tiered databases of a type (`None` for `logs`, which has no tiers).
    pub fn tiered(&self, db_type: DbType) -> Option<&TieredDatabases> {
        match db_type {
            DbType::Metadata => self.metadata.as_ref(),
            DbType::Knowledge => self.knowledge.as_ref(),
            DbType::Runtime => self.runtime.as_ref(),
            DbType::Logs => None,
        }
    }
}

/// The generic, domain and tenant databases of one database type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TieredDatabases {
    /// The database shared by all tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic_database: Option<DatabaseEntry>,
    /// One database per domain (each entry has `domain`).
    #[serde(default)]
    pub domains_databases: Vec<DatabaseEntry>,
    /// One database per tenant (each entry has `tenantId`).
    #[serde(default)]
    pub tenant_databases: Vec<DatabaseEntry>,
}

/// One database: its index database on a `dbConnRef` and its bucket on a `spaceConnRef`.
///
/// `tenantId` is set exactly in `tenantDatabases` entries and `domain` exactly in
/// `domainsDatabases` entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseEntry {
    /// Tenant served by this entry (tenant tier only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Domain served by this entry (domain tier only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Index-store connection (or several to choose between by hashing).
    #[serde(default)]
    pub db_conn_ref: ConnRefs,
    /// Object-storage connection (or several); optional when `localStorage` is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_conn_ref: Option<ConnRefs>,
    /// Bucket holding the payloads.
    #[serde(default)]
    pub bucket: String,
    /// Index database name.
    #[serde(default)]
    pub db_name: String,
    /// Database for this route's analytics counters (defaults to `dbName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analytics_db_name: Option<String>,
}

/// Local-file payload storage for every route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalStorage {
    /// Directory holding one sub-directory per bucket.
    pub base_path: PathBuf,
    /// Whether local storage replaces the `spaceConnRef` of every route.
    pub enabled: bool,
}

/// Hashing used to pick one of several backends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HashAlgo {
    /// Highest-random-weight (rendezvous) hashing.
    #[default]
    Rendezvous,
    /// Jump consistent hashing.
    Jump,
}

/// Routing options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingConfig {
    /// Hash algorithm.
    #[serde(default)]
    pub hash_algo: HashAlgo,
    /// What is hashed to choose between several connections of one database entry: a template
    /// over `{dbType}`, `{tier}`, `{tenantId}`, `{domain}`, `{dbName}` and `{collection}`
    /// (default `{dbName}/{collection}`). The same route always lands on the same connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choose_key: Option<String>,
}

/// Retention of versions and counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetentionConfig {
    /// Version retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<VersionRetention>,
    /// Counter retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters: Option<CounterRetention>,
}

/// How long old versions are kept (the latest is always kept).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionRetention {
    /// Keep versions younger than this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// Keep at most this many versions per record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_item: Option<u32>,
}

/// How long counter buckets are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CounterRetention {
    /// Daily buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// Weekly buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weeks: Option<u32>,
    /// Monthly buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
}

/// Per-collection settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionMap {
    /// Properties copied into the index for filtering and sorting; empty = every top-level
    /// property.
    #[serde(default)]
    pub indexed_props: Vec<String>,
    /// Base64 properties stored as separate blobs.
    #[serde(default)]
    pub base64_props: BTreeMap<String, Base64Prop>,
    /// Write-time validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<CollectionValidation>,
}

/// A base64 property stored as its own blob.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Base64Prop {
    /// MIME type of the decoded bytes.
    pub content_type: String,
    /// Also store a text rendition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_text: Option<bool>,
    /// Charset of the text rendition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_charset: Option<String>,
}

/// Write-time validation of a collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionValidation {
    /// Indexed properties that every written record must have (non-null).
    #[serde(default)]
    pub required_indexed: Vec<String>,
}

/// Analytics counter rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CounterRules {
    /// The rules.
    #[serde(default)]
    pub rules: Vec<CounterRule>,
}

/// Write events a counter rule can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CounterEvent {
    /// A create.
    Create,
    /// An update (including enrich and restore).
    Update,
    /// A delete.
    Delete,
}

/// What a counter rule's `when` filter looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CounterScope {
    /// The indexed properties.
    #[default]
    Meta,
    /// The whole payload.
    Payload,
}

/// One counter rule: count writes matching `when`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CounterRule {
    /// Counter name.
    pub name: String,
    /// Which events count (all when empty).
    #[serde(default)]
    pub on: Vec<CounterEvent>,
    /// What `when` looks at.
    #[serde(default)]
    pub scope: CounterScope,
    /// A filter with the operators of `list_by_meta`.
    pub when: serde_json::Value,
}

/// Shadow copy of the latest JSON in the head.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DevShadow {
    /// Whether shadows are kept.
    pub enabled: bool,
    /// How long a shadow is served.
    pub ttl_hours: u32,
    /// Records larger than this are not shadowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes_per_doc: Option<u64>,
}

/// An on/off switch that defaults to on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Toggle {
    /// Whether the feature is on.
    pub enabled: bool,
}

impl Default for Toggle {
    fn default() -> Self {
        Toggle { enabled: true }
    }
}

/// Batching, debouncing and compression.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WriteOptimization {
    /// Records per index commit of `create_many` (default 500); each batch's payloads are
    /// put at most 32 at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// How long counter increments are gathered before they are written, in milliseconds
    /// (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce_ms: Option<u64>,
    /// Compress payloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_enabled: Option<bool>,
    /// What an acknowledged write survives on the embedded stores (SQLite and local files):
    /// `powerLoss` (the default: payload files and their directories are synced before the
    /// version commit, and the commit itself is synced) or `processCrash` (faster: nothing is
    /// synced, so a crash of the process loses nothing, a power loss may).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability: Option<Durability>,
    /// Bytes of each embedded (SQLite) index file that reads go through memory mapping
    /// (default 0: none). A read of a file larger than its page cache then costs no system
    /// call per page. The trade-offs: mapped pages count in the process's resident memory,
    /// and, as SQLite documents, an I/O error while reading through the map ends the process
    /// instead of coming back as an error (no acknowledged write is lost either way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlite_mmap_bytes: Option<u64>,
    /// Largest record JSON a write accepts, in bytes (default 8 MiB). Larger writes are
    /// refused with `Validation` before anything is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload_bytes: Option<u64>,
    /// Largest string an indexed property may hold, in bytes (default 64 KiB). Larger
    /// values are refused with `Validation` before anything is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_indexed_value_bytes: Option<u64>,
    /// Where version payloads are kept: `inline` (the default: in the version row when their
    /// stored bytes fit `inlineMaxBytes`, else in object storage) or `objects` (the seed's
    /// layout: one `item.json` object per version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_layout: Option<PayloadLayout>,
    /// Largest stored payload (after compression) the `inline` layout keeps in the version
    /// row, in bytes (default 4096, at most 1 MiB). Larger payloads, and versions with
    /// base64 properties, go to object storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_max_bytes: Option<u64>,
}

/// Default `writeOptimization.inlineMaxBytes`.
pub(crate) const DEFAULT_INLINE_MAX_BYTES: u64 = 4096;
/// Largest `writeOptimization.inlineMaxBytes` accepted: index rows stay small next to the
/// 16 MiB limit of a MongoDB document.
pub(crate) const MAX_INLINE_MAX_BYTES: u64 = 1024 * 1024;

/// Where version payloads are kept (`writeOptimization.payloadLayout`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PayloadLayout {
    /// Small payloads in the version row of the index, written by the commit itself (no
    /// object, no extra request on reads); larger ones as objects. The head keeps a copy of
    /// its latest version's, so reads of the latest and listings are one index query.
    #[default]
    Inline,
    /// Every payload as its own immutable object,
    /// `<db>/<collection>/<id>/v<ov>/item.json`, put before the commit. Presigned URLs
    /// point at these objects.
    Objects,
}

impl WriteOptimization {
    /// Largest stored payload kept inline: 0 when the layout is `objects`.
    pub fn inline_limit(&self) -> usize {
        match self.payload_layout.unwrap_or_default() {
            PayloadLayout::Objects => 0,
            PayloadLayout::Inline => {
                usize::try_from(self.inline_max_bytes.unwrap_or(DEFAULT_INLINE_MAX_BYTES))
                    .unwrap_or(usize::MAX)
            }
        }
    }
}

/// What an acknowledged write survives on the embedded stores (`writeOptimization.durability`).
/// S3 and MongoDB keep their own guarantees (an acknowledged S3 PUT is durable; MongoDB writes
/// use the connection's write concern).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Durability {
    /// A power loss or OS crash: payload files and their directories are synced to disk before
    /// the version commits, and SQLite syncs each commit (`synchronous=FULL`).
    #[default]
    PowerLoss,
    /// A crash of the process only: nothing is synced (`synchronous=NORMAL`, no fsync of
    /// payload files), which is faster; a power loss may lose the latest writes.
    ProcessCrash,
}

impl Durability {
    /// Whether writes are synced to disk before they are acknowledged.
    pub fn syncs(self) -> bool {
        self == Durability::PowerLoss
    }
}

/// Durable retry queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FallbackConfig {
    /// Whether failed writes are queued.
    pub enabled: bool,
    /// Failed replays before a queued write is moved to the dead-letter collection
    /// (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Delay before the first replay, in milliseconds (default 1,000); it doubles, with
    /// jitter, after each failed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_ms: Option<u64>,
    /// Longest delay between replays, in milliseconds (default 60,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_ms: Option<u64>,
    /// Name of the dead-letter collection (default `chronos_fallback_dead`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_collection: Option<String>,
}

/// Multi-document transactions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransactionsConfig {
    /// Force transactions on (`true`) or off (`false`); detected when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Detect support at start (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_detect: Option<bool>,
}
