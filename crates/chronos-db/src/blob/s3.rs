//! S3-compatible buckets through `object_store`'s `AmazonS3`, sharing one HTTP client per
//! named `spacesConnection`.

use std::sync::{Arc, Mutex};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpClient, HttpConnector, ReqwestConnector};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use std::time::Duration;

use crate::config::S3Connection;
use crate::error::{Error, Result};

/// Hands every bucket of one connection the same HTTP client (and so the same connection
/// pool).
#[derive(Debug, Default)]
pub struct SharedHttp {
    client: Mutex<Option<HttpClient>>,
}

impl HttpConnector for SharedHttp {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let mut cached = self
            .client
            .lock()
            .map_err(|_| object_store::Error::Generic {
                store: "S3",
                source: "shared HTTP client lock poisoned".into(),
            })?;
        if let Some(client) = cached.as_ref() {
            return Ok(client.clone());
        }
        let client = ReqwestConnector::default().connect(options)?;
        *cached = Some(client.clone());
        Ok(client)
    }
}

/// Builds the store of one bucket on an S3 connection. `http` is the connection's shared
/// client factory.
pub fn build(
    conn: &S3Connection,
    bucket: &str,
    http: Arc<SharedHttp>,
    conn_name: &str,
) -> Result<AmazonS3> {
    let endpoint = conn.endpoint.clone();
    // allow_http must sit inside the ClientOptions: a later with_client_options would reset a
    // builder-level setting.
    let options = ClientOptions::new().with_allow_http(endpoint.starts_with("http://"));
    // A few quick retries, then the error reaches the caller (and the fallback queue, when
    // it is on) instead of blocking a write for minutes.
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(10),
    };
    AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_region(conn.region.clone())
        .with_access_key_id(conn.access_key.clone())
        .with_secret_access_key(conn.secret_key.clone())
        .with_bucket_name(bucket)
        .with_virtual_hosted_style_request(!conn.force_path_style.unwrap_or(true))
        .with_client_options(options)
        .with_retry(retry)
        .with_http_connector(SharedHttpRef(http))
        .build()
        .map_err(|e| {
            Error::config(
                format!("spacesConnections.{conn_name}"),
                format!("cannot build the S3 client: {e}"),
            )
        })
}

/// `with_http_connector` takes the connector by value; this forwards to the shared one.
#[derive(Debug)]
struct SharedHttpRef(Arc<SharedHttp>);

impl HttpConnector for SharedHttpRef {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        self.0.connect(options)
    }
}
