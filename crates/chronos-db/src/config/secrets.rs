//! Keeping secrets out of logs, errors and `Debug` output: connection strings lose their
//! password, secret keys are never printed.

use std::fmt;

use super::{DbConnection, SpacesConnection};

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
        f.debug_struct("DbConnection")
            .field("mongo_uri", &self.mongo_uri.as_deref().map(redact))
            .field("sqlite_dir", &self.sqlite_dir)
            .field(
                "server_selection_timeout_ms",
                &self.server_selection_timeout_ms,
            )
            .finish()
    }
}

impl fmt::Debug for SpacesConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpacesConnection")
            .field("endpoint", &self.endpoint.as_deref().map(redact))
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| HIDDEN))
            .field("force_path_style", &self.force_path_style)
            .field("local_path", &self.local_path)
            .field("memory", &self.memory)
            .finish()
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
        let db = DbConnection {
            mongo_uri: Some("mongodb://app:hunter2@db.example/x".into()),
            ..Default::default()
        };
        let s3 = SpacesConnection {
            endpoint: Some("https://s3.example".into()),
            access_key: Some("AKIA".into()),
            secret_key: Some("wJalrXUtnFEMI".into()),
            ..Default::default()
        };
        let shown = format!("{db:?} {s3:?} {db:#?} {s3:#?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("wJalrXUtnFEMI"),
            "{shown}"
        );
        assert!(shown.contains("app:***@db.example"), "{shown}");
    }
}
