#!/usr/bin/env bash
# Two real feed readers read vigie's Atom feeds: feedparser (Python; `pip install
# feedparser`) and newsboat (Debian package `newsboat`).
#
#   bench/feeds/readers.sh          # exit 0 when both read every entry, twice, and the second
#                                   # read shows nothing new
#
# Everything is real and on 127.0.0.1: python3's http.server serves two outlets' RSS (one
# story in both, two other stories), the vigie binary polls them (`vigie run`, `[server]` on
# loopback) and publishes a watch that has no recipient but its feed (`feed = true`) and a
# digest's feed. Then:
#   - feedparser reads the watch's feed: every story once (the story two outlets carried is
#     one entry, with both outlets), no parse error; a second read with its ETag and
#     Last-Modified is a 304 with nothing in it;
#   - newsboat (`-x reload`, its own urls, config and cache in a temporary folder) reads both
#     feeds: every entry is in its cache and unread; a second reload adds nothing and leaves
#     them as they were (`-x print-unread`, and the cache's rows).
# .ci/run runs this when both readers are installed. The documents read are left in
# bench/feeds/out/ (git-ignored), the token replaced by TOKEN.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

command -v newsboat >/dev/null 2>&1 || { echo "newsboat is not installed (apt-get install -y newsboat)" >&2; exit 2; }
python3 -c 'import feedparser' 2>/dev/null || { echo "feedparser is not installed (pip install feedparser)" >&2; exit 2; }

echo "== building vigie"
cargo build --quiet --bin vigie
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
vigie=$target/debug/vigie

work=$(mktemp -d)
server_pid=""
vigie_pid=""
cleanup() {
    if [ -n "$vigie_pid" ]; then kill "$vigie_pid" 2>/dev/null || true; wait "$vigie_pid" 2>/dev/null || true; fi
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
# Loopback only: no proxy in the way.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# Two outlets: le-fil carries two Palmyra stories and one about Geneva; la-depeche carries
# a wire copy of the first Palmyra story.
mkdir -p "$work/www"
python3 - "$work/www" "$root/tests/fixtures/stories" <<'PY'
import sys, email.utils, time
from xml.sax.saxutils import escape
www, fixtures = sys.argv[1], sys.argv[2]
now = time.time()
def story(name):
    title, body = open(f"{fixtures}/{name}.txt", encoding="utf-8").read().split("\n\n", 1)
    return title.strip(), body.strip()
def rss(title, items):
    body = "".join(
        f"<item><title>{escape(t)}</title><link>http://example.org/{i}</link><guid>{i}</guid>"
        f"<pubDate>{email.utils.formatdate(now - age * 60)}</pubDate>"
        f"<description>{escape(d)}</description></item>"
        for i, (t, d), age in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title><link>http://example.org/</link><description>test</description>{body}</channel></rss>'
open(f"{www}/le-fil.xml", "w", encoding="utf-8").write(rss("Le fil", [
    ("le-fil/offensive", story("fr-palmyre-offensive.a"), 50),
    ("le-fil/unesco", story("fr-palmyre-unesco.a"), 40),
    ("le-fil/geneve", story("fr-geneve-delegations.a"), 30),
]))
open(f"{www}/la-depeche.xml", "w", encoding="utf-8").write(rss("La dépêche", [
    ("la-depeche/offensive", story("fr-palmyre-offensive.b"), 45),
]))
PY
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
www_port=$(free_port)
python3 -m http.server "$www_port" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
server_pid=$!
vigie_port=$(free_port)
token="readers-$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
printf '%s\n' "$token" > "$work/feeds.token"
cat > "$work/vigie.toml" <<TOML
state_dir = "state"
rules = ["rules.toml"]

[server]
listen = "127.0.0.1:$vigie_port"

[feeds]
token_file = "feeds.token"

[poll]
interval = "1h"

[[feed]]
name = "le-fil"
url = "http://127.0.0.1:$www_port/le-fil.xml"
fulltext = "never"

[[feed]]
name = "la-depeche"
url = "http://127.0.0.1:$www_port/la-depeche.xml"
fulltext = "never"

[[digest]]
name = "matin"
at = "07:00"
timezone = "Europe/Paris"
feed = true
TOML
cat > "$work/rules.toml" <<'TOML'
[entity.daech]
names = ["Etat islamique", "Daech", "EI"]

[[watch]]
name = "palmyra-front"
query = 'Palmyre AND (@daech OR offensive)'
alert = "immediate"
feed = true                      # no recipient: the feed is its only reader

[[watch]]
name = "geneve"
query = 'title:Genève'
digest = "matin"
TOML

echo "== vigie run (feeds on 127.0.0.1:$vigie_port)"
RUST_LOG=info "$vigie" -c "$work/vigie.toml" run 2> "$work/vigie.log" &
vigie_pid=$!
watch_url=$("$vigie" -c "$work/vigie.toml" feeds url palmyra-front)
digest_url=$("$vigie" -c "$work/vigie.toml" feeds url matin)
# Wait (at most 60 s) until the watch's feed has its two stories, the first with both outlets.
python3 - "$watch_url" <<'PY'
import sys, time, urllib.request
url = sys.argv[1]
for _ in range(600):
    try:
        doc = urllib.request.urlopen(url, timeout=5).read().decode()
        if doc.count("<entry>") == 2 and "la-depeche" in doc:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit("the watch's feed did not fill within 60 s")
PY

# The documents as served, to look at (bench/feeds/out/ is git-ignored; the token is cut out).
mkdir -p "$root/bench/feeds/out"
for which in watch digest; do
    url=$watch_url; [ "$which" = digest ] && url=$digest_url
    python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode().replace(sys.argv[2], "TOKEN"))' \
        "$url" "$token" > "$root/bench/feeds/out/$which.atom"
done
echo "   documents in bench/feeds/out/{watch,digest}.atom"

echo "== feedparser $(python3 -c 'import feedparser; print(feedparser.__version__)')"
python3 - "$watch_url" "$digest_url" <<'PY'
import sys, feedparser
watch, digest = sys.argv[1], sys.argv[2]
for url, want in ((watch, 2), (digest, 1)):
    d = feedparser.parse(url)
    assert d.get("status") == 200, d.get("status")
    assert not d.bozo, d.bozo_exception
    assert d.version == "atom10", d.version
    ids = [e.id for e in d.entries]
    assert len(ids) == want and len(set(ids)) == want, ids
    for e in d.entries:
        assert e.title and e.link and e.updated_parsed and e.published_parsed, e
        assert e.content and e.content[0].type == "text/html" and "<strong>" in e.content[0].value, e.content
        print(f"  {d.feed.title}: {e.title} | {e.author} | updated {e.updated} | {e.id}")
    both = [e for e in d.entries if len([l for l in e.links if l.rel == "related"]) == 2]
    if url == watch:
        assert len(both) == 1, "the story two outlets carried is one entry with both"
    again = feedparser.parse(url, etag=d.etag, modified=d.modified)
    assert again.status == 304 and not again.entries, (again.status, len(again.entries))
    print(f"  {d.feed.title}: {len(ids)} entries; read again with its ETag: 304, nothing new")
PY

echo "== $(newsboat -v | head -1)"
nb=$work/newsboat
mkdir -p "$nb"
printf '%s\n%s\n' "$watch_url" "$digest_url" > "$nb/urls"
printf 'reload-threads 2\ndownload-timeout 10\n' > "$nb/config"
newsboat_x() { HOME="$nb" newsboat -q -u "$nb/urls" -c "$nb/cache.db" -C "$nb/config" -x "$@"; }
rows() {
    python3 - "$nb/cache.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(";".join(f"{g}|{u}|{n}" for g, u, n in db.execute(
    "SELECT guid, unread, (SELECT COUNT(*) FROM rss_item) FROM rss_item ORDER BY guid")))
PY
}
newsboat_x reload
first_unread=$(newsboat_x print-unread)
first_rows=$(rows)
count=$(python3 -c "import sqlite3; print(sqlite3.connect('$nb/cache.db').execute('SELECT COUNT(*) FROM rss_item').fetchone()[0])")
echo "  first reload: $first_unread; $count entries in the cache"
[ "$count" = 3 ] || { echo "newsboat read $count entries, not 3" >&2; exit 1; }
case "$first_unread" in 3\ *) ;; *) echo "newsboat: $first_unread (3 expected)" >&2; exit 1 ;; esac
newsboat_x reload
second_unread=$(newsboat_x print-unread)
second_rows=$(rows)
echo "  second reload: $second_unread"
[ "$first_unread" = "$second_unread" ] || { echo "the second reload changed: $first_unread / $second_unread" >&2; exit 1; }
[ "$first_rows" = "$second_rows" ] || { echo "the second reload changed the cache" >&2; exit 1; }
echo "  nothing new on the second reload"

if grep -qF "$token" "$work/vigie.log"; then
    echo "the token is in the daemon's log" >&2
    exit 1
fi
echo "ok: feedparser and newsboat read every entry; a second read shows nothing new"
