#!/usr/bin/env bash
# Polling benchmark (issue #4): vigie against newsboat and rss2email on the same feeds,
# served on loopback by server.rs (std-only Rust, compiled here with rustc -O);
# feeds.py writes the configurations. Measures wall time and peak memory (/usr/bin/time -v)
# of:
#   1. a first poll of 200 feeds x 50 items (vigie stores and matches 1,000 watches);
#   2. a poll where nothing changed (every feed answers 304);
#   3. vigie alone: 10,000 feeds x 10 items in one cycle.
# and prints the ratios against the targets. Installs newsboat (apt-get) and rss2email
# (pip) when missing. Each figure is the median of RUNS runs (default 3; peak memory: the
# largest of them). Usage: [RUNS=n] [VIGIE=path] bench/poll/run.sh [--quick | --pages | --vigie]
#   --quick skips 10,000 feeds; --pages measures only vigie's first poll without and with
#   article pages (fulltext = "always", every item's page served on loopback); --vigie
#   only vigie's first and unchanged polls. VIGIE=path measures that binary instead of
#   this tree's (with VIGIE_BEFORE_FULLTEXT=1 for one older than the `fulltext` key).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/bench/poll
FEEDS=${FEEDS:-200}
ITEMS=${ITEMS:-50}
BIG_FEEDS=${BIG_FEEDS:-10000}
BIG_ITEMS=${BIG_ITEMS:-10}
RUNS=${RUNS:-3}
QUICK=${1:-}

need() { command -v "$1" >/dev/null 2>&1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time): apt-get install time" >&2; exit 1; }
if [ "$QUICK" != "--pages" ] && [ "$QUICK" != "--vigie" ]; then
    if ! need newsboat; then
        echo "== installing newsboat (apt-get)"
        (apt-get install -y newsboat >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y newsboat >/dev/null; }) \
            || { command -v sudo >/dev/null && sudo apt-get install -y newsboat >/dev/null; }
    fi
    if ! need r2e; then
        echo "== installing rss2email (pip)"
        python3 -m pip install --quiet rss2email
        hash -r
    fi
fi

WORK=$(mktemp -d)
if [ -z "${VIGIE:-}" ]; then
    echo "== building vigie (release) and the feed server"
    cargo build --release --quiet
    # Wherever cargo builds (CARGO_TARGET_DIR, a .cargo/config's build.target-dir, or ./target).
    TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    VIGIE=$TARGET/release/vigie
fi
rustc -O --edition 2021 -o "$WORK/server" "$HERE/server.rs"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# serve FEEDS ITEMS [pages] -> sets PORT
serve() {
    local pf=$WORK/port.$1${3:-}
    rm -f "$pf"
    "$WORK/server" "$1" "$2" "$pf" ${3:-} &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.1; done
    PORT=$(cat "$pf")
}

# measure NAME RESET CMD... -> runs CMD $RUNS times, RESET (a shell command) before each;
# records the median wall time and the largest peak memory of those runs, and prints them
# with every run's time. The machine this was written on varies by 10-25 % from one run to
# the next, for every tool alike: a median of a few runs compares the tools, not the noise.
declare -A SECS KB
measure() {
    local name=$1 reset=$2; shift 2
    local log=$WORK/time.$name runs=() kbs=() wall kb
    for _ in $(seq "$RUNS"); do
        eval "$reset"
        /usr/bin/time -v "$@" >"$WORK/out.$name" 2>"$log" || { echo "$name failed:"; tail -20 "$log"; tail -5 "$WORK/out.$name"; exit 1; }
        wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
        kb=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
        runs+=("$(python3 -c "p='$wall'.split(':'); print(sum(float(x)*60**i for i,x in enumerate(reversed(p))))")")
        kbs+=("$kb")
    done
    SECS[$name]=$(printf '%s\n' "${runs[@]}" | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')
    KB[$name]=$(printf '%s\n' "${kbs[@]}" | sort -n | tail -1)
    printf '%-22s %8.2f s  %7d kB   (runs: %s s)\n' "$name" "${SECS[$name]}" "${KB[$name]}" "${runs[*]}"
}

ratio() { python3 -c "print(f'{$1/$2:.1f}')"; }

serve "$FEEDS" "$ITEMS"
echo "== $FEEDS feeds x $ITEMS items on 127.0.0.1:$PORT"

mkdir -p "$WORK/vigie" "$WORK/newsboat" "$WORK/r2e"
python3 "$HERE/feeds.py" setup --dir "$WORK/vigie" --feeds "$FEEDS" --port "$PORT" --watches 1000
if [ -n "${VIGIE_BEFORE_FULLTEXT:-}" ]; then sed -i '/^fulltext/d' "$WORK/vigie/vigie.toml"; fi
# Warm the server's cache so that no tool pays for content generation.
curl -s -o /dev/null "http://127.0.0.1:$PORT/feed/0.xml" || true
for i in $(seq 0 $((FEEDS - 1))); do echo "url = http://127.0.0.1:$PORT/feed/$i.xml"; done \
    | curl -s -K - >/dev/null || true

measure vigie-first 'rm -rf "$WORK/vigie/state"' "$VIGIE" -c "$WORK/vigie/vigie.toml" poll
tail -1 "$WORK/out.vigie-first"

if [ "$QUICK" = "--pages" ]; then
    serve "$FEEDS" "$ITEMS" pages
    echo "== the same feeds, every item's article page served too, on 127.0.0.1:$PORT"
    mkdir -p "$WORK/pages"
    python3 "$HERE/feeds.py" setup --dir "$WORK/pages" --feeds "$FEEDS" --port "$PORT" --watches 1000 --pages
    curl -s -o /dev/null "http://127.0.0.1:$PORT/page/0/0.html" || true
    measure vigie-pages-first 'rm -rf "$WORK/pages/state"' "$VIGIE" -c "$WORK/pages/vigie.toml" poll
    tail -1 "$WORK/out.vigie-pages-first"
    echo "article pages: first poll $(ratio "${SECS[vigie-pages-first]}" "${SECS[vigie-first]}")x the time without pages; peak memory ${KB[vigie-pages-first]} kB against ${KB[vigie-first]} kB"
    exit 0
fi
measure vigie-unchanged : "$VIGIE" -c "$WORK/vigie/vigie.toml" poll
tail -1 "$WORK/out.vigie-unchanged"
[ "$QUICK" = "--vigie" ] && exit 0

cp "$WORK/vigie/urls" "$WORK/newsboat/urls"
# Same parallelism as vigie's concurrency, so the comparison is of the tools, not of
# newsboat's one-thread default.
printf 'reload-threads 32\n' >"$WORK/newsboat/config"
NB=(newsboat -u "$WORK/newsboat/urls" -c "$WORK/newsboat/cache.db" -C "$WORK/newsboat/config" -x reload)
measure newsboat-first 'rm -f "$WORK/newsboat/cache.db"' env HOME="$WORK/newsboat" "${NB[@]}"
measure newsboat-unchanged : env HOME="$WORK/newsboat" "${NB[@]}"

cp "$WORK/vigie/r2e.cfg" "$WORK/r2e/r2e.cfg"
R2E=(r2e -c "$WORK/r2e/r2e.cfg" -d "$WORK/r2e/data.json" run --no-send)
measure r2e-first 'rm -f "$WORK/r2e/data.json"' env HOME="$WORK/r2e" "${R2E[@]}"
measure r2e-unchanged : env HOME="$WORK/r2e" "${R2E[@]}"

echo
echo "== ratios (target)"
echo "first poll:      vigie $(ratio "${SECS[newsboat-first]}" "${SECS[vigie-first]}")x faster than newsboat (>= 4), $(ratio "${SECS[r2e-first]}" "${SECS[vigie-first]}")x faster than rss2email (>= 25)"
echo "nothing changed: vigie $(ratio "${SECS[r2e-unchanged]}" "${SECS[vigie-unchanged]}")x faster than rss2email (>= 15); newsboat: $(ratio "${SECS[newsboat-unchanged]}" "${SECS[vigie-unchanged]}")x"
echo "peak memory:     vigie ${KB[vigie-first]} kB, newsboat ${KB[newsboat-first]} kB (vigie <= newsboat)"

if [ "$QUICK" != "--quick" ]; then
    echo
    serve "$BIG_FEEDS" "$BIG_ITEMS"
    echo "== $BIG_FEEDS feeds x $BIG_ITEMS items on 127.0.0.1:$PORT"
    mkdir -p "$WORK/big"
    python3 "$HERE/feeds.py" setup --dir "$WORK/big" --feeds "$BIG_FEEDS" --port "$PORT" --watches 1000
    measure vigie-10k-first 'rm -rf "$WORK/big/state"' "$VIGIE" -c "$WORK/big/vigie.toml" poll
    tail -1 "$WORK/out.vigie-10k-first"
    measure vigie-10k-unchanged : "$VIGIE" -c "$WORK/big/vigie.toml" poll
    tail -1 "$WORK/out.vigie-10k-unchanged"
    echo "10,000 feeds: peak memory ${KB[vigie-10k-first]} kB (target <= 150 MB = 153600 kB)"
fi
