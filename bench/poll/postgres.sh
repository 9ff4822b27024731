#!/usr/bin/env bash
# Polling benchmark on PostgreSQL (issue 18), beside SQLite: the feeds of run.sh (200 x 50
# items, 1,000 watches) served on loopback by server.rs, and
#   1. `vigie poll`, one process: a first poll, then one where nothing changed (every
#      feed answers 304), on a SQLite file and on PostgreSQL;
#   2. `vigie run`, daemons sharing one store: the time from their start until every feed
#      has been polled (first poll), then, every feed made due again, until every feed has
#      been polled a second time (nothing changed) — one daemon on SQLite, one and three
#      on PostgreSQL.
# PostgreSQL is Debian's package (`apt-get install postgresql`); the cluster is made in a
# temporary folder (as the `postgres` user when run as root), fsync on, and removed at the
# end. Each figure is the median of RUNS runs (default 3).
# Usage: [RUNS=n] [FEEDS=n] [ITEMS=n] [VIGIE=path] bench/poll/postgres.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/bench/poll
FEEDS=${FEEDS:-200}
ITEMS=${ITEMS:-50}
RUNS=${RUNS:-3}

PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")
[ -x "$PGBIN/initdb" ] || { echo "needs PostgreSQL: apt-get install postgresql" >&2; exit 1; }
WORK=$(mktemp -d)
chmod 755 "$WORK"
if [ -z "${VIGIE:-}" ]; then
    echo "== building vigie (release) and the feed server"
    cargo build --release --quiet
    TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    VIGIE=$TARGET/release/vigie
fi
rustc -O --edition 2021 -o "$WORK/server" "$HERE/server.rs"

AS=()
[ "$(id -u)" = "0" ] && AS=(runuser -u postgres --)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$WORK/server" "$FEEDS" "$ITEMS" "$WORK/port" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
echo "== $FEEDS feeds x $ITEMS items on 127.0.0.1:$PORT"

mkdir -p "$WORK/pg"
[ "$(id -u)" = "0" ] && chown postgres "$WORK/pg"
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg/data" -U vigie -A trust -E UTF8 --locale=C >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
    -o "-k $WORK/pg -c listen_addresses=127.0.0.1 -p $PGPORT -c max_connections=50" start >/dev/null
psql() { "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U vigie -qtAX "$@"; }
echo "== PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"

mkdir -p "$WORK/cfg"
python3 "$HERE/feeds.py" setup --dir "$WORK/cfg" --feeds "$FEEDS" --port "$PORT" --watches 1000
curl -s -o /dev/null "http://127.0.0.1:$PORT/feed/0.xml" || true

DB=0
# fresh_db -> a new empty database; sets URL
fresh_db() {
    DB=$((DB + 1))
    psql -d postgres -c "CREATE DATABASE b$DB"
    URL="postgres://vigie@127.0.0.1:$PGPORT/b$DB"
}

# config DIR [URL] -> DIR/vigie.toml: the benchmark's configuration, on URL's database if given
config() {
    mkdir -p "$1"
    cp "$WORK/cfg/rules.toml" "$1/"
    cp "$WORK/cfg/vigie.toml" "$1/"
    if [ -n "${2:-}" ]; then printf '\n[store]\nurl = "%s"\n' "$2" >>"$1/vigie.toml"; fi
}

median() { sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }

declare -A SECS
record() { # NAME then the runs' seconds on stdin
    local runs
    runs=$(cat)
    SECS[$1]=$(echo "$runs" | median)
    printf '%-30s %8.2f s   (runs: %s)\n' "$1" "${SECS[$1]}" "$(echo $runs)"
}

# One-shot `vigie poll`: first, then nothing changed.
oneshot() { # NAME BACKEND
    local first=() unchanged=() t
    for _ in $(seq "$RUNS"); do
        rm -rf "$WORK/one"
        if [ "$2" = postgres ]; then fresh_db; config "$WORK/one" "$URL"; else config "$WORK/one"; fi
        t=$(now); "$VIGIE" -c "$WORK/one/vigie.toml" poll >/dev/null; first+=("$(since "$t")")
        t=$(now); "$VIGIE" -c "$WORK/one/vigie.toml" poll >/dev/null; unchanged+=("$(since "$t")")
    done
    printf '%s\n' "${first[@]}" | record "$1 poll, first"
    printf '%s\n' "${unchanged[@]}" | record "$1 poll, unchanged"
}

# left BACKEND DIR SQL -> the single number SQL answers on the store
ask() {
    if [ "$1" = postgres ]; then psql -d "b$DB" -c "$3"
    else python3 -c "import sqlite3,sys; print(sqlite3.connect('$2/state/vigie.db').execute(sys.argv[1]).fetchone()[0])" "$3"; fi
}

# wait_for BACKEND DIR SQL: until SQL answers 0
wait_for() {
    for _ in $(seq 6000); do
        [ "$(ask "$1" "$2" "$3" 2>/dev/null || echo x)" = "0" ] && return 0
        sleep 0.05
    done
    echo "timed out waiting for: $3" >&2; return 1
}

# N daemons on one store: until every feed is polled, then again with every feed due.
daemons() { # NAME BACKEND N
    local first=() unchanged=() t k
    for _ in $(seq "$RUNS"); do
        rm -rf "$WORK/d"
        if [ "$2" = postgres ]; then fresh_db; fi
        DPIDS=()
        t=$(now)
        for k in $(seq "$3"); do
            config "$WORK/d/$k" "${URL:-}"
            [ "$2" = postgres ] || sed -i '/^\[store\]/,$d' "$WORK/d/$k/vigie.toml"
            RUST_LOG=warn "$VIGIE" -c "$WORK/d/$k/vigie.toml" run >"$WORK/d/$k.log" 2>&1 &
            DPIDS+=($!); PIDS+=($!)
        done
        # (Not done while the daemons have not even written the feeds: that answers NULL.)
        wait_for "$2" "$WORK/d/1" "SELECT $FEEDS - SUM(CASE WHEN last_success_at IS NOT NULL THEN 1 ELSE 0 END) FROM feeds"
        first+=("$(since "$t")")
        # Every feed due now: each daemon wakes within its 30 s tick at the latest, so
        # wake them with SIGHUP (a reload) as soon as the feeds are due.
        ask "$2" "$WORK/d/1" "UPDATE feeds SET next_poll_at = 0" >/dev/null 2>&1 || \
            python3 -c "import sqlite3; c=sqlite3.connect('$WORK/d/1/state/vigie.db'); c.execute('UPDATE feeds SET next_poll_at = 0'); c.commit()"
        t=$(now)
        for p in "${DPIDS[@]}"; do kill -HUP "$p"; done
        wait_for "$2" "$WORK/d/1" "SELECT $FEEDS - SUM(CASE WHEN polls >= 2 THEN 1 ELSE 0 END) FROM feeds"
        unchanged+=("$(since "$t")")
        for p in "${DPIDS[@]}"; do kill -TERM "$p"; wait "$p" 2>/dev/null || true; done
    done
    printf '%s\n' "${first[@]}" | record "$1, first"
    printf '%s\n' "${unchanged[@]}" | record "$1, unchanged"
}

oneshot "SQLite" sqlite
oneshot "PostgreSQL" postgres
URL=""
daemons "SQLite, 1 daemon" sqlite 1
daemons "PostgreSQL, 1 daemon" postgres 1
daemons "PostgreSQL, 3 daemons" postgres 3
