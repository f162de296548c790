#!/usr/bin/env bash
# Benchmarks chronos-db against the raw backends: starts the test servers (as the tests do),
# runs `cargo bench --bench compare` for the embedded pair and MongoDB + S3, stops the servers.
# CHRONOS_BENCH_N (samples per operation, default 1000 embedded / 300 MongoDB + S3) and CHRONOS_BENCH_DEEP (deepest
# history, default 10000) scale it.
#
# `--scale` runs the growth benchmark instead (no servers needed): one collection of the
# embedded default grown to CHRONOS_SCALE_SIZES records (default 10000,100000,1000000) against
# the same records inline in one SQLite file; CHRONOS_SCALE_SAMPLES sets samples per operation.
#
# `--http` runs the HTTP service against the library in process (no servers needed): 32
# concurrent clients creating, reading and listing; CHRONOS_HTTP_BENCH_N sets operations per
# client per kind.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--scale" ]; then
    exec cargo bench -p chronos-db --bench scale
fi
if [ "${1:-}" = "--http" ]; then
    exec cargo bench -p chronos-server --bench http
fi
trap 'scripts/test-servers.sh stop' EXIT
scripts/test-servers.sh start
# shellcheck disable=SC1091
source target/test-servers/env
cargo bench -p chronos-db --bench compare
