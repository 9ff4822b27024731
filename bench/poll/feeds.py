#!/usr/bin/env python3
"""Benchmark helper for bench/poll/run.sh (standard library only).

  feeds.py serve --feeds N --items M --port-file FILE
      Serve N RSS feeds of M items each on 127.0.0.1 (an ephemeral port, written to
      FILE): /feed/I.xml. Each feed has an ETag and a Last-Modified and answers a
      matching conditional GET with 304, like a well-behaved news site.

  feeds.py setup --dir DIR --feeds N --port P --watches W
      Write DIR/vigie.toml + DIR/rules.toml (W watches), DIR/urls (newsboat) and
      DIR/r2e.cfg (rss2email) for those feeds.

Content is deterministic (seeded by the feed number), so every tool reads the same
bytes.
"""

import argparse
import email.utils
import http.server
import random
import socketserver
import sys
from xml.sax.saxutils import escape

WORDS = (
    "le la les des un une et en sur pour dans avec par ministre gouvernement armée "
    "ville région frontière élection sommet accord conflit offensive réfugiés aide "
    "humanitaire économie marché prix pétrole blé sécurité police justice tribunal "
    "président parlement opposition manifestation grève syndicat école hôpital santé "
    "climat sécheresse inondation séisme Damas Alep Homs Palmyre Genève Beyrouth Bagdad "
    "Amman Ankara Téhéran Moscou Washington Bruxelles ONU OTAN UE Daech EI rebelles "
    "négociations cessez-le-feu trêve convoi frappes aériennes drone victimes civils "
    "the government said on Tuesday that talks would resume next week in Geneva"
).split()

LAST_MODIFIED = "Tue, 07 Feb 2017 10:00:00 GMT"
BASE_TIME = 1_700_000_000


def pseudo_word(rng):
    syll = ["ka", "lo", "mi", "ra", "zu", "ne", "to", "vi", "sa", "do", "ri", "pe", "gu"]
    return "".join(rng.choice(syll) for _ in range(rng.randint(3, 4)))


def feed_bytes(i, items):
    rng = random.Random(i)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
        f"<title>Bench feed {i}</title><link>http://bench.example/{i}/</link>",
        "<description>benchmark</description>",
    ]
    now = email.utils.formatdate(BASE_TIME, usegmt=True)
    for j in range(items):
        title = " ".join(rng.choice(WORDS) for _ in range(8))
        body = " ".join(
            rng.choice(WORDS) if rng.random() < 0.97 else pseudo_word(rng)
            for _ in range(80)
        )
        out.append(
            "<item>"
            f"<title>{escape(title)}</title>"
            f"<link>http://bench.example/{i}/{j}.html</link>"
            f'<guid isPermaLink="false">bench-{i}-{j}</guid>'
            f"<pubDate>{now}</pubDate>"
            f"<description>{escape('<p>' + body + '</p>')}</description>"
            "</item>"
        )
    out.append("</channel></rss>\n")
    return "".join(out).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    items = 50
    cache = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "feed" or not parts[1].endswith(".xml"):
            self.send_error(404)
            return
        try:
            i = int(parts[1][:-4])
        except ValueError:
            self.send_error(404)
            return
        etag = f'"bench-{i}"'
        if (
            self.headers.get("If-None-Match") == etag
            or self.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        body = self.cache.get(i)
        if body is None:
            body = feed_bytes(i, self.items)
            if len(self.cache) < 1000:
                self.cache[i] = body
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512


def serve(args):
    Handler.items = args.items
    srv = Server(("127.0.0.1", 0), Handler)
    with open(args.port_file, "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


def setup(args):
    rng = random.Random(42)
    base = f"http://127.0.0.1:{args.port}/feed"
    with open(f"{args.dir}/vigie.toml", "w") as f:
        f.write(
            'state_dir = "state"\nrules = ["rules.toml"]\nbackfill = "3650d"\n'
            "[poll]\n"
            'interval = "15m"\nconcurrency = 32\n'
            "# every bench feed is on one loopback host: lift the per-host limit\n"
            'per_host = 32\ntimeout = "60s"\n'
            '[[digest]]\nname = "bench"\nat = "07:00"\nto = ["bench@example.org"]\n'
        )
        for i in range(args.feeds):
            f.write(f'[[feed]]\nname = "f{i}"\nurl = "{base}/{i}.xml"\n')
    with open(f"{args.dir}/rules.toml", "w") as f:
        f.write('[entity.daech]\nnames = ["Etat islamique", "Daech", "Daesh", "EI"]\n')
        for w in range(args.watches):
            kind = w % 5
            a, b = rng.choice(WORDS), pseudo_word(rng)
            q = {
                0: f"{b}",
                1: f'"{a} {pseudo_word(rng)}"',
                2: f"{b[:4]}* AND {a}",
                3: f"NEAR/5({b}, {pseudo_word(rng)})",
                4: f"@daech AND {b}",
            }[kind]
            q = q.replace("'", " ")
            f.write(f"[[watch]]\nname = \"w{w}\"\nquery = '{q}'\n")
    with open(f"{args.dir}/urls", "w") as f:
        for i in range(args.feeds):
            f.write(f"{base}/{i}.xml\n")
    with open(f"{args.dir}/r2e.cfg", "w") as f:
        f.write("[DEFAULT]\nto = bench@example.org\nfrom = bench@example.org\n\n")
        for i in range(args.feeds):
            f.write(f"[feed.f{i}]\nurl = {base}/{i}.xml\n\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--feeds", type=int, required=True)
    s.add_argument("--items", type=int, required=True)
    s.add_argument("--port-file", required=True)
    u = sub.add_parser("setup")
    u.add_argument("--dir", required=True)
    u.add_argument("--feeds", type=int, required=True)
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--watches", type=int, default=1000)
    args = p.parse_args()
    {"serve": serve, "setup": setup}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
