//! The main job on the embedded default (SQLite index + local payload files, no server):
//! create, update, conflict, time travel, list, delete, and print what happened.
//!
//! Run: `cargo run --example quickstart [DATA_DIR]` (default `target/chronos-quickstart`, wiped
//! first so every run starts fresh), or `cargo run --example quickstart -- --config FILE` with a
//! JSON configuration that has runtime databases for `tenant-a` and `tenant-b` (for the test
//! servers: `scripts/test-servers.sh start` writes `target/test-servers/chronos.json`).

#![allow(clippy::print_stdout)]

use std::time::Duration;

use chronos_db::maintenance::RestoreTarget;
use chronos_db::{
    Chronos, ChronosConfig, DbType, EnrichMeta, Error, ListQuery, ReadOptions, Route, Sort, SortBy,
    WriteMeta,
};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match args.as_slice() {
        [flag, file] if flag == "--config" => {
            println!("chronos-db with the configuration in {file}");
            ChronosConfig::from_json_file(file)?
        }
        _ => {
            let dir = args
                .first()
                .cloned()
                .unwrap_or_else(|| "target/chronos-quickstart".to_string());
            if std::path::Path::new(&dir).exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            println!("chronos-db on the embedded default, data in {dir}/");
            ChronosConfig::embedded(&dir)
                .with_tenant("tenant-a")
                .with_tenant("tenant-b")
        }
    };
    let chronos = Chronos::init(config).await?;
    for backend in chronos.health().await.backends {
        println!(
            "backend {:?} {} {} ({}): {} in {:?}",
            backend.role,
            backend.kind,
            backend.connection,
            backend.target,
            if backend.ok { "ok" } else { "DOWN" },
            backend.latency
        );
    }

    let users = chronos.with(Route::tenant(DbType::Runtime, "tenant-a", "users"))?;
    println!(
        "route runtime/tenant-a/users -> index database {:?}, bucket {:?}",
        users.db_name(),
        users.bucket()
    );

    let ada = users
        .create(
            json!({"name": "Ada", "email": "ada@example.com", "plan": "free"}),
            WriteMeta::new("signup-service", "new user"),
        )
        .await?;
    println!(
        "created {} -> ov {}, cv {}, at {}",
        ada.id, ada.ov, ada.cv, ada.at
    );
    let bob = users
        .create(
            json!({"name": "Bob", "email": "bob@example.com", "plan": "pro"}),
            WriteMeta::new("signup-service", "new user"),
        )
        .await?;
    println!("created {} -> ov {}, cv {}", bob.id, bob.ov, bob.cv);

    tokio::time::sleep(Duration::from_millis(5)).await;
    let upgraded = users
        .update(
            &ada.id,
            json!({"name": "Ada", "email": "ada@example.com", "plan": "pro"}),
            ada.ov,
            WriteMeta::new("billing", "upgrade"),
        )
        .await?;
    println!("updated Ada -> ov {}, cv {}", upgraded.ov, upgraded.cv);

    match users
        .update(
            &ada.id,
            json!({"plan": "stale"}),
            ada.ov,
            WriteMeta::new("late-writer", "stale"),
        )
        .await
    {
        Err(Error::Conflict { current, .. }) => {
            println!(
                "stale update with ov {} refused: current ov is {current}",
                ada.ov
            )
        }
        other => println!("unexpected result of a stale update: {other:?}"),
    }

    let then = users
        .get_as_of(&ada.id, ada.at, ReadOptions::default())
        .await?;
    if let Some(item) = then {
        println!(
            "Ada as of {} -> ov {}, plan {}",
            ada.at, item.ov, item.data["plan"]
        );
    }
    let now = users.get_latest(&ada.id, ReadOptions::default()).await?;
    if let Some(item) = now {
        println!(
            "Ada now -> ov {}, plan {}, by {} ({})",
            item.ov, item.data["plan"], item.actor, item.reason
        );
    }
    let v0 = users
        .get_version(&ada.id, 0, ReadOptions::default())
        .await?;
    if let Some(item) = v0 {
        println!("Ada version 0 -> plan {}", item.data["plan"]);
    }

    let pros = users
        .list_by_meta(
            ListQuery::filter(json!({"plan": "pro"}))
                .sorted(Sort::asc(SortBy::Prop("name".into()))),
            ReadOptions::project(["name"]),
        )
        .await?;
    let names: Vec<String> = pros
        .items
        .iter()
        .map(|i| i.data["name"].to_string())
        .collect();
    println!("users on plan pro: {}", names.join(", "));

    let deleted = users
        .delete(&bob.id, bob.ov, WriteMeta::new("support", "account closed"))
        .await?;
    println!("deleted Bob -> ov {} (logical: history stays)", deleted.ov);
    let remaining = users
        .list_by_meta(ListQuery::default(), ReadOptions::default())
        .await?;
    println!("live users: {}", remaining.items.len());

    let other = chronos.with(Route::tenant(DbType::Runtime, "tenant-b", "users"))?;
    let seen = other.get_latest(&ada.id, ReadOptions::default()).await?;
    println!(
        "tenant-b looking up Ada's id -> {}",
        if seen.is_some() {
            "FOUND (isolation broken)"
        } else {
            "nothing (isolated)"
        }
    );

    let tagged = users
        .enrich(
            &ada.id,
            json!({"tags": ["early-adopter"]}),
            EnrichMeta::new("segmenter@1", "segmenter", "weekly segmentation"),
        )
        .await?;
    let ada_now = users.get_latest(&ada.id, ReadOptions::default()).await?;
    println!(
        "enriched Ada -> ov {}, tags {}, by {:?}",
        tagged.ov,
        ada_now
            .as_ref()
            .map_or(json!(null), |i| i.data["tags"].clone()),
        ada_now.map(|i| i.function_ids).unwrap_or_default()
    );
    let reopened = users
        .restore_object(
            &bob.id,
            RestoreTarget::Ov(0),
            WriteMeta::new("support", "account reopened"),
        )
        .await?;
    println!(
        "restored Bob to ov 0 -> new ov {} (append-only)",
        reopened.ov
    );

    let totals = chronos
        .counters()
        .get_totals(&Route::tenant(DbType::Runtime, "tenant-a", "users"))
        .await?;
    println!(
        "counters for tenant-a/users: created {}, updated {}, deleted {}",
        totals.created, totals.updated, totals.deleted
    );

    chronos.shutdown().await?;
    Ok(())
}
