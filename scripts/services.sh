#!/usr/bin/env bash
# Make sure the local PostgreSQL the tests use is running; fail if it is not.
set -euo pipefail

PGHOST="${HOOKGATE_TEST_PG_HOST:-127.0.0.1}"
PGPORT="${HOOKGATE_TEST_PG_PORT:-5432}"

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }

if command -v pg_isready >/dev/null && ! pg_up; then
    if command -v pg_ctlcluster >/dev/null; then
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if command -v pg_isready >/dev/null && ! pg_up; then
    echo "PostgreSQL is not reachable on $PGHOST:$PGPORT" >&2
    exit 1
fi
