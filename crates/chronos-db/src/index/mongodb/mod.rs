//! The production index store on the official `mongodb` driver.
//!
//! Per collection: `<coll>_head` (one document per record, `_id` = record id), `<coll>_ver`
//! (one document per version; the unique index on `(id, ov)` is the commit point) and
//! `<coll>_counter` (the collection version, advanced with find-one-and-update `$inc`).
//! Indexes are created once per collection and process.
//!
//! Commits use a multi-document transaction when the deployment supports it (detected once, on
//! first use, from `hello`; or forced by `transactions.enabled`). Without one the protocol stays
//! correct: the version insert decides the winner, and the head only ever moves forward
//! (`ov: {$lt: new}`); a head left behind by a crash is rolled forward by the next writer that
//! trips over it.

mod audit;
mod batch;
mod changes;
mod claims;
mod commit;
mod counts;
mod docs;
mod errors;
mod filter_doc;
mod keys;
mod locks;
mod maintenance;
mod migrate;
mod queue;
mod queue_table;
mod reads;
mod records;
mod retry;
mod schema;

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::{doc, Document};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection};
use tokio::sync::{Mutex, OnceCell};
use tracing::{debug, info};

use super::{IndexBackend, Namespace};
use crate::error::Result;
use errors::err;

const BACKEND: &str = "mongodb";
/// How long an operation waits for a MongoDB server to answer before it fails, unless the
/// connection says otherwise (`serverSelectionTimeoutMs`, or `serverSelectionTimeoutMS` in
/// the URI). The driver's own default, 30 s, would hold every write that long during an
/// outage.
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How a connection decides whether to use transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionMode {
    /// Always use them (`transactions.enabled: true`).
    Forced,
    /// Never use them (`transactions.enabled: false`, or auto-detection off).
    Off,
    /// Ask the server once (`hello`: a replica set or mongos supports them).
    Detect,
}

/// MongoDB index store of one `dbConnections` entry.
#[derive(Debug)]
pub struct MongoIndex {
    client: Client,
    mode: TransactionMode,
    transactions: OnceCell<bool>,
    /// The server's `transactionLifetimeLimitSeconds`, when it tells (asked once).
    lifetime_limit: OnceCell<Option<u64>>,
    ensured: Mutex<HashSet<(String, String)>>,
    queues_ensured: Mutex<HashSet<(String, String)>>,
    /// Databases found (or brought) in the current stored format by this process.
    formats_ready: Mutex<HashSet<String>>,
}

/// Collections of one namespace.
pub(crate) struct Colls {
    pub(crate) head: Collection<Document>,
    pub(crate) ver: Collection<Document>,
    pub(crate) counter: Collection<Document>,
    pub(crate) locks: Collection<Document>,
}

impl MongoIndex {
    /// A client for `uri` (no round trip yet: the driver connects on first use).
    /// `server_selection_timeout` bounds how long an operation waits for a server while
    /// none answers (default: the URI's `serverSelectionTimeoutMS`, else
    /// [`DEFAULT_SERVER_SELECTION_TIMEOUT`]); connecting to a server is bounded the same way.
    pub async fn connect(
        uri: &str,
        mode: TransactionMode,
        server_selection_timeout: Option<Duration>,
    ) -> Result<Self> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(err("parse connection string"))?;
        let wait = server_selection_timeout
            .or(options.server_selection_timeout)
            .unwrap_or(DEFAULT_SERVER_SELECTION_TIMEOUT);
        options.server_selection_timeout = Some(wait);
        options.connect_timeout = Some(options.connect_timeout.unwrap_or(wait).min(wait));
        let client = Client::with_options(options).map_err(err("open client"))?;
        Ok(MongoIndex {
            client,
            mode,
            transactions: OnceCell::new(),
            lifetime_limit: OnceCell::new(),
            ensured: Mutex::new(HashSet::new()),
            queues_ensured: Mutex::new(HashSet::new()),
            formats_ready: Mutex::new(HashSet::new()),
        })
    }

    async fn use_transactions(&self) -> Result<bool> {
        self.transactions
            .get_or_try_init(|| async {
                let on = match self.mode {
                    TransactionMode::Forced => true,
                    TransactionMode::Off => false,
                    TransactionMode::Detect => {
                        let hello = self
                            .client
                            .database("admin")
                            .run_command(doc! {"hello": 1})
                            .await
                            .map_err(err("detect transaction support"))?;
                        hello.contains_key("setName")
                            || hello.get_str("msg").is_ok_and(|m| m == "isdbgrid")
                    }
                };
                info!(transactions = on, "mongodb transaction support");
                Ok(on)
            })
            .await
            .copied()
    }

    /// How long the server keeps an unfinished transaction, in seconds
    /// (`transactionLifetimeLimitSeconds`), when it tells: asked once, and `None` when the
    /// server or the user's rights do not allow the question.
    async fn transaction_lifetime_limit(&self) -> Option<u64> {
        *self
            .lifetime_limit
            .get_or_init(|| async {
                let asked = self
                    .client
                    .database("admin")
                    .run_command(doc! {"getParameter": 1, "transactionLifetimeLimitSeconds": 1})
                    .await;
                match asked {
                    Ok(answer) => match answer.get("transactionLifetimeLimitSeconds") {
                        Some(mongodb::bson::Bson::Int32(n)) => u64::try_from(*n).ok(),
                        Some(mongodb::bson::Bson::Int64(n)) => u64::try_from(*n).ok(),
                        Some(mongodb::bson::Bson::Double(n)) if *n >= 0.0 => Some(*n as u64),
                        _ => None,
                    },
                    Err(e) => {
                        debug!(error = %e, "the server did not tell its transaction lifetime limit");
                        None
                    }
                }
            })
            .await
    }

    /// Makes sure database `db_name` is in the current stored format, migrating an older one
    /// and refusing a newer one (once per process and database). Every operation on a
    /// database comes through here before it reads or writes.
    async fn ready(&self, db_name: &str) -> Result<()> {
        let mut ready = self.formats_ready.lock().await;
        if !ready.contains(db_name) {
            migrate::open(&self.client, db_name).await?;
            ready.insert(db_name.to_string());
        }
        Ok(())
    }

    /// Makes sure a queue collection has its indexes (once per process).
    /// The queue's database is brought to the current format first.
    async fn queue_ready(&self, db_name: &str, table: &str) -> Result<()> {
        let key = (db_name.to_string(), table.to_string());
        let mut ensured = self.queues_ensured.lock().await;
        if !ensured.contains(&key) {
            self.ready(db_name).await?;
            queue_table::ensure_indexes(&self.client, db_name, table).await?;
            ensured.insert(key);
        }
        Ok(())
    }

    /// The namespace's collections, its database brought to the current format and its
    /// indexes made on first use (once per process).
    async fn colls(&self, ns: &Namespace) -> Result<Colls> {
        let db = self.client.database(&ns.db_name);
        let colls = Colls {
            head: db.collection(&format!("{}_head", ns.collection)),
            ver: db.collection(&format!("{}_ver", ns.collection)),
            counter: db.collection(&format!("{}_counter", ns.collection)),
            locks: db.collection(&format!("{}_locks", ns.collection)),
        };
        let key = (ns.db_name.clone(), ns.collection.clone());
        let mut ensured = self.ensured.lock().await;
        if !ensured.contains(&key) {
            self.ready(&ns.db_name).await?;
            schema::ensure_indexes(&colls, &ns.indexed_props).await?;
            ensured.insert(key);
            debug!(db = %ns.db_name, collection = %ns.collection, "mongodb indexes ensured");
        }
        Ok(colls)
    }
}

#[async_trait]
impl IndexBackend for MongoIndex {
    fn kind(&self) -> &'static str {
        BACKEND
    }

    async fn close(&self) {
        self.client.clone().shutdown().immediate(true).await;
    }

    async fn ping(&self) -> Result<()> {
        self.client
            .database("admin")
            .run_command(doc! {"ping": 1})
            .await
            .map(|_| ())
            .map_err(err("ping"))
    }
}

super::every_capability!(MongoIndex);
