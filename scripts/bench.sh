#!/usr/bin/env bash
# Benchmarks chronos-db against the raw backends: starts the test servers (as the tests do),
# runs `cargo bench --bench compare` for the embedded pair and MongoDB + S3, stops the servers.
# CHRONOS_BENCH_N (samples per operation, default 1000 embedded / 300 MongoDB + S3) and CHRONOS_BENCH_DEEP (deepest
# history, default 10000) scale it.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'scripts/test-servers.sh stop' EXIT
scripts/test-servers.sh start
# shellcheck disable=SC1091
source target/test-servers/env
cargo bench -p chronos-db --bench compare
