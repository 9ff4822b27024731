#!/usr/bin/env bash
# Memory benchmark (issue 15, item 3): peak resident memory, measured by /usr/bin/time -v,
# of the `vigie` binary on the inputs that used to make it grow with the text or with the
# matches rather than with its configuration:
#   1. `vigie rules test` on a hostile article: 275 KB of «alpha beta» against
#      NEAR/1000(alpha, beta) (target <= 100 MB);
#   2. a first poll of 200 feeds x 50 items (10,000 articles, served on loopback by
#      bench/poll/server.rs) against 1,000 broad watches, two common words each, which
#      each article matches about 300 of (target <= 150 MB), and the database it leaves.
# Usage: bench/memory/run.sh   (VIGIE=path/to/vigie measures another build, e.g. an older
# one; add VIGIE_BEFORE_FULLTEXT=1 for a build that predates the `fulltext` key)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time): apt-get install time" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

if [ -z "${VIGIE:-}" ]; then
    echo "== building vigie (release)"
    cargo build --release --quiet
    TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    VIGIE=$TARGET/release/vigie
fi
rustc -O --edition 2021 -o "$WORK/server" "$ROOT/bench/poll/server.rs"

peak() { grep 'Maximum resident set size' "$1" | awk '{print $NF}'; }
wall() { grep 'Elapsed (wall clock)' "$1" | awk '{print $NF}'; }

echo "== 1. NEAR/1000(alpha, beta) over 275 KB of «alpha beta»"
mkdir -p "$WORK/near"
printf 'rules = ["rules.toml"]\n' >"$WORK/near/vigie.toml"
printf "[[watch]]\nname = \"n\"\nquery = 'NEAR/1000(alpha, beta)'\n" >"$WORK/near/rules.toml"
python3 -c "print('Titre'); print(); print('alpha beta ' * 25000)" >"$WORK/near/hostile.txt"
/usr/bin/time -v "$VIGIE" -c "$WORK/near/vigie.toml" rules test "$WORK/near/hostile.txt" >/dev/null 2>"$WORK/near/time"
echo "peak memory $(peak "$WORK/near/time") kB, $(wall "$WORK/near/time") (target <= 100 MB = 102400 kB)"

echo "== 2. first poll of 200 feeds x 50 items against 1,000 broad watches"
pf=$WORK/port
"$WORK/server" 200 50 "$pf" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.1; done
mkdir -p "$WORK/broad"
python3 "$ROOT/bench/poll/feeds.py" setup --dir "$WORK/broad" --feeds 200 --port "$(cat "$pf")" --watches 1000 --broad
# A build from before `fulltext` existed refuses the key (VIGIE_BEFORE_FULLTEXT=1).
if [ -n "${VIGIE_BEFORE_FULLTEXT:-}" ]; then sed -i '/^fulltext/d' "$WORK/broad/vigie.toml"; fi
/usr/bin/time -v "$VIGIE" -c "$WORK/broad/vigie.toml" poll >"$WORK/broad/out" 2>"$WORK/broad/time"
tail -1 "$WORK/broad/out"
db=$WORK/broad/state/vigie.db
size=$(( $(stat -c %s "$db") + $( [ -f "$db-wal" ] && stat -c %s "$db-wal" || echo 0) ))
matches=$(python3 -c "import sqlite3; c = sqlite3.connect('$db'); print(c.execute('SELECT COUNT(*) FROM matches').fetchone()[0], c.execute('SELECT COUNT(*) FROM articles').fetchone()[0])")
echo "peak memory $(peak "$WORK/broad/time") kB, $(wall "$WORK/broad/time") (target <= 150 MB = 153600 kB)"
echo "database $((size / 1000000)) MB for $matches (matches, articles)"
