#!/usr/bin/env bash
# Runs the whole test suite. Installs (into the ignored .venv/) and starts the test servers
# on loopback (SeaweedFS for S3, SecantusDB for the MongoDB wire protocol), runs unit tests,
# configuration tests, doc examples and the conformance suite for every backend pair
# (SQLite + local files, SQLite + memory, MongoDB + S3 with and without transactions), then
# stops the servers by PID, also when a test fails. The Node.js package is built and tested
# with Node's own runner (embedded, and MongoDB + S3 on the same servers), its TypeScript
# declarations checked with `tsc --strict` (TypeScript installed into the ignored
# bindings/node/node_modules/), and its `npm pack` tarball installed into an empty project.
# Then the embedded-only build (features mongodb and s3 off) is tested with the embedded
# pairs, and checked to compile neither the MongoDB driver nor the S3 client.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step says how long it took, so a slow step shows in any run's log.
step() {
    local started=$SECONDS
    "$@"
    echo "test.sh: $* took $((SECONDS - started)) s" >&2
}
trap 'scripts/test-servers.sh stop' EXIT
scripts/test-servers.sh start
# shellcheck disable=SC1091
source target/test-servers/env
export CHRONOS_REQUIRE_SERVERS=1
step cargo test --workspace --all-targets
step cargo test --workspace --doc
(
    cd bindings/node
    step node scripts/build.js
    step npm install --no-save --no-audit --no-fund --silent typescript@5 @types/node@20
    step npm test
    step npm run --silent typecheck
)

# Embedded only: no server variables, so the MongoDB + S3 pairs are skipped, not failed.
step env -u CHRONOS_REQUIRE_SERVERS -u CHRONOS_TEST_MONGO_URI -u CHRONOS_TEST_S3_ENDPOINT \
    -u CHRONOS_TEST_SERVERS_SCRIPT -u CHRONOS_TEST_SCHEMATHESIS \
    cargo test --workspace --all-targets --no-default-features
if cargo tree -p chronos-db --no-default-features -e normal | grep -E ' (mongodb|reqwest|hyper) v'; then
    echo "the embedded-only build pulls in a MongoDB or HTTP client" >&2
    exit 1
fi
