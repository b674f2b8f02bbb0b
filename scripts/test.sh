#!/usr/bin/env bash
# Sets up kiemke and runs the whole test suite: everything on SQLite, then the database tests
# again on a throw-away PostgreSQL server started on loopback from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

mkdir -p artifacts
export KIEMKE_TEST_ARTIFACTS=$PWD/artifacts

echo "== ruff (lint and format, configured in pyproject.toml)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

# The PostgreSQL pass runs the `db` tests beside the SQLite pass (two processes, so both cores
# work: much of each pass waits on child processes, sockets and timeouts); its output is kept in
# artifacts/ and printed when it ends.
echo "== database tests on PostgreSQL (in the background; output in artifacts/pytest-postgresql.log)"
source scripts/pg_test_server.sh
pg_test_server_start
trap pg_test_server_stop EXIT
KIEMKE_TEST_DATABASE_URL="$PG_TEST_URL" .venv/bin/python -m pytest -q -m db -p no:cacheprovider "$@" >artifacts/pytest-postgresql.log 2>&1 &
pg_pid=$!

status=0
echo "== tests on SQLite"
# The browser tests run on their own: Playwright's sync API keeps an event loop in the main
# thread, which the asyncio-based collector tests must not inherit.
.venv/bin/python -m pytest -q --ignore=tests/browser "$@" || status=$?

echo "== browser tests (Playwright + Debian chromium)"
.venv/bin/python -m pytest -q tests/browser "$@" || status=$?

pg_status=0
wait "$pg_pid" || pg_status=$?
echo "== database tests on PostgreSQL: the background pass's output"
cat artifacts/pytest-postgresql.log
if ((pg_status)); then status=$pg_status; fi
exit "$status"
