//! Parsing a configuration from JSON, with the JSON path of the first shape error.

use std::path::Path;

use super::ChronosConfig;
use crate::error::{ConfigProblem, Error, Result};

impl ChronosConfig {
    /// Parses a configuration from JSON text and validates it.
    ///
    /// Unknown keys and wrongly typed values are errors naming their JSON path; then
    /// [`ChronosConfig::validate`] runs and every problem it finds is reported.
    pub fn from_json_str(json: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(json);
        let config: ChronosConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            Error::Config(vec![ConfigProblem::new(
                display_path(&e.path().to_string()),
                e.inner().to_string(),
            )])
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a configuration from a JSON value and validates it.
    pub fn from_json_value(value: serde_json::Value) -> Result<Self> {
        let config: ChronosConfig = serde_path_to_error::deserialize(value).map_err(|e| {
            Error::Config(vec![ConfigProblem::new(
                display_path(&e.path().to_string()),
                e.inner().to_string(),
            )])
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a JSON configuration file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(
                "(file)",
                format!("cannot read configuration file {}: {e}", path.display()),
            )
        })?;
        Self::from_json_str(&text)
    }

    /// The configuration as pretty JSON (credentials included: do not log it).
    pub fn to_json_string(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::config("(root)", format!("cannot serialise: {e}")))
    }
}

fn display_path(path: &str) -> String {
    if path == "." || path.is_empty() {
        "(root)".to_string()
    } else {
        path.to_string()
    }
}
