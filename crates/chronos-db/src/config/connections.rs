//! The connection kinds of a configuration as enums. JSON keeps its flat form (`mongoUri`
//! or `sqliteDir`; `endpoint`... or `localPath` or `memory: true`); serde parses it into the
//! one kind it names, so no later code decides again which kind a connection is.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Why a `mongoUri` connection is refused by a build without the `mongodb` feature.
pub(crate) const NO_MONGODB: &str =
    "this build of chronos-db has no MongoDB support; build it with the `mongodb` feature";

/// Why an S3 connection is refused by a build without the `s3` feature.
pub(crate) const NO_S3: &str =
    "this build of chronos-db has no S3 support; build it with the `s3` feature";

/// One index-store connection. In JSON: `{"mongoUri": ...}` (optionally with
/// `serverSelectionTimeoutMs`) or `{"sqliteDir": ...}`. Its `Debug` shows the connection
/// string with the password replaced by `***`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawDbConnection", into = "RawDbConnection")]
pub enum DbConnection {
    /// A MongoDB deployment (replica set, sharded cluster or standalone).
    MongoDb {
        /// Connection string (`mongodb://` or `mongodb+srv://`).
        uri: String,
        /// How long an operation waits for a server before it fails with a `Backend` error
        /// (default 5000, or the URI's `serverSelectionTimeoutMS`).
        server_selection_timeout_ms: Option<u64>,
    },
    /// The embedded index store: one SQLite file per database name in a directory.
    Sqlite {
        /// The directory.
        dir: PathBuf,
    },
}

impl DbConnection {
    /// A MongoDB connection with the default server selection timeout.
    pub fn mongodb(uri: impl Into<String>) -> Self {
        DbConnection::MongoDb {
            uri: uri.into(),
            server_selection_timeout_ms: None,
        }
    }

    /// An embedded SQLite connection.
    pub fn sqlite(dir: impl Into<PathBuf>) -> Self {
        DbConnection::Sqlite { dir: dir.into() }
    }
}

/// An S3-compatible object store.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Connection {
    /// Endpoint URL (`http://` or `https://`).
    pub endpoint: String,
    /// Region.
    pub region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret key (never printed).
    pub secret_key: String,
    /// Path-style bucket addressing (needed by most self-hosted S3 servers; default on).
    pub force_path_style: Option<bool>,
}

/// One object-storage connection. In JSON: S3 (`endpoint`, `region`, `accessKey`,
/// `secretKey`, optionally `forcePathStyle`), local files (`localPath`), or process memory
/// (`memory: true`, for tests). Its `Debug` shows the secret key as `***`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSpacesConnection", into = "RawSpacesConnection")]
pub enum SpacesConnection {
    /// An S3-compatible server.
    S3(S3Connection),
    /// A directory holding one sub-directory per bucket.
    Local {
        /// The directory.
        path: PathBuf,
    },
    /// Process memory (lost at exit; for tests).
    Memory,
}

impl SpacesConnection {
    /// Local files under `path`.
    pub fn local(path: impl Into<PathBuf>) -> Self {
        SpacesConnection::Local { path: path.into() }
    }
}

/// The JSON form of a [`DbConnection`].
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawDbConnection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mongo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sqlite_dir: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_selection_timeout_ms: Option<u64>,
}

/// What is wrong with a connection: at one of its keys, or with the whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KindProblem {
    /// The key at fault (`None`: the connection as a whole).
    pub key: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

impl KindProblem {
    fn whole(message: &str) -> Self {
        KindProblem {
            key: None,
            message: message.to_string(),
        }
    }

    fn at(key: &'static str, message: &str) -> Self {
        KindProblem {
            key: Some(key),
            message: message.to_string(),
        }
    }
}

/// Every problem as one message (the form serde errors take).
fn joined(problems: Vec<KindProblem>) -> String {
    problems
        .into_iter()
        .map(|p| match p.key {
            Some(key) => format!("{key}: {}", p.message),
            None => p.message,
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl DbConnection {
    fn from_raw(raw: RawDbConnection) -> Result<Self, Vec<KindProblem>> {
        match (raw.mongo_uri, raw.sqlite_dir) {
            (Some(uri), None) => Ok(DbConnection::MongoDb {
                uri,
                server_selection_timeout_ms: raw.server_selection_timeout_ms,
            }),
            (None, Some(dir)) => match raw.server_selection_timeout_ms {
                Some(_) => Err(vec![KindProblem::at(
                    "serverSelectionTimeoutMs",
                    "applies to mongoUri connections only",
                )]),
                None => Ok(DbConnection::Sqlite { dir }),
            },
            _ => Err(vec![KindProblem::whole(
                "set exactly one of mongoUri or sqliteDir",
            )]),
        }
    }

    /// The problems of one connection's JSON, with the JSON path below the connection of
    /// each (empty: the connection itself).
    pub(crate) fn problems_in(json: &serde_json::Value) -> Vec<(String, String)> {
        problems_of(json, Self::from_raw)
    }
}

impl TryFrom<RawDbConnection> for DbConnection {
    type Error = String;

    fn try_from(raw: RawDbConnection) -> Result<Self, String> {
        Self::from_raw(raw).map_err(joined)
    }
}

/// Parses one connection's JSON into its raw form (shape errors at their path), then its
/// kind; every problem found, with its path below the connection.
fn problems_of<R, T>(
    json: &serde_json::Value,
    kind: fn(R) -> Result<T, Vec<KindProblem>>,
) -> Vec<(String, String)>
where
    R: serde::de::DeserializeOwned,
{
    match serde_path_to_error::deserialize::<_, R>(json) {
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            vec![(path, e.inner().to_string())]
        }
        Ok(raw) => match kind(raw) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|p| (p.key.unwrap_or_default().to_string(), p.message))
                .collect(),
        },
    }
}

impl From<DbConnection> for RawDbConnection {
    fn from(c: DbConnection) -> Self {
        match c {
            DbConnection::MongoDb {
                uri,
                server_selection_timeout_ms,
            } => RawDbConnection {
                mongo_uri: Some(uri),
                server_selection_timeout_ms,
                ..Default::default()
            },
            DbConnection::Sqlite { dir } => RawDbConnection {
                sqlite_dir: Some(dir),
                ..Default::default()
            },
        }
    }
}

/// The JSON form of a [`SpacesConnection`].
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSpacesConnection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    force_path_style: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    local_path: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    memory: Option<bool>,
}

impl SpacesConnection {
    fn from_raw(raw: RawSpacesConnection) -> Result<Self, Vec<KindProblem>> {
        let s3 = raw.endpoint.is_some()
            || raw.region.is_some()
            || raw.access_key.is_some()
            || raw.secret_key.is_some()
            || raw.force_path_style.is_some();
        let memory = raw.memory == Some(true);
        match (s3, raw.local_path, memory) {
            (true, None, false) => {
                let mut missing = Vec::new();
                let mut need = |key: &'static str, v: Option<String>| {
                    let v = v.filter(|v| !v.trim().is_empty());
                    if v.is_none() {
                        missing.push(KindProblem::at(key, "missing"));
                    }
                    v.unwrap_or_default()
                };
                let s3 = S3Connection {
                    endpoint: need("endpoint", raw.endpoint),
                    region: need("region", raw.region),
                    access_key: need("accessKey", raw.access_key),
                    secret_key: need("secretKey", raw.secret_key),
                    force_path_style: raw.force_path_style,
                };
                match missing.is_empty() {
                    true => Ok(SpacesConnection::S3(s3)),
                    false => Err(missing),
                }
            }
            (false, Some(path), false) => Ok(SpacesConnection::Local { path }),
            (false, None, true) => Ok(SpacesConnection::Memory),
            _ => Err(vec![KindProblem::whole(
                "set exactly one kind: S3 (endpoint, region, accessKey, secretKey), localPath, or memory: true",
            )]),
        }
    }

    /// The problems of one connection's JSON, with the JSON path below the connection of
    /// each (empty: the connection itself).
    pub(crate) fn problems_in(json: &serde_json::Value) -> Vec<(String, String)> {
        problems_of(json, Self::from_raw)
    }
}

impl TryFrom<RawSpacesConnection> for SpacesConnection {
    type Error = String;

    fn try_from(raw: RawSpacesConnection) -> Result<Self, String> {
        Self::from_raw(raw).map_err(joined)
    }
}

impl From<SpacesConnection> for RawSpacesConnection {
    fn from(c: SpacesConnection) -> Self {
        match c {
            SpacesConnection::S3(s3) => RawSpacesConnection {
                endpoint: Some(s3.endpoint),
                region: Some(s3.region),
                access_key: Some(s3.access_key),
                secret_key: Some(s3.secret_key),
                force_path_style: s3.force_path_style,
                ..Default::default()
            },
            SpacesConnection::Local { path } => RawSpacesConnection {
                local_path: Some(path),
                ..Default::default()
            },
            SpacesConnection::Memory => RawSpacesConnection {
                memory: Some(true),
                ..Default::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_keeps_its_flat_form_both_ways() {
        for json in [
            json!({"mongoUri": "mongodb://h/", "serverSelectionTimeoutMs": 10}),
            json!({"sqliteDir": "/data/index"}),
        ] {
            let c: DbConnection = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(serde_json::to_value(&c).unwrap(), json);
        }
        for json in [
            json!({"endpoint": "http://s3", "region": "r", "accessKey": "a", "secretKey": "s"}),
            json!({"localPath": "/data/blobs"}),
            json!({"memory": true}),
        ] {
            let c: SpacesConnection = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(serde_json::to_value(&c).unwrap(), json);
        }
    }

    #[test]
    fn a_connection_names_exactly_one_kind() {
        let db = |j| serde_json::from_value::<DbConnection>(j).map_err(|e| e.to_string());
        assert!(db(json!({})).unwrap_err().contains("exactly one"));
        assert!(db(json!({"mongoUri": "mongodb://h/", "sqliteDir": "d"}))
            .unwrap_err()
            .contains("exactly one"));
        let spaces = |j| serde_json::from_value::<SpacesConnection>(j).map_err(|e| e.to_string());
        assert!(spaces(json!({"memory": true, "localPath": "x"}))
            .unwrap_err()
            .contains("exactly one"));
        assert!(
            spaces(json!({"endpoint": "http://s3", "region": "r", "accessKey": "a"}))
                .unwrap_err()
                .contains("secretKey: missing")
        );
        let half = json!({"endpoint": "https://s3"});
        let found = SpacesConnection::problems_in(&half);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.contains(&("region".into(), "missing".into())));
        let shape = DbConnection::problems_in(&json!({"mongoUri": 5}));
        assert_eq!(shape.len(), 1);
        assert_eq!(shape[0].0, "mongoUri");
    }
}
