#!/usr/bin/env python3
"""Times GET /api/v1/keys of a running portal (bench/keys.sh starts it and fills its database).

Each query is sent WARMUP times, then REPS rounds send every query once in turn, on one
keep-alive connection, with the master key as a bearer. The time is from sending the request
to having read the whole answer. Any answer but 200 stops the run. Prints a markdown table with
the number of keys each answer held; --raw writes every sample as JSON. Standard library only.
"""

import argparse
import http.client
import json
import sys
import time
import urllib.parse

TARGET_MS = 50.0


def percentile(samples, p):
    s = sorted(samples)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--master-key", required=True)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--team", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--deep", required=True, help="a key id halfway down the list")
    ap.add_argument("--raw")
    args = ap.parse_args()

    queries = [
        ("first page (50, newest first)", {"limit": 50}),
        ("a page halfway down (keyset after)", {"limit": 50, "after": args.deep}),
        ("one team's keys", {"team": args.team, "limit": 50}),
        ("one owner's keys", {"user": args.user, "limit": 50}),
        ("blocked", {"blocked": "true", "limit": 50}),
        ("expiring within 7 days", {"expires_within_days": 7, "limit": 50}),
        ("search: one key's name", {"search": "key 77777 of", "limit": 50}),
        ("search: a display prefix", {"search": "sk-tg-abcd", "limit": 50}),
        ("search: no match (every row read)", {"search": "no such key", "limit": 50}),
        ("sorted: most spent", {"sort": "spend", "limit": 50}),
        ("sorted: most spent, a page after a key", {"sort": "spend", "after": args.deep, "limit": 50}),
        ("sorted: recently used", {"sort": "last_used", "limit": 50}),
        ("sorted: recently used, a page after a key", {"sort": "last_used", "after": args.deep, "limit": 50}),
        ("sorted: name", {"sort": "alias", "limit": 50}),
        ("sorted: name, a page after a key", {"sort": "alias", "after": args.deep, "limit": 50}),
        ("sorted: expiring soonest", {"sort": "expires", "limit": 50}),
        ("sorted: oldest first", {"sort": "oldest", "limit": 50}),
        ("one team's keys, most spent", {"team": args.team, "sort": "spend", "limit": 50}),
    ]
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=300)
    auth = {"Authorization": f"Bearer {args.master_key}"}

    def ask(params):
        path = "/api/v1/keys?" + urllib.parse.urlencode(params)
        t0 = time.perf_counter()
        conn.request("GET", path, headers=auth)
        r = conn.getresponse()
        body = r.read()
        ms = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            sys.exit(f"{path}: {r.status} {body[:300]!r}")
        return ms, len(json.loads(body)["data"])

    for _ in range(args.warmup):
        for _, q in queries:
            ask(q)
    samples = {name: [] for name, _ in queries}
    found = {}
    for _ in range(args.reps):
        for name, q in queries:
            ms, n = ask(q)
            samples[name].append(ms)
            found[name] = n
    print(f"| query (GET /api/v1/keys) | keys in the answer | p50 ms | p95 ms | max ms | p95 < {TARGET_MS:.0f} ms |")
    print("|---|---|---|---|---|---|")
    for name, _ in queries:
        s = samples[name]
        p95 = percentile(s, 95)
        print(f"| {name} | {found[name]} | {percentile(s, 50):.1f} | {p95:.1f} | {max(s):.1f} | {'met' if p95 < TARGET_MS else 'MISSED'} |")
    if args.raw:
        with open(args.raw, "w") as f:
            json.dump(samples, f)


if __name__ == "__main__":
    main()
