#!/usr/bin/env python3
"""Turns one raw run of bench/run.sh (bench/out/<timestamp>/) into the markdown report.

Every figure is the median over the run's repeats; "added" is Tollgate minus direct, taken
within each repeat (the two phases run back to back) and then the median over repeats.

    python3 bench/report.py bench/out/<timestamp>
"""

import csv
import json
import statistics
import sys
from pathlib import Path

# The gateway's targets (bench/README.md).
TARGET_CPU_MS = 0.06
TARGET_ADDED_P50_MS = 0.1
TARGET_ADDED_TTFC_MS = 0.3
TARGET_RSS_IDLE_MIB = 30


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits=3):
    return "n/a" if x is None else f"{x:.{digits}f}"


def read_meta(out):
    meta = {}
    for line in (out / "meta.txt").read_text().splitlines():
        key, _, value = line.partition("=")
        meta[key] = value
    return meta


def read_oha(path):
    data = json.loads(path.read_text())
    codes = data.get("statusCodeDistribution") or {}
    ok = int(codes.get("200", 0))
    bad = sum(int(v) for k, v in codes.items() if k != "200")
    bad += sum(int(v) for v in (data.get("errorDistribution") or {}).values())
    pct = data.get("latencyPercentiles") or {}
    ms = lambda v: None if v is None else v * 1000.0
    return {
        "ok": ok,
        "bad": bad,
        "rps": data["summary"].get("requestsPerSec"),
        "p50": ms(pct.get("p50")),
        "p99": ms(pct.get("p99")),
    }


def read_phases(out, clk_tck, nproc):
    phases = {}
    with open(out / "phases.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            o = read_oha(out / row["json"])
            seconds = float(row["seconds"])
            gw_s = int(row["gw_ticks"]) / clk_tck
            stub_s = int(row["stub_ticks"]) / clk_tck
            busy_s = int(row["busy_ticks"]) / clk_tck
            gw_user_s = int(row["gw_user_ticks"]) / clk_tck
            per_req = lambda sec: sec * 1000.0 / o["ok"] if o["ok"] else None
            o["gw_cpu_ms"] = per_req(gw_s)
            o["gw_user_ms"] = per_req(gw_user_s)
            o["gw_sys_ms"] = per_req(gw_s - gw_user_s)
            o["stub_requests"] = int(row["stub_requests"])
            # Cores busy with anything but this benchmark (other engineers' builds).
            others = busy_s - gw_s - stub_s - float(row["oha_cpu_s"])
            o["others_cores"] = max(others, 0.0) / seconds if seconds > 0 else None
            key = (row["mode"], int(row["conc"]), row["target"])
            phases.setdefault(key, {})[int(row["repeat"])] = o
    return phases


def read_ttfb(out):
    runs = {}
    for path in sorted(out.glob("ttfb-r*-*.txt")):
        mode = path.stem.split("-", 2)[2]
        for line in path.read_text().splitlines():
            fields = dict(f.split("=", 1) for f in line.split())
            target = fields.pop("target")
            values = {k: float(v) for k, v in fields.items()}
            runs.setdefault((mode, target), []).append(values)
    return runs


def load_table(phases):
    lines = [
        "| mode | conc | req/s direct | req/s Tollgate | p50 ms direct | p50 ms Tollgate "
        "| p99 ms direct | p99 ms Tollgate | added p50 ms | added p99 ms "
        "| gateway CPU ms/req (user + sys) | other load (cores) | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    combos = sorted({(m, c) for (m, c, _) in phases}, key=lambda k: (k[0] != "plain", k[1]))
    for mode, conc in combos:
        d = phases.get((mode, conc, "direct"), {})
        g = phases.get((mode, conc, "gateway"), {})
        col = lambda runs, k: median(r[k] for r in runs.values())
        added = lambda k: median(g[r][k] - d[r][k] for r in g if r in d)
        errors = sum(r["bad"] for r in d.values()) + sum(r["bad"] for r in g.values())
        label = "non-streaming" if mode == "plain" else "streaming"
        lines.append(
            f"| {label} | {conc} | {fmt(col(d, 'rps'), 0)} | {fmt(col(g, 'rps'), 0)} "
            f"| {fmt(col(d, 'p50'))} | {fmt(col(g, 'p50'))} | {fmt(col(d, 'p99'))} "
            f"| {fmt(col(g, 'p99'))} | {fmt(added('p50'))} | {fmt(added('p99'))} "
            f"| {fmt(col(g, 'gw_cpu_ms'), 4)} ({fmt(col(g, 'gw_user_ms'), 4)} + "
            f"{fmt(col(g, 'gw_sys_ms'), 4)}) | {fmt(col(g, 'others_cores'), 2)} | {errors} |"
        )
    return lines


def ttfb_table(ttfb):
    lines = [
        "| mode | first byte p50 ms direct | first byte p50 ms Tollgate | first byte p99 ms direct "
        "| first byte p99 ms Tollgate | added first byte p50 ms | added first byte p99 ms "
        "| added, paired median ms | added full answer, paired median ms "
        "| `x-tollgate-overhead-ms` p50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in ("plain", "stream"):
        d, g, a = (ttfb.get((mode, t), []) for t in ("direct", "gateway", "added"))
        if not d:
            continue
        m = lambda runs, k: median(r.get(k) for r in runs)
        label = "non-streaming" if mode == "plain" else "streaming (first chunk)"
        lines.append(
            f"| {label} | {fmt(m(d, 'ttfb_p50_ms'))} | {fmt(m(g, 'ttfb_p50_ms'))} "
            f"| {fmt(m(d, 'ttfb_p99_ms'))} | {fmt(m(g, 'ttfb_p99_ms'))} "
            f"| {fmt(m(a, 'ttfb_p50_ms'))} | {fmt(m(a, 'ttfb_p99_ms'))} "
            f"| {fmt(m(a, 'paired_ttfb_median_ms'))} | {fmt(m(a, 'paired_total_median_ms'))} "
            f"| {fmt(m(g, 'reported_overhead_p50_ms'))} |"
        )
    return lines


def targets_table(meta, phases, ttfb):
    def cpu(mode):
        vals = [
            median(r["gw_cpu_ms"] for r in runs.values())
            for (m, _, t), runs in phases.items()
            if m == mode and t == "gateway"
        ]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None

    added = lambda mode, k: median(r.get(k) for r in ttfb.get((mode, "added"), []))
    rss_idle = int(meta.get("rss_idle_kib", 0)) / 1024
    rows = [
        ("gateway CPU per request, non-streaming (worst concurrency)", cpu("plain"),
         TARGET_CPU_MS, "ms"),
        ("gateway CPU per request, streaming (worst concurrency)", cpu("stream"),
         TARGET_CPU_MS, "ms"),
        ("added latency p50, concurrency 1 (paired, sequential)",
         added("plain", "paired_total_median_ms"), TARGET_ADDED_P50_MS, "ms"),
        ("added time to first chunk p50, concurrency 1 (paired, sequential)",
         added("stream", "paired_ttfb_median_ms"), TARGET_ADDED_TTFC_MS, "ms"),
        ("RSS idle after start", rss_idle, TARGET_RSS_IDLE_MIB, "MiB"),
    ]
    lines = ["| target | measured | limit | met |", "|---|---:|---:|---|"]
    for name, value, limit, unit in rows:
        met = "n/a" if value is None else ("yes" if value <= limit else "**no**")
        digits = 1 if unit == "MiB" else 4
        lines.append(f"| {name} | {fmt(value, digits)} {unit} | {limit} {unit} | {met} |")
    return lines


def main():
    out = Path(sys.argv[1])
    meta = read_meta(out)
    clk_tck = int(meta.get("clk_tck", 100))
    nproc = int(meta.get("nproc", 1))
    phases = read_phases(out, clk_tck, nproc)
    ttfb = read_ttfb(out)
    loads = []
    log = out / "loadavg.log"
    if log.exists():
        loads = [float(line.split()[1]) for line in log.read_text().splitlines() if line.strip()]
    repeats = len({r for runs in phases.values() for r in runs})
    mib = lambda k: f"{int(meta[k]) / 1024:.1f} MiB" if meta.get(k) else "n/a"
    print(f"## Run {meta.get('date')}\n")
    print(f"- command: `{meta.get('command')}` with {meta.get('env')}")
    print(f"- machine: {meta.get('nproc')} CPUs ({meta.get('cpu')}), {meta.get('mem_gib')} GiB, "
          f"kernel {meta.get('kernel')}; commit {meta.get('commit')}")
    if loads:
        print(f"- load average (1 min) during the run: min {min(loads):.2f}, "
              f"median {statistics.median(loads):.2f}, max {max(loads):.2f} "
              f"(at start {meta.get('load_start')}, at end {meta.get('load_end')}); "
              f"it includes the benchmark itself (about 2-3 runnable threads under load)")
    print(f"- every figure is the median of {repeats} repeats; phases are "
          f"{meta.get('env', '').split()[0].split('=')[1]} each, direct and Tollgate back to back\n")
    print("### Load (oha, keep-alive, key auth on)\n")
    print("\n".join(load_table(phases)))
    print("\n\"other load\" is CPU used by processes outside the benchmark during the Tollgate "
          "phase, in cores (user+nice+system time in /proc/stat minus gateway, stub and oha): the "
          "neighbours' builds.\n")
    print("### Sequential, concurrency 1 (ttfb client, direct and Tollgate interleaved)\n")
    print("\n".join(ttfb_table(ttfb)))
    print("\n### Memory (gateway VmRSS)\n")
    print(f"idle after start {mib('rss_idle_kib')}; idle after the first two requests "
          f"{mib('rss_first_use_kib')}; after load {mib('rss_after_kib')}; "
          f"peak (VmHWM) {mib('rss_peak_kib')}; threads {meta.get('threads', 'n/a')}\n")
    print("### Targets\n")
    print("\n".join(targets_table(meta, phases, ttfb)))
    stub_mismatch = [
        (k, r) for k, runs in phases.items() if k[2] == "gateway"
        for r, o in runs.items() if o["stub_requests"] < o["ok"]
    ]
    if stub_mismatch:
        print(f"\nWARNING: the stub saw fewer requests than the gateway answered in "
              f"{len(stub_mismatch)} phases")


if __name__ == "__main__":
    main()
