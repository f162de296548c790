//! The command line: where the configuration comes from and what to do.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Maintenance commands for a chronos-db deployment. Every command prints JSON on stdout;
/// errors go to stderr with a non-zero exit code.
#[derive(Debug, Parser)]
#[command(name = "chronos-db", version)]
pub struct Cli {
    /// Where the configuration comes from.
    #[command(flatten)]
    pub source: ConfigSource,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A JSON configuration file, or the embedded default in a data directory.
#[derive(Debug, Args)]
pub struct ConfigSource {
    /// A JSON configuration file (the seed's camelCase shape).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// The embedded default (SQLite + local files) in this data directory.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Tenants of the embedded default (repeatable).
    #[arg(long = "tenant", global = true)]
    pub tenants: Vec<String>,
    /// Domains of the embedded default (repeatable).
    #[arg(long = "domain", global = true)]
    pub domains: Vec<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration without connecting to anything.
    CheckConfig,
    /// Ping every configured backend; exit code 1 when one is down.
    Health,
    /// List payload blobs no committed version points at and remove them; roll lagging heads
    /// forward.
    Repair {
        /// Only report what would be done.
        #[arg(long)]
        dry_run: bool,
        /// Leave blobs younger than this many seconds alone (writes may be in flight).
        #[arg(long, default_value_t = 900)]
        min_age_secs: u64,
    },
    /// Apply the configured retention (versions and counter buckets).
    Prune,
    /// Re-read every version's payload and index row, recompute its hash and report the
    /// first broken link of every record's chain; exit code 1 when one is broken.
    Verify {
        /// Only the collections of this name (in every database that has one).
        #[arg(long)]
        collection: Option<String>,
    },
    /// Write every kept version of a collection, or of every collection of a route, to a
    /// JSON Lines file (one version per line with its original id, ov, time, kind, actor,
    /// reason and data).
    Export {
        /// The route: `<dbType>/generic`, `<dbType>/domain/<domain>` or
        /// `<dbType>/tenant/<tenantId>` (for example `runtime/tenant/acme`).
        #[arg(long)]
        route: String,
        /// Only this collection (default: every collection with records on the route).
        #[arg(long)]
        collection: Option<String>,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Read a JSON Lines export into the route's collections, keeping ids, ovs and times
    /// (collection versions are this deployment's). Records that exist with another history
    /// are refused unless `--skip-existing`; running a stopped import again finishes it.
    Import {
        /// The route (as for `export`); each line's `collection` names the collection.
        #[arg(long)]
        route: String,
        /// The file to read.
        #[arg(long = "in")]
        input: PathBuf,
        /// Skip records that exist with another history instead of stopping.
        #[arg(long)]
        skip_existing: bool,
    },
    /// Print a collection's committed writes in collection-version order: one page as JSON
    /// (its `afterCv` continues), or with `--follow` one JSON line per write, waiting for
    /// new ones until interrupted.
    Changes {
        /// The route (as for `export`).
        #[arg(long)]
        route: String,
        /// The collection.
        #[arg(long)]
        collection: String,
        /// Start after this collection version (default: from the first write).
        #[arg(long)]
        after: Option<u64>,
        /// At most this many writes on the page (1 to 1,000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print each write's data too.
        #[arg(long)]
        data: bool,
        /// Keep printing new writes as they commit, one JSON line each.
        #[arg(long)]
        follow: bool,
    },
    /// Serve the HTTP API (settings from the configuration's `serve` section) until
    /// SIGTERM or Ctrl-C; requests in flight finish and counters are flushed.
    Serve {
        /// Listen here instead of `serve.listen` (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Print a new API key with id `id` and the argon2 hash to put in `serve.keys[].hash`.
    /// The key is shown once; only its hash belongs in the configuration.
    HashKey {
        /// The key's id (1 to 64 of A-Z a-z 0-9 -).
        id: String,
    },
    /// Inspect and manage the fallback queue.
    Queue {
        /// What to do with the queue.
        #[command(subcommand)]
        action: QueueAction,
    },
}

/// Fallback-queue actions.
#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// List queued writes.
    List {
        /// Pending writes or the dead letters.
        #[arg(long, value_enum, default_value_t = QueueList::Pending)]
        kind: QueueList,
    },
    /// Make a queued write due now (a dead-lettered one goes back to the queue).
    Retry {
        /// The queue entry id.
        op_id: String,
    },
    /// Drop a queued or dead-lettered write.
    Cancel {
        /// The queue entry id.
        op_id: String,
    },
    /// Run one replay pass now.
    Replay,
}

/// Which part of the queue to list.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QueueList {
    /// Writes waiting to be replayed.
    Pending,
    /// Writes that kept failing.
    DeadLetter,
}
