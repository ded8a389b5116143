#!/usr/bin/env bash
# Install (if missing) and start a PostgreSQL server on loopback for the storage test suite.
#
# Usage:  eval "$(bash .ci/postgres.sh)"
# Progress goes to stderr; the only line on stdout is the export of SPOT_TEST_PG_URL, so the
# caller's `eval` sets it. Idempotent: safe to run when the server is already up.
# Knobs (env): SPOT_PG_PORT (default 5432), SPOT_PG_USER / SPOT_PG_PASSWORD / SPOT_PG_DB
# (default spot / spot / spot_test).
set -euo pipefail

PORT="${SPOT_PG_PORT:-5432}"
PGUSER_NAME="${SPOT_PG_USER:-spot}"
PGPASS="${SPOT_PG_PASSWORD:-spot}"
PGDB="${SPOT_PG_DB:-spot_test}"

log() { echo "[postgres.sh] $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing the Debian postgresql package"
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -1)"
BIN="/usr/lib/postgresql/${VERSION}/bin"
log "PostgreSQL ${VERSION}"

# The Debian package normally creates cluster "main"; make one if the image has none.
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "${VERSION} main"; then
  log "creating cluster ${VERSION}/main on port ${PORT}"
  as_root pg_createcluster "${VERSION}" main --port "${PORT}" >&2
fi

CONF_DIR="/etc/postgresql/${VERSION}/main"
# Loopback only, on the chosen port. Written to conf.d (included by Debian's postgresql.conf) so
# the packaged file stays untouched.
WANT="listen_addresses = '127.0.0.1'
port = ${PORT}"
CHANGED=0
if [ "$(cat "${CONF_DIR}/conf.d/spot.conf" 2>/dev/null || true)" != "${WANT}" ]; then
  as_root mkdir -p "${CONF_DIR}/conf.d"
  printf '%s\n' "${WANT}" | as_root tee "${CONF_DIR}/conf.d/spot.conf" >/dev/null
  CHANGED=1
fi

STATUS="$(pg_lsclusters -h | awk -v v="${VERSION}" '$1==v && $2=="main" {print $4}')"
if [ "${STATUS}" = "online" ] && [ "${CHANGED}" = 0 ]; then
  log "cluster already online"
elif [ "${STATUS}" = "online" ]; then
  log "cluster online; restarting to apply settings"
  as_root pg_ctlcluster "${VERSION}" main restart >&2
else
  log "starting cluster"
  as_root pg_ctlcluster "${VERSION}" main start >&2
fi

# Wait for the server to accept connections (pg_ctlcluster waits already; this is a guard).
for _ in $(seq 1 30); do
  if "${BIN}/pg_isready" -h 127.0.0.1 -p "${PORT}" -q; then break; fi
  sleep 1
done
"${BIN}/pg_isready" -h 127.0.0.1 -p "${PORT}" >&2

psql_admin() {
  as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "${PORT}" -h /var/run/postgresql "$@"
}

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname='${PGUSER_NAME}'")" != "1" ]; then
  log "creating role ${PGUSER_NAME}"
  psql_admin -c "CREATE ROLE \"${PGUSER_NAME}\" LOGIN PASSWORD '${PGPASS}'"
else
  psql_admin -c "ALTER ROLE \"${PGUSER_NAME}\" LOGIN PASSWORD '${PGPASS}'"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname='${PGDB}'")" != "1" ]; then
  log "creating database ${PGDB}"
  psql_admin -c "CREATE DATABASE \"${PGDB}\" OWNER \"${PGUSER_NAME}\""
fi

URL="postgresql+psycopg://${PGUSER_NAME}:${PGPASS}@127.0.0.1:${PORT}/${PGDB}"
log "ready: ${URL}"
echo "export SPOT_TEST_PG_URL=${URL}"
