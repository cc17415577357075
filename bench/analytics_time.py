#!/usr/bin/env python3
"""Times the spend analytics reads of a running portal (bench/analytics.sh starts it).

Each query is sent WARMUP times, then REPS rounds send every query once in turn (so neighbours'
load falls on all of them alike), on one keep-alive connection, with the master key as a
bearer. The time is from sending the request to having read the whole answer. Any answer but
200 stops the run. Prints a markdown table; --raw writes every sample as JSON.

Standard library only.
"""

import argparse
import http.client
import json
import math
import sys
import time
import urllib.parse

DAY_MS = 86_400_000
TARGET_MS = 50.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--master-key", required=True)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--deep-pages", type=int, default=200)
    ap.add_argument("--heavy-key", required=True, help="the key with the most requests")
    ap.add_argument("--light-key", required=True, help="a key of median traffic")
    ap.add_argument("--team", required=True, help="the team with the most requests")
    ap.add_argument("--raw", help="write every sample here (JSON)")
    args = ap.parse_args()

    host = f"127.0.0.1:{args.port}"
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=300)
    auth = {"Authorization": f"Bearer {args.master_key}"}

    def send(method, path, body=None):
        headers = dict(auth)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            # Server functions are POSTs: the CSRF check wants a same-origin Origin (or none).
            headers.update({"Content-Type": "application/json", "Origin": f"http://{host}"})
        start = time.perf_counter()
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        elapsed = (time.perf_counter() - start) * 1000
        if resp.status != 200:
            sys.exit(f"{method} {path}: HTTP {resp.status}: {payload[:300]!r}")
        return elapsed, payload

    def q(path, **params):
        return f"{path}?{urllib.parse.urlencode(params)}"

    def page(frm, granularity, group_by, team=None):
        """The spend page's own read: its server function, which charts 8 groups and "Other"."""
        filters = {k: None for k in
                   ("key", "team", "user", "model", "provider", "instance", "deployment")}
        filters["team"] = team
        return {"query": {"from": frm, "to": now, "granularity": granularity,
                          "group_by": group_by, "filters": filters}}

    # The API's 7 days by the hour by key returns every point (about 150,000): an export for
    # automation, timed for the record but not held to the pages' target. The spend page asks
    # its own server function, which charts the largest keys (the rows after it).
    EXPORT = "spend API 7 d by hour, grouped by key (every point: an export, no target)"
    now = int(time.time() * 1000)
    log = "/api/v1/logs"
    spend = "/api/v1/spend"

    # The deep page: follow `next` from the first page, then time the page it leads to.
    cursor = None
    t0 = time.perf_counter()
    for _ in range(args.deep_pages):
        _, payload = send("GET", q(log, limit=50, **({"after": cursor} if cursor else {})))
        cursor = json.loads(payload)["next"]
        if cursor is None:
            sys.exit(f"the log has fewer than {args.deep_pages} pages of 50")
    walk_s = time.perf_counter() - t0
    deep = args.deep_pages + 1

    cases = [
        ("dashboard, all teams", "POST", "/rpc/get_dashboard", {"team": None}),
        ("dashboard, one team", "POST", "/rpc/get_dashboard", {"team": args.team}),
        ("spend 30 d by day, grouped by model", "GET",
         q(spend, **{"from": now - 30 * DAY_MS, "to": now, "granularity": "day",
                     "group_by": "model"}), None),
        (EXPORT, "GET",
         q(spend, **{"from": now - 7 * DAY_MS, "to": now, "granularity": "hour",
                     "group_by": "key"}), None),
        ("spend page (server fn), 30 d by day, grouped by model", "POST", "/rpc/get_spend",
         page(now - 30 * DAY_MS, "day", "model")),
        ("spend page (server fn), 7 d by hour, grouped by key", "POST", "/rpc/get_spend",
         page(now - 7 * DAY_MS, "hour", "key")),
        ("spend page (server fn), 7 d by hour, one team, grouped by model", "POST",
         "/rpc/get_spend", page(now - 7 * DAY_MS, "hour", "model", args.team)),
        ("spend 90 d by day, unfiltered", "GET",
         q(spend, **{"from": now - 90 * DAY_MS, "to": now, "granularity": "day"}), None),
        ("spend 30 d by day, one team, grouped by key", "GET",
         q(spend, **{"from": now - 30 * DAY_MS, "to": now, "granularity": "day",
                     "group_by": "key", "team": args.team}), None),
        ("log, first page (50)", "GET", q(log, limit=50), None),
        (f"log, page {deep} (50, cursor)", "GET", q(log, limit=50, after=cursor), None),
        ("log, errors, first page (50)", "GET", q(log, limit=50, status="error"), None),
        ("log, busiest key, first page (50)", "GET", q(log, limit=50, key=args.heavy_key), None),
        ("log, median key, first page (50)", "GET", q(log, limit=50, key=args.light_key), None),
    ]

    # What each answer holds, from one answer, before timing.
    shape = {}
    for name, method, path, body in cases:
        _, payload = send(method, path, body)
        v = json.loads(payload)
        if path.startswith(log):
            rows = f"{len(v['data'])} rows"
        elif path.startswith(spend):
            rows = f"{len(v['series'])} points, {len(v['groups'])} groups"
        elif path == "/rpc/get_spend":
            rows = f"{len(v['points'])} points (8 groups and Other), {len(v['groups'])} groups"
        else:
            rows = f"{len(v.get('daily', []))} days, top {sum(len(g[1]) for g in v.get('top', []))}"
        shape[name] = (len(payload), rows)

    samples = {name: [] for name, *_ in cases}
    for name, method, path, body in cases:
        for _ in range(args.warmup):
            send(method, path, body)
    for _ in range(args.reps):
        for name, method, path, body in cases:
            ms, _ = send(method, path, body)
            samples[name].append(ms)

    def pct(xs, p):
        s = sorted(xs)
        return s[max(0, math.ceil(p * len(s)) - 1)]

    print(f"{args.reps} timed rounds after {args.warmup} warm-up requests per query; "
          f"the deep page's cursor took {args.deep_pages} pages to reach ({walk_s:.1f} s).")
    print()
    print("| query | p50 ms | p95 ms | max ms | answer | p95 < 50 ms |")
    print("|---|---:|---:|---:|---|---|")
    for name, *_ in cases:
        xs = samples[name]
        p95 = pct(xs, 0.95)
        size, rows = shape[name]
        print(f"| {name} | {pct(xs, 0.5):.1f} | {p95:.1f} | {max(xs):.1f} | "
              f"{rows}, {size / 1024:.0f} KiB | "
              f"{'-' if name == EXPORT else 'met' if p95 < TARGET_MS else '**missed**'} |")
    print()
    print("Requests:")
    print()
    for name, method, path, body in cases:
        b = f" `{json.dumps(body)}`" if body is not None else ""
        print(f"- {name}: `{method} {path}`{b}")

    if args.raw:
        with open(args.raw, "w") as f:
            json.dump({"now_ms": now, "deep_cursor": cursor, "reps": args.reps, "warmup": args.warmup,
                       "cases": [{"name": n, "method": m, "path": p, "body": b,
                                  "answer_bytes": shape[n][0], "samples_ms": samples[n]}
                                 for n, m, p, b in cases]}, f, indent=1)


if __name__ == "__main__":
    main()
