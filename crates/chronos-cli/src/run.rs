//! Runs one command against an initialised `Chronos` and returns its JSON answer.

use std::time::Duration;

use chronos_db::fallback::QueueKind;
use chronos_db::maintenance::RepairOptions;
use chronos_db::transfer::ImportOptions;
use chronos_db::{ChangesQuery, Chronos, ChronosConfig};
use chronos_server::ServeConfig;
use serde::Serialize;
use serde_json::Value;

use crate::args::{Command, ConfigSource, QueueAction, QueueList};
use crate::cli_result::CliResult;
use crate::{feed, transfer};

/// What a command printed and whether it found everything healthy.
pub struct Outcome {
    /// The JSON printed on stdout.
    pub output: Value,
    /// False when the command ran but found a problem (a backend down): exit code 1.
    pub healthy: bool,
}

/// Builds the configuration the arguments name (the library's and the service's); it is
/// validated by `Chronos::init` or `check-config`.
/// `create_dir`: a missing data directory is created (the service starting a new store)
/// instead of refused (maintenance on a mistyped path).
pub fn load_config(
    source: &ConfigSource,
    create_dir: bool,
) -> CliResult<(ChronosConfig, ServeConfig)> {
    match (&source.config, &source.data_dir) {
        (Some(file), None) => {
            if !source.tenants.is_empty() || !source.domains.is_empty() {
                return Err("--tenant and --domain apply to --data-dir only; a configuration file lists its own".into());
            }
            Ok(chronos_server::load_file(file)?)
        }
        (None, Some(dir)) => {
            // Maintenance on a mistyped path would silently create an empty deployment.
            if !dir.is_dir() && !create_dir {
                return Err(format!("data directory {} does not exist", dir.display()).into());
            }
            let mut config = ChronosConfig::embedded(dir);
            for t in &source.tenants {
                config = config.with_tenant(t);
            }
            for d in &source.domains {
                config = config.with_domain(d);
            }
            Ok((config, ServeConfig::default()))
        }
        _ => Err("give exactly one of --config FILE and --data-dir DIR".into()),
    }
}

fn json(value: impl Serialize) -> CliResult<Value> {
    Ok(serde_json::to_value(value)?)
}

fn done(output: Value) -> CliResult<Outcome> {
    Ok(Outcome {
        output,
        healthy: true,
    })
}

/// Runs `command` with `config`; `Chronos` is shut down (counters flushed) before returning.
pub async fn run(
    (config, mut serve): (ChronosConfig, ServeConfig),
    command: &Command,
) -> CliResult<Outcome> {
    match command {
        Command::CheckConfig => {
            config.validate()?;
            return done(serde_json::json!({ "valid": true }));
        }
        Command::HashKey { id } => {
            let key = chronos_server::generate_key(id)?;
            return done(serde_json::json!({ "id": id, "key": key.key, "hash": key.hash }));
        }
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                serve.listen = *listen;
                serve.check()?;
            }
            let chronos = Chronos::init(config).await?;
            chronos_server::serve(chronos, serve, chronos_server::shutdown_signal()).await?;
            return done(serde_json::json!({ "stopped": true }));
        }
        _ => {}
    }
    let chronos = Chronos::init(config).await?;
    let outcome = dispatch(&chronos, command).await;
    chronos.shutdown().await?;
    outcome
}

async fn dispatch(chronos: &Chronos, command: &Command) -> CliResult<Outcome> {
    match command {
        // Answered before the library starts (see `run`).
        Command::CheckConfig | Command::HashKey { .. } | Command::Serve { .. } => {
            done(serde_json::json!({ "valid": true }))
        }
        Command::Health => {
            let report = chronos.health().await;
            Ok(Outcome {
                healthy: report.all_ok(),
                output: json(&report)?,
            })
        }
        Command::Repair {
            dry_run,
            min_age_secs,
        } => {
            let opts = RepairOptions {
                dry_run: *dry_run,
                min_age: Duration::from_secs(*min_age_secs),
                progress: terminal_progress("repair", "payloads checked", "orphans"),
            };
            let report = chronos.repair(opts).await;
            end_progress();
            done(json(report?)?)
        }
        Command::Prune => {
            let progress = terminal_progress("prune", "records examined", "versions removed");
            let report = chronos.prune_with(progress).await;
            end_progress();
            done(json(report?)?)
        }
        Command::Verify { collection } => {
            let progress = terminal_progress("verify", "records checked", "broken chains");
            let reports = chronos.verify_all(collection.as_deref(), progress).await;
            end_progress();
            let reports = reports?;
            Ok(Outcome {
                healthy: reports.iter().all(|c| c.report.is_whole()),
                output: json(&reports)?,
            })
        }
        Command::Export {
            route,
            collection,
            out,
        } => done(json(
            transfer::export(chronos, route, collection.as_deref(), out).await?,
        )?),
        Command::Import {
            route,
            input,
            skip_existing,
        } => {
            let opts = match skip_existing {
                true => ImportOptions::skipping_existing(),
                false => ImportOptions::default(),
            };
            done(json(transfer::import(chronos, route, input, opts).await?)?)
        }
        Command::Changes {
            route,
            collection,
            after,
            limit,
            data,
            follow,
        } => {
            let mut query = ChangesQuery::default().limit(*limit);
            query.after_cv = *after;
            query.include_data = *data;
            if *follow {
                feed::follow(chronos, route, collection, query).await?;
                return done(Value::Null);
            }
            done(feed::page(chronos, route, collection, query).await?)
        }
        Command::Queue { action } => {
            let queue = chronos.fallback();
            match action {
                QueueAction::List { kind } => {
                    let kind = match kind {
                        QueueList::Pending => QueueKind::Pending,
                        QueueList::DeadLetter => QueueKind::DeadLetter,
                    };
                    done(json(queue.list(kind).await?)?)
                }
                QueueAction::Retry { op_id } => done(json(queue.retry(op_id).await?)?),
                QueueAction::Cancel { op_id } => done(json(queue.cancel(op_id).await?)?),
                QueueAction::Replay => done(json(queue.replay_now().await?)?),
            }
        }
    }
}

/// A progress line on standard error, when it is a terminal (never in pipes or logs).
fn terminal_progress(
    what: &'static str,
    scanned: &'static str,
    found: &'static str,
) -> Option<chronos_db::maintenance::ProgressFn> {
    use std::io::{IsTerminal, Write};
    if !std::io::stderr().is_terminal() {
        return None;
    }
    Some(std::sync::Arc::new(
        move |p: chronos_db::maintenance::Progress| {
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r{what}: {} {scanned}, {} {found}",
                p.scanned, p.found
            );
            let _ = err.flush();
        },
    ))
}

/// Ends a progress line started by [`terminal_progress`].
fn end_progress() {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
}
