#!/usr/bin/env python3
"""Benchmark helper for bench/poll/run.sh (standard library only).

  feeds.py setup --dir DIR --feeds N --port P --watches W
      Write DIR/vigie.toml + DIR/rules.toml (W watches), DIR/urls (newsboat) and
      DIR/r2e.cfg (rss2email) for the N feeds that server.rs serves on port P.

The watches use the words server.rs writes: common news words, and made-up words of
the same syllables, which appear in about 3 % of the words of an item.
"""

import argparse
import random
import sys

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


def pseudo_word(rng):
    syll = ["ka", "lo", "mi", "ra", "zu", "ne", "to", "vi", "sa", "do", "ri", "pe", "gu"]
    return "".join(rng.choice(syll) for _ in range(rng.randint(3, 4)))


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
            # Items link to http://bench.example/ (no such server: never fetched), or
            # with --pages to article pages on the loopback server.
            + ('fulltext = "always"\n' if args.pages else 'fulltext = "never"\n')
            + '[[digest]]\nname = "bench"\nat = "07:00"\nto = ["bench@example.org"]\n'
        )
        for i in range(args.feeds):
            f.write(f'[[feed]]\nname = "f{i}"\nurl = "{base}/{i}.xml"\n')
    with open(f"{args.dir}/rules.toml", "w") as f:
        f.write('[entity.daech]\nnames = ["Etat islamique", "Daech", "Daesh", "EI"]\n')
        if args.broad:
            # Two common words each: an item of the server's holds about half of them,
            # so each article matches about 30 % of the watches.
            common = [w for w in WORDS if "'" not in w]
            for w in range(args.watches):
                a, b = rng.choice(common), rng.choice(common)
                f.write(f"[[watch]]\nname = \"w{w}\"\nquery = '{a} AND {b}'\n")
            return write_others(args, base)
        for w in range(args.watches):
            kind = w % 5
            a, b = rng.choice(WORDS), pseudo_word(rng)
            q = {
                0: f"{b}",
                1: f'"{a} {pseudo_word(rng)}"',
                2: f"{b[:6]}* AND {a}",
                3: f"NEAR/5({b}, {pseudo_word(rng)})",
                4: f"@daech AND {b}",
            }[kind]
            q = q.replace("'", " ")
            f.write(f"[[watch]]\nname = \"w{w}\"\nquery = '{q}'\n")
    write_others(args, base)


def write_others(args, base):
    """The same feeds for newsboat (urls) and rss2email (r2e.cfg)."""
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
    u = sub.add_parser("setup")
    u.add_argument("--dir", required=True)
    u.add_argument("--feeds", type=int, required=True)
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--watches", type=int, default=1000)
    u.add_argument("--pages", action="store_true", help="read every item's article page")
    u.add_argument("--broad", action="store_true", help="watches of two common words (~30 %% of articles each)")
    args = p.parse_args()
    {"setup": setup}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
