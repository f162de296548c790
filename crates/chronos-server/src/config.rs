//! The `serve` section of a chronos-db configuration: where to listen, the limits, the change
//! feed's stream settings and the API keys. Checked like the rest of the configuration:
//! unknown keys are errors, and every problem is reported at once with its JSON path.

use std::net::SocketAddr;
use std::time::Duration;

use chronos_db::config::ConfigProblem;
use chronos_db::{DbType, Error, Tier};
use serde::Deserialize;
use serde_json::Value;

use crate::keys::parse_hash;

/// How the service runs. Every field has a default; see each for its value.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ServeConfig {
    /// The address to listen on (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// The largest request body accepted, in bytes (default 8 MiB); larger ones get 413.
    pub body_limit_bytes: usize,
    /// How long one request may take, in milliseconds (default 30 000); then 503. Streams
    /// (the live feed, export) are not cut by it.
    pub request_timeout_ms: u64,
    /// Requests served at once (default 256); more wait for a free slot. Streams (the live
    /// feed, exports) have a limit of the same size of their own, so open streams never
    /// hold the slots of requests.
    pub concurrency_limit: usize,
    /// How long a connection may take to send a request's headers, in milliseconds
    /// (default 10 000); a client that trickles them is cut off.
    pub header_read_timeout_ms: u64,
    /// Seconds requests in flight get to finish after a shutdown signal (default 10); open
    /// streams are closed then.
    pub shutdown_grace_seconds: u64,
    /// The live change feed's stream settings.
    pub feed: FeedConfig,
    /// The API keys. Without any, the service answers only on a loopback address and every
    /// request has every right (a development setup); a configuration that listens
    /// elsewhere without keys is refused.
    pub keys: Vec<KeyConfig>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 8 * 1024 * 1024,
            request_timeout_ms: 30_000,
            concurrency_limit: 256,
            header_read_timeout_ms: 10_000,
            shutdown_grace_seconds: 10,
            feed: FeedConfig::default(),
            keys: Vec::new(),
        }
    }
}

/// The live change feed (Server-Sent Events) of each client.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FeedConfig {
    /// Events held for one client that reads slower than writes arrive (default 256); a
    /// client that falls further behind is cut off with a `lagged` event and resumes with
    /// `Last-Event-ID`.
    pub buffer_events: usize,
    /// Seconds between keep-alive comments on an idle stream (default 15).
    pub keep_alive_seconds: u64,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            buffer_events: 256,
            keep_alive_seconds: 15,
        }
    }
}

/// One API key: its id, the argon2 hash of its secret (never the key itself), and what it
/// may reach.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyConfig {
    /// The key's id: the part of the key before the secret, and what the logs name.
    pub id: String,
    /// The PHC string of the key's argon2 hash (`chronos-db hash-key` prints one).
    pub hash: String,
    /// What the key may reach; a request is allowed when one scope allows it.
    pub scopes: Vec<Scope>,
}

impl std::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyConfig")
            .field("id", &self.id)
            .field("hash", &"<redacted>")
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// Routes and rights of a key. An absent list allows every value; a list allows its values.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scope {
    /// Database types.
    #[serde(default)]
    pub db_types: Option<Vec<DbType>>,
    /// Tiers.
    #[serde(default)]
    pub tiers: Option<Vec<Tier>>,
    /// Tenants (routes of the tenant tier).
    #[serde(default)]
    pub tenants: Option<Vec<String>>,
    /// Domains (routes of the domain tier).
    #[serde(default)]
    pub domains: Option<Vec<String>>,
    /// What the key may do there.
    pub access: Access,
}

/// Rights, each including the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Reads: records, versions, history, diffs, listings, the change feed, export,
    /// verification, counters.
    Read,
    /// Writes: create, update, delete, enrich, restore a record, import.
    Write,
    /// Administration: erase, restore a collection, the fallback queue, backend health.
    Admin,
}

impl Access {
    /// The verb a refusal names.
    pub fn verb(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Admin => "administer",
        }
    }
}

impl ServeConfig {
    /// Reads the `serve` section of a configuration document (absent: the defaults).
    pub fn from_section(section: Option<&Value>) -> Result<Self, Error> {
        let Some(section) = section else {
            return Ok(ServeConfig::default());
        };
        let config: ServeConfig = serde_path_to_error::deserialize(section).map_err(|e| {
            let path = match e.path().to_string().as_str() {
                "." => "serve".to_string(),
                p => format!("serve.{p}"),
            };
            Error::Config(vec![ConfigProblem::new(path, e.inner().to_string())])
        })?;
        config.check()?;
        Ok(config)
    }

    /// Checks the settings (limits at least 1, keys well formed, no open service off
    /// loopback); every problem is reported.
    pub fn check(&self) -> Result<(), Error> {
        let problems = self.problems();
        match problems.is_empty() {
            true => Ok(()),
            false => Err(Error::Config(problems)),
        }
    }

    /// How long one request may take.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    fn problems(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let mut positive = |path: &str, v: u64| {
            if v == 0 {
                out.push(ConfigProblem::new(path, "must be at least 1"));
            }
        };
        positive("serve.bodyLimitBytes", self.body_limit_bytes as u64);
        positive("serve.requestTimeoutMs", self.request_timeout_ms);
        positive("serve.concurrencyLimit", self.concurrency_limit as u64);
        positive("serve.headerReadTimeoutMs", self.header_read_timeout_ms);
        positive("serve.feed.bufferEvents", self.feed.buffer_events as u64);
        positive("serve.feed.keepAliveSeconds", self.feed.keep_alive_seconds);
        if self.keys.is_empty() && !self.listen.ip().is_loopback() {
            out.push(ConfigProblem::new(
                "serve.keys",
                format!(
                    "the service listens on {} without API keys: add keys, or listen on a \
                     loopback address for development",
                    self.listen
                ),
            ));
        }
        for (i, key) in self.keys.iter().enumerate() {
            let at = format!("serve.keys[{i}]");
            if !valid_key_id(&key.id) {
                out.push(ConfigProblem::new(
                    format!("{at}.id"),
                    "must be 1 to 64 of A-Z a-z 0-9 - (no `_`, which ends the id in a key)",
                ));
            }
            if self.keys[..i].iter().any(|k| k.id == key.id) {
                out.push(ConfigProblem::new(
                    format!("{at}.id"),
                    "is used by an earlier key",
                ));
            }
            if let Err(e) = parse_hash(&key.hash) {
                out.push(ConfigProblem::new(format!("{at}.hash"), e));
            }
            if key.scopes.is_empty() {
                out.push(ConfigProblem::new(
                    format!("{at}.scopes"),
                    "a key needs at least one scope",
                ));
            }
        }
        out
    }
}

/// Whether `id` can be a key id.
pub fn valid_key_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Reads a configuration file holding the library's configuration and, optionally, a
/// `serve` section; every problem of both parts is reported at once.
pub fn load_file(
    path: impl AsRef<std::path::Path>,
) -> Result<(chronos_db::ChronosConfig, ServeConfig), Error> {
    let document = chronos_db::ChronosConfig::read_json_file(path)?;
    let section = document.get("serve").cloned();
    let mut library = document;
    if let Some(o) = library.as_object_mut() {
        o.remove("serve");
    }
    let core = chronos_db::ChronosConfig::from_json_value(library);
    let serve = ServeConfig::from_section(section.as_ref());
    match (core, serve) {
        (Ok(core), Ok(serve)) => Ok((core, serve)),
        (Err(Error::Config(mut a)), Err(Error::Config(b))) => {
            a.extend(b);
            Err(Error::Config(a))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}
