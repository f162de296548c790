//! `chronos-db`: maintenance commands for a chronos-db deployment (check a configuration,
//! ping the backends, repair after crashes, prune, verify the version chains, export and
//! import histories, read or follow a collection's change feed, manage the fallback queue,
//! serve the HTTP API). Every command prints JSON on stdout; exit code 0 on success, 1 when a
//! health check finds a backend down or `verify` a broken chain, 2 on an error (printed on
//! stderr).

mod args;
mod cli_result;
mod feed;
mod run;
mod transfer;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    // The service logs every request at `info`; the other commands only their errors,
    // unless RUST_LOG says otherwise.
    let default = match cli.command {
        args::Command::Serve { .. } => "info",
        _ => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    let outcome = match &cli.command {
        // A new key needs no configuration.
        args::Command::HashKey { .. } => run::run(Default::default(), &cli.command).await,
        command => {
            match run::load_config(&cli.source, matches!(command, args::Command::Serve { .. })) {
                Ok(config) => run::run(config, &cli.command).await,
                Err(e) => Err(e),
            }
        }
    };
    match outcome {
        Ok(outcome) => {
            let mut out = std::io::stdout().lock();
            let printed = serde_json::to_writer_pretty(&mut out, &outcome.output)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out));
            match (printed, outcome.healthy) {
                (Err(e), _) => {
                    eprintln!("chronos-db: cannot write the answer: {e}");
                    ExitCode::from(2)
                }
                (Ok(()), true) => ExitCode::SUCCESS,
                (Ok(()), false) => ExitCode::from(1),
            }
        }
        Err(e) => {
            eprintln!("chronos-db: {e}");
            ExitCode::from(2)
        }
    }
}
