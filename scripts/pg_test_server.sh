# Sourced by scripts/test.sh: a private PostgreSQL cluster on 127.0.0.1 for the test run.
# PostgreSQL refuses to run as root, so as root the cluster belongs to the "postgres" user.

pg_test_server_start() {
    local bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [[ -z $bindir ]]; then
        echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2
        return 1
    fi
    PG_TEST_PORT=${PG_TEST_PORT:-55432}
    PG_TEST_DIR=$(mktemp -d /tmp/kiemke-pg.XXXXXX)
    local run=()
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$PG_TEST_DIR"
        run=(runuser -u postgres --)
    fi
    "${run[@]}" "$bindir/initdb" -D "$PG_TEST_DIR/data" -U kiemke --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    "${run[@]}" "$bindir/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PG_TEST_PORT -k $PG_TEST_DIR -c fsync=off" start >/dev/null
    PG_TEST_URL="postgresql+psycopg://kiemke@127.0.0.1:$PG_TEST_PORT/postgres"
    PG_TEST_BINDIR=$bindir
    PG_TEST_RUN=("${run[@]}")
    export PG_TEST_URL
    echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_TEST_PORT"
}

pg_test_server_stop() {
    if [[ -n ${PG_TEST_DIR:-} && -d $PG_TEST_DIR ]]; then
        "${PG_TEST_RUN[@]}" "$PG_TEST_BINDIR/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_TEST_DIR"
    fi
}
