//! Parsing a configuration from JSON. Connections are checked one by one first, so a broken
//! connection is reported together with every other problem; the rest is parsed with the
//! JSON path of its first shape error, then validated.

use std::path::Path;

use serde_json::{json, Value};

use super::{ChronosConfig, DbConnection, SpacesConnection};
use crate::error::{ConfigProblem, Error, Result};

impl ChronosConfig {
    /// Parses a configuration from JSON text and validates it.
    ///
    /// Unknown keys and wrongly typed values are errors naming their JSON path; then
    /// [`ChronosConfig::validate`] runs and every problem it finds is reported.
    pub fn from_json_str(json: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::config("(root)", format!("not valid JSON: {e}")))?;
        Self::from_json_value(value)
    }

    /// Parses a configuration from a JSON value and validates it.
    pub fn from_json_value(value: Value) -> Result<Self> {
        let mut value = value;
        let mut problems = connection_problems(&mut value);
        let config: ChronosConfig = match serde_path_to_error::deserialize(value) {
            Ok(config) => config,
            Err(e) => {
                problems.push(ConfigProblem::new(
                    display_path(&e.path().to_string()),
                    e.inner().to_string(),
                ));
                return Err(Error::Config(problems));
            }
        };
        if let Err(Error::Config(more)) = config.validate() {
            problems.extend(more);
        }
        match problems.is_empty() {
            true => Ok(config),
            false => Err(Error::Config(problems)),
        }
    }

    /// Reads, parses and validates a JSON configuration file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json_value(Self::read_json_file(path)?)
    }

    /// Reads a configuration file as JSON without checking its shape, for a program that
    /// keeps sections of its own beside the library's (a service's `serve`, say) and passes
    /// the rest to [`ChronosConfig::from_json_value`].
    pub fn read_json_file(path: impl AsRef<Path>) -> Result<Value> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(
                "(file)",
                format!("cannot read configuration file {}: {e}", path.display()),
            )
        })?;
        serde_json::from_str(&text)
            .map_err(|e| Error::config("(root)", format!("not valid JSON: {e}")))
    }

    /// The configuration as pretty JSON (credentials included: do not log it).
    pub fn to_json_string(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::config("(root)", format!("cannot serialise: {e}")))
    }
}

/// The problems of every connection of `config`; each broken connection is replaced by a
/// placeholder of a valid kind, so the rest of the configuration is still parsed and checked.
fn connection_problems(config: &mut Value) -> Vec<ConfigProblem> {
    type Check = fn(&Value) -> Vec<(String, String)>;
    let sections: [(&str, Check, Value); 2] = [
        (
            "dbConnections",
            DbConnection::problems_in,
            json!({"sqliteDir": "(invalid)"}),
        ),
        (
            "spacesConnections",
            SpacesConnection::problems_in,
            json!({"memory": true}),
        ),
    ];
    let mut out = Vec::new();
    for (section, check, placeholder) in sections {
        let Some(conns) = config.get_mut(section).and_then(Value::as_object_mut) else {
            continue;
        };
        for (name, conn) in conns.iter_mut() {
            let found = check(conn);
            if found.is_empty() {
                continue;
            }
            for (below, message) in found {
                let path = match below.is_empty() {
                    true => format!("{section}.{name}"),
                    false => format!("{section}.{name}.{below}"),
                };
                out.push(ConfigProblem::new(path, message));
            }
            *conn = placeholder.clone();
        }
    }
    out
}

fn display_path(path: &str) -> String {
    if path == "." || path.is_empty() {
        "(root)".to_string()
    } else {
        path.to_string()
    }
}
