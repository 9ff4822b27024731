#!/usr/bin/env bash
# Render a sample alert and a sample digest the way vigie sends them, then screenshot
# their HTML at phone (390 px) and desktop (1200 px) widths with headless Chromium.
#
#   bench/mail/render.sh            # writes bench/mail/out/{alert,digest}.{html,txt} and *-{phone,desktop}.png
#
# Everything is real: a local HTTP server (python3, loopback only) serves a sample feed,
# the vigie binary polls it and writes its alert as an .eml file (maildir transport),
# `vigie digest send morning --dry-run` writes the digest; the HTML parts are taken out
# of those emails. Chromium (Debian package `chromium`) is installed with apt if missing.
# The output folder is git-ignored: do not commit the images.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/bench/mail/out
mkdir -p "$out"

if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium (apt)"
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

echo "== building vigie"
cargo build --quiet --bin vigie
# Wherever cargo builds (CARGO_TARGET_DIR, a .cargo/config's build.target-dir, or ./target).
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
vigie=$target/debug/vigie

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The sample feeds: the reference article and a few others, dated just now.
mkdir -p "$work/www"
python3 - "$work/www" "$root/tests/fixtures/seed-article.txt" <<'PY'
import sys, email.utils, time
from xml.sax.saxutils import escape
www = sys.argv[1]
seed = open(sys.argv[2], encoding="utf-8").read().strip().split(" ", 2)[-1]  # drop the "date 2017-02" line head
now = time.time()
def rss(title, items):
    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(l)}</link><guid>{escape(l)}</guid>"
        f"<pubDate>{email.utils.formatdate(now - age * 60)}</pubDate>"
        f"<description>{escape(d)}</description></item>"
        for t, l, d, age in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>{body}</channel></rss>'
elwatan = [
    ("Syrie : l'armée progresse vers Palmyre, tenue par Daech",
     "https://www.elwatan.example/international/syrie-palmyre-offensive", seed, 12),
    ("Pourparlers de Genève : l'ONU finalise la liste des délégations syriennes",
     "https://www.elwatan.example/international/geneve-onu-delegations",
     "L'envoyé spécial de l'ONU pour la Syrie met la touche finale à la participation des parties syriennes aux négociations de Genève, qui devraient débuter le 23 février. Les Nations unies espèrent un dialogue direct entre le gouvernement et l'opposition.", 95),
    ("Le prix du blé au plus haut depuis trois ans",
     "https://www.elwatan.example/economie/ble", "Les marchés céréaliers s'envolent à Chicago.", 30),
]
afp = [
    ("Pourparlers de Genève : l'ONU finalise la liste des délégations syriennes",
     "https://www.elwatan.example/international/geneve-onu-delegations",
     "L'envoyé spécial de l'ONU pour la Syrie met la touche finale à la participation des parties syriennes aux négociations de Genève.", 95),
    ("Astana : Russes, Turcs et Iraniens s'accordent sur un mécanisme de surveillance du cessez-le-feu en Syrie",
     "https://www.depeches.example/astana-mecanisme",
     "Réunis à Astana, les parrains du processus ont annoncé un groupe opérationnel chargé de surveiller la trêve en Syrie, en attendant la reprise des pourparlers sous l'égide des Nations unies à Genève.", 180),
    ("Raqqa : l'EI perd une route d'approvisionnement <clé> au nord de la ville",
     "https://www.depeches.example/raqqa-route",
     "Les Forces démocratiques syriennes affirment avoir coupé une route reliant Raqqa à Deir ez-Zor ; l'Etat islamique (EI) y envoyait des renforts. À Palmyre, les combats continuent.", 240),
]
open(f"{www}/elwatan.xml", "w", encoding="utf-8").write(rss("El Watan - International", elwatan))
open(f"{www}/depeches.xml", "w", encoding="utf-8").write(rss("Dépêches", afp))
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/elwatan.xml')" 2>/dev/null && break
    sleep 0.1
done

cat > "$work/vigie.toml" <<TOML
state_dir = "state"
rules = ["rules.toml"]

[[feed]]
name = "elwatan-international"
url = "http://127.0.0.1:$port/elwatan.xml"

[[feed]]
name = "depeches-monde"
url = "http://127.0.0.1:$port/depeches.xml"

[mail]
from = "vigie <vigie@example.org>"
transport = "maildir"

[[digest]]
name = "morning"
at = "07:00"
timezone = "Europe/Paris"
to = ["desk@example.org"]
TOML
cat > "$work/rules.toml" <<'TOML'
[entity.daech]
names = ["Etat islamique", "Islamic State", "Daech", "Daesh", "EI"]

[entity.onu]
names = ["ONU", "Nations unies"]

[[watch]]
name = "palmyra-front"
query = 'Palmyre AND (@daech OR offensive)'
alert = "immediate"
to = ["duty@example.org"]

[[watch]]
name = "syria-talks"
query = '(Genève OR Astana) AND (@onu OR pourparlers OR négociations) AND Syrie'
alert = "digest"
digest = "morning"

[[watch]]
name = "islamic-state"
query = '@daech AND (Raqqa OR Palmyre)'
alert = "digest"
digest = "morning"
TOML

echo "== polling the sample feeds"
"$vigie" -c "$work/vigie.toml" poll
"$vigie" -c "$work/vigie.toml" digest send morning --dry-run > "$work/digest.eml"
alert=$(ls "$work"/state/mail/*.eml | head -n 1)

python3 - "$alert" "$work/digest.eml" "$out" <<'PY'
import sys, email
from email import policy
for src, name in ((sys.argv[1], "alert"), (sys.argv[2], "digest")):
    raw = open(src, "rb").read()
    msg = email.message_from_bytes(raw, policy=policy.default)
    print(f"   {name}: {msg['Subject']}")
    for part, ext in ((msg.get_body(("html",)), "html"), (msg.get_body(("plain",)), "txt")):
        open(f"{sys.argv[3]}/{name}.{ext}", "w", encoding="utf-8").write(part.get_content())
PY

shoot() { # name width height
    local profile
    profile=$(mktemp -d)
    chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
        --user-data-dir="$profile" --window-size="$2,$3" \
        --screenshot="$out/$1-$4.png" "file://$out/$1.html" >/dev/null 2>&1
    rm -rf "$profile"
    echo "   $out/$1-$4.png"
}
echo "== screenshots"
shoot alert 390 1100 phone
shoot alert 1200 800 desktop
shoot digest 390 2600 phone
shoot digest 1200 1700 desktop
