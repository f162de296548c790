#!/usr/bin/env bash
# Runs the whole test suite. Installs (into the ignored .venv/) and starts the test servers
# on loopback (SeaweedFS for S3, SecantusDB for the MongoDB wire protocol), runs unit tests,
# configuration tests, doc examples and the conformance suite for every backend pair
# (SQLite + local files, SQLite + memory, MongoDB + S3 with and without transactions), then
# stops the servers by PID, also when a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'scripts/test-servers.sh stop' EXIT
scripts/test-servers.sh start
# shellcheck disable=SC1091
source target/test-servers/env
export CHRONOS_REQUIRE_SERVERS=1
cargo test --workspace --all-targets
cargo test --workspace --doc
