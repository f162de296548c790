//! Keeping secrets out of logs, errors and `Debug` output: connection strings lose their
//! password, secret keys are never printed.

use std::fmt;

use super::{DbConnection, S3Connection, SpacesConnection};

/// What a secret is printed as.
const HIDDEN: &str = "***";

/// `mongodb://user:secret@host` -> `mongodb://user:***@host`.
pub fn redact(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://") else {
        return uri.to_string();
    };
    let rest = &uri[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:{HIDDEN}{}", &uri[..scheme_end + 3], &rest[at..])
        }
        None => uri.to_string(),
    }
}

impl fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbConnection::MongoDb {
                uri,
                server_selection_timeout_ms,
            } => f
                .debug_struct("MongoDb")
                .field("uri", &redact(uri))
                .field("server_selection_timeout_ms", server_selection_timeout_ms)
                .finish(),
            DbConnection::Sqlite { dir } => f.debug_struct("Sqlite").field("dir", dir).finish(),
        }
    }
}

impl fmt::Debug for S3Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Connection")
            .field("endpoint", &redact(&self.endpoint))
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &HIDDEN)
            .field("force_path_style", &self.force_path_style)
            .finish()
    }
}

impl fmt::Debug for SpacesConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpacesConnection::S3(s3) => f.debug_tuple("S3").field(s3).finish(),
            SpacesConnection::Local { path } => {
                f.debug_struct("Local").field("path", path).finish()
            }
            SpacesConnection::Memory => f.write_str("Memory"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_only() {
        assert_eq!(
            redact("mongodb+srv://user:p%40ss@cluster.example.net/?retryWrites=true"),
            "mongodb+srv://user:***@cluster.example.net/?retryWrites=true"
        );
        assert_eq!(
            redact("mongodb://h1:27017,h2:27017/db"),
            "mongodb://h1:27017,h2:27017/db"
        );
        assert_eq!(
            redact("https://s3.amazonaws.com"),
            "https://s3.amazonaws.com"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let db = DbConnection::mongodb("mongodb://app:hunter2@db.example/x");
        let s3 = SpacesConnection::S3(S3Connection {
            endpoint: "https://s3.example".into(),
            region: "us-east-1".into(),
            access_key: "AKIA".into(),
            secret_key: "wJalrXUtnFEMI".into(),
            force_path_style: None,
        });
        let shown = format!("{db:?} {s3:?} {db:#?} {s3:#?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("wJalrXUtnFEMI"),
            "{shown}"
        );
        assert!(shown.contains("app:***@db.example"), "{shown}");
    }
}
