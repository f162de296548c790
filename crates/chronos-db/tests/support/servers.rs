//! The test servers started by `scripts/test-servers.sh`, shared by the test binaries.

#![allow(dead_code)]

use chronos_db::config::{S3Connection, SpacesConnection};

/// The servers' addresses and credentials, read from the environment.
#[derive(Clone)]
pub struct Servers {
    pub mongo_uri: String,
    pub s3: SpacesConnection,
}

impl Servers {
    /// The S3 connection's settings.
    #[allow(dead_code)]
    pub fn s3_parts(&self) -> &S3Connection {
        match &self.s3 {
            SpacesConnection::S3(s3) => s3,
            other => panic!("the test S3 connection is {other:?}"),
        }
    }
}

/// The servers, or `None` when they are not running and not required. With
/// `CHRONOS_REQUIRE_SERVERS=1` (set by `scripts/test.sh`) missing servers fail the test.
pub fn servers() -> Option<Servers> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let found = (|| {
        Some(Servers {
            mongo_uri: var("CHRONOS_TEST_MONGO_URI")?,
            s3: SpacesConnection::S3(S3Connection {
                endpoint: var("CHRONOS_TEST_S3_ENDPOINT")?,
                region: var("CHRONOS_TEST_S3_REGION")?,
                access_key: var("CHRONOS_TEST_S3_ACCESS_KEY")?,
                secret_key: var("CHRONOS_TEST_S3_SECRET_KEY")?,
                force_path_style: Some(true),
            }),
        })
    })();
    if found.is_none() {
        assert!(
            var("CHRONOS_REQUIRE_SERVERS").is_none(),
            "CHRONOS_REQUIRE_SERVERS is set but the CHRONOS_TEST_* server variables are not"
        );
        eprintln!("skipped: no test servers (run ./scripts/test.sh to start them)");
    }
    found
}

/// Runs `scripts/test-servers.sh <action>` (e.g. `stop-s3`, `start-mongo`) and fails the test
/// if it fails.
pub fn script(action: &str) {
    let path = std::env::var("CHRONOS_TEST_SERVERS_SCRIPT").expect("CHRONOS_TEST_SERVERS_SCRIPT");
    let status = std::process::Command::new(path)
        .arg(action)
        .status()
        .expect("run test-servers.sh");
    assert!(status.success(), "test-servers.sh {action} failed");
}
