#!/usr/bin/env bash
# Runs the whole test suite: unit tests, the configuration tests and the conformance suite for
# every backend pair, plus the doc examples.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets
cargo test --workspace --doc
