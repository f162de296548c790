//! `ChronosConfig::validate`: every problem, each with its JSON path, before anything connects.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    ChronosConfig, ConnRefs, DatabaseEntry, DbConnection, DbType, MasterKeySource, SpacesConnection,
};
use crate::error::{ConfigProblem, Error, Result};
use crate::names;
use crate::query::Filter;

/// Which tier a database entry sits in, for the checks that differ per tier.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryTier {
    Generic,
    Domain,
    Tenant,
}

#[derive(Default)]
struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem::new(path, message));
    }

    fn check(&mut self, path: impl Into<String>, outcome: std::result::Result<(), String>) {
        if let Err(message) = outcome {
            self.add(path, message);
        }
    }
}

impl ChronosConfig {
    /// Checks the whole configuration and reports every problem found, each with its JSON
    /// path, as one [`Error::Config`]. Nothing connects.
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::default();
        self.check_connections(&mut p);
        self.check_databases(&mut p);
        self.check_collection_maps(&mut p);
        self.check_options(&mut p);
        self.check_encryption(&mut p);
        if p.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(p.0))
        }
    }

    fn local_storage_enabled(&self) -> bool {
        self.local_storage.as_ref().is_some_and(|l| l.enabled)
    }

    fn check_connections(&self, p: &mut Problems) {
        for (name, conn) in &self.db_connections {
            let path = format!("dbConnections.{name}");
            p.check(&path, check_conn_name(name));
            match conn {
                DbConnection::MongoDb { .. } if !cfg!(feature = "mongodb") => {
                    p.add(format!("{path}.mongoUri"), super::NO_MONGODB);
                }
                DbConnection::MongoDb { uri, .. } => {
                    if !(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
                        p.add(
                            format!("{path}.mongoUri"),
                            "must start with mongodb:// or mongodb+srv://",
                        );
                    }
                }
                DbConnection::Sqlite { dir } => {
                    if dir.as_os_str().is_empty() {
                        p.add(format!("{path}.sqliteDir"), "must not be empty");
                    }
                }
            }
            if let DbConnection::MongoDb {
                server_selection_timeout_ms: Some(0),
                ..
            } = conn
            {
                p.add(
                    format!("{path}.serverSelectionTimeoutMs"),
                    "must be at least 1",
                );
            }
        }
        for (name, conn) in &self.spaces_connections {
            let path = format!("spacesConnections.{name}");
            p.check(&path, check_conn_name(name));
            check_spaces_connection(&path, conn, p);
        }
        if let Some(local) = &self.local_storage {
            if local.enabled && local.base_path.as_os_str().is_empty() {
                p.add("localStorage.basePath", "must not be empty when enabled");
            }
        }
    }

    fn check_databases(&self, p: &mut Problems) {
        let mut entries = Vec::new();
        for db_type in DbType::ALL {
            let base = format!("databases.{}", db_type.as_str());
            if db_type == DbType::Logs {
                if let Some(e) = &self.databases.logs {
                    entries.push((base, EntryTier::Generic, e));
                }
                continue;
            }
            let Some(tiered) = self.databases.tiered(db_type) else {
                continue;
            };
            if let Some(e) = &tiered.generic_database {
                entries.push((format!("{base}.genericDatabase"), EntryTier::Generic, e));
            }
            let mut seen = BTreeSet::new();
            for (i, e) in tiered.domains_databases.iter().enumerate() {
                let path = format!("{base}.domainsDatabases[{i}]");
                if let Some(d) = &e.domain {
                    if !seen.insert(d.clone()) {
                        p.add(format!("{path}.domain"), format!("duplicate domain {d:?}"));
                    }
                }
                entries.push((path, EntryTier::Domain, e));
            }
            let mut seen = BTreeSet::new();
            for (i, e) in tiered.tenant_databases.iter().enumerate() {
                let path = format!("{base}.tenantDatabases[{i}]");
                if let Some(t) = &e.tenant_id {
                    if !seen.insert(t.clone()) {
                        p.add(
                            format!("{path}.tenantId"),
                            format!("duplicate tenant {t:?}"),
                        );
                    }
                }
                entries.push((path, EntryTier::Tenant, e));
            }
        }
        if entries.is_empty() {
            p.add("databases", "configure at least one database");
        }
        let mut index_dbs: BTreeMap<(String, String), String> = BTreeMap::new();
        for (path, tier, entry) in &entries {
            self.check_entry(path, *tier, entry, p);
            for conn in entry.db_conn_ref.names() {
                let key = (conn.clone(), entry.db_name.clone());
                if let Some(first) = index_dbs.insert(key, path.clone()) {
                    p.add(
                        format!("{path}.dbName"),
                        format!(
                            "database {:?} on {conn:?} is already used by {first}; every route needs its own database so data stays isolated",
                            entry.db_name
                        ),
                    );
                }
            }
        }
        for (path, _, entry) in &entries {
            if let Some(analytics) = &entry.analytics_db_name {
                for conn in entry.db_conn_ref.names() {
                    if let Some(owner) = index_dbs.get(&(conn.clone(), analytics.clone())) {
                        p.add(
                            format!("{path}.analyticsDbName"),
                            format!("{analytics:?} is the record database of {owner}"),
                        );
                    }
                }
            }
        }
    }

    fn check_entry(&self, path: &str, tier: EntryTier, e: &DatabaseEntry, p: &mut Problems) {
        match (tier, &e.tenant_id) {
            (EntryTier::Tenant, None) => p.add(format!("{path}.tenantId"), "missing"),
            (EntryTier::Tenant, Some(t)) => p.check(
                format!("{path}.tenantId"),
                names::check_tenant_or_domain("tenantId", t),
            ),
            (_, Some(_)) => p.add(
                format!("{path}.tenantId"),
                "only tenantDatabases entries take a tenantId",
            ),
            (_, None) => {}
        }
        match (tier, &e.domain) {
            (EntryTier::Domain, None) => p.add(format!("{path}.domain"), "missing"),
            (EntryTier::Domain, Some(d)) => p.check(
                format!("{path}.domain"),
                names::check_tenant_or_domain("domain", d),
            ),
            (_, Some(_)) => p.add(
                format!("{path}.domain"),
                "only domainsDatabases entries take a domain",
            ),
            (_, None) => {}
        }
        check_refs(
            &format!("{path}.dbConnRef"),
            &e.db_conn_ref,
            |name| self.db_connections.contains_key(name),
            || known(self.db_connections.keys()),
            p,
        );
        match &e.space_conn_ref {
            Some(refs) => check_refs(
                &format!("{path}.spaceConnRef"),
                refs,
                |name| self.spaces_connections.contains_key(name),
                || known(self.spaces_connections.keys()),
                p,
            ),
            None if !self.local_storage_enabled() => p.add(
                format!("{path}.spaceConnRef"),
                "missing (required unless localStorage is enabled)",
            ),
            None => {}
        }
        for (key, value, check) in [
            ("bucket", &e.bucket, names::check_bucket as fn(&str) -> _),
            ("dbName", &e.db_name, names::check_db_name),
        ] {
            if value.is_empty() {
                p.add(format!("{path}.{key}"), "missing");
            } else {
                p.check(format!("{path}.{key}"), check(value));
            }
        }
        if let Some(a) = &e.analytics_db_name {
            p.check(format!("{path}.analyticsDbName"), names::check_db_name(a));
        }
    }

    fn check_collection_maps(&self, p: &mut Problems) {
        for (coll, map) in &self.collection_maps {
            let path = format!("collectionMaps.{coll}");
            p.check(&path, names::check_collection(coll));
            let mut seen = BTreeSet::new();
            for (i, prop) in map.indexed_props.iter().enumerate() {
                let ip = format!("{path}.indexedProps[{i}]");
                p.check(&ip, names::check_prop_path(prop));
                if !seen.insert(prop.as_str()) {
                    p.add(ip, format!("duplicate property {prop:?}"));
                }
            }
            if let Some(v) = &map.validation {
                for (i, prop) in v.required_indexed.iter().enumerate() {
                    let rp = format!("{path}.validation.requiredIndexed[{i}]");
                    p.check(&rp, names::check_prop_path(prop));
                    if !map.indexed_props.is_empty() && !seen.contains(prop.as_str()) {
                        p.add(rp, format!("{prop:?} is not in indexedProps"));
                    }
                }
            }
            for (prop, b) in &map.base64_props {
                let bp = format!("{path}.base64Props.{prop}");
                p.check(&bp, names::check_prop_path(prop));
                if b.content_type.trim().is_empty() {
                    p.add(format!("{bp}.contentType"), "must not be empty");
                }
                if let Some(charset) = &b.text_charset {
                    if !matches!(charset.to_ascii_lowercase().as_str(), "utf-8" | "utf8") {
                        p.add(
                            format!("{bp}.textCharset"),
                            format!("{charset:?} is not supported; text renditions are UTF-8"),
                        );
                    }
                }
            }
        }
    }

    fn check_encryption(&self, p: &mut Problems) {
        let enabled = self.encryption.as_ref().is_some_and(|e| e.enabled);
        if let Some(e) = self.encryption.as_ref().filter(|e| e.enabled) {
            match &e.master_key {
                None => p.add(
                    "encryption.masterKey",
                    "required when encryption is enabled: {\"env\": NAME} or {\"file\": PATH}",
                ),
                Some(MasterKeySource::Env(var)) if var.trim().is_empty() => p.add(
                    "encryption.masterKey.env",
                    "must name an environment variable",
                ),
                Some(MasterKeySource::File(path)) if path.as_os_str().is_empty() => {
                    p.add("encryption.masterKey.file", "must not be empty")
                }
                Some(_) => {}
            }
        }
        if !enabled {
            return;
        }
        const NOT_YET: &str =
            "is not yet available with encryption (its stored copies would not be encrypted)";
        if self.dev_shadow.as_ref().is_some_and(|d| d.enabled) {
            p.add("devShadow.enabled", NOT_YET);
        }
        if self.fallback.as_ref().is_some_and(|f| f.enabled) {
            p.add("fallback.enabled", NOT_YET);
        }
        for (coll, map) in &self.collection_maps {
            if !map.base64_props.is_empty() {
                p.add(format!("collectionMaps.{coll}.base64Props"), NOT_YET);
            }
        }
    }

    fn check_options(&self, p: &mut Problems) {
        if !self.versioning.enabled {
            p.add(
                "versioning.enabled",
                "chronos-db keeps every version of every record and cannot turn that off; to keep only the latest, set retention.ver.maxPerItem to 1 and run prune",
            );
        }
        let mut names_seen = BTreeSet::new();
        for (i, rule) in self.counter_rules.rules.iter().enumerate() {
            let path = format!("counterRules.rules[{i}]");
            if rule.name.trim().is_empty() {
                p.add(format!("{path}.name"), "must not be empty");
            } else if !names_seen.insert(rule.name.as_str()) {
                p.add(
                    format!("{path}.name"),
                    format!("duplicate rule {:?}", rule.name),
                );
            }
            if let Err(e) = Filter::parse(&rule.when) {
                p.add(format!("{path}.when"), e.to_string());
            }
        }
        if let Some(ver) = &self.retention.ver {
            if ver.days == Some(0) {
                p.add("retention.ver.days", "must be at least 1");
            }
            if ver.max_per_item == Some(0) {
                p.add(
                    "retention.ver.maxPerItem",
                    "must be at least 1 (the latest version is always kept)",
                );
            }
        }
        if let Some(template) = &self.routing.choose_key {
            if let Err(e) = names::check_template(template) {
                p.add("routing.chooseKey", e);
            }
        }
        if self.write_optimization.batch_size == Some(0) {
            p.add("writeOptimization.batchSize", "must be at least 1");
        }
        if self.write_optimization.max_payload_bytes == Some(0) {
            p.add("writeOptimization.maxPayloadBytes", "must be at least 1");
        }
        if let Some(n) = self.write_optimization.inline_max_bytes {
            if n == 0 || n > super::MAX_INLINE_MAX_BYTES {
                p.add(
                    "writeOptimization.inlineMaxBytes",
                    format!(
                        "must be between 1 and {} (1 MiB); to keep every payload in object storage, set payloadLayout to \"objects\"",
                        super::MAX_INLINE_MAX_BYTES
                    ),
                );
            }
        }
        if self.write_optimization.max_indexed_value_bytes == Some(0) {
            p.add(
                "writeOptimization.maxIndexedValueBytes",
                "must be at least 1",
            );
        }
        if let Some(f) = &self.fallback {
            if let Some(dead) = &f.dead_letter_collection {
                if let Err(e) = names::check_collection(dead) {
                    p.add("fallback.deadLetterCollection", e);
                } else if dead == names::FALLBACK_QUEUE_TABLE {
                    p.add(
                        "fallback.deadLetterCollection",
                        "must differ from the queue collection chronos_fallback_ops",
                    );
                }
            }
            if f.max_retries == Some(0) {
                p.add("fallback.maxRetries", "must be at least 1");
            }
            if let (Some(first), Some(max)) = (f.retry_delay_ms, f.max_delay_ms) {
                if first > max {
                    p.add(
                        "fallback.retryDelayMs",
                        "must not exceed fallback.maxDelayMs",
                    );
                }
            }
        }
        if let Some(d) = &self.dev_shadow {
            if d.enabled && d.ttl_hours == 0 {
                p.add("devShadow.ttlHours", "must be at least 1 when enabled");
            }
        }
    }
}

fn check_refs(
    path: &str,
    refs: &ConnRefs,
    exists: impl Fn(&str) -> bool,
    known: impl Fn() -> String,
    p: &mut Problems,
) {
    if refs.is_empty() {
        p.add(path, "missing");
    }
    let mut seen = BTreeSet::new();
    for name in refs.names() {
        if !exists(name) {
            p.add(
                path,
                format!("unknown connection {name:?}; known: {}", known()),
            );
        }
        if !seen.insert(name) {
            p.add(path, format!("connection {name:?} is listed twice"));
        }
    }
}

fn check_conn_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "connection name {name:?} must be 1 to 64 letters, digits, '_' or '-'"
        ))
    }
}

fn check_spaces_connection(path: &str, c: &SpacesConnection, p: &mut Problems) {
    match c {
        SpacesConnection::S3(_) if !cfg!(feature = "s3") => p.add(path, super::NO_S3),
        SpacesConnection::S3(s3) => {
            let e = &s3.endpoint;
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                p.add(
                    format!("{path}.endpoint"),
                    "must be an http:// or https:// URL",
                );
            }
        }
        SpacesConnection::Local { path: dir } => {
            if dir.as_os_str().is_empty() {
                p.add(format!("{path}.localPath"), "must not be empty");
            }
        }
        SpacesConnection::Memory => {}
    }
}

fn known<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let list: Vec<&str> = keys.map(String::as_str).collect();
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(", ")
    }
}
