#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, on loopback, in a directory of its own.
#
#   scripts/test-postgres.sh start DIR   initdb + start; prints postgres://coffer@127.0.0.1:PORT/coffer
#   scripts/test-postgres.sh stop DIR    stops it (the directory stays for its log; remove it yourself)
#   scripts/test-postgres.sh restart DIR stops it (fast: open sessions are ended) and starts it again
#   scripts/test-postgres.sh run CMD...  starts one in a temporary directory, runs CMD with
#                                        COFFER_TEST_POSTGRES (its URL) and COFFER_TEST_POSTGRES_DIR set, stops
#                                        and removes it; without a server installed, runs CMD alone, and the
#                                        PostgreSQL tests say they were skipped (under CI=true they fail).
#
# The server runs as an unprivileged user: the postgres user of Debian's package when run as root, else the
# caller. Trust authentication on 127.0.0.1 only; fsync is off (a test cluster, thrown away after).
# Exits 2 with a message when no PostgreSQL server is installed (apt-get install postgresql).
set -euo pipefail
command=${1:-}
if [ "$command" = run ]; then
    shift
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "test-postgres: no PostgreSQL server installed; the PostgreSQL tests will be skipped" >&2
        exec "$@"
    fi
    tmp=$(mktemp -d /tmp/coffer-pg.XXXXXX)
    chmod 755 "$tmp"
    trap '"$0" stop "$tmp/cluster"; rm -rf "$tmp"' EXIT
    url=$("$0" start "$tmp/cluster")
    status=0
    COFFER_TEST_POSTGRES=$url COFFER_TEST_POSTGRES_DIR=$tmp/cluster "$@" || status=$?
    exit $status
fi
dir=${2:-}
if [ -z "$command" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 64
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "test-postgres: no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)" >&2
    exit 2
fi
as_server=()
if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "test-postgres: running as root and there is no 'postgres' user to run the server as" >&2
        exit 2
    fi
    as_server=(runuser -u postgres --)
fi

case "$command" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            echo "test-postgres: the postgres user cannot reach $dir: make its parent folders traversable (chmod o+x)" >&2
            exit 1
        fi
    fi
    "${as_server[@]}" "$bin/initdb" -D "$dir/data" -U coffer --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_server[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    "${as_server[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U coffer coffer
    echo "$bin" >"$dir/bin"
    echo "postgres://coffer@127.0.0.1:$port/coffer" | tee "$dir/url"
    ;;
stop)
    [ -d "$dir/data" ] || exit 0
    "${as_server[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
restart)
    "${as_server[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null 2>&1
    ;;
*)
    echo "usage: $0 start|stop|restart DIR, or $0 run CMD..." >&2
    exit 64
    ;;
esac
