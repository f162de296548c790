//! The index contract (`chronos_db::index::contract`) on every index backend: SQLite, and
//! MongoDB with and without multi-document transactions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/servers.rs"]
mod servers;

use chronos_db::index::contract;
use chronos_db::index::sqlite::SqliteIndex;

#[tokio::test]
async fn sqlite_keeps_the_index_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteIndex::open(dir.path()).unwrap();
    contract::run_all(std::sync::Arc::new(store), "contract").await;
}

#[cfg(feature = "mongodb")]
mod mongodb {
    use chronos_db::index::contract;
    use chronos_db::index::mongodb::{MongoIndex, TransactionMode};
    use chronos_db::index::IndexBackend;

    async fn run(mode: TransactionMode, tag: &str) {
        let Some(servers) = super::servers::servers() else {
            return;
        };
        let store = std::sync::Arc::new(
            MongoIndex::connect(&servers.mongo_uri, mode, None)
                .await
                .unwrap(),
        );
        let db = format!("contract{tag}{}", std::process::id());
        contract::run_all(store.clone(), &db).await;
        store.close().await;
    }

    #[tokio::test]
    async fn mongodb_with_transactions_keeps_the_index_contract() {
        run(TransactionMode::Forced, "tx").await;
    }

    #[tokio::test]
    async fn mongodb_without_transactions_keeps_the_index_contract() {
        run(TransactionMode::Off, "plain").await;
    }
}
